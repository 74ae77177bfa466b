package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Batch;
import dev.recur.Cell;
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

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code recur bench}: end-to-end forward + summed cross-entropy + full BPTT per batch, as the
 * project's peer benchmarks measure it. Not JMH: a quick comparison of scalar vs vector kernels
 * and 1 vs all threads, median of several timed batches after a warm-up that waits for the JIT
 * to finish (steady timings, no compilation in between), against this core's FMA peak.
 */
@Command(name = "bench",
        header = "Quick end-to-end speed: scalar vs vector kernels, 1 vs all threads, against this core's peak.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Time forward + summed softmax cross-entropy + full BPTT per batch (dense inputs, h0 = 0, float32), "
                        + "the peers' configuration. Without case options: a quick table (about a minute) of scalar vs "
                        + "vector kernels and 1 vs all threads on a few sizes, each run on a sequence short enough to "
                        + "take about 0.2 s (the T column says which). With --hidden (and the other case options): that "
                        + "one case, which may be a network (--layers, --bidirectional, --cell) over sequences of "
                        + "different lengths (--lengths).",
                "",
                "Warm-up: until the last 5 timings agree within 3%% with no JIT compilation among them (at most "
                        + "--max-warmup seconds), and the time it took is printed; --warmup SECONDS instead warms up for "
                        + "exactly that long. steps/s = the batch's valid steps (sum of lengths) per second; GFLOP/s by "
                        + "the peers' convention (per layer and direction 6GH(H + I_l), plus 6OH for the head; it counts "
                        + "dL/dx, which a loss-headed run skips), and as a share of this core's FMA peak (a register-only "
                        + "Vector API loop, times the threads). With more than one thread the loop also runs on all of "
                        + "them at once against one alone (with --one-thread-too, between the timed batches): what they reach together (threads_peak_ratio in --json) is "
                        + "the ceiling of thr/1 for compute-bound cases, below the thread count where virtual CPUs share "
                        + "a core or a busy host. Median of --repeats timed batches. The table goes to "
                        + "stderr; --json prints one object per case on stdout.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur bench",
                "  recur bench --hidden 512 --batch 64 --steps 200 --kernels vector --threads 2",
                "  recur bench --hidden 256 --steps 2000 --layers 2 --threads 2 --one-thread-too --repeats 15",
                "  recur bench --hidden 256 --steps 2000 --layers 2 --bidirectional",
                "  recur bench --hidden 512 --batch 64 --steps 200 --layers 2 --bidirectional --lengths spread",
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

    @Option(names = "--steps", paramLabel = "T", description = "Sequence length (the longest, with --lengths; default 1000).")
    Integer steps;

    @Option(names = "--layers", paramLabel = "L", description = "Stacked layers (default 1).")
    Integer layers;

    @Option(names = "--bidirectional", description = "Two directions per layer.")
    boolean bidirectional;

    @Option(names = "--cell", paramLabel = "rnn|gru|lstm", description = "Recurrent cell (default rnn).")
    String cell;

    @Option(names = "--lengths", paramLabel = "all|spread|MIN-MAX", defaultValue = "all",
            description = "Sequence lengths: all T (default), spread (seeded, uniform over [T/2, T]), or uniform over MIN-MAX.")
    String lengths;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", defaultValue = "tanh", description = "Activation of the "
            + "rnn cell (default: ${DEFAULT-VALUE}).")
    String activation;

    @Option(names = "--kernels", paramLabel = "scalar|vector|auto", description = "Kernels (one case default: auto; "
            + "the table: both).")
    String kernels;

    @Option(names = "--threads", paramLabel = "N", description = "Threads, or 'all' (one case default: 1; the table: 1 "
            + "and all).")
    String threads;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed for weights and data (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--repeats", paramLabel = "N", description = "Timed batches per case, >= 3 (default: 5 for one "
            + "case, 3 for the table); the median is reported.")
    Integer repeatsOption;

    @Option(names = "--warmup", paramLabel = "SECONDS", description = "Warm up for exactly this long (at least 2 batches) "
            + "instead of until the timings are steady.")
    Double warmupOption;

    @Option(names = "--max-warmup", paramLabel = "SECONDS", defaultValue = "30", description = "Longest steady-state warm-up "
            + "per case (default: ${DEFAULT-VALUE}).")
    double maxWarmup;

    @Option(names = "--json", description = "One JSON object per measured case, one per line, on stdout.")
    boolean json;

    @Option(names = "--one-thread-too", description = "One case with --threads N > 1: also run it on one thread, the two "
            + "engines alternating batch by batch in this JVM, so that thr/1 compares timings taken side by side (on a "
            + "shared machine, runs minutes apart can differ by more than what is measured).")
    boolean oneThreadToo;

    private int repeats;

    /** The quick table's sizes: configurations 0, 4 and 5 of the project's peer cases (I = O = 64, tanh). */
    static final int[][] QUICK = {{128, 1, 2000}, {256, 32, 500}, {512, 64, 200}};
    /** Runs of the quick table are shortened to about this many seconds per sequence. */
    static final double QUICK_SECONDS_PER_SEQUENCE = 0.2;
    /** Steady: the last STEADY_RUNS timings within STEADY_SPREAD of their median, no compilation among them. */
    static final int STEADY_RUNS = 5;
    static final double STEADY_SPREAD = 0.03;

    /** One case: a network, a batch and its lengths (null: all T). */
    record Case(Shape shape, Activation act, int batch, int steps, int[] lengths) {
        long validSteps() {
            if (lengths == null) return (long) batch * steps;
            long s = 0;
            for (int l : lengths) s += l;
            return s;
        }
    }

    record Result(String kernels, int threads, Case c, int T, double seconds, double stepsPerS, double gflops, double peakShare,
                  double warmupSeconds, boolean steady, double threadsPeakRatio) {
        Map<String, Object> toMap() {
            Shape s = c.shape();
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("kernels", kernels);
            m.put("threads", threads);
            m.put("I", s.input());
            m.put("H", s.hidden());
            m.put("O", s.output());
            m.put("layers", s.layers());
            m.put("directions", s.directions());
            m.put("cell", s.cell().id());
            m.put("B", c.batch());
            m.put("T", T);
            m.put("valid_steps", T == c.steps() ? c.validSteps() : (long) c.batch() * T);
            m.put("activation", c.act().id());
            m.put("seconds_median", seconds);
            m.put("steps_per_s", stepsPerS);
            m.put("gflops", gflops);
            m.put("peak_share", Double.isNaN(peakShare) ? null : peakShare);
            // what this many threads reach of one thread's FMA rate together, measured in this run
            m.put("threads_peak_ratio", Double.isNaN(threadsPeakRatio) ? null : threadsPeakRatio);
            m.put("warmup_seconds", warmupSeconds);
            m.put("steady", steady);
            return m;
        }
    }

    private double peak = Double.NaN;
    /** The FMA loop on all the threads a run uses together, when that is more than one (else null). */
    private FmaPeak.Together together;

    @Override
    int execute() {
        boolean one = hidden != null;
        repeats = repeatsOption != null ? repeatsOption : one ? 5 : 3;
        if (repeats < 3) throw CliException.usage("--repeats = " + repeats + ", expected >= 3 (the median of at least 3)");
        if (warmupOption != null && (!(warmupOption >= 0) || !Double.isFinite(warmupOption))) {
            throw CliException.usage("--warmup = " + warmupOption + ", expected seconds >= 0");
        }
        if (!(maxWarmup > 0) || !Double.isFinite(maxWarmup)) throw CliException.usage("--max-warmup = " + maxWarmup + ", expected seconds > 0");
        Activation act = OptionChecks.parseActivation(activation);
        int I = OptionChecks.positive("--input", input != null ? input : 64);
        int O = OptionChecks.positive("--output", output != null ? output : 64);
        if (KernelsLookup.vectorUnavailableReason() == null) peak = FmaPeak.gflops();
        if (hidden != null) return oneCase(act, I, O);
        if (batch != null || steps != null || layers != null || bidirectional || cell != null || !lengths.equals("all")) {
            throw CliException.usage("--batch/--steps/--layers/--bidirectional/--cell/--lengths name a case and need --hidden "
                    + "too, expected --hidden H with them");
        }
        return table(act, I, O);
    }

    private int oneCase(Activation act, int I, int O) {
        int H = OptionChecks.positive("--hidden", hidden);
        int B = OptionChecks.positive("--batch", batch != null ? batch : 1);
        int T = OptionChecks.positive("--steps", steps != null ? steps : 1000);
        int L = OptionChecks.positive("--layers", layers != null ? layers : 1);
        Cell c = cell == null ? Cell.ELMAN : ModelOptions.parseCell(cell);
        if (c != Cell.ELMAN && act != Activation.TANH) {
            throw CliException.usage("--activation " + activation + " with --cell " + c.id() + ", expected tanh (fixed for gated cells)");
        }
        Shape s = L == 1 && !bidirectional && c == Cell.ELMAN ? new Shape(I, H, O) : Shape.network(I, H, O, L, bidirectional, c);
        KernelChoice kc = kernelChoice(kernels == null ? "auto" : kernels);
        int n = ComputeOptions.parseThreads(threads == null ? "1" : threads);
        Case cs = new Case(s, act, B, T, parseLengths(lengths, B, T));
        if (oneThreadToo && n < 2) throw CliException.usage("--one-thread-too with --threads = " + n + ", expected 2 or more threads");
        measureTogether(n, oneThreadToo);
        printHeader(1);
        List<Result> rs = oneThreadToo ? measureSideBySide(cs, kc, n) : List.of(measure(cs, kc, n, Double.POSITIVE_INFINITY));
        if (json) for (Result r : rs) out().println(Json.write(r.toMap()));
        printTable(rs, rs.size() > 1);
        printTogether();
        return Main.EXIT_OK;
    }

    /** B lengths for a spec: all (null), spread (uniform over [T/2, T]) or MIN-MAX; seeded. */
    int[] parseLengths(String spec, int B, int T) {
        String sp = spec.trim().toLowerCase(Locale.ROOT);
        if (sp.equals("all")) return null;
        int lo, hi;
        if (sp.equals("spread")) {
            lo = Math.max(1, T / 2);
            hi = T;
        } else {
            String[] p = sp.split("-");
            try {
                if (p.length != 2) throw new NumberFormatException();
                lo = Integer.parseInt(p[0].trim());
                hi = Integer.parseInt(p[1].trim());
            } catch (NumberFormatException e) {
                throw CliException.usage("--lengths = '" + spec + "', expected all, spread or MIN-MAX (e.g. 100-200)");
            }
            if (lo < 1 || hi > T || lo > hi) {
                throw CliException.usage("--lengths = '" + spec + "', expected 1 <= MIN <= MAX <= --steps = " + T);
            }
        }
        SplittableRandom rnd = new SplittableRandom(Seeds.mix(seed, 3));
        int[] len = new int[B];
        for (int b = 0; b < B; b++) len[b] = lo + rnd.nextInt(hi - lo + 1);
        return len;
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
        measureTogether(ts.get(ts.size() - 1), false);
        printHeader(cores);
        if (kernels == null && vectorWhy != null) err().println("(vector kernels not measured: " + vectorWhy + ")");
        err().flush();
        List<Result> results = new ArrayList<>();
        for (int[] c : QUICK) {
            Case cs = new Case(new Shape(I, c[0], O), act, c[1], c[2], null);
            for (KernelChoice k : ks) {
                for (int n : ts) {
                    Result r = measure(cs, k, n, QUICK_SECONDS_PER_SEQUENCE);
                    results.add(r);
                    if (json) {
                        out().println(Json.write(r.toMap()));
                        out().flush();
                    }
                }
            }
        }
        printTable(results, true);
        printTogether();
        return Main.EXIT_OK;
    }

    /**
     * The FMA loop on {@code threads} threads together against one (vector kernels present,
     * threads > 1): seven pairs now, or with {@code interleaved} one pair after each timed pair of
     * batches (--one-thread-too), so that the ceiling is measured in the same minutes as thr/1.
     */
    private void measureTogether(int threads, boolean interleaved) {
        if (threads < 2 || Double.isNaN(peak)) return;
        together = new FmaPeak.Together(threads);
        if (!interleaved) for (int r = 0; r < 7; r++) together.pair();
    }

    /** The together line, after the table: the ceiling of a compute-bound thr/1 in this run. */
    private void printTogether() {
        if (together == null) return;
        err().printf(Locale.ROOT, "peak on %d threads together: %.2fx one thread's (FMA loop, median of %d pairs %s, "
                        + "range %.2f-%.2fx): the most a compute-bound thr/1 could show meanwhile%n", together.threads(),
                together.median(), together.pairs(), oneThreadToo ? "alternated with the timed batches" : "before the runs",
                together.min(), together.max());
        err().flush();
        together.close();
    }

    private void printHeader(int cores) {
        var e = err();
        e.printf(Locale.ROOT, "recur bench: forward + cross-entropy + full BPTT; %d core%s; median of %d batches after %s%n",
                Runtime.getRuntime().availableProcessors(), cores == 1 && Runtime.getRuntime().availableProcessors() == 1 ? "" : "s",
                repeats, warmupOption != null ? String.format(Locale.ROOT, "%.1f s of warm-up", warmupOption)
                        : "a warm-up until steady (at most " + TrainCommand.num(maxWarmup) + " s)");
        if (!Double.isNaN(peak)) {
            e.printf(Locale.ROOT, "peak: %.1f GFLOP/s per core (register-only FMA loop, %d-bit vectors)%n", peak, FmaPeak.bits());
        }

        e.flush();
    }

    /**
     * Warms up (on a short probe when the case may be shortened to about {@code targetSeconds}
     * per batch), then returns the median of {@code repeats} timed batches.
     */
    /** A case's seeded parameters, inputs and class targets for its longest T. */
    private record CaseData(Params params, float[] x, int[] y) {}

    private CaseData data(Case c) {
        Shape s = c.shape();
        int B = c.batch(), T = c.steps();
        SplittableRandom rnd = new SplittableRandom(Seeds.mix(seed, 2));
        float[] x = new float[T * B * s.input()];
        for (int j = 0; j < x.length; j++) x[j] = (float) (rnd.nextDouble() * 2 - 1);
        int[] y = new int[T * B];
        for (int j = 0; j < y.length; j++) y[j] = rnd.nextInt(s.output());
        return new CaseData(Params.random(s, Seeds.mix(seed, 1)), x, y);
    }

    private Result measure(Case c, KernelChoice k, int threads, double targetSeconds) {
        Shape s = c.shape();
        int B = c.batch(), Tmax = c.steps();
        CaseData data = data(c);
        Params p = data.params();
        float[] x = data.x();
        int[] y = data.y();
        Grads g = Grads.zeros(s);
        try (Rnn rnn = Engines.build(s, c.act(), k, threads)) {
            int T = Tmax;
            double warmed = 0;
            boolean steady = true;
            if (Double.isFinite(targetSeconds)) {
                // the table: a short probe warms up and sizes T so that a batch takes about targetSeconds
                int probe = Math.min(Tmax, 32);
                Warm w = warm(rnn, p, rnn.trainingWorkspace(B, probe), batch(B, probe, x, y, null), g);
                warmed += w.seconds;
                T = (int) Math.max(Math.min(Tmax, 16), Math.min(Tmax, targetSeconds / (w.last / probe)));
                // a multiple of 16, as every configured T is: the kernels' tails are not what is measured
                if (T < Tmax && T > 16) T -= T % 16;
            }
            Workspace ws = rnn.trainingWorkspace(B, T);
            Batch b = batch(B, T, x, y, T == Tmax ? c.lengths() : null);
            Warm w = warm(rnn, p, ws, b, g);
            warmed += w.seconds;
            steady = w.steady;
            double[] secs = new double[repeats];
            for (int r = 0; r < repeats; r++) secs[r] = timed(rnn, p, ws, b, g);
            return result(rnn, c, T, secs, warmed, steady);
        }
    }

    /**
     * One case on one thread and on {@code n}, same data: each engine warms up, then the timed
     * batches alternate between them, so that drift on a shared machine (another tenant taking
     * a core for a while) lands on both alike.
     */
    private List<Result> measureSideBySide(Case c, KernelChoice k, int n) {
        Shape s = c.shape();
        int B = c.batch(), T = c.steps();
        CaseData data = data(c);
        Params p = data.params();
        Batch b = batch(B, T, data.x(), data.y(), c.lengths());
        try (Rnn one = Engines.build(s, c.act(), k, 1); Rnn many = Engines.build(s, c.act(), k, n)) {
            Rnn[] rnn = {one, many};
            Workspace[] ws = {one.trainingWorkspace(B, T), many.trainingWorkspace(B, T)};
            Grads[] g = {Grads.zeros(s), Grads.zeros(s)};
            Warm[] w = new Warm[2];
            for (int e = 0; e < 2; e++) w[e] = warm(rnn[e], p, ws[e], b, g[e]);
            double[][] secs = new double[2][repeats];
            for (int r = 0; r < repeats; r++) {
                for (int e = 0; e < 2; e++) secs[e][r] = timed(rnn[e], p, ws[e], b, g[e]);
                if (together != null) together.pair();
            }
            List<Result> rs = new ArrayList<>();
            for (int e = 0; e < 2; e++) rs.add(result(rnn[e], c, T, secs[e], w[e].seconds, w[e].steady));
            return rs;
        }
    }

    private static double timed(Rnn rnn, Params p, Workspace ws, Batch b, Grads g) {
        long t0 = System.nanoTime();
        sequence(rnn, p, ws, b, g);
        return (System.nanoTime() - t0) / 1e9;
    }

    /** The median of the timed batches as steps/s, GFLOP/s and a share of the peak. */
    private Result result(Rnn rnn, Case c, int T, double[] secs, double warmed, boolean steady) {
        Shape s = c.shape();
        double[] sorted = secs.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        double med = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        long valid = T == c.steps() ? c.validSteps() : (long) c.batch() * T;
        double stepsPerS = valid / med;
        double gflops = stepsPerS * s.flopsPerStep() / 1e9;
        double share = Double.isNaN(peak) ? Double.NaN : gflops / (peak * rnn.threads());
        double ratio = together != null && together.threads() == rnn.threads() ? together.median() : Double.NaN;
        return new Result(rnn.kernels().name(), rnn.threads(), c, T, med, stepsPerS, gflops, share, warmed, steady, ratio);
    }

    private static Batch batch(int B, int T, float[] x, int[] y, int[] lengths) {
        return new Batch(B, T).input(x).targets(y).lengths(lengths).loss(Loss.CROSS_ENTROPY);
    }

    /** How a warm-up went: its seconds, the last batch's time, and whether the timings settled. */
    private record Warm(double seconds, double last, boolean steady) {}

    /**
     * With --warmup: exactly that long (at least 2 batches). Otherwise until the last
     * {@link #STEADY_RUNS} timings are within {@link #STEADY_SPREAD} of their median with no JIT
     * compilation among them, for at least 1 s and at most --max-warmup. (A default 1 s warm-up
     * measured 0.55-0.7x of the steady speed at B = 1, H = 256: C2 had not finished with the
     * vector kernels.)
     */
    private Warm warm(Rnn rnn, Params p, Workspace ws, Batch b, Grads g) {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        boolean jitTimes = jit != null && jit.isCompilationTimeMonitoringSupported();
        long start = System.nanoTime();
        double[] last = new double[STEADY_RUNS];
        long[] jitAt = new long[STEADY_RUNS + 1];
        int done = 0;
        while (true) {
            long jit0 = jitTimes ? jit.getTotalCompilationTime() : 0;
            long t0 = System.nanoTime();
            sequence(rnn, p, ws, b, g);
            long t1 = System.nanoTime();
            last[done % STEADY_RUNS] = (t1 - t0) / 1e9;
            jitAt[done % (STEADY_RUNS + 1)] = jitTimes ? jit.getTotalCompilationTime() - jit0 : 0;
            done++;
            double elapsed = (t1 - start) / 1e9;
            double lastTime = last[(done - 1) % STEADY_RUNS];
            if (warmupOption != null) {
                if (done >= 2 && elapsed >= warmupOption) return new Warm(elapsed, lastTime, true);
                continue;
            }
            if (done >= STEADY_RUNS && elapsed >= 1.0) {
                double[] w = last.clone();
                Arrays.sort(w);
                double med = w[STEADY_RUNS / 2];
                boolean quiet = true;
                for (int i = 0; i < STEADY_RUNS; i++) if (jitAt[(done - 1 - i) % (STEADY_RUNS + 1)] > 0) quiet = false;
                if ((w[STEADY_RUNS - 1] - w[0]) <= STEADY_SPREAD * med && quiet) return new Warm(elapsed, lastTime, true);
            }
            if (elapsed >= maxWarmup) return new Warm(elapsed, lastTime, false);
        }
    }

    private static void sequence(Rnn rnn, Params p, Workspace ws, Batch b, Grads g) {
        g.zero();
        double loss = rnn.forward(p, ws, b);
        rnn.backward(p, ws, g);
        if (!Double.isFinite(loss)) throw CliException.runtime("bench: the loss is " + loss + " (not finite)");
    }

    private void printTable(List<Result> rs, boolean ratios) {
        var e = err();
        e.printf("%-7s %3s %-14s %5s %4s %5s %7s %12s %9s %6s %10s %9s %8s%n", "kernels", "thr", "network", "H", "B", "T",
                "lengths", "steps/s", "GFLOP/s", "%peak", "vec/scal", "thr/1", "warm-up");
        for (Result r : rs) {
            String vs = "", tr = "";
            if (ratios) {
                if (r.kernels().equals("vector")) vs = ratio(r, find(rs, r, "scalar", r.threads()));
                if (r.threads() > 1) tr = ratio(r, find(rs, r, r.kernels(), 1));
            }
            Shape s = r.c().shape();
            String net = s.layers() + "x" + (s.bidirectional() ? "bi-" : "") + (s.cell() == Cell.ELMAN ? r.c().act().id() : s.cell().id());
            String len = r.c().lengths() == null || r.T() != r.c().steps() ? "all"
                    : String.format(Locale.ROOT, "%.0f%%", 100.0 * r.c().validSteps() / ((double) r.c().batch() * r.c().steps()));
            e.printf(Locale.ROOT, "%-7s %3d %-14s %5d %4d %5d %7s %12s %9.2f %6s %10s %9s %7.1fs%s%n", r.kernels(), r.threads(), net,
                    s.hidden(), r.c().batch(), r.T(), len, String.format(Locale.ROOT, "%,.0f", r.stepsPerS()), r.gflops(),
                    Double.isNaN(r.peakShare()) ? "" : String.format(Locale.ROOT, "%.0f%%", 100 * r.peakShare()), vs, tr,
                    r.warmupSeconds(), r.steady() ? "" : " (not steady)");
        }
        e.flush();
    }

    private static Result find(List<Result> rs, Result like, String kernels, int threads) {
        for (Result r : rs) {
            if (r.kernels().equals(kernels) && r.threads() == threads && r.c().shape().hidden() == like.c().shape().hidden()
                    && r.c().batch() == like.c().batch()) {
                return r;
            }
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
