package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Batch;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.io.Json;
import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.KernelsLookup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code recur bench}: end-to-end forward + summed cross-entropy + full BPTT per sequence, as
 * the peers' CONFIGS.md measures it. Not JMH: a quick comparison of scalar vs vector kernels and
 * 1 vs all threads, median of several timed sequences after warm-up.
 */
@Command(name = "bench",
        header = "Quick end-to-end speed: scalar vs vector kernels, 1 vs all threads.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Time forward + summed softmax cross-entropy + full BPTT per sequence (dense inputs, h0 = 0, float32), "
                        + "the peers' configuration. Without case options: a quick table (about a minute) of scalar vs "
                        + "vector kernels and 1 vs all threads on a few sizes, each run on a sequence short enough to "
                        + "take about 0.2 s (the T column says which). With --hidden (and the other case options): that one case.",
                "",
                "steps/s = B*T per second; GFLOP/s by the peers' convention, flops = B*T*(6H^2 + 6HI + 6HO) (it counts "
                        + "dL/dx, which a loss-headed run skips). Median of --repeats timed sequences after warm-up. The "
                        + "table goes to stderr; --json prints one object per case on stdout.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur bench",
                "  recur bench --input 64 --hidden 512 --output 64 --batch 64 --steps 200 --kernels vector --threads 2",
                "  recur bench --hidden 256 --batch 1 --steps 2000 --json"})
final class BenchCommand extends BaseCommand {

    @Option(names = "--input", paramLabel = "I", description = "Input size (default 64).")
    Integer input;

    @Option(names = "--hidden", paramLabel = "H", description = "Hidden size: names one case.")
    Integer hidden;

    @Option(names = "--output", paramLabel = "O", description = "Output classes (default 64).")
    Integer output;

    @Option(names = "--batch", paramLabel = "B", description = "Sequences per call (default 1).")
    Integer batch;

    @Option(names = "--steps", paramLabel = "T", description = "Sequence length (default 1000).")
    Integer steps;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", defaultValue = "tanh", description = "Activation (default: ${DEFAULT-VALUE}).")
    String activation;

    @Option(names = "--kernels", paramLabel = "scalar|vector|auto", description = "Kernels (one case default: auto; "
            + "the table: both).")
    String kernels;

    @Option(names = "--threads", paramLabel = "N", description = "Threads, or 'all' (one case default: 1; the table: 1 "
            + "and all).")
    String threads;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed for weights and data (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--repeats", paramLabel = "N", description = "Timed sequences per case, >= 3 (default: 5 for one "
            + "case, 3 for the table); the median is reported.")
    Integer repeatsOption;

    @Option(names = "--warmup", paramLabel = "SECONDS", description = "Warm-up time per case, at least 2 sequences "
            + "(default: 1.0 for one case, 0.4 for the table).")
    Double warmupOption;

    private int repeats;
    private double warmup;

    @Option(names = "--json", description = "One JSON object per measured case, one per line, on stdout.")
    boolean json;

    /** The quick table's sizes: CONFIGS.md cases 0, 4 and 5 (I = O = 64, tanh). */
    static final int[][] QUICK = {{128, 1, 2000}, {256, 32, 500}, {512, 64, 200}};
    /** Runs of the quick table are shortened to about this many seconds per sequence. */
    static final double QUICK_SECONDS_PER_SEQUENCE = 0.2;

    record Result(String kernels, int threads, int I, int H, int O, int B, int T, String activation, double seconds,
                  double stepsPerS, double gflops) {
        Map<String, Object> toMap() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kernels", kernels);
            m.put("threads", threads);
            m.put("I", I);
            m.put("H", H);
            m.put("O", O);
            m.put("B", B);
            m.put("T", T);
            m.put("activation", activation);
            m.put("seconds_median", seconds);
            m.put("steps_per_s", stepsPerS);
            m.put("gflops", gflops);
            return m;
        }
    }

    @Override
    int execute() {
        boolean one = hidden != null;
        repeats = repeatsOption != null ? repeatsOption : one ? 5 : 3;
        warmup = warmupOption != null ? warmupOption : one ? 1.0 : 0.4;
        if (repeats < 3) throw CliException.usage("--repeats = " + repeats + ", expected >= 3 (the median of at least 3)");
        if (!(warmup >= 0) || !Double.isFinite(warmup)) throw CliException.usage("--warmup = " + warmup + ", expected seconds >= 0");
        Activation act = TrainCommand.parseActivation(activation);
        int I = TrainCommand.positive("--input", input != null ? input : 64);
        int O = TrainCommand.positive("--output", output != null ? output : 64);
        if (hidden != null) return oneCase(act, I, O);
        if (batch != null || steps != null) {
            throw CliException.usage("--batch/--steps name a case and need --hidden too, expected --hidden H with them");
        }
        return table(act, I, O);
    }

