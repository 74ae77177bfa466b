package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Backprop;
import dev.recur.Batch;
import dev.recur.Cell;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import dev.recur.reference.ReferenceNetwork;
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
                        + "(L(p + h) - L(p - h)) / 2h, with the loss evaluated by recur's independent double-precision "
                        + "reference network (dev.recur.reference.ReferenceNetwork; float rounding of the loss would swamp "
                        + "the difference). Prints, per parameter block and for dh0 (and an LSTM's dc0), the norm-wise "
                        + "relative error ||g - g_fd|| / max(||g||, ||g_fd||), and beside it the error against the "
                        + "reference's own double BPTT. The engine computes in float, so errors of 1e-7 to 1e-5 are "
                        + "expected; exit status 1 if any block is above --tol.",
                "",
                "Checks a model file (--model) or a seeded random network of the given sizes, on seeded random data, "
                        + "optionally with sequences of different lengths (packed-sequence semantics).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur gradcheck",
                "  recur gradcheck --hidden 33 --activation sigmoid --loss mse --steps 20 --batch 3",
                "  recur gradcheck --layers 2 --bidirectional --batch 3 --lengths 6,2,5",
                "  recur gradcheck --layers 3 --batch 5 --steps 40 --lengths random",
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

    @Option(names = "--layers", paramLabel = "L", defaultValue = "1", description = "Random model: layers (default: ${DEFAULT-VALUE}).")
    int layers;

    @Option(names = "--bidirectional", description = "Random model: two directions per layer.")
    boolean bidirectional;

    @Option(names = "--cell", paramLabel = "rnn|gru|lstm", description = "Random model: the cell (default rnn); with --model, "
            + "checks that the model is this cell.")
    String cell;

    @Option(names = "--steps", paramLabel = "T", defaultValue = "6", description = "Sequence length T (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "2", description = "Sequences (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lengths", paramLabel = "L1,L2,...|random", description = "Sequence lengths: B comma-separated "
            + "values in [1, T], or 'random' (seeded, uniform in [1, T]); default: all T.")
    String lengths;

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
        OptionChecks.positive("--steps", steps);
        OptionChecks.positive("--batch", batch);
        OptionChecks.positive("--max-per-block", maxPerBlock);
        if (!(eps > 0) || !Double.isFinite(eps)) throw CliException.usage("--eps = " + eps + ", expected a number > 0");
        if (!(tol > 0)) throw CliException.usage("--tol = " + tol + ", expected a number > 0");
        Shape s;
        Params params;
        Activation act;
        Loss lossKind;
        boolean classIn;
        SplittableRandom rnd = new SplittableRandom(Seeds.mix(compute.seed, 11));
        if (model != null) {
            ModelFile.Model m = ModelOptions.load("--model", model);
            ModelOptions.checkCell(cell, m, model);
            s = m.shape();
            params = m.params();
            act = activation != null || m.meta().containsKey("activation") || s.cell() != Cell.ELMAN
                    ? ModelOptions.activation(activation, m, model) : Activation.TANH;
            lossKind = loss != null || m.meta().containsKey("loss") ? ModelOptions.loss(loss, m, model) : Loss.CROSS_ENTROPY;
            classIn = classInputs != null ? classInputs : m.meta().get("vocabulary") != null;
        } else {
            OptionChecks.positive("--input", input);
            OptionChecks.positive("--hidden", hidden);
            OptionChecks.positive("--output", output);
            OptionChecks.positive("--layers", layers);
            Cell c = cell == null ? Cell.ELMAN : ModelOptions.parseCell(cell);
            s = layers == 1 && !bidirectional && c == Cell.ELMAN ? new Shape(input, hidden, output)
                    : Shape.network(input, hidden, output, layers, bidirectional, c);
            params = Params.random(s, Seeds.mix(compute.seed, 1));
            // non-zero biases, so that every block is exercised
            float[] p = params.data();
            for (Shape.Block b : s.blocks()) {
                if (b.dims().length == 1) for (int k = 0; k < b.length(); k++) p[b.offset() + k] = (float) (rnd.nextDouble() - 0.5) * 0.2f;
            }
            act = c != Cell.ELMAN ? Activation.TANH : activation != null ? OptionChecks.parseActivation(activation) : Activation.TANH;
            if (c != Cell.ELMAN && activation != null && act != OptionChecks.parseActivation(activation)) {
                throw CliException.usage("--activation " + activation + " with --cell " + c.id() + ", expected tanh or none");
            }
            lossKind = loss != null ? Loss.parse(loss) : Loss.CROSS_ENTROPY;
            classIn = classInputs != null && classInputs;
        }
        if (!s.hasHead()) throw CliException.runtime("--model " + model + ": has no head (V, c), expected one for the loss");
        final int T = steps, B = batch, I = s.input(), H = s.hidden(), O = s.output(), K = s.stateBlocks();
        int[] len = parseLengths(lengths, B, T, rnd);
        int[] xi = null, yi = null;
        float[] xf = null, yf = null;
        if (classIn) {
            xi = new int[T * B];
            for (int k = 0; k < xi.length; k++) xi[k] = rnd.nextInt(I);
        } else {
            xf = new float[T * B * I];
            for (int k = 0; k < xf.length; k++) xf[k] = (float) (rnd.nextDouble() * 2 - 1);
        }
        if (lossKind.classTargets()) {
            yi = new int[T * B];
            for (int k = 0; k < yi.length; k++) yi[k] = rnd.nextInt(O);
        } else {
            yf = new float[T * B * O];
            for (int k = 0; k < yf.length; k++) yf[k] = (float) (rnd.nextDouble() * 2 - 1);
        }
        float[] h0 = new float[K * B * H];
        for (int k = 0; k < h0.length; k++) h0[k] = (float) (rnd.nextDouble() - 0.5);
        float[] c0 = null;
        if (s.cell().hasCellState()) {
            c0 = new float[K * B * H];
            for (int k = 0; k < c0.length; k++) c0[k] = (float) (rnd.nextDouble() - 0.5);
        }

        // analytic gradients from the engine
        Grads g = Grads.zeros(s);
        float[] dh0 = new float[K * B * H], dc0 = c0 == null ? null : new float[c0.length];
        double engineLoss;
        String kernelName;
        int threads;
        try (Rnn rnn = compute.engine(s, act)) {
            kernelName = rnn.kernels().name();
            threads = rnn.threads();
            Workspace ws = rnn.trainingWorkspace(B, T);
            Batch data = new Batch(B, T).lengths(len).initialState(h0).initialCell(c0).loss(lossKind);
            if (xi != null) data.input(xi);
            else data.input(xf);
            if (yi != null) data.targets(yi);
            else data.targets(yf);
            engineLoss = rnn.forward(params, ws, data);
            rnn.backward(params, ws, g, new Backprop().initialStateGradient(dh0, 0).initialCellGradient(dc0, 0));
        }

        // the independent double reference: its loss for the finite differences, its BPTT beside them
        ReferenceNetwork ref = new ReferenceNetwork(s.cell().id(), act.id(), I, H, O, s.layers(), s.bidirectional(), s.biases());
        for (Shape.Block b : s.blocks()) ref.set(b.name(), params.copyOf(b.name()));
        ReferenceNetwork.Problem pr = new ReferenceNetwork.Problem();
        pr.steps = T;
        pr.batch = B;
        pr.lengths = len;
        pr.loss = lossKind.id();
        if (xi != null) pr.xi = grid(xi, T, B);
        else pr.x = grid(xf, T, B, I);
        if (yi != null) pr.yi = grid(yi, T, B);
        else pr.yf = grid(yf, T, B, O);
        pr.h0 = grid(h0, K, B, H);
        if (c0 != null) pr.c0 = grid(c0, K, B, H);
        ReferenceNetwork.Result exact = ref.run(pr);
        double refLoss = exact.loss;

        List<Map<String, Object>> rows = new ArrayList<>();
        boolean ok = true;
        long evals = 0;
        for (Shape.Block blk : s.blocks()) {
            double[] p = ref.params.get(blk.name());
            int[] idx = pick(blk.length(), maxPerBlock, rnd);
            double[] an = new double[idx.length], fd = new double[idx.length], dbl = new double[idx.length];
            for (int k = 0; k < idx.length; k++) {
                int j = idx[k];
                fd[k] = centred(ref, pr, p, j);
                an[k] = g.data()[blk.offset() + j];
                dbl[k] = exact.grads.get(blk.name())[j];
                evals += 2;
            }
            ok &= addRow(rows, s.isNativeModel() ? "d" + blk.name() : blk.name(), blk.length(), an, fd, dbl);
        }
        for (String state : c0 == null ? new String[] {"dh0"} : new String[] {"dh0", "dc0"}) {
            double[][][] v = state.equals("dh0") ? pr.h0 : pr.c0;
            float[] got = state.equals("dh0") ? dh0 : dc0;
            double[][][] want = state.equals("dh0") ? exact.dh0 : exact.dc0;
            int[] idx = pick(K * B * H, maxPerBlock, rnd);
            double[] an = new double[idx.length], fd = new double[idx.length], dbl = new double[idx.length];
            for (int k = 0; k < idx.length; k++) {
                int j = idx[k], kk = j / (B * H), b = j / H % B, i = j % H;
                fd[k] = centred(ref, pr, v[kk][b], i);
                an[k] = got[j];
                dbl[k] = want[kk][b][i];
                evals += 2;
            }
            ok &= addRow(rows, state, K * B * H, an, fd, dbl);
        }
        double lossRel = Math.abs(engineLoss - refLoss) / Math.max(Math.abs(refLoss), Double.MIN_NORMAL);
        String net = model == null ? "random " + s : model + " " + s;

        if (json) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("model", model == null ? "random" : model.toString());
            r.put("shape", s.toString());
            r.put("I", I);
            r.put("H", H);
            r.put("O", O);
            r.put("layers", s.layers());
            r.put("directions", s.directions());
            r.put("cell", s.cell().id());
            r.put("B", B);
            r.put("T", T);
            r.put("lengths", len == null ? null : java.util.Arrays.stream(len).boxed().toList());
            r.put("activation", act.id());
            r.put("loss", lossKind.id());
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
            o.printf(Locale.ROOT, "gradcheck: %s, %s, %s loss, %s inputs, B=%d, T=%d%s; kernels %s, %d thread%s; centred "
                            + "differences h=%s in double (%d loss evaluations)%n",
                    net, s.cell() == Cell.ELMAN ? act.id() : s.cell().id(), lossKind.id(), classIn ? "class" : "dense", B, T,
                    len == null ? "" : ", lengths " + java.util.Arrays.toString(len), kernelName, threads, threads == 1 ? "" : "s",
                    eps, evals);
            o.printf(Locale.ROOT, "loss: engine (float) %.9g, double reference %.12g, relative difference %.2e%n", engineLoss,
                    refLoss, lossRel);
            int w = 5;
            for (Map<String, Object> r : rows) w = Math.max(w, ((String) r.get("block")).length());
            o.printf("%-" + w + "s %9s %9s %14s %14s %12s %12s%n", "block", "entries", "checked", "||g||", "||g_fd||", "vs fd",
                    "vs double");
            for (Map<String, Object> r : rows) {
                o.printf(Locale.ROOT, "%-" + w + "s %9d %9d %14.6e %14.6e %12.3e %12.3e%s%n", r.get("block"), (Integer) r.get("entries"),
                        (Integer) r.get("checked"), (Double) r.get("norm"), (Double) r.get("norm_fd"), (Double) r.get("rel_error"),
                        (Double) r.get("rel_error_double_bptt"), (Boolean) r.get("ok") ? "" : "   > tol " + tol);
            }
            o.println(ok ? String.format(Locale.ROOT, "ok: every block within %.1e", tol)
                    : String.format(Locale.ROOT, "FAILED: some block above --tol %.1e", tol));
        }
        return ok ? Main.EXIT_OK : Main.EXIT_RUNTIME;
    }

    /** B lengths from a comma list or 'random'; null when not given. */
    private static int[] parseLengths(String text, int B, int T, SplittableRandom rnd) {
        if (text == null) return null;
        int[] len = new int[B];
        if (text.trim().equalsIgnoreCase("random")) {
            for (int b = 0; b < B; b++) len[b] = 1 + rnd.nextInt(T);
            return len;
        }
        String[] parts = text.split(",");
        if (parts.length != B) {
            throw CliException.usage("--lengths = '" + text + "' has " + parts.length + " values, expected B = " + B
                    + " comma-separated lengths in [1, " + T + "] or 'random'");
        }
        for (int b = 0; b < B; b++) {
            try {
                len[b] = Integer.parseInt(parts[b].trim());
            } catch (NumberFormatException e) {
                throw CliException.usage("--lengths: '" + parts[b].trim() + "' (value " + (b + 1) + ") is not a whole number, "
                        + "expected lengths in [1, " + T + "]");
            }
            if (len[b] < 1 || len[b] > T) {
                throw CliException.usage("--lengths: value " + (b + 1) + " = " + len[b] + ", expected 1 <= length <= T = " + T);
            }
        }
        return len;
    }

    private double centred(ReferenceNetwork ref, ReferenceNetwork.Problem pr, double[] p, int j) {
        double keep = p[j];
        p[j] = keep + eps;
        double lp = ref.objective(pr);
        p[j] = keep - eps;
        double lm = ref.objective(pr);
        p[j] = keep;
        return (lp - lm) / (2 * eps);
    }

    private static double[][][] grid(float[] a, int n0, int n1, int n2) {
        double[][][] r = new double[n0][n1][n2];
        for (int i = 0, k = 0; i < n0; i++) for (int j = 0; j < n1; j++) for (int l = 0; l < n2; l++) r[i][j][l] = a[k++];
        return r;
    }

    private static int[][] grid(int[] a, int n0, int n1) {
        int[][] r = new int[n0][n1];
        for (int i = 0, k = 0; i < n0; i++) for (int j = 0; j < n1; j++) r[i][j] = a[k++];
        return r;
    }

    private boolean addRow(List<Map<String, Object>> rows, String name, int entries, double[] an, double[] fd, double[] dbl) {
        double dn = 0, na = 0, nf = 0, db = 0, nd = 0;
        for (int k = 0; k < an.length; k++) {
            dn += (an[k] - fd[k]) * (an[k] - fd[k]);
            db += (an[k] - dbl[k]) * (an[k] - dbl[k]);
            na += an[k] * an[k];
            nf += fd[k] * fd[k];
            nd += dbl[k] * dbl[k];
        }
        double denom = Math.max(Math.sqrt(na), Math.sqrt(nf));
        double rel = denom == 0 ? 0 : Math.sqrt(dn) / denom;
        double denomD = Math.max(Math.sqrt(na), Math.sqrt(nd));
        double relD = denomD == 0 ? 0 : Math.sqrt(db) / denomD;
        boolean ok = rel <= tol && Double.isFinite(rel);
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("block", name);
        r.put("entries", entries);
        r.put("checked", an.length);
        r.put("norm", Math.sqrt(na));
        r.put("norm_fd", Math.sqrt(nf));
        r.put("rel_error", rel);
        r.put("rel_error_double_bptt", relD);
        r.put("ok", ok);
        rows.add(r);
        return ok;
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

}
