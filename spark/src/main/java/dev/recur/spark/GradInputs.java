package dev.recur.spark;

import dev.recur.cli.CliException;
import dev.recur.io.ModelFile;
import dev.recur.io.Npy;
import dev.recur.io.NpyArray;
import dev.recur.io.NpyFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The inputs of {@code recur spark grad}, read and checked on the driver exactly as
 * {@code recur grad} reads them (the same contract and messages): the model, inputs
 * (float (T,B,I)/(T,I) or int (T,B)/(T,)), targets (int for xent, float (…,O) for mse) and an
 * optional h0. To merge with {@code GradCommand}'s reader once the new grad contract (lengths,
 * multi-layer h0) lands.
 *
 * @param batched false for unbatched (T,I)/(T,) inputs, whose outputs drop the batch axis
 */
record GradInputs(float[] params, int input, int hidden, int output, String activation, String loss, int steps,
                  int batch, boolean batched, int[] xi, float[] xf, int[] yi, float[] yf, float[] h0) {

    static GradInputs read(Path model, Path inputs, Path targets, Path h0, String activationOption, String lossOption) {
        ModelFile.Model m = loadModel(model);
        String act = activation(activationOption, m, model);
        String lossKind = loss(lossOption, m, model);
        int I = m.shape().input(), H = m.shape().hidden(), O = m.shape().output();
        NpyArray x = array("--inputs", inputs);
        NpyArray y = array("--targets", targets);
        NpyArray h = h0 == null ? null : array("--h0", h0);

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
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape())
                    + ", expected T >= 1 and B >= 1");
        }
        if (dense && x.dim(x.ndim() - 1) != I) {
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape()) + ", expected the "
                    + "last dimension I = " + I + " (U is " + H + " x " + I + ")");
        }
        String tb = batched ? "(T,B" : "(T";
        String tbDims = batched ? "(" + T + ", " + B : "(" + T;
        int[] xi = null;
        float[] xf = null;
        if (dense) {
            xf = finite(x.toFloats(), "--inputs", inputs);
        } else {
            xi = ints(x, "--inputs", inputs);
            indices(xi, I, "--inputs", inputs, "input size I");
        }
        int[] yi = null;
        float[] yf = null;
        if (lossKind.equals("xent")) {
            if (!y.dtype().isInteger()) {
                throw CliException.runtime("--targets " + targets + ": is " + y + ", expected int class indices " + tb
                        + ") for --loss xent");
            }
            shape(y, batched ? new int[] {T, B} : new int[] {T}, "--targets", targets, tb + ") int class indices");
            yi = ints(y, "--targets", targets);
            indices(yi, O, "--targets", targets, "output size O");
        } else {
            if (!y.dtype().isFloat()) {
                throw CliException.runtime("--targets " + targets + ": is " + y + ", expected float " + tb + ",O) for --loss mse");
            }
            shape(y, batched ? new int[] {T, B, O} : new int[] {T, O}, "--targets", targets, tbDims + ", " + O + ") float");
            yf = finite(y.toFloats(), "--targets", targets);
        }
        float[] h0f = null;
        if (h != null) {
            if (!h.dtype().isFloat()) throw CliException.runtime("--h0 " + h0 + ": is " + h + ", expected float");
            int[] want = batched ? new int[] {B, H} : new int[] {H};
            shape(h, want, "--h0", h0, NpyArray.shapeString(want) + " float");
            h0f = finite(h.toFloats(), "--h0", h0);
        }
        return new GradInputs(m.params().data(), I, H, O, act, lossKind, T, B, batched, xi, xf, yi, yf, h0f);
    }

    private static ModelFile.Model loadModel(Path file) {
        if (!Files.exists(file)) throw CliException.runtime("--model " + file + ": no such file");
        if (Files.isDirectory(file)) throw CliException.runtime("--model " + file + ": is a folder, expected an .npz file");
        try {
            return ModelFile.read(file);
        } catch (NpyFormatException e) {
            throw CliException.runtime("--model " + e.getMessage(), e);
        } catch (IOException e) {
            throw CliException.runtime("--model " + file + ": cannot read it (" + e + ")", e);
        }
    }

    private static String activation(String option, ModelFile.Model m, Path file) {
        if (option != null) {
            String a = option.toLowerCase(Locale.ROOT);
            if (!ModelSpec.ACTIVATIONS.contains(a)) {
                throw CliException.usage("--activation = '" + option + "', expected one of tanh, sigmoid, relu");
            }
            return a;
        }
        Object a = m.meta().get("activation");
        if (a == null) {
            throw CliException.usage(file + " names no activation (no meta.activation), expected --activation "
                    + "tanh|sigmoid|relu");
        }
        String s = String.valueOf(a).toLowerCase(Locale.ROOT);
        if (!ModelSpec.ACTIVATIONS.contains(s)) {
            throw CliException.runtime(file + ": meta.activation = '" + a + "', expected one of tanh, sigmoid, relu");
        }
        return s;
    }

    private static String loss(String option, ModelFile.Model m, Path file) {
        if (option != null) {
            String l = option.toLowerCase(Locale.ROOT);
            if (!ModelSpec.LOSSES.contains(l)) {
                throw CliException.usage("--loss = '" + option + "', expected xent (softmax cross-entropy, int targets) or "
                        + "mse (1/2 squared error, float targets)");
            }
            return l;
        }
        Object l = m.meta().get("loss");
        if (l == null) throw CliException.usage(file + " names no loss (no meta.loss), expected --loss xent|mse");
        if (!List.of("xent", "mse").contains(l)) {
            throw CliException.runtime(file + ": meta.loss = '" + l + "', expected xent or mse");
        }
        return (String) l;
    }

    static NpyArray array(String option, Path file) {
        if (!Files.exists(file)) throw CliException.runtime(option + " " + file + ": no such file");
        try {
            return Npy.read(file);
        } catch (NpyFormatException e) {
            throw CliException.runtime(option + " " + e.getMessage(), e);
        } catch (IOException e) {
            throw CliException.runtime(option + " " + file + ": cannot read it (" + e + ")", e);
        }
    }

    private static int[] ints(NpyArray a, String option, Path file) {
        try {
            return a.toInts(option);
        } catch (IllegalArgumentException e) {
            throw CliException.runtime(option + " " + file + ": " + e.getMessage());
        }
    }

    private static void indices(int[] v, int bound, String option, Path file, String boundName) {
        for (int k = 0; k < v.length; k++) {
            if (v[k] < 0 || v[k] >= bound) {
                throw CliException.runtime(option + " " + file + ": value " + v[k] + " at flat index " + k + ", expected a class "
                        + "index in [0, " + bound + ") (" + boundName + ")");
            }
        }
    }

    private static void shape(NpyArray a, int[] want, String option, Path file, String expected) {
        if (!Arrays.equals(a.shape(), want)) {
            throw CliException.runtime(option + " " + file + ": shape " + NpyArray.shapeString(a.shape()) + ", expected "
                    + NpyArray.shapeString(want) + " (" + expected + ", from the inputs and the model)");
        }
    }

    private static float[] finite(float[] v, String option, Path file) {
        for (int k = 0; k < v.length; k++) {
            if (!Float.isFinite(v[k])) {
                throw CliException.runtime(option + " " + file + ": holds " + v[k] + " at flat index " + k
                        + ", expected finite values");
            }
        }
        return v;
    }
}
