package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Grads;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.io.ModelFile;
import dev.recur.io.Npy;
import dev.recur.io.NpyArray;
import dev.recur.io.NpyFormatException;
import dev.recur.io.Npz;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** {@code recur grad}: loss and all gradients for given weights and data, as .npy/.npz (numpy interop). */
@Command(name = "grad",
        header = "Loss and all gradients for given weights and data (numpy .npy/.npz in and out).",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Compute the loss and the gradients dU, dW, db, dV, dc, dh0 of the Elman RNN",
                "  a_t = U x_t + W h_{t-1} + b,  h_t = act(a_t),  o_t = V h_t + c",
                "for the weights in --model and the data in --inputs/--targets, by exact BPTT; write them to --out.",
                "",
                "Model: an .npz with U (H,I), W (H,H), b (H,), V (O,H), c (O,); a plain numpy.savez of the five is "
                        + "enough; an optional 'meta' (0-d str of JSON) may name the activation and the loss, which the "
                        + "options override.",
                "Inputs: float (T,B,I) or (T,I), or int class indices (T,B) or (T,). Targets: int (T,B)/(T,) for "
                        + "--loss xent (softmax cross-entropy), float (T,B,O)/(T,O) for --loss mse (1/2 squared error). "
                        + "float32/float64 and int32/int64 are accepted. h0: (B,H) or (H,), zeros if absent.",
                "Output (.npz): loss (0-d float64, SUMMED over time and batch), dU dW db dV dc (float32, the "
                        + "parameters' shapes), dh0 (float32, (B,H), or (H,) for unbatched inputs).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur grad --model params.npz --inputs X.npy --targets Y.npy --activation tanh --loss xent --out g.npz",
                "  python3 -c \"import numpy as np; g = np.load('g.npz'); print(g['loss'], g['dW'].shape)\""})
final class GradCommand extends BaseCommand {

    @Option(names = "--model", required = true, paramLabel = "PARAMS.npz", description = "Weights U, W, b, V, c (and optional meta).")
    Path model;

    @Option(names = "--inputs", required = true, paramLabel = "X.npy", description = "Inputs: float (T,B,I)/(T,I) or int (T,B)/(T,).")
    Path inputs;

    @Option(names = "--targets", required = true, paramLabel = "Y.npy", description = "Targets: int (T,B)/(T,) or float (T,B,O)/(T,O).")
    Path targets;

    @Option(names = "--h0", paramLabel = "H0.npy", description = "Initial state (B,H) or (H,); zeros if absent.")
    Path h0;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", description = "Overrides meta.activation.")
    String activation;

    @Option(names = "--loss", paramLabel = "xent|mse", description = "Overrides meta.loss.")
    String loss;

    @Option(names = "--out", required = true, paramLabel = "GRADS.npz", description = "Where to write loss and gradients.")
    Path outFile;

    @Mixin ComputeOptions compute;

