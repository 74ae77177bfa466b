package dev.recur.cli;

import dev.recur.Grads;
import dev.recur.Cell;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.kernel.KernelChoice;
import dev.recur.seq.CheckpointedBptt;
import dev.recur.seq.MemoryBudgetException;
import dev.recur.seq.MemoryPlan;
import dev.recur.seq.ProgressListener;
import dev.recur.seq.SequenceResult;
import dev.recur.seq.StoreAllBptt;
import dev.recur.seq.SyntheticSource;
import dev.recur.seq.TruncatedBptt;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code recur stress}: forward + BPTT over one very long seeded synthetic sequence (a delay-1
 * recall task, dense inputs, class targets) on a contracting network (||W||_2 = 0.9), in one of
 * three modes: exact BPTT with checkpoints (O(sqrt T) memory), store-all exact BPTT, or truncated
 * BPTT(k1, k2). Before allocating it estimates the memory the mode needs and refuses (exit 1,
 * with the estimate and the option that would fit) when the heap or {@code --memory} is too
 * small. Progress goes to stderr (a bar on a terminal, a plain line every few seconds
 * otherwise); the summary to stdout, with {@code --json} also as one JSON object on the last line.
 *
 * <p>Exit status: 0 done, 1 runtime error (including the pre-flight refusal), 2 bad argument.
 */
@Command(name = "stress", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Forward + BPTT over one very long seeded synthetic sequence on a contracting network: exact with "
                + "checkpoints (O(sqrt T) memory), store-all, or truncated; reports steps/s, GFLOP/s, peak heap, "
                + "checkpoints, recompute overhead and the gradient norm."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:done", "1:runtime error, or the run does not fit in memory (the message says what would)",
                "2:bad argument"})
