package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Grads;
import dev.recur.ParameterArray.Block;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/** {@code recur gradcheck}: the engine's analytic gradients against centred finite differences in double. */
@Command(name = "gradcheck",
        header = "Check the exact BPTT gradients against finite differences in double.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Check the engine's exact BPTT gradients against centred finite differences of the loss, "
                        + "(L(p + h) - L(p - h)) / 2h, with the loss evaluated by an independent double-precision "
                        + "forward pass (float rounding of the loss would swamp the difference). Prints, per "
                        + "parameter block and for dh0, the norm-wise relative error ||g - g_fd|| / max(||g||, "
                        + "||g_fd||). The engine computes in float, so errors of 1e-7 to 1e-5 are expected; exit "
                        + "status 1 if any block is above --tol.",
                "",
                "Checks a model file (--model) or a seeded random model of the given sizes, on seeded random data.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur gradcheck",
                "  recur gradcheck --hidden 33 --activation sigmoid --loss mse --steps 20 --batch 3",
                "  recur gradcheck --model book.npz --steps 10 --max-per-block 200"})
final class GradCheckCommand extends BaseCommand {

    @Option(names = "--model", paramLabel = "MODEL.npz", description = "Check this model (else a seeded random one).")
    Path model;

    @Option(names = "--input", paramLabel = "I", defaultValue = "5", description = "Random model: input size (default: ${DEFAULT-VALUE}).")
    int input;

    @Option(names = "--hidden", paramLabel = "H", defaultValue = "8", description = "Random model: hidden size (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--output", paramLabel = "O", defaultValue = "4", description = "Random model: output size (default: ${DEFAULT-VALUE}).")
    int output;

