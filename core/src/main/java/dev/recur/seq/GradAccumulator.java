package dev.recur.seq;

import dev.recur.Grads;
import dev.recur.Shape;

/**
 * The accurate time sum of the long-sequence drivers: a double master with Neumaier
 * compensation, in the layout of {@link Grads}. The drivers accumulate each segment (or
 * window) of steps in a float {@link Grads} with the engine's kernels, then add that segment
 * sum here; at the end the master is folded into the caller's float Grads with one rounding.
 *
 * <p>Why: summing 10^6 float contributions one by one into a float loses up to ~T*eps relative
 * (about 6e-2 at T = 10^6, eps = 2^-24), and a same-signed sum really does drift. Per segment of
 * S steps the float error is bounded by ~S*eps; the segment sums, T/S of them, then add in double
 * with compensation, which costs nothing measurable (one pass over the parameters per segment).
 *
 * <p>Where it lives: each driver call ({@code run(..., Grads, ...)}) owns one and folds it into
 * the caller's Grads at the end, so the caller's float array sees one rounding per call. A
 * caller who accumulates over many calls (mini-batches of long sequences) and wants the same
 * accuracy across calls passes its own GradAccumulator to {@code run(..., GradAccumulator, ...)}
 * and calls {@link #foldInto} once, after the last call.
 *
 * <p>Not thread-safe.
 */
public final class GradAccumulator {
    private final Shape shape;
    private final double[] sum;
    private final double[] comp;

    /**
     * An empty accumulator: a double sum and its compensation term per parameter, all zero.
     *
     * @param shape the network whose gradients are summed
     * @throws IllegalArgumentException if {@code shape} is null
     */
    public GradAccumulator(Shape shape) {
        if (shape == null) throw new IllegalArgumentException("shape is null");
        this.shape = shape;
        this.sum = new double[shape.size()];
        this.comp = new double[shape.size()];
    }

    /** {@return the network shape the sums are laid out for ({@code shape.size()} entries)} */
    public Shape shape() { return shape; }

    /** Bytes held (for memory estimates). */
    public static long bytes(Shape shape) { return 16L * shape.size() + 64; }

    /** {@code master += g} (Neumaier-compensated, in double). */
    public void add(Grads g) {
        check(g);
        float[] a = g.data();
        for (int k = 0; k < a.length; k++) {
            double x = a[k], s = sum[k], t = s + x;
            comp[k] += Math.abs(s) >= Math.abs(x) ? (s - t) + x : (x - t) + s;
            sum[k] = t;
        }
    }

    /** The master value of parameter {@code k} (compensation applied), in double. */
    public double value(int k) { return sum[k] + comp[k]; }

    /** {@code g += master}, rounded once per entry; the master is left as it was. */
    public void foldInto(Grads g) {
        check(g);
        float[] a = g.data();
        for (int k = 0; k < a.length; k++) a[k] = (float) (a[k] + (sum[k] + comp[k]));
    }

    /** Sets the master to zero. */
    public void reset() {
        java.util.Arrays.fill(sum, 0);
        java.util.Arrays.fill(comp, 0);
    }

    private void check(Grads g) {
        if (g == null || !g.shape().equals(shape)) {
            throw new IllegalArgumentException("grads.shape() = " + (g == null ? "null" : g.shape()) + ", expected " + shape);
        }
    }
}