public final class StressCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--steps", defaultValue = "1000000", paramLabel = "T", converter = CountConverter.class,
            description = "Sequence length T; 1e7, 10_000_000 and 10M all work (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--hidden", defaultValue = "128", paramLabel = "H", description = "Hidden size H (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--cell", defaultValue = "rnn", paramLabel = "rnn|gru|lstm",
            description = "Cell: rnn (Elman, tanh), gru or lstm (PyTorch's semantics) (default: ${DEFAULT-VALUE}).")
    String cellOption;

    @Option(names = "--batch", defaultValue = "1", paramLabel = "B", description = "Independent sequences per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--input", defaultValue = "16", paramLabel = "I", description = "Dense input size I (default: ${DEFAULT-VALUE}).")
    int input;

    @Option(names = "--output", defaultValue = "16", paramLabel = "O", description = "Output classes O, >= 2 (default: ${DEFAULT-VALUE}).")
    int output;

    @Option(names = "--mode", defaultValue = "checkpoint", paramLabel = "MODE",
            description = "checkpoint (exact, O(sqrt T) memory), store-all (exact, O(T) memory) or truncated "
                    + "(approximate, needs --k1, optional --k2) (default: ${DEFAULT-VALUE}).")
    String mode;

    @Option(names = "--memory", paramLabel = "SIZE",
            description = "Memory budget for the run, e.g. 192m or 1g (default: what the heap has free).")
    String memory;

    @Option(names = "--segment", paramLabel = "S", description = "Checkpoint mode: segment length (default: about sqrt(T), "
            + "rounded to the engine's blocks; the leanest that fits when --memory is tight).")
    Integer segment;

    @Option(names = "--k1", paramLabel = "k1", description = "Truncated mode: steps per window (T must be a multiple).")
    Integer k1;

    @Option(names = "--k2", paramLabel = "k2", description = "Truncated mode: steps back-propagated per window, >= k1 (default: k1).")
    Integer k2;

    @Mixin ComputeOptions compute;

    @Option(names = "--contraction", defaultValue = "0.9", paramLabel = "r",
            description = "Spectral norm W is scaled to, in (0, 1] (default: ${DEFAULT-VALUE}).")
    double contraction;

    @Option(names = "--progress", defaultValue = "auto", paramLabel = "HOW",
            description = "auto (a bar when stderr is a terminal, else a line every --progress-every seconds), bar, lines, "
                    + "or off (default: ${DEFAULT-VALUE}).")
    String progress;

    @Option(names = "--progress-every", defaultValue = "10", paramLabel = "SEC",
            description = "Seconds between plain progress lines (default: ${DEFAULT-VALUE}).")
    double progressEvery;

    @Option(names = "--json", description = "Also print the summary as one JSON object on the last line of stdout.")
    boolean json;

    /** Standalone entry point (until the command is registered under {@code recur}). */
    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }

    /** A command line for this command alone, with one-line parse errors (exit 2). */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new StressCommand());
        cl.setParameterExceptionHandler((ex, args) -> {
            ex.getCommandLine().getErr().println("recur stress: " + ex.getMessage() + " (see recur stress --help)");
            return 2;
        });
        return cl;
    }

    /** Parses counts like {@code 10000000}, {@code 10_000_000}, {@code 1e7}, {@code 10M}, {@code 2k}. */
    public static final class CountConverter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            String t = value.trim().replace("_", "").toLowerCase(Locale.ROOT);
            long mult = 1;
            if (t.endsWith("k")) mult = 1_000L;
            else if (t.endsWith("m")) mult = 1_000_000L;
            else if (t.endsWith("g") || t.endsWith("b")) mult = 1_000_000_000L;
            if (mult > 1) t = t.substring(0, t.length() - 1);
            try {
                if (t.matches("[0-9]+")) return Math.multiplyExact(Long.parseLong(t), mult);
                double d = Double.parseDouble(t) * mult;
                if (d >= 1 && d <= 9e18 && d == Math.rint(d)) return (long) d;
            } catch (NumberFormatException | ArithmeticException e) {
                // fall through
            }
            throw new CommandLine.TypeConversionException("'" + value + "' is not a whole number of steps (e.g. 10000000, 1e7, 10M)");
        }
    }

    enum Mode {
        CHECKPOINT("checkpoint"), STORE_ALL("store-all"), TRUNCATED("truncated");
        final String id;
        Mode(String id) { this.id = id; }

        static Mode parse(String s) {
            for (Mode m : values()) if (m.id.equalsIgnoreCase(s.trim())) return m;
            throw CliException.usage("--mode = '" + s + "', expected one of checkpoint, store-all, truncated");
        }
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter out = spec.commandLine().getOut();
        try {
            Mode m = Mode.parse(mode);
            KernelChoice kc = compute.kernelChoice();
            long budget = 0;
            if (memory != null) {
                try {
                    budget = MemoryPlan.parseSize(memory);
                } catch (IllegalArgumentException e) {
                    throw CliException.usage("--memory = '" + memory + "', expected a size such as 192m or 1g");
                }
            }
            validate(m);
            return run(m, kc, budget, out, err);
        } catch (CliException e) {
            err.println("recur stress: " + e.getMessage());
            err.flush();
            return e.exitCode();
        } catch (MemoryBudgetException e) {
            err.println("recur stress: does not fit: " + e.getMessage());
            err.flush();
            return 1;
        } catch (RuntimeException | OutOfMemoryError e) {
            err.println("recur stress: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            err.flush();
            return 1;
        }
    }

    private void validate(Mode m) {
        if (steps < 1) throw CliException.usage("--steps = " + steps + ", expected >= 1");
        if (hidden < 1 || hidden > 8192) throw CliException.usage("--hidden = " + hidden + ", expected 1..8192");
        if (batch < 1 || batch > 65_536) throw CliException.usage("--batch = " + batch + ", expected 1..65536");
        if (input < 1 || input > 1_000_000) throw CliException.usage("--input = " + input + ", expected 1..1000000");
        if (output < 2 || output > 1_000_000) throw CliException.usage("--output = " + output + ", expected 2..1000000");
        if (!(contraction > 0 && contraction <= 1)) throw CliException.usage("--contraction = " + contraction + ", expected in (0, 1]");
        if (!(progressEvery > 0)) throw CliException.usage("--progress-every = " + progressEvery + ", expected > 0");
        if (!progress.matches("auto|bar|lines|off")) throw CliException.usage("--progress = '" + progress + "', expected auto, bar, lines or off");
        if (segment != null && m != Mode.CHECKPOINT) throw CliException.usage("--segment applies to --mode checkpoint only");
        if (segment != null && segment < 1) throw CliException.usage("--segment = " + segment + ", expected >= 1");
        if ((k1 != null || k2 != null) && m != Mode.TRUNCATED) throw CliException.usage("--k1/--k2 apply to --mode truncated only");
        if (m == Mode.TRUNCATED) {
            if (k1 == null) throw CliException.usage("--mode truncated needs --k1 (steps per window) and optionally --k2 >= k1");
            int kk2 = k2 == null ? k1 : k2;
            if (k1 < 1) throw CliException.usage("--k1 = " + k1 + ", expected >= 1");
            if (kk2 < k1) throw CliException.usage("--k2 = " + kk2 + " < --k1 = " + k1 + ", expected k2 >= k1");
            if (kk2 > steps) throw CliException.usage("--k2 = " + kk2 + ", expected <= --steps = " + steps + " (the window does not fit)");
            if (steps % k1 != 0) {
                long lo = steps / k1 * k1;
                throw CliException.usage("--steps = " + steps + " is not a multiple of --k1 = " + k1 + ": the last window does not fit "
                        + "(use --steps " + Math.max(k1, lo) + " or " + (lo + k1) + ")");
            }
        }
    }

    private int run(Mode m, KernelChoice kc, long budget, PrintWriter out, PrintWriter err) {
        Cell cell = ModelOptions.parseCell(cellOption);
        Shape shape = cell == Cell.ELMAN ? new Shape(input, hidden, output) : Shape.network(input, hidden, output, 1, false, cell);
        HeapSampler heap = new HeapSampler();
        try (Rnn rnn = Rnn.builder(shape).kernels(kc).threads(compute.threadCount()).build()) {
            Params params = SyntheticSource.contractingParams(shape, compute.seed, contraction);
            SyntheticSource src = new SyntheticSource(steps, batch, input, output, compute.seed + 1);
            Grads grads = Grads.zeros(shape);
            Progress prog = new Progress(err, m, steps, progressMode(), progressEvery, heap);
            heap.start();
            SequenceResult r;
            long checkpoints = 0;
            int seg;
            switch (m) {
                case CHECKPOINT -> {
                    CheckpointedBptt.Builder b = CheckpointedBptt.builder(rnn, src).memoryBudget(budget).progress(prog);
                    if (segment != null) b.segment(segment);
                    CheckpointedBptt cp = b.build();
                    r = cp.run(params, src, grads);
                    checkpoints = cp.checkpoints();
                    seg = cp.segment();
                }
                case STORE_ALL -> {
                    StoreAllBptt sa = StoreAllBptt.create(rnn, src, budget, prog);
                    r = sa.run(params, src, grads, null, null, null);
                    seg = (int) steps;
                }
                default -> {
                    TruncatedBptt tb;
                    try {
                        tb = TruncatedBptt.builder(rnn, src, k1, k2 == null ? k1 : k2).memoryBudget(budget).progress(prog).build();
                    } catch (MemoryBudgetException e) {
                        throw e;
                    } catch (IllegalArgumentException e) {
                        throw CliException.usage(e.getMessage());
                    }
                    r = tb.run(params, src, grads, null, null);
                    seg = k1;
                }
            }
            heap.stop();
            prog.finish();
            summary(out, m, rnn, shape, r, checkpoints, seg, heap, grads.l2Norm());
            return 0;
        } finally {
            heap.stop();
        }
    }

    private String progressMode() {
        if (!progress.equals("auto")) return progress;
        return stderrIsTerminal() ? "bar" : "lines";
    }

    /** True when fd 2 is a terminal (Linux: /proc/self/fd/2 points at a tty or pty). */
    static boolean stderrIsTerminal() {
        try {
            Path p = Files.readSymbolicLink(Path.of("/proc/self/fd/2"));
            String s = p.toString();
            return s.startsWith("/dev/pts/") || s.startsWith("/dev/tty");
        } catch (Exception e) {
            return System.console() != null && System.console().isTerminal();
        }
    }

    private void summary(PrintWriter out, Mode m, Rnn rnn, Shape shape, SequenceResult r, long checkpoints, int seg,
                         HeapSampler heap, double gradNorm) {
        long peak = heap.peak(), live = heap.peakLive();
        double secs = r.seconds();
        double stepsPerS = steps / secs;
        double flops = (double) batch * steps * shape.flopsPerStep();
        double gflops = flops / secs / 1e9;
        long recompute = r.recomputeNanos();
        double overhead = recompute == 0 ? 0 : (double) recompute / (r.forwardNanos() + r.backwardNanos() + recompute - recompute);
        double lossPerStep = r.loss() / ((double) steps * batch);
        out.printf(Locale.ROOT, "recur stress: mode %s, cell %s, T = %d, B = %d, H = %d, I = %d, O = %d, kernels %s, threads %d%n",
                m.id, shape.cell().id(), steps, batch, hidden, input, output, rnn.kernels().name(), rnn.threads());
        out.printf(Locale.ROOT, "  time          %.2f s (forward %.2f s, recompute %.2f s, backward %.2f s)%n", secs,
                r.forwardNanos() * 1e-9, recompute * 1e-9, r.backwardNanos() * 1e-9);
        out.printf(Locale.ROOT, "  steps/s       %.0f (%.3f us per step)%n", stepsPerS, 1e6 / stepsPerS);
        out.printf(Locale.ROOT, "  GFLOP/s       %.3f (flops = B*T*(6G(H^2+HI)+6HO), G gate rows per unit = %.3e, the peers' convention; recompute not counted)%n",
                gflops, flops);
        out.printf(Locale.ROOT, "  peak heap     %s in use (sampled every 20 ms, garbage included); %s live after GC; "
                        + "pre-flight estimate %s for the run's arrays; max heap %s%n",
                MemoryPlan.human(peak), live == 0 ? "no GC ran," : MemoryPlan.human(live), MemoryPlan.human(r.estimatedBytes()),
                MemoryPlan.human(Runtime.getRuntime().maxMemory()));
        switch (m) {
            case CHECKPOINT -> {
                out.printf(Locale.ROOT, "  checkpoints   %d of segment length %d%n", checkpoints, seg);
                out.printf(Locale.ROOT, "  recompute     +%.1f%% time (recomputing segment states; %.1f%% of the run)%n",
                        100 * overhead, 100 * r.recomputeShare());
            }
            case STORE_ALL -> out.printf(Locale.ROOT, "  checkpoints   0 (every state stored)%n");
            case TRUNCATED -> {
                out.printf(Locale.ROOT, "  windows       %d of k1 = %d, back-propagated through k2 = %d (approximate gradient)%n",
                        steps / k1, k1, k2 == null ? k1 : k2);
                out.printf(Locale.ROOT, "  recompute     +%.1f%% time (look-back forward)%n", 100 * overhead);
            }
        }
        out.printf(Locale.ROOT, "  loss          %.6f per step (summed %.6e)%n", lossPerStep, r.loss());
        out.printf(Locale.ROOT, "  grad norm     %.6e (global L2 over every parameter)%n", gradNorm);
        if (json) {
            StringBuilder j = new StringBuilder("{");
            field(j, "steps", steps);
            j.append("\"cell\":\"").append(shape.cell().id()).append("\",");
            field(j, "hidden", hidden);
            field(j, "batch", batch);
            field(j, "input", input);
            field(j, "output", output);
            j.append("\"mode\":\"").append(m.id).append("\",");
            j.append("\"kernels\":\"").append(rnn.kernels().name()).append("\",");
            field(j, "threads", rnn.threads());
            field(j, "seconds", secs);
            field(j, "steps_per_s", stepsPerS);
            field(j, "gflops", gflops);
            field(j, "peak_heap_bytes", peak);
            field(j, "peak_live_heap_bytes", live);
            field(j, "max_heap_bytes", Runtime.getRuntime().maxMemory());
            field(j, "estimated_bytes", r.estimatedBytes());
            field(j, "checkpoints", checkpoints);
            field(j, "segment", seg);
            if (m == Mode.TRUNCATED) {
                field(j, "k1", k1);
                field(j, "k2", k2 == null ? k1 : k2);
            }
            field(j, "forward_s", r.forwardNanos() * 1e-9);
            field(j, "recompute_s", recompute * 1e-9);
            field(j, "backward_s", r.backwardNanos() * 1e-9);
            field(j, "recompute_overhead", overhead);
            field(j, "loss", r.loss());
            field(j, "grad_norm", gradNorm);
            j.setLength(j.length() - 1);
            out.println(j.append('}'));
        }
        out.flush();
    }

    private static void field(StringBuilder j, String name, double v) {
        j.append('"').append(name).append("\":");
        j.append(Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v).replaceAll("\\.?0+(e|$)", "$1") : "null").append(',');
    }

    private static void field(StringBuilder j, String name, long v) {
        j.append('"').append(name).append("\":").append(v).append(',');
    }

    /**
     * Samples the heap in use every 20 ms on a daemon thread; {@link #peak} is the largest seen
     * (garbage included), {@link #peakLive} the largest heap left after a collection (what the
     * run really holds).
     */
    static final class HeapSampler {
        private volatile boolean running;
        private volatile long peak;
        private volatile long peakLive;
        private Thread thread;
        private final java.util.List<java.lang.management.MemoryPoolMXBean> pools =
                java.lang.management.ManagementFactory.getMemoryPoolMXBeans().stream()
                        .filter(p -> p.getType() == java.lang.management.MemoryType.HEAP && p.getCollectionUsage() != null).toList();

        void start() {
            sample();
            running = true;
            thread = new Thread(() -> {
                while (running) {
                    sample();
                    try {
                        Thread.sleep(20);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "recur-heap-sampler");
            thread.setDaemon(true);
            thread.start();
        }

        long sample() {
            Runtime rt = Runtime.getRuntime();
            long used = rt.totalMemory() - rt.freeMemory();
            if (used > peak) peak = used;
            long live = 0;
            for (var p : pools) live += p.getCollectionUsage().getUsed();
            if (live > peakLive) peakLive = live;
            return used;
        }

        void stop() {
            running = false;
            if (thread != null) {
                thread.interrupt();
                try {
                    thread.join(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                thread = null;
            }
            sample();
        }

        long peak() { return peak; }

        /** Largest heap in use just after a collection (0 if none ran). */
        long peakLive() { return peakLive; }
    }

    /** Progress on stderr: a redrawn bar on a terminal, plain lines at intervals otherwise. */
    static final class Progress implements ProgressListener {
        private final PrintWriter err;
        private final Mode mode;
        private final long total;
        private final String how;
        private final long everyNanos;
        private final HeapSampler heap;
        private final long start = System.nanoTime();
        private long lastPrint;
        private boolean barShown;
        private double lastFraction;
        private long lastDone;
        private Phase lastPhase;

        Progress(PrintWriter err, Mode mode, long total, String how, double everySeconds, HeapSampler heap) {
            this.err = err;
            this.mode = mode;
            this.total = total;
            this.how = how;
            this.everyNanos = (long) (everySeconds * 1e9);
            this.heap = heap;
            this.lastPrint = start;
        }

        /** Work weights: the backward phase costs about 3 forward passes (recompute + backward) in checkpoint mode. */
        private double fraction(Phase phase, long done) {
            double d = (double) done / total;
            return switch (mode) {
                case CHECKPOINT -> phase == Phase.FORWARD ? 0.25 * d : 0.25 + 0.75 * d;
                case STORE_ALL -> phase == Phase.FORWARD ? 0.35 * d : 0.35 + 0.65 * d;
                case TRUNCATED -> d;
            };
        }

        @Override
        public void progress(Phase phase, long done, long t) {
            if (how.equals("off")) return;
            long now = System.nanoTime();
            lastFraction = fraction(phase, done);
            lastDone = done;
            lastPhase = phase;
            long minGap = how.equals("bar") ? 200_000_000L : everyNanos;
            if (now - lastPrint < minGap) return;
            lastPrint = now;
            print(now);
        }

        private void print(long now) {
            double el = (now - start) * 1e-9;
            double f = lastFraction;
            double eta = f > 0 ? el / f * (1 - f) : Double.NaN;
            double rate = lastDone / el;
            String phaseName = lastPhase == null ? "" : lastPhase.name().toLowerCase(Locale.ROOT);
            long used = heap.sample();
            if (how.equals("bar")) {
                int width = 30, fill = (int) Math.round(f * width);
                err.printf(Locale.ROOT, "\r[%s%s] %5.1f%% %-8s %,d/%,d steps  %,.0f steps/s  ETA %s  heap %s   ",
                        "#".repeat(fill), "-".repeat(width - fill), 100 * f, phaseName, lastDone, total, rate, time(eta),
                        MemoryPlan.human(used));
                barShown = true;
            } else {
                err.printf(Locale.ROOT, "recur stress: %5.1f%% %s %d/%d steps, %.0f steps/s, elapsed %s, ETA %s, heap %s%n",
                        100 * f, phaseName, lastDone, total, rate, time(el), time(eta), MemoryPlan.human(used));
            }
            err.flush();
        }

        void finish() {
            if (how.equals("bar") && lastPhase != null) {
                print(System.nanoTime());
                err.println();
            } else if (barShown) {
                err.println();
            }
            err.flush();
        }

        static String time(double s) {
            if (!Double.isFinite(s)) return "?";
            long t = Math.round(s);
            if (t >= 3600) return String.format(Locale.ROOT, "%dh%02dm", t / 3600, t % 3600 / 60);
            if (t >= 60) return String.format(Locale.ROOT, "%dm%02ds", t / 60, t % 60);
            return t + "s";
        }
    }
}
