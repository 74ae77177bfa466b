package dev.recur.io;

import dev.recur.Cell;
import dev.recur.Params;
import dev.recur.Shape;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * recur's model file: an .npz that {@code numpy.load(path, allow_pickle=False)} opens, in one
 * of two forms.
 *
 * <p><b>A network, with PyTorch's state_dict names</b> ({@code nn.RNN}, {@code nn.GRU},
 * {@code nn.LSTM}): {@code weight_ih_l{k}} (G*H, I_k), {@code weight_hh_l{k}} (G*H, H),
 * {@code bias_ih_l{k}}, {@code bias_hh_l{k}} (G*H,), each also with the suffix
 * {@code _reverse} for the reverse direction of a bidirectional network, plus the head
 * {@code V} (O, D*H) and {@code c} (O,). Layers, directions, the cell (G = 1, 3, 4 gate rows per
 * hidden unit) and the sizes come from the keys and shapes; a model saved with
 * {@code bias=False} has no bias keys. So
 * {@code np.savez("m.npz", **{k: v.numpy() for k, v in rnn.state_dict().items()}, V=..., c=...)}
 * is a valid model, and PyTorch takes a model recur saved back with {@code load_state_dict}
 * after dropping {@code V}, {@code c}, {@code meta} and the {@code meta.*} arrays.
 *
 * <p><b>recur's single-layer Elman model</b>: {@code U} (H, I), {@code W} (H, H), {@code b}
 * (H,), {@code V} (O, H), {@code c} (O,); a plain {@code numpy.savez(path, U=U, W=W, b=b, V=V, c=c)}
 * is one.
 *
 * <p>Either may hold {@code meta}, a 0-d unicode array with a JSON object:
 * <pre>
 *   {"format": "recur-model", "format_version": 2,
 *    "shape": {"input": I, "hidden": H, "output": O, "layers": L, "directions": D, "cell": "rnn"},
 *    "activation": "tanh", "loss": "xent",
 *    "vocabulary": "...",                       (character models: index -> character)
 *    "optimizer": {...}, "step": N, "rng": {...}, "train": {...}}
 * </pre>
 * Every meta key is optional. Other arrays (an optimiser's moments, a carried hidden state) are
 * {@link Model#extra()} entries: in a network model they are stored as {@code meta.NAME} (so that
 * a state_dict holds nothing PyTorch does not know besides V, c and meta*), in the single-layer
 * model under their own names. float64 parameters are accepted and rounded to float32.
 *
 * <p>Reading checks the format version, that the blocks exist with consistent shapes and finite
 * values, that no unknown key is present (state_dict models), and that {@code meta} (if present)
 * is a JSON object whose shape agrees. Every error names the key and what was expected.
 */
public final class ModelFile {
    private ModelFile() {}

    /** The format version this code writes and the newest it reads. */
    public static final int FORMAT_VERSION = 2;
    /** The value of the {@code format} entry that marks an .npz as a recur model. */
    public static final String FORMAT = "recur-model";
    /** Prefix of the auxiliary arrays of a network model. */
    public static final String EXTRA_PREFIX = "meta.";
    private static final List<String> NATIVE = List.of("U", "W", "b", "V", "c");
    private static final Pattern KEY = Pattern.compile("(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\\d+)(_reverse)?");

    /** A model as read: shape, parameters, the meta JSON (empty if none) and any other arrays. */
    public record Model(Shape shape, Params params, Map<String, Object> meta, Map<String, NpyArray> extra) {}

    /** Reads and checks a model file. */
    public static Model read(Path file) throws IOException {
        return fromArrays(Npz.read(file), file.toString());
    }

    /** True if these arrays use PyTorch's state_dict names (a network) rather than U, W, b, V, c. */
    public static boolean isStateDict(Map<String, NpyArray> arrays) {
        for (String k : arrays.keySet()) if (KEY.matcher(k).matches()) return true;
        return false;
    }

    /** Checks and assembles a model from the arrays of an .npz; {@code what} names it in errors. */
    public static Model fromArrays(Map<String, NpyArray> arrays, String what) throws NpyFormatException {
        Map<String, Object> meta = readMeta(arrays, what);
        Model m = isStateDict(arrays) ? fromStateDict(arrays, meta, what) : fromNative(arrays, meta, what);
        checkMeta(meta, m.shape(), what);
        return m;
    }

    // ------------------------------------------------------------------ recur's single-layer model

    private static Model fromNative(Map<String, NpyArray> arrays, Map<String, Object> meta, String what)
            throws NpyFormatException {
        for (String k : NATIVE) {
            if (!arrays.containsKey(k)) {
                throw new NpyFormatException(what + ": has no array '" + k + "', expected U (H,I), W (H,H), b (H,), "
                        + "V (O,H) and c (O,), or a network's weight_ih_l0, weight_hh_l0, ... (PyTorch's state_dict names)"
                        + (arrays.isEmpty() ? " (the archive holds no .npy entries)" : " (it holds " + String.join(", ", arrays.keySet()) + ")"));
            }
        }
        for (String k : NATIVE) requireFloat(arrays.get(k), k, what);
        NpyArray U = arrays.get("U"), W = arrays.get("W"), b = arrays.get("b"), V = arrays.get("V"), c = arrays.get("c");
        if (W.ndim() != 2 || W.dim(0) != W.dim(1) || W.dim(0) == 0) {
            throw new NpyFormatException(what + ": W has shape " + NpyArray.shapeString(W.shape()) + ", expected (H, H) with H >= 1");
        }
        int H = W.dim(0);
        if (U.ndim() != 2 || U.dim(0) != H || U.dim(1) == 0) {
            throw new NpyFormatException(what + ": U has shape " + NpyArray.shapeString(U.shape()) + ", expected (H, I) = ("
                    + H + ", I) with I >= 1 (H = " + H + " from W)");
        }
        int I = U.dim(1);
        if (b.ndim() != 1 || b.dim(0) != H) {
            throw new NpyFormatException(what + ": b has shape " + NpyArray.shapeString(b.shape()) + ", expected (" + H + ",) (H from W)");
        }
        if (V.ndim() != 2 || V.dim(1) != H || V.dim(0) == 0) {
            throw new NpyFormatException(what + ": V has shape " + NpyArray.shapeString(V.shape()) + ", expected (O, H) = (O, "
                    + H + ") with O >= 1");
        }
        int O = V.dim(0);
        if (c.ndim() != 1 || c.dim(0) != O) {
            throw new NpyFormatException(what + ": c has shape " + NpyArray.shapeString(c.shape()) + ", expected (" + O + ",) (O from V)");
        }
        Shape shape = shape(() -> new Shape(I, H, O), what);
        Params params = fill(shape, arrays, what);
        Map<String, NpyArray> extra = new LinkedHashMap<>(arrays);
        for (String k : NATIVE) extra.remove(k);
        extra.remove("meta");
        return new Model(shape, params, meta, extra);
    }

    // ------------------------------------------------------------------ PyTorch's state_dict

    private static Model fromStateDict(Map<String, NpyArray> arrays, Map<String, Object> meta, String what)
            throws NpyFormatException {
        int layers = 0;
        boolean reverse = false, anyBias = false;
        Map<String, NpyArray> extra = new LinkedHashMap<>();
        for (Map.Entry<String, NpyArray> e : arrays.entrySet()) {
            String k = e.getKey();
            Matcher m = KEY.matcher(k);
            if (m.matches()) {
                if (m.group(1).equals("weight_hr")) {
                    throw new NpyFormatException(what + ": has '" + k + "', an LSTM projection (PyTorch's proj_size > 0), "
                            + "which recur does not support; expected a model saved with proj_size = 0");
                }
                layers = Math.max(layers, Integer.parseInt(m.group(2)) + 1);
                reverse |= m.group(3) != null;
                anyBias |= m.group(1).startsWith("bias");
            } else if (k.startsWith(EXTRA_PREFIX)) {
                extra.put(k.substring(EXTRA_PREFIX.length()), e.getValue());
            } else if (!k.equals("V") && !k.equals("c") && !k.equals("meta")) {
                throw new NpyFormatException(what + ": unexpected key '" + k + "', expected only PyTorch's state_dict keys "
                        + "(weight_ih_l{k}, weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k}, with _reverse for a second direction), "
                        + "the head V and c, meta and meta.* arrays");
            }
        }
        int D = reverse ? 2 : 1;
        // every key a network of this many layers and directions has, each present
        List<String> want = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < D; d++) {
                String sfx = "_l" + l + (d == 1 ? "_reverse" : "");
                want.add("weight_ih" + sfx);
                want.add("weight_hh" + sfx);
                if (anyBias) {
                    want.add("bias_ih" + sfx);
                    want.add("bias_hh" + sfx);
                }
            }
        }
        for (String k : want) {
            if (!arrays.containsKey(k)) {
                throw new NpyFormatException(what + ": has no array '" + k + "', expected it in a " + layers + "-layer"
                        + (D == 2 ? " bidirectional" : "") + (anyBias ? "" : " bias-free") + " network (keys present: "
                        + String.join(", ", new TreeSet<>(arrays.keySet())) + ")");
            }
            requireFloat(arrays.get(k), k, what);
        }
        NpyArray hh = arrays.get("weight_hh_l0");
        if (hh.ndim() != 2 || hh.dim(1) == 0 || hh.dim(0) % hh.dim(1) != 0 || Cell.ofGates(hh.dim(0) / hh.dim(1)) == null) {
            throw new NpyFormatException(what + ": weight_hh_l0 has shape " + NpyArray.shapeString(hh.shape()) + ", expected "
                    + "(G*H, H) with G = 1 (rnn), 3 (gru) or 4 (lstm) gate rows per hidden unit");
        }
        int H = hh.dim(1), G = hh.dim(0) / H;
        Cell cell = Cell.ofGates(G);
        NpyArray ih0 = arrays.get("weight_ih_l0");
        if (ih0.ndim() != 2 || ih0.dim(0) != G * H || ih0.dim(1) == 0) {
            throw new NpyFormatException(what + ": weight_ih_l0 has shape " + NpyArray.shapeString(ih0.shape()) + ", expected ("
                    + G * H + ", I) with I >= 1 (G*H = " + G * H + " from weight_hh_l0, a " + cell.id() + " cell)");
        }
        int I = ih0.dim(1);
        NpyArray V = arrays.get("V"), c = arrays.get("c");
        if ((V == null) != (c == null)) {
            throw new NpyFormatException(what + ": has " + (V == null ? "c but no V" : "V but no c") + ", expected both (the head "
                    + "o = V h + c) or neither (a network without a head)");
        }
        int O = 0;
        if (V != null) {
            requireFloat(V, "V", what);
            requireFloat(c, "c", what);
            if (V.ndim() != 2 || V.dim(1) != D * H || V.dim(0) == 0) {
                throw new NpyFormatException(what + ": V has shape " + NpyArray.shapeString(V.shape()) + ", expected (O, " + D * H
                        + ") with O >= 1 (the head reads " + (D == 2 ? "both directions' " : "") + "H = " + H + " states)");
            }
            O = V.dim(0);
            if (c.ndim() != 1 || c.dim(0) != O) {
                throw new NpyFormatException(what + ": c has shape " + NpyArray.shapeString(c.shape()) + ", expected (" + O + ",) (O from V)");
            }
        }
        int out = O, L = layers;
        boolean bias = anyBias;
        Shape shape = shape(() -> new Shape(I, H, out, L, D, cell, bias ? 2 : 0), what);
        for (Shape.Block b : shape.blocks()) {
            NpyArray a = arrays.get(b.name());
            if (!java.util.Arrays.equals(a.shape(), b.dims())) {
                throw new NpyFormatException(what + ": " + b.name() + " has shape " + NpyArray.shapeString(a.shape()) + ", expected "
                        + NpyArray.shapeString(b.dims()) + " (a " + shape + ")");
            }
        }
        return new Model(shape, fill(shape, arrays, what), meta, extra);
    }

    // ------------------------------------------------------------------ shared parts

    private interface ShapeMaker { Shape make(); }

    private static Shape shape(ShapeMaker f, String what) throws NpyFormatException {
        try {
            return f.make();
        } catch (IllegalArgumentException e) {
            throw new NpyFormatException(what + ": " + e.getMessage());
        }
    }

    private static void requireFloat(NpyArray a, String k, String what) throws NpyFormatException {
        if (!a.dtype().isFloat()) {
            throw new NpyFormatException(what + ": " + k + " is " + a.dtype().numpyName() + ", expected float32 or float64");
        }
    }

    /** The parameters, block by block, checked finite. */
    private static Params fill(Shape shape, Map<String, NpyArray> arrays, String what) throws NpyFormatException {
        Params params = Params.zeros(shape);
        float[] p = params.data();
        for (Shape.Block b : shape.blocks()) {
            float[] v = arrays.get(b.name()).toFloats();
            for (int j = 0; j < v.length; j++) {
                if (!Float.isFinite(v[j])) {
                    throw new NpyFormatException(what + ": " + b.name() + " holds " + v[j] + " at flat index " + j + ", expected finite values");
                }
            }
            System.arraycopy(v, 0, p, b.offset(), v.length);
        }
        return params;
    }

    private static Map<String, Object> readMeta(Map<String, NpyArray> arrays, String what) throws NpyFormatException {
        NpyArray m = arrays.get("meta");
        if (m == null) return new LinkedHashMap<>();
        if (m.dtype() != NpyArray.DType.UNICODE) throw new NpyFormatException(what + ": meta is " + m + ", expected a 0-d str holding JSON");
        try {
            return Json.parseObject(m.string());
        } catch (IllegalArgumentException e) {
            throw new NpyFormatException(what + ": meta is not a JSON object (" + e.getMessage() + ")");
        }
    }

    private static void checkMeta(Map<String, Object> meta, Shape shape, String what) throws NpyFormatException {
        Object f = meta.get("format");
        if (f != null && !FORMAT.equals(f)) {
            throw new NpyFormatException(what + ": meta.format = " + Json.write(f) + ", expected \"" + FORMAT + "\"");
        }
        Object v = meta.get("format_version");
        if (v != null) {
            if (!(v instanceof Long version)) {
                throw new NpyFormatException(what + ": meta.format_version = " + Json.write(v) + ", expected an integer");
            }
            if (version > FORMAT_VERSION || version < 1) {
                throw new NpyFormatException(what + ": meta.format_version = " + version + ", this recur reads versions 1 to "
                        + FORMAT_VERSION + (version > FORMAT_VERSION ? " (written by a newer recur?)" : ""));
            }
        }
        Object s = meta.get("shape");
        if (s == null) return;
        if (!(s instanceof Map<?, ?> sm)) throw new NpyFormatException(what + ": meta.shape = " + Json.write(s) + ", expected an object");
        Object[] want = {(long) shape.input(), (long) shape.hidden(), (long) shape.output(), (long) shape.layers(),
                (long) shape.directions(), shape.cell().id()};
        String[] names = {"input", "hidden", "output", "layers", "directions", "cell"};
        for (int k = 0; k < names.length; k++) {
            Object d = sm.get(names[k]);
            if (d != null && !d.equals(want[k])) {
                throw new NpyFormatException(what + ": meta.shape." + names[k] + " = " + Json.write(d) + ", but the arrays give "
                        + names[k] + " = " + Json.write(want[k]));
            }
        }
    }

    /**
     * The arrays of a model: every parameter block under its name ({@link Shape#blocks()}),
     * {@code meta} (with format, version and shape filled in) and the {@code extra} arrays
     * ({@code meta.NAME} in a network model). float32.
     */
    public static Map<String, NpyArray> toArrays(Params params, Map<String, Object> meta, Map<String, NpyArray> extra) {
        Shape s = params.shape();
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        float[] p = params.data();
        for (Shape.Block b : s.blocks()) {
            arrays.put(b.name(), NpyArray.of(java.util.Arrays.copyOfRange(p, b.offset(), b.offset() + b.length()), b.dims()));
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("format_version", (long) FORMAT_VERSION);
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("input", (long) s.input());
        shape.put("hidden", (long) s.hidden());
        shape.put("output", (long) s.output());
        shape.put("layers", (long) s.layers());
        shape.put("directions", (long) s.directions());
        shape.put("cell", s.cell().id());
        m.put("shape", shape);
        if (meta != null) {
            for (Map.Entry<String, Object> e : meta.entrySet()) {
                if (!m.containsKey(e.getKey())) m.put(e.getKey(), e.getValue());
            }
        }
        arrays.put("meta", NpyArray.ofString(Json.write(m)));
        if (extra != null) {
            String prefix = s.isNativeModel() ? "" : EXTRA_PREFIX;
            for (Map.Entry<String, NpyArray> e : extra.entrySet()) {
                String name = prefix + e.getKey();
                if (arrays.containsKey(name)) throw new IllegalArgumentException("extra array '" + e.getKey() + "' would replace a model array");
                arrays.put(name, e.getValue());
            }
        }
        return arrays;
    }

    /** Writes a model atomically (see {@link #toArrays} for what it holds). */
    public static void write(Path file, Params params, Map<String, Object> meta, Map<String, NpyArray> extra) throws IOException {
        Npz.write(file, toArrays(params, meta, extra), false);
    }
}
