package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Backprop;
import dev.recur.Batch;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.io.ModelFile;
import dev.recur.io.Npy;
import dev.recur.io.NpyArray;
import dev.recur.io.NpyFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The contract of {@code recur grad}, read and checked once: the model (recur's U, W, b, V, c or
 * PyTorch's state_dict names), the inputs, the targets, the lengths and the initial states, in
 * numpy's arrays and PyTorch's layouts; and the gradients it writes. {@code recur grad} computes
 * them on one engine, {@code recur spark grad} over a cluster; both read and write through here.
 *
 * <p>Layouts: inputs float {@code (T,B,I)} or class indices {@code (T,B)}, or without the batch
 * axis {@code (T,I)} / {@code (T,)}; targets int {@code (T,B)} (cross-entropy; -100 or any target
 * past a sequence's length is ignored) or float {@code (T,B,O)} (squared error); lengths int
 * {@code (B,)}; h0 and c0 {@code (L*D, B, H)}, PyTorch's h_0 layout (index = layer*D + direction),
 * or, for one layer and one direction, {@code (B,H)}; without the batch axis {@code (L*D, H)} or
 * {@code (H,)}.
 */
public final class GradProblem {
    public final Path modelFile;
    public final ModelFile.Model model;
    public final Shape shape;
    public final Activation activation;
    public final Loss loss;
    public final int steps, batch;
    /** True if the inputs had a batch axis (outputs keep the same form). */
    public final boolean batched;
    public final float[] xf;
    public final int[] xi;
    public final int[] yi;
    public final float[] yf;
    public final int[] lengths;
    public final float[] h0, c0;

    private GradProblem(Path modelFile, ModelFile.Model model, Activation activation, Loss loss, int steps, int batch,
                        boolean batched, float[] xf, int[] xi, int[] yi, float[] yf, int[] lengths, float[] h0, float[] c0) {
        this.modelFile = modelFile;
        this.model = model;
        this.shape = model.shape();
        this.activation = activation;
        this.loss = loss;
        this.steps = steps;
        this.batch = batch;
        this.batched = batched;
        this.xf = xf;
        this.xi = xi;
        this.yi = yi;
        this.yf = yf;
        this.lengths = lengths;
        this.h0 = h0;
        this.c0 = c0;
    }

    /** Reads and checks everything; each error names the option, the file and what was expected. */
    public static GradProblem load(Path modelPath, Path inputs, Path targets, Path lengthsPath, Path h0Path, Path c0Path,
                            String activationOption, String lossOption, String reduction, String cellOption) {
        ModelFile.Model m = ModelOptions.load("--model", modelPath);
        Shape s = m.shape();
        ModelOptions.checkCell(cellOption, m, modelPath);
        Activation act = ModelOptions.activation(activationOption, m, modelPath);
        Loss loss = ModelOptions.loss(lossOption, m, modelPath);
        if (reduction != null) {
            switch (reduction) {
                case "sum" -> loss = loss.sum();
                case "mean" -> loss = loss.mean();
                default -> throw CliException.usage("--reduction = '" + reduction + "', expected sum or mean");
            }
        }
        if (!s.hasHead()) {
            throw CliException.runtime("--model " + modelPath + ": has no head (no V and c), expected V (O, D*H) and c (O,) "
                    + "for a loss");
        }
        NpyArray x = read("--inputs", inputs);
        NpyArray y = read("--targets", targets);

        // inputs decide T, B and whether the data is batched
        boolean dense = x.dtype().isFloat();
        if (!dense && !x.dtype().isInteger()) throw CliException.runtime("--inputs " + inputs + ": is " + x + ", expected float or int");
        int wantDims = dense ? 3 : 2;
        boolean batched;
        if (x.ndim() == wantDims) batched = true;
        else if (x.ndim() == wantDims - 1) batched = false;
        else {
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape()) + ", expected "
                    + (dense ? "(T,B,I) or (T,I) for float inputs" : "(T,B) or (T,) for int class indices"));
        }
        int T = x.dim(0), B = batched ? x.dim(1) : 1;
        if (T < 1 || B < 1) {
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape()) + ", expected T >= 1 and B >= 1");
        }
        if (dense && x.dim(x.ndim() - 1) != s.input()) {
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape()) + ", expected the "
                    + "last dimension I = " + s.input() + " (the model's input size)");
        }
        int[] lengths = null;
        if (lengthsPath != null) {
            NpyArray l = read("--lengths", lengthsPath);
            if (!l.dtype().isInteger()) throw CliException.runtime("--lengths " + lengthsPath + ": is " + l + ", expected int (B,)");
            checkShape(l, batched ? new int[] {B} : new int[] {1}, "--lengths", lengthsPath, "int lengths, one per sequence");
            lengths = ints(l, "--lengths", lengthsPath);
            for (int b = 0; b < lengths.length; b++) {
                if (lengths[b] < 1 || lengths[b] > T) {
                    throw CliException.runtime("--lengths " + lengthsPath + ": lengths[" + b + "] = " + lengths[b]
                            + ", expected 1 <= length <= T = " + T + " (T from --inputs)");
                }
            }
        }
        String tb = batched ? "(T,B" : "(T";
        String tbDims = batched ? "(" + T + ", " + B : "(" + T;
        int[] xi = null;
        float[] xf = null;
        if (dense) {
            xf = x.toFloats();
            checkFinite(xf, "--inputs", inputs);
        } else {
            xi = ints(x, "--inputs", inputs);
            checkIndices(xi, T, B, lengths, s.input(), Integer.MIN_VALUE, "--inputs", inputs, "input size I");
        }
        int[] yi = null;
        float[] yf = null;
        if (loss.classTargets()) {
            if (!y.dtype().isInteger()) {
                throw CliException.runtime("--targets " + targets + ": is " + y + ", expected int class indices " + tb + ") for --loss xent");
            }
            checkShape(y, batched ? new int[] {T, B} : new int[] {T}, "--targets", targets, tb + ") int class indices");
            yi = ints(y, "--targets", targets);
            checkIndices(yi, T, B, lengths, s.output(), loss.ignoreIndex(), "--targets", targets, "output size O");
        } else {
            if (!y.dtype().isFloat()) throw CliException.runtime("--targets " + targets + ": is " + y + ", expected float " + tb + ",O) for --loss mse");
            checkShape(y, batched ? new int[] {T, B, s.output()} : new int[] {T, s.output()}, "--targets", targets,
                    tbDims + ", " + s.output() + ") float");
            yf = y.toFloats();
            checkFinite(yf, "--targets", targets);
        }
        float[] h0 = states("--h0", h0Path, s, B, batched);
        float[] c0 = null;
        if (c0Path != null) {
            if (!s.cell().hasCellState()) {
                throw CliException.usage("--c0 is for an LSTM, but --model " + modelPath + " is a " + s.cell().id() + " network");
            }
            c0 = states("--c0", c0Path, s, B, batched);
        }
        return new GradProblem(modelPath, m, act, loss, T, B, batched, xf, xi, yi, yf, lengths, h0, c0);
    }

    /** h0 or c0: (L*D, B, H), or (B, H) for one layer and direction; (L*D, H) / (H,) unbatched. */
    private static float[] states(String option, Path file, Shape s, int B, boolean batched) {
        if (file == null) return null;
        NpyArray h = read(option, file);
        if (!h.dtype().isFloat()) throw CliException.runtime(option + " " + file + ": is " + h + ", expected float");
        int K = s.stateBlocks(), H = s.hidden();
        int[] full = batched ? new int[] {K, B, H} : new int[] {K, H};
        int[] single = batched ? new int[] {B, H} : new int[] {H};
        boolean ok = java.util.Arrays.equals(h.shape(), full) || (K == 1 && java.util.Arrays.equals(h.shape(), single));
        if (!ok) {
            throw CliException.runtime(option + " " + file + ": shape " + NpyArray.shapeString(h.shape()) + ", expected "
                    + NpyArray.shapeString(full) + " (layers*directions, " + (batched ? "batch, " : "") + "hidden: PyTorch's h_0 layout)"
                    + (K == 1 ? " or " + NpyArray.shapeString(single) : ""));
        }
        float[] v = h.toFloats();
        checkFinite(v, option, file);
        return v;
    }

    /** The engine's arguments. */
    public Batch engineBatch() {
        Batch b = new Batch(batch, steps).lengths(lengths).initialState(h0).initialCell(c0).loss(loss);
        if (xf != null) b.input(xf);
        else b.input(xi);
        if (yi != null) b.targets(yi);
        else b.targets(yf);
        return b;
    }

    /** What one engine computes: the loss, the gradients, dL/dh0 (and dL/dc0). */
    public record Result(double loss, Grads grads, float[] dh0, float[] dc0) {}

    public Result compute(Rnn rnn) {
        Workspace ws = rnn.trainingWorkspace(batch, steps);
        Grads g = Grads.zeros(shape);
        int n = shape.stateBlocks() * batch * shape.hidden();
        float[] dh0 = new float[n], dc0 = shape.cell().hasCellState() ? new float[n] : null;
        double L = rnn.forward(model.params(), ws, engineBatch());
        rnn.backward(model.params(), ws, g, new Backprop().initialStateGradient(dh0, 0).initialCellGradient(dc0, 0));
        return new Result(L, g, dh0, dc0);
    }

    /**
     * The output arrays: {@code loss} (0-d float64), each parameter's gradient (recur's model:
     * dU, dW, db, dV, dc; a state_dict model: under the parameter's own name), {@code dh0} (and
     * {@code dc0}) in the layout h0 was given in (PyTorch's (L*D, B, H) for a state_dict model).
     */
    public Map<String, NpyArray> outputs(Result r) {
        Map<String, NpyArray> out = new LinkedHashMap<>();
        out.put("loss", NpyArray.scalar(r.loss()));
        float[] d = r.grads().data();
        for (Shape.Block b : shape.blocks()) {
            String name = shape.isNativeModel() ? "d" + b.name() : b.name();
            out.put(name, NpyArray.of(java.util.Arrays.copyOfRange(d, b.offset(), b.offset() + b.length()), b.dims()));
        }
        out.put("dh0", NpyArray.of(r.dh0(), stateShape()));
        if (r.dc0() != null) out.put("dc0", NpyArray.of(r.dc0(), stateShape()));
        return out;
    }

    /** dh0's shape: recur's model as before ((B,H) or (H,)), a state_dict model PyTorch's ((L*D,B,H) or (L*D,H)). */
    public int[] stateShape() {
        int H = shape.hidden(), K = shape.stateBlocks();
        if (shape.isNativeModel()) return batched ? new int[] {batch, H} : new int[] {H};
        return batched ? new int[] {K, batch, H} : new int[] {K, H};
    }

    static NpyArray read(String option, Path file) {
        if (!Files.exists(file)) throw CliException.runtime(option + " " + file + ": no such file");
        try {
            return Npy.read(file);
        } catch (NpyFormatException e) {
            throw CliException.runtime(option + " " + e.getMessage(), e);
        } catch (IOException e) {
            throw CliException.runtime(option + " " + file + ": cannot read it (" + e + ")", e);
        }
    }

    static int[] ints(NpyArray a, String option, Path file) {
        try {
            return a.toInts(option);
        } catch (IllegalArgumentException e) {
            throw CliException.runtime(option + " " + file + ": " + e.getMessage());
        }
    }

    /** Class indices in range at every valid position (t < length); {@code ignore} is allowed too. */
    private static void checkIndices(int[] v, int T, int B, int[] lengths, int bound, int ignore, String option, Path file,
                                     String boundName) {
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                if (lengths != null && t >= lengths[b]) continue;
                int k = t * B + b;
                if (v[k] != ignore && (v[k] < 0 || v[k] >= bound)) {
                    throw CliException.runtime(option + " " + file + ": value " + v[k] + " at flat index " + k + " (step " + t
                            + ", sequence " + b + "), expected a class index in [0, " + bound + ") (" + boundName + ")"
                            + (ignore != Integer.MIN_VALUE ? " or " + ignore + " (ignored)" : ""));
                }
            }
        }
    }

    static void checkShape(NpyArray a, int[] want, String option, Path file, String expected) {
        if (!java.util.Arrays.equals(a.shape(), want)) {
            throw CliException.runtime(option + " " + file + ": shape " + NpyArray.shapeString(a.shape()) + ", expected "
                    + NpyArray.shapeString(want) + " (" + expected + ", from the inputs and the model)");
        }
    }

    private static void checkFinite(float[] v, String option, Path file) {
        for (int k = 0; k < v.length; k++) {
            if (!Float.isFinite(v[k])) {
                throw CliException.runtime(option + " " + file + ": holds " + v[k] + " at flat index " + k + ", expected finite values");
            }
        }
    }
}
