package dev.recur.seq;

import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.seq.InputSource.Kind;

/**
 * Pre-flight memory estimates for the three long-sequence modes, and the check that refuses a
 * run before it allocates. Estimates count the arrays a run allocates (states, per-step outputs,
 * input buffers, gradients, checkpoints); they leave out the caller's own {@code Params} and
 * {@code Grads} and the JVM's fixed overhead, which the margin covers.
 *
 * <p>What is available: the budget the caller gives (if any), but never more than the heap can
 * still give, {@code Runtime.maxMemory() - (totalMemory() - freeMemory())}, less a margin of
 * {@value #MARGIN_FRACTION_PERCENT}% of the maximum heap and at least 8 MiB (GC head-room).
 */
public final class MemoryPlan {
    static final int MARGIN_FRACTION_PERCENT = 10;
    private static final long MIN_MARGIN = 8L << 20;

    private MemoryPlan() {}

    /** The engine's steps per block for a batch. */
    static int engineBlock(int batch) {
        return Rnn.stepsPerBlock(batch);
    }

    /**
     * Bytes of a training workspace for {@code steps} steps (what Rnn#trainingWorkspace
     * allocates, with the vector kernels' packed weights).
     */
    public static long trainingWorkspace(Shape s, int batch, long steps, Kind in) {
        return Workspace.estimateBytes(s, batch, steps, true, packed(s), in == Kind.CLASS) + 256;
    }

    /** Bytes of an inference workspace (Rnn#inferenceWorkspace, unidirectional). */
    public static long inferenceWorkspace(Shape s, int batch, Kind in) {
        return Workspace.estimateBytes(s, batch, 1, false, packed(s), false) + 256;
    }

    /** Packed W_hh the vector kernels keep per layer and direction (an upper bound). */
    private static int packed(Shape s) {
        long n = (long) s.gates() * s.hidden() * s.hidden();
        return n < Integer.MAX_VALUE ? (int) n : 0;
    }

    /** Store-all BPTT: every state of T steps, every dL/do_t, and the whole sequence in memory. */
    public static long storeAll(Shape s, int batch, long steps, Kind in, Kind target) {
        return trainingWorkspace(s, batch, steps, in) + Segment.bytes(in, target, batch, s.input(), s.output(), steps);
    }

    /** Checkpointed BPTT with segment length S: T/S checkpoints, one segment of states, buffers, the master sum. */
    public static long checkpoint(Shape s, int batch, long steps, int segment, Kind in, Kind target) {
        long bh = (long) s.layers() * batch * s.hidden() * (s.cell().hasCellState() ? 2 : 1);
        long nseg = (steps + segment - 1) / segment;
        long ckpt = (nseg + 1) * (4 * bh + 16 + 8);
        return ckpt + trainingWorkspace(s, batch, segment, in) + inferenceWorkspace(s, batch, in)
                + 2 * Segment.bytes(in, target, batch, s.input(), s.output(), segment)
                + 4L * s.size() + GradAccumulator.bytes(s) + 3 * 4 * bh;
    }

    /** Truncated BPTT(k1, k2): a k1 window with its loss head, a (k2 - k1) look-back, their buffers. */
    public static long truncated(Shape s, int batch, int k1, int k2, Kind in, Kind target) {
        long bh = (long) s.layers() * batch * s.hidden() * (s.cell().hasCellState() ? 2 : 1);
        long back = k2 - k1;
        long bytes = trainingWorkspace(s, batch, k1, in) + Segment.bytes(in, target, batch, s.input(), s.output(), k1)
                + 4L * s.size() + GradAccumulator.bytes(s) + 3 * 4 * bh;
        if (back > 0) {
            // workspace, buffer, the zero dL/dh_t of the look-back, and one shorter buffer at the start
            bytes += trainingWorkspace(s, batch, back, in) + 2 * Segment.bytes(in, target, batch, s.input(), s.output(), back)
                    + 4 * back * batch * s.hidden();
        }
        return bytes;
    }

    /** The default segment: about sqrt(T), rounded up to whole engine blocks, at most T. */
    public static int defaultSegment(long steps, int batch) {
        return align((long) Math.ceil(Math.sqrt((double) steps)), steps, batch);
    }

    /**
     * The segment that needs the least memory: it balances the checkpoints (T/S of B*H floats)
     * against one segment's states, outputs and buffers (S times B*(H + O + input width)).
     */
    public static int leanestSegment(Shape s, int batch, long steps, Kind in, Kind target) {
        double perCkpt = 4.0 * s.layers() * batch * s.hidden() * (s.cell().hasCellState() ? 2 : 1) + 24;
        double perStep = (trainingWorkspace(s, batch, 2, in) - trainingWorkspace(s, batch, 1, in))
                + 2.0 * (Segment.bytes(in, target, batch, s.input(), s.output(), 2) - Segment.bytes(in, target, batch, s.input(), s.output(), 1));
        return align((long) Math.ceil(Math.sqrt(perCkpt * steps / perStep)), steps, batch);
    }