    @Override
    int execute() throws IOException {
        ModelFile.Model m = ModelOptions.load("--model", model);
        Activation act = ModelOptions.activation(activation, m, model);
        String lossKind = ModelOptions.loss(loss, m, model);
        Shape s = m.shape();
        NpyArray x = readArray("--inputs", inputs);
        NpyArray y = readArray("--targets", targets);
        NpyArray h = h0 == null ? null : readArray("--h0", h0);

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
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape())
                    + ", expected T >= 1 and B >= 1");
        }
        if (dense && x.dim(x.ndim() - 1) != s.input()) {
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape()) + ", expected the "
                    + "last dimension I = " + s.input() + " (U is " + s.hidden() + " x " + s.input() + ")");
        }
        String tb = batched ? "(T,B" : "(T";
        String tbDims = batched ? "(" + T + ", " + B : "(" + T;
        int[] xi = null;
        float[] xf = null;
        if (dense) {
            xf = x.toFloats();
        } else {
            xi = ints(x, "--inputs", inputs);
            checkIndices(xi, s.input(), "--inputs", inputs, "input size I");
        }

        int[] yi = null;
        float[] yf = null;
        if (lossKind.equals("xent")) {
            if (!y.dtype().isInteger()) {
                throw CliException.runtime("--targets " + targets + ": is " + y + ", expected int class indices " + tb
                        + ") for --loss xent");
            }
            int[] want = batched ? new int[] {T, B} : new int[] {T};
            checkShape(y, want, "--targets", targets, tb + ") int class indices");
            yi = ints(y, "--targets", targets);
            checkIndices(yi, s.output(), "--targets", targets, "output size O");
        } else {
            if (!y.dtype().isFloat()) {
                throw CliException.runtime("--targets " + targets + ": is " + y + ", expected float " + tb + ",O) for --loss mse");
            }
            int[] want = batched ? new int[] {T, B, s.output()} : new int[] {T, s.output()};
            checkShape(y, want, "--targets", targets, tbDims + ", " + s.output() + ") float");
            yf = y.toFloats();
        }
        float[] h0f = null;
        if (h != null) {
            if (!h.dtype().isFloat()) throw CliException.runtime("--h0 " + h0 + ": is " + h + ", expected float");
            int[] want = batched ? new int[] {B, s.hidden()} : new int[] {s.hidden()};
            checkShape(h, want, "--h0", h0, NpyArray.shapeString(want) + " float");
            h0f = h.toFloats();
        }
        checkFinite(xf, "--inputs", inputs);
        checkFinite(yf, "--targets", targets);
        checkFinite(h0f, "--h0", h0);

        Grads g = Grads.zeros(s);
        float[] dh0 = new float[B * s.hidden()];
        double L;
        try (Rnn rnn = compute.engine(s, act)) {
            Workspace ws = rnn.trainingWorkspace(B, T);
            if (xi != null) L = yi != null ? rnn.forward(m.params(), ws, T, xi, yi, h0f) : rnn.forward(m.params(), ws, T, xi, yf, h0f);
            else L = yi != null ? rnn.forward(m.params(), ws, T, xf, yi, h0f) : rnn.forward(m.params(), ws, T, xf, yf, h0f);
            rnn.backward(m.params(), ws, g, null, dh0);
        }
        Map<String, NpyArray> outArrays = new LinkedHashMap<>();
        outArrays.put("loss", NpyArray.scalar(L));
        float[] d = g.data();
        outArrays.put("dU", NpyArray.of(slice(d, s.uOffset(), s.hidden() * s.input()), s.hidden(), s.input()));
        outArrays.put("dW", NpyArray.of(slice(d, s.wOffset(), s.hidden() * s.hidden()), s.hidden(), s.hidden()));
        outArrays.put("db", NpyArray.of(slice(d, s.bOffset(), s.hidden()), s.hidden()));
        outArrays.put("dV", NpyArray.of(slice(d, s.vOffset(), s.output() * s.hidden()), s.output(), s.hidden()));
        outArrays.put("dc", NpyArray.of(slice(d, s.cOffset(), s.output()), s.output()));
        outArrays.put("dh0", batched ? NpyArray.of(dh0, B, s.hidden()) : NpyArray.of(dh0, s.hidden()));
        try {
            Npz.write(outFile, outArrays, false);
        } catch (IOException e) {
            throw CliException.runtime("--out " + outFile + ": cannot write it (" + e.getMessage() + ")", e);
        }
        err().printf(Locale.ROOT, "loss %.9g (summed over %d steps x %d sequences; %s, %s); gradients written to %s%n", L, T,
                B, act.id(), lossKind, outFile);
        return Main.EXIT_OK;
    }

    static NpyArray readArray(String option, Path file) {
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

    private static void checkIndices(int[] v, int bound, String option, Path file, String boundName) {
        for (int k = 0; k < v.length; k++) {
            if (v[k] < 0 || v[k] >= bound) {
                throw CliException.runtime(option + " " + file + ": value " + v[k] + " at flat index " + k + ", expected a class "
                        + "index in [0, " + bound + ") (" + boundName + ")");
            }
        }
    }

    private static void checkShape(NpyArray a, int[] want, String option, Path file, String expected) {
        if (!java.util.Arrays.equals(a.shape(), want)) {
            throw CliException.runtime(option + " " + file + ": shape " + NpyArray.shapeString(a.shape()) + ", expected "
                    + NpyArray.shapeString(want) + " (" + expected + ", from the inputs and the model)");
        }
    }

    private static void checkFinite(float[] v, String option, Path file) {
        if (v == null) return;
        for (int k = 0; k < v.length; k++) {
            if (!Float.isFinite(v[k])) {
                throw CliException.runtime(option + " " + file + ": holds " + v[k] + " at flat index " + k
                        + ", expected finite values");
            }
        }
    }

    private static float[] slice(float[] a, int off, int len) {
        float[] r = new float[len];
        System.arraycopy(a, off, r, 0, len);
        return r;
    }
}