    @Option(names = "--steps", paramLabel = "T", defaultValue = "6", description = "Sequence length (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "2", description = "Sequences (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", description = "Activation (default: the model's, or tanh).")
    String activation;

    @Option(names = "--loss", paramLabel = "xent|mse", description = "Loss (default: the model's, or xent).")
    String loss;

    @Option(names = "--class-inputs", description = "Class-index inputs instead of dense ones (the default for a "
            + "character model).")
    Boolean classInputs;

    @Option(names = "--eps", paramLabel = "H", defaultValue = "1e-5", description = "Finite-difference step, in double "
            + "(default: ${DEFAULT-VALUE}).")
    double eps;

    @Option(names = "--max-per-block", paramLabel = "N", defaultValue = "400", description = "Check at most N seeded "
            + "random entries per block (default: ${DEFAULT-VALUE}).")
    int maxPerBlock;

    @Option(names = "--tol", paramLabel = "TOL", defaultValue = "1e-4", description = "Largest relative error accepted "
            + "(default: ${DEFAULT-VALUE}).")
    double tol;

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    @Mixin ComputeOptions compute;

    @Override
    int execute() {
        TrainCommand.positive("--steps", steps);
        TrainCommand.positive("--batch", batch);
        TrainCommand.positive("--max-per-block", maxPerBlock);
        if (!(eps > 0) || !Double.isFinite(eps)) throw CliException.usage("--eps = " + eps + ", expected a number > 0");
        if (!(tol > 0)) throw CliException.usage("--tol = " + tol + ", expected a number > 0");
        Shape s;
        Params params;
        Activation act;
        String lossKind;
        boolean classIn;
        SplittableRandom rnd = new SplittableRandom(Seeds.mix(compute.seed, 11));
        if (model != null) {
            ModelFile.Model m = ModelOptions.load("--model", model);
            s = m.shape();
            params = m.params();
            act = activation != null ? TrainCommand.parseActivation(activation)
                    : m.meta().containsKey("activation") ? ModelOptions.activation(null, m, model) : Activation.TANH;
            lossKind = loss != null ? ModelOptions.loss(loss, m, model)
                    : m.meta().containsKey("loss") ? ModelOptions.loss(null, m, model) : "xent";
            classIn = classInputs != null ? classInputs : m.meta().get("vocabulary") != null;
        } else {
            TrainCommand.positive("--input", input);
            TrainCommand.positive("--hidden", hidden);
            TrainCommand.positive("--output", output);
            s = new Shape(input, hidden, output);
            params = Params.random(s, Seeds.mix(compute.seed, 1));
            // non-zero biases, so that every block is exercised
            float[] p = params.data();
            for (int k = 0; k < s.hidden(); k++) p[s.bOffset() + k] = (float) (rnd.nextDouble() - 0.5) * 0.2f;
            for (int k = 0; k < s.output(); k++) p[s.cOffset() + k] = (float) (rnd.nextDouble() - 0.5) * 0.2f;
            act = activation != null ? TrainCommand.parseActivation(activation) : Activation.TANH;
            lossKind = loss != null ? ModelOptions.loss(loss, null, null) : "xent";
            classIn = classInputs != null && classInputs;
        }
        final int T = steps, B = batch, I = s.input(), H = s.hidden(), O = s.output();
        long work = (long) T * B * ((long) H * H + (long) H * I + (long) H * O);
        int[] xi = null, yi = null;
        float[] xf = null, yf = null;
        double[] xd = null, yd = null;
        if (classIn) {
            xi = new int[T * B];
            for (int k = 0; k < xi.length; k++) xi[k] = rnd.nextInt(I);
        } else {
            xf = new float[T * B * I];
            for (int k = 0; k < xf.length; k++) xf[k] = (float) (rnd.nextDouble() * 2 - 1);
            xd = toDouble(xf);
        }
        if (lossKind.equals("xent")) {
            yi = new int[T * B];
            for (int k = 0; k < yi.length; k++) yi[k] = rnd.nextInt(O);
        } else {
            yf = new float[T * B * O];
            for (int k = 0; k < yf.length; k++) yf[k] = (float) (rnd.nextDouble() * 2 - 1);
            yd = toDouble(yf);
        }
        float[] h0 = new float[B * H];
        for (int k = 0; k < h0.length; k++) h0[k] = (float) (rnd.nextDouble() - 0.5);
        double[] h0d = toDouble(h0);

        // analytic gradients from the engine
        Grads g = Grads.zeros(s);
        float[] dh0 = new float[B * H];
        double engineLoss;
        String kernelName;
        int threads;
        try (Rnn rnn = compute.engine(s, act)) {
            kernelName = rnn.kernels().name();
            threads = rnn.threads();
            Workspace ws = rnn.trainingWorkspace(B, T);
            if (xi != null) engineLoss = yi != null ? rnn.forward(params, ws, T, xi, yi, h0) : rnn.forward(params, ws, T, xi, yf, h0);
            else engineLoss = yi != null ? rnn.forward(params, ws, T, xf, yi, h0) : rnn.forward(params, ws, T, xf, yf, h0);
            rnn.backward(params, ws, g, null, dh0);
        }

        double[] p = toDouble(params.data());
        double refLoss = DoubleRnn.loss(s, act, p, T, B, xi, xd, yi, yd, h0d);
        List<Map<String, Object>> rows = new ArrayList<>();
        boolean ok = true;
        long evals = 0;
        for (Block blk : Block.values()) {
            int off = blk.offset(s), len = blk.length(s);
            int[] idx = pick(len, maxPerBlock, rnd);
            double[] an = new double[idx.length], fd = new double[idx.length];
            for (int k = 0; k < idx.length; k++) {
                int j = off + idx[k];
                double keep = p[j];
                p[j] = keep + eps;
                double lp = DoubleRnn.loss(s, act, p, T, B, xi, xd, yi, yd, h0d);
                p[j] = keep - eps;
                double lm = DoubleRnn.loss(s, act, p, T, B, xi, xd, yi, yd, h0d);
                p[j] = keep;
                fd[k] = (lp - lm) / (2 * eps);
                an[k] = g.data()[j];
                evals += 2;
            }
            ok &= addRow(rows, blockName(blk), len, an, fd);
        }
        {
            int[] idx = pick(B * H, maxPerBlock, rnd);
            double[] an = new double[idx.length], fd = new double[idx.length];
            for (int k = 0; k < idx.length; k++) {
                int j = idx[k];
                double keep = h0d[j];
                h0d[j] = keep + eps;
                double lp = DoubleRnn.loss(s, act, p, T, B, xi, xd, yi, yd, h0d);
                h0d[j] = keep - eps;
                double lm = DoubleRnn.loss(s, act, p, T, B, xi, xd, yi, yd, h0d);
                h0d[j] = keep;
                fd[k] = (lp - lm) / (2 * eps);
                an[k] = dh0[j];
                evals += 2;
            }
            ok &= addRow(rows, "dh0", B * H, an, fd);
        }
        double lossRel = Math.abs(engineLoss - refLoss) / Math.max(Math.abs(refLoss), Double.MIN_NORMAL);

        if (json) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("model", model == null ? "random" : model.toString());
            r.put("I", I);
            r.put("H", H);
            r.put("O", O);
            r.put("B", B);
            r.put("T", T);
            r.put("activation", act.id());
            r.put("loss", lossKind);
            r.put("inputs", classIn ? "class" : "dense");
            r.put("kernels", kernelName);
            r.put("threads", threads);
            r.put("eps", eps);
            r.put("tol", tol);
            r.put("engine_loss", engineLoss);
            r.put("double_loss", refLoss);
            r.put("loss_rel_error", lossRel);
            r.put("blocks", rows);
            r.put("ok", ok);
            out().println(Json.write(r));
        } else {
            var o = out();
            o.printf(Locale.ROOT, "gradcheck: %s, %s, %s loss, %s inputs, B=%d, T=%d; kernels %s, %d thread%s; centred "
                            + "differences h=%s in double (%d loss evaluations, ~%s flops each)%n",
                    model == null ? "random model " + s : model + " " + s, act.id(), lossKind, classIn ? "class" : "dense",
                    B, T, kernelName, threads, threads == 1 ? "" : "s", eps, evals, Progress.count(2.0 * work));
            o.printf(Locale.ROOT, "loss: engine (float) %.9g, double reference %.12g, relative difference %.2e%n", engineLoss,
                    refLoss, lossRel);
            o.printf("%-5s %9s %9s %14s %14s %12s%n", "block", "entries", "checked", "||g||", "||g_fd||", "rel. error");
            for (Map<String, Object> r : rows) {
                o.printf(Locale.ROOT, "%-5s %9d %9d %14.6e %14.6e %12.3e%s%n", r.get("block"), (Integer) r.get("entries"),
                        (Integer) r.get("checked"), (Double) r.get("norm"), (Double) r.get("norm_fd"),
                        (Double) r.get("rel_error"), (Boolean) r.get("ok") ? "" : "   > tol " + tol);
            }
            o.println(ok ? String.format(Locale.ROOT, "ok: every block within %.1e", tol)
                    : String.format(Locale.ROOT, "FAILED: some block above --tol %.1e", tol));
        }
        return ok ? Main.EXIT_OK : Main.EXIT_RUNTIME;
    }

    private boolean addRow(List<Map<String, Object>> rows, String name, int entries, double[] an, double[] fd) {
        double dn = 0, na = 0, nf = 0;
        for (int k = 0; k < an.length; k++) {
            dn += (an[k] - fd[k]) * (an[k] - fd[k]);
            na += an[k] * an[k];
            nf += fd[k] * fd[k];
        }
        dn = Math.sqrt(dn);
        na = Math.sqrt(na);
        nf = Math.sqrt(nf);
        double denom = Math.max(na, nf);
        double rel = denom == 0 ? 0 : dn / denom;
        boolean ok = rel <= tol && Double.isFinite(rel);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("block", name);
        r.put("entries", entries);
        r.put("checked", an.length);
        r.put("norm", na);
        r.put("norm_fd", nf);
        r.put("rel_error", rel);
        r.put("ok", ok);
        rows.add(r);
        return ok;
    }

    private static String blockName(Block b) {
        return switch (b) {
            case U -> "dU";
            case W -> "dW";
            case B -> "db";
            case V -> "dV";
            case C -> "dc";
        };
    }

    /** All indices, or {@code max} distinct seeded random ones, sorted. */
    private static int[] pick(int len, int max, SplittableRandom rnd) {
        if (len <= max) {
            int[] all = new int[len];
            for (int k = 0; k < len; k++) all[k] = k;
            return all;
        }
        int[] perm = new int[len];
        for (int k = 0; k < len; k++) perm[k] = k;
        for (int k = 0; k < max; k++) {
            int j = k + rnd.nextInt(len - k);
            int t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
        }
        int[] r = java.util.Arrays.copyOf(perm, max);
        java.util.Arrays.sort(r);
        return r;
    }

    private static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int k = 0; k < f.length; k++) d[k] = f[k];
        return d;
    }
}
