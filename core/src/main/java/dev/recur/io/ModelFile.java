package dev.recur.io;

import dev.recur.Params;
import dev.recur.Shape;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * recur's model file: an .npz holding {@code U} (H,I), {@code W} (H,H), {@code b} (H,),
 * {@code V} (O,H), {@code c} (O,) as float32, and optionally {@code meta}: a 0-d unicode array
 * holding a JSON object, so {@code numpy.load(path, allow_pickle=False)} opens it:
 *
 * <pre>
 *   {"format": "recur-model", "format_version": 1,
 *    "shape": {"input": I, "hidden": H, "output": O},
 *    "activation": "tanh", "loss": "xent",
 *    "vocabulary": "...",                       (character models: index -> character)
 *    "optimizer": {...}, "step": N, "rng": {...}, "train": {...}}
 * </pre>
 *
 * Every meta key is optional; a plain {@code numpy.savez(path, U=U, W=W, b=b, V=V, c=c)} is a
 * valid model. Any other arrays (an optimiser's moments, a carried hidden state) are kept as
 * {@link Model#extra()} entries. float64 parameters are accepted and rounded to float32.
 *
 * <p>Reading checks the format version, that the five blocks exist with consistent shapes and
 * finite values, and that {@code meta} (if present) is a JSON object whose shape agrees.
 */
public final class ModelFile {
    private ModelFile() {}

    /** The format version this code writes and the newest it reads. */
    public static final int FORMAT_VERSION = 1;
    public static final String FORMAT = "recur-model";
    private static final List<String> BLOCKS = List.of("U", "W", "b", "V", "c");

    /** A model as read: shape, parameters, the meta JSON (empty if none) and any other arrays. */
    public record Model(Shape shape, Params params, Map<String, Object> meta, Map<String, NpyArray> extra) {}

    /** Reads and checks a model file. */
    public static Model read(Path file) throws IOException {
        return fromArrays(Npz.read(file), file.toString());
    }

    /** Checks and assembles a model from the arrays of an .npz; {@code what} names it in errors. */
    public static Model fromArrays(Map<String, NpyArray> arrays, String what) throws NpyFormatException {
        for (String k : BLOCKS) {
            if (!arrays.containsKey(k)) {
                throw new NpyFormatException(what + ": has no array '" + k + "', expected U (H,I), W (H,H), b (H,), "
                        + "V (O,H) and c (O,)" + (arrays.isEmpty() ? " (the archive holds no .npy entries)"
                        : " (it holds " + String.join(", ", arrays.keySet()) + ")"));
            }
        }
        for (String k : BLOCKS) {
            NpyArray a = arrays.get(k);
            if (!a.dtype().isFloat()) {
                throw new NpyFormatException(what + ": " + k + " is " + a.dtype().numpyName()
                        + ", expected float32 or float64");
            }
        }
        NpyArray U = arrays.get("U"), W = arrays.get("W"), b = arrays.get("b"), V = arrays.get("V"), c = arrays.get("c");
        if (W.ndim() != 2 || W.dim(0) != W.dim(1) || W.dim(0) == 0) {
            throw new NpyFormatException(what + ": W has shape " + NpyArray.shapeString(W.shape())
                    + ", expected (H, H) with H >= 1");
        }
        int H = W.dim(0);
        if (U.ndim() != 2 || U.dim(0) != H || U.dim(1) == 0) {
            throw new NpyFormatException(what + ": U has shape " + NpyArray.shapeString(U.shape()) + ", expected (H, I) = ("
                    + H + ", I) with I >= 1 (H = " + H + " from W)");
        }
        int I = U.dim(1);
        if (b.ndim() != 1 || b.dim(0) != H) {
            throw new NpyFormatException(what + ": b has shape " + NpyArray.shapeString(b.shape()) + ", expected (" + H
                    + ",) (H from W)");
        }
        if (V.ndim() != 2 || V.dim(1) != H || V.dim(0) == 0) {
            throw new NpyFormatException(what + ": V has shape " + NpyArray.shapeString(V.shape()) + ", expected (O, H) = (O, "
                    + H + ") with O >= 1");
        }
        int O = V.dim(0);
        if (c.ndim() != 1 || c.dim(0) != O) {
            throw new NpyFormatException(what + ": c has shape " + NpyArray.shapeString(c.shape()) + ", expected (" + O
                    + ",) (O from V)");
        }
        Shape shape;
        try {
            shape = new Shape(I, H, O);
        } catch (IllegalArgumentException e) {
            throw new NpyFormatException(what + ": " + e.getMessage());
        }
        Params params = Params.zeros(shape);
        float[] p = params.data();
        int[] offsets = {shape.uOffset(), shape.wOffset(), shape.bOffset(), shape.vOffset(), shape.cOffset()};
        for (int k = 0; k < BLOCKS.size(); k++) {
            float[] v = arrays.get(BLOCKS.get(k)).toFloats();
            for (int j = 0; j < v.length; j++) {
                if (!Float.isFinite(v[j])) {
                    throw new NpyFormatException(what + ": " + BLOCKS.get(k) + " holds " + v[j] + " at flat index " + j
                            + ", expected finite values");
                }
            }
            System.arraycopy(v, 0, p, offsets[k], v.length);
        }
        Map<String, Object> meta = new LinkedHashMap<>();
        NpyArray m = arrays.get("meta");
        if (m != null) {
            if (m.dtype() != NpyArray.DType.UNICODE) {
                throw new NpyFormatException(what + ": meta is " + m + ", expected a 0-d str holding JSON");
            }
            try {
                meta = Json.parseObject(m.string());
            } catch (IllegalArgumentException e) {
                throw new NpyFormatException(what + ": meta is not a JSON object (" + e.getMessage() + ")");
            }
            checkMeta(meta, shape, what);
        }
        Map<String, NpyArray> extra = new LinkedHashMap<>(arrays);
        for (String k : BLOCKS) extra.remove(k);
        extra.remove("meta");
        return new Model(shape, params, meta, extra);
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
        if (s != null) {
            if (!(s instanceof Map<?, ?> sm)) {
                throw new NpyFormatException(what + ": meta.shape = " + Json.write(s) + ", expected an object");
            }
            int[] want = {shape.input(), shape.hidden(), shape.output()};
            String[] names = {"input", "hidden", "output"};
            for (int k = 0; k < 3; k++) {
                Object d = sm.get(names[k]);
                if (d != null && !(d instanceof Long l && l == want[k])) {
                    throw new NpyFormatException(what + ": meta.shape." + names[k] + " = " + Json.write(d)
                            + ", but the arrays give " + names[k] + " = " + want[k]);
                }
            }
        }
    }

    /**
     * Writes a model atomically: the five blocks as float32, {@code meta} (with format, version
     * and shape filled in) and the {@code extra} arrays.
     */
    public static void write(Path file, Params params, Map<String, Object> meta, Map<String, NpyArray> extra)
            throws IOException {
        Shape s = params.shape();
        Map<String, NpyArray> arrays = new LinkedHashMap<>();
        float[] p = params.data();
        arrays.put("U", NpyArray.of(copy(p, s.uOffset(), s.hidden() * s.input()), s.hidden(), s.input()));
        arrays.put("W", NpyArray.of(copy(p, s.wOffset(), s.hidden() * s.hidden()), s.hidden(), s.hidden()));
        arrays.put("b", NpyArray.of(copy(p, s.bOffset(), s.hidden()), s.hidden()));
        arrays.put("V", NpyArray.of(copy(p, s.vOffset(), s.output() * s.hidden()), s.output(), s.hidden()));
        arrays.put("c", NpyArray.of(copy(p, s.cOffset(), s.output()), s.output()));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("format", FORMAT);
        m.put("format_version", (long) FORMAT_VERSION);
        Map<String, Object> shape = new LinkedHashMap<>();
        shape.put("input", (long) s.input());
        shape.put("hidden", (long) s.hidden());
        shape.put("output", (long) s.output());
        m.put("shape", shape);
        if (meta != null) {
            for (Map.Entry<String, Object> e : meta.entrySet()) {
                if (!m.containsKey(e.getKey())) m.put(e.getKey(), e.getValue());
            }
        }
        arrays.put("meta", NpyArray.ofString(Json.write(m)));
        if (extra != null) {
            for (Map.Entry<String, NpyArray> e : extra.entrySet()) {
                if (arrays.containsKey(e.getKey())) {
                    throw new IllegalArgumentException("extra array '" + e.getKey() + "' would replace a model array");
                }
                arrays.put(e.getKey(), e.getValue());
            }
        }
        Npz.write(file, arrays, false);
    }

    private static float[] copy(float[] a, int off, int len) {
        float[] r = new float[len];
        System.arraycopy(a, off, r, 0, len);
        return r;
    }
}