    private int oneCase(Activation act, int I, int O) {
        int H = TrainCommand.positive("--hidden", hidden);
        int B = TrainCommand.positive("--batch", batch != null ? batch : 1);
        int T = TrainCommand.positive("--steps", steps != null ? steps : 1000);
        KernelChoice kc = kernelChoice(kernels == null ? "auto" : kernels);
        int n = ComputeOptions.parseThreads(threads == null ? "1" : threads);
        Result r = measure(new Shape(I, H, O), act, B, T, kc, n);
        if (json) out().println(Json.write(r.toMap()));
        printTable(List.of(r), false);
        return Main.EXIT_OK;
    }

    private int table(Activation act, int I, int O) {
        List<KernelChoice> ks = new ArrayList<>();
        String vectorWhy = KernelsLookup.vectorUnavailableReason();
        if (kernels != null) {
            ks.add(kernelChoice(kernels));
        } else {
            ks.add(KernelChoice.SCALAR);
            if (vectorWhy == null) ks.add(KernelChoice.VECTOR);
        }
        int cores = Runtime.getRuntime().availableProcessors();
        List<Integer> ts = new ArrayList<>();
        if (threads != null) ts.add(ComputeOptions.parseThreads(threads));
        else {
            ts.add(1);
            if (cores > 1) ts.add(cores);
        }
        var e = err();
        e.printf(Locale.ROOT, "recur bench: forward + cross-entropy + full BPTT, I=%d, O=%d, %s; %d cores; median of %d "
                + "sequences after %.1fs warm-up%n", I, O, act.id(), cores, repeats, warmup);
        if (kernels == null && vectorWhy != null) e.println("(vector kernels not measured: " + vectorWhy + ")");
        e.flush();
        for (KernelChoice k : ks) jitWarmup(act, k, 1.5);
        List<Result> results = new ArrayList<>();
        for (int[] c : QUICK) {
            int H = c[0], B = c[1], T = c[2];
            Shape s = new Shape(I, H, O);
            for (KernelChoice k : ks) {
                for (int n : ts) {
                    Result r = measure(s, act, B, T, k, n, QUICK_SECONDS_PER_SEQUENCE);
                    results.add(r);
                    if (json) {
                        out().println(Json.write(r.toMap()));
                        out().flush();
                    }
                }
            }
        }
        printTable(results, true);
        return Main.EXIT_OK;
    }

    private Result measure(Shape s, Activation act, int B, int T, KernelChoice k, int threads) {
        return measure(s, act, B, T, k, threads, Double.POSITIVE_INFINITY);
    }