    /** Rounds up to a multiple of the engine block (so segments and the engine's blocks line up), within [1, T]. */
    static int align(long segment, long steps, int batch) {
        long b = engineBlock(batch);
        long s = Math.max(1, (segment + b - 1) / b * b);
        s = Math.min(s, steps);
        return (int) Math.min(s, Integer.MAX_VALUE - 64);
    }

    /** Heap the run may still take now: max heap less what is in use. */
    public static long freeHeap() {
        Runtime rt = Runtime.getRuntime();
        return rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
    }

    /** Bytes a run may use: {@code min(budget, free heap) - margin}; {@code budget <= 0} means no budget. */
    public static long usable(long budget) {
        long margin = Math.max(MIN_MARGIN, Runtime.getRuntime().maxMemory() / 100 * MARGIN_FRACTION_PERCENT);
        long heap = freeHeap() - margin;
        return budget > 0 ? Math.min(budget, heap) : heap;
    }

    /** A short description of what limits the run: the budget or the heap. */
    static String limitText(long budget) {
        Runtime rt = Runtime.getRuntime();
        String heap = "heap: max " + human(rt.maxMemory()) + ", in use " + human(rt.totalMemory() - rt.freeMemory())
                + ", margin " + MARGIN_FRACTION_PERCENT + "%";
        long free = usable(0);
        return budget > 0 && budget <= free ? "the memory budget of " + human(budget) + " (" + heap + ")"
                : human(Math.max(0, free)) + " usable (" + heap + (budget > 0 ? "; budget " + human(budget) : "") + ")";
    }

    /** Bytes in binary units, e.g. {@code 1.5 GiB}. */
    public static String human(long bytes) {
        double b = bytes;
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        while (Math.abs(b) >= 1024 && u < units.length - 1) {
            b /= 1024;
            u++;
        }
        return u == 0 ? bytes + " B" : String.format(java.util.Locale.ROOT, "%.1f %s", b, units[u]);
    }

    /** A size for {@code -Xmx} or {@code --memory} that fits {@code bytes} with the margin, e.g. {@code 300m}. */
    public static String sizeOption(long bytes) {
        long withMargin = (long) (bytes * 1.25) + (32L << 20);
        long mib = (withMargin + (1 << 20) - 1) >> 20;
        if (mib >= 4096) return ((mib + 1023) / 1024) + "g";
        return mib + "m";
    }

    /**
     * What would give a run of {@code bytes} enough memory: a larger {@code --memory} budget
     * where the budget is what limits it, a larger heap ({@code -Xmx}) where the heap is.
     */
    public static String moreMemoryHint(long bytes, long budget) {
        long heapUsable = usable(0);
        long mib = (long) Math.ceil(bytes * 1.05 / (1 << 20));
        StringBuilder sb = new StringBuilder();
        if (budget > 0 && budget < bytes) sb.append("--memory ").append(mib).append('m');
        if (heapUsable < bytes) {
            if (sb.length() > 0) sb.append(" and ");
            sb.append("a heap of -Xmx").append(sizeOption(bytes)).append(" (RECUR_JAVA_OPTS=-Xmx").append(sizeOption(bytes)).append(')');
        }
        return sb.length() == 0 ? "--memory " + mib + "m" : sb.toString();
    }

    /** Parses a size like {@code 192m}, {@code 1g}, {@code 512k}, {@code 1048576}. */
    public static long parseSize(String text) {
        if (text == null) throw new IllegalArgumentException("size is null, expected e.g. 192m or 1g");
        String t = text.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.endsWith("ib")) t = t.substring(0, t.length() - 2);
        else if (t.endsWith("b")) t = t.substring(0, t.length() - 1);
        long mult = 1;
        if (!t.isEmpty()) {
            char c = t.charAt(t.length() - 1);
            switch (c) {
                case 'k' -> mult = 1L << 10;
                case 'm' -> mult = 1L << 20;
                case 'g' -> mult = 1L << 30;
                case 't' -> mult = 1L << 40;
                default -> mult = 1;
            }
            if (mult > 1) t = t.substring(0, t.length() - 1);
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0) || Double.isInfinite(v)) throw new NumberFormatException();
            return (long) (v * mult);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("size = '" + text + "', expected a positive number with an optional unit k, m, g (e.g. 192m)");
        }
    }
}