    /**
     * Warms up (on a short probe sequence when the case may be shortened), picks T <= the case's
     * T such that a sequence takes about {@code targetSeconds}, and returns the median of
     * {@code repeats} timed sequences of that length.
     */
    private Result measure(Shape s, Activation act, int B, int Tmax, KernelChoice k, int threads, double targetSeconds) {
        Params p = Params.random(s, Seeds.mix(seed, 1));
        SplittableRandom rnd = new SplittableRandom(Seeds.mix(seed, 2));
        float[] x = new float[Tmax * B * s.input()];
        for (int j = 0; j < x.length; j++) x[j] = (float) (rnd.nextDouble() * 2 - 1);
        int[] y = new int[Tmax * B];
        for (int j = 0; j < y.length; j++) y[j] = rnd.nextInt(s.output());
        Grads g = Grads.zeros(s);
        try (Rnn rnn = Engines.build(s, act, k, threads)) {
            int T = Tmax;
            boolean shorten = Double.isFinite(targetSeconds);
            if (shorten) {
                int probe = Math.min(Tmax, 32);
                Workspace pw = rnn.trainingWorkspace(B, probe);
                float[] px = Arrays.copyOf(x, probe * B * s.input());
                int[] py = Arrays.copyOf(y, probe * B);
                double last = warm(rnn, p, pw, probe, px, py, g, warmup);
                T = (int) Math.max(Math.min(Tmax, 16), Math.min(Tmax, targetSeconds / (last / probe)));
                // a multiple of 16, as every configured T is: the kernels' tails are not what is measured
                if (T < Tmax && T > 16) T -= T % 16;
            }
            Workspace ws = rnn.trainingWorkspace(B, T);
            float[] xt = T == Tmax ? x : Arrays.copyOf(x, T * B * s.input());
            int[] yt = T == Tmax ? y : Arrays.copyOf(y, T * B);
            warm(rnn, p, ws, T, xt, yt, g, shorten ? 0 : warmup);
            double[] secs = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                sequence(rnn, p, ws, T, xt, yt, g);
                secs[r] = (System.nanoTime() - t0) / 1e9;
            }
            Arrays.sort(secs);
            double med = repeats % 2 == 1 ? secs[repeats / 2] : 0.5 * (secs[repeats / 2 - 1] + secs[repeats / 2]);
            double stepsPerS = (double) B * T / med;
            double gflops = stepsPerS * s.flopsPerStep() / 1e9;
            return new Result(rnn.kernels().name(), rnn.threads(), s.input(), s.hidden(), s.output(), B, T, act.id(), med,
                    stepsPerS, gflops);
        }
    }

    /** Runs at least 2 sequences and at least {@code seconds}; returns the time of the last one. */
    private static double warm(Rnn rnn, Params p, Workspace ws, int T, float[] x, int[] y, Grads g, double seconds) {
        long start = System.nanoTime();
        double last = 0;
        for (int done = 0; done < 2 || (System.nanoTime() - start) / 1e9 < seconds; done++) {
            long t0 = System.nanoTime();
            sequence(rnn, p, ws, T, x, y, g);
            last = (System.nanoTime() - t0) / 1e9;
        }
        return last;
    }

    /** Gets the JIT to compile a kernel path's hot loops before anything is timed. */
    private void jitWarmup(Activation act, KernelChoice k, double seconds) {
        Shape s = new Shape(32, 64, 32);
        int B = 4, T = 32;
        Params p = Params.random(s, 1);
        float[] x = new float[T * B * s.input()];
        int[] y = new int[T * B];
        try (Rnn rnn = Engines.build(s, act, k, 1)) {
            warm(rnn, p, rnn.trainingWorkspace(B, T), T, x, y, Grads.zeros(s), seconds);
        }
    }

    private static void sequence(Rnn rnn, Params p, Workspace ws, int T, float[] x, int[] y, Grads g) {
        g.zero();
        double loss = rnn.forward(p, ws, new Batch(ws.maxBatch(), T).input(x).targets(y).loss(Loss.CROSS_ENTROPY));
        rnn.backward(p, ws, g);
        if (!Double.isFinite(loss)) throw CliException.runtime("bench: the loss is " + loss + " (not finite)");
    }

    private void printTable(List<Result> rs, boolean ratios) {
        var e = err();
        e.printf("%-7s %3s %5s %4s %5s %4s %12s %9s %10s %9s%n", "kernels", "thr", "H", "B", "T", "act", "steps/s", "GFLOP/s",
                "vec/scal", "thr/1");
        for (Result r : rs) {
            String vs = "", tr = "";
            if (ratios) {
                if (r.kernels().equals("vector")) vs = ratio(r, find(rs, r, "scalar", r.threads()));
                if (r.threads() > 1) tr = ratio(r, find(rs, r, r.kernels(), 1));
            }
            e.printf(Locale.ROOT, "%-7s %3d %5d %4d %5d %4s %12s %9.2f %10s %9s%n", r.kernels(), r.threads(), r.H(), r.B(),
                    r.T(), r.activation(), String.format(Locale.ROOT, "%,.0f", r.stepsPerS()), r.gflops(), vs, tr);
        }
        e.flush();
    }

    private static Result find(List<Result> rs, Result like, String kernels, int threads) {
        for (Result r : rs) {
            if (r.kernels().equals(kernels) && r.threads() == threads && r.H() == like.H() && r.B() == like.B()) return r;
        }
        return null;
    }

    private static String ratio(Result a, Result b) {
        return b == null ? "" : String.format(Locale.ROOT, "%.2fx", a.stepsPerS() / b.stepsPerS());
    }

    private static KernelChoice kernelChoice(String s) {
        try {
            return KernelChoice.parse(s);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--kernels = '" + s + "', expected one of scalar, vector, auto");
        }
    }
}
