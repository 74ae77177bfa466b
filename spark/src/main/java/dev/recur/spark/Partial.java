package dev.recur.spark;

import java.io.Serializable;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One task's result, or the sum of several, tagged with its index: the summed loss, the scored
 * positions (those the loss counts), the flat gradient (the parameters' layout), per-sequence
 * outputs ({@code dh0} and {@code dc0}: each task's (K, n, H) block, concatenated in index order;
 * or null), which kernels the tasks ran, and how long their compute took.
 *
 * <p>{@link #combine} adds partials strictly in the order given, which callers make index order:
 * float addition is not associative, so the order is what makes the bits repeatable.
 */
public final class Partial implements Serializable {
    private static final long serialVersionUID = 1L;

    final int index;
    final double loss;
    final long tokens;
    final float[] grad;
    final float[] dh0, dc0;
    /** Kernel description (e.g. "vector") -> how many tasks ran it. */
    final TreeMap<String, Integer> kernels;
    /** The slowest task's compute time, and all tasks' compute time added up. */
    final long maxComputeNanos, computeNanos;
    /** Tasks summed into this partial. */
    final int tasks;

    Partial(int index, double loss, long tokens, float[] grad, float[] dh0, float[] dc0, TreeMap<String, Integer> kernels,
            long maxComputeNanos, long computeNanos, int tasks) {
        this.index = index;
        this.loss = loss;
        this.tokens = tokens;
        this.grad = grad;
        this.dh0 = dh0;
        this.dc0 = dc0;
        this.kernels = kernels;
        this.maxComputeNanos = maxComputeNanos;
        this.computeNanos = computeNanos;
        this.tasks = tasks;
    }

    /** One task's result. */
    static Partial of(int index, double loss, long tokens, float[] grad, float[] dh0, String kernels, long computeNanos) {
        return of(index, loss, tokens, grad, dh0, null, kernels, computeNanos);
    }

    /** One task's result with an LSTM's dc0 too. */
    static Partial of(int index, double loss, long tokens, float[] grad, float[] dh0, float[] dc0, String kernels,
                      long computeNanos) {
        TreeMap<String, Integer> k = new TreeMap<>();
        k.put(kernels, 1);
        return new Partial(index, loss, tokens, grad, dh0, dc0, k, computeNanos, computeNanos, 1);
    }

    /**
     * A task's word that it has no result (an overlapped task whose parameters did not come in
     * time): the driver computes partition {@code index} itself. Not to be combined.
     */
    static Partial missing(int index) {
        return new Partial(index, 0, 0, null, null, null, new TreeMap<>(), 0, 0, 0);
    }

    /** True for {@link #missing}'s partials. */
    boolean missing() { return grad == null; }

    public int index() { return index; }
    public double loss() { return loss; }
    public long tokens() { return tokens; }
    /** The flat gradient (not a copy). */
    public float[] grad() { return grad; }
    /** dL/dh0: the tasks' blocks in index order, or null. */
    public float[] dh0() { return dh0; }
    /** dL/dc0 (an LSTM's): the tasks' blocks in index order, or null. */
    public float[] dc0() { return dc0; }
    public Map<String, Integer> kernels() { return Collections.unmodifiableMap(kernels); }
    public long maxComputeNanos() { return maxComputeNanos; }
    public long computeNanos() { return computeNanos; }
    public int tasks() { return tasks; }

    /**
     * The sum of {@code parts} taken left to right, tagged {@code index}: losses and gradients
     * added in that order, dh0 and dc0 concatenated in that order. The first part's arrays are not
     * changed (a fresh gradient is made).
     */
    static Partial combine(int index, List<Partial> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("nothing to combine");
        for (Partial p : parts) {
            if (p.missing()) throw new IllegalArgumentException("partial " + p.index + " is missing (never computed)");
        }
        Partial first = parts.get(0);
        float[] g = first.grad.clone();
        double loss = first.loss;
        long tokens = first.tokens;
        long maxNanos = first.maxComputeNanos, nanos = first.computeNanos;
        int tasks = first.tasks;
        TreeMap<String, Integer> kernels = new TreeMap<>();
        for (Partial p : parts) {
            if (p.grad.length != g.length) {
                throw new IllegalArgumentException("partial " + p.index + " has a gradient of " + p.grad.length
                        + " values, expected " + g.length);
            }
            if ((p.dh0 == null) != (first.dh0 == null)) throw new IllegalArgumentException("partials disagree on dh0");
            if ((p.dc0 == null) != (first.dc0 == null)) throw new IllegalArgumentException("partials disagree on dc0");
            p.kernels.forEach((k, n) -> kernels.merge(k, n, Integer::sum));
        }
        for (int j = 1; j < parts.size(); j++) {
            Partial p = parts.get(j);
            float[] a = p.grad;
            for (int k = 0; k < g.length; k++) g[k] += a[k];
            loss += p.loss;
            tokens += p.tokens;
            maxNanos = Math.max(maxNanos, p.maxComputeNanos);
            nanos += p.computeNanos;
            tasks += p.tasks;
        }
        float[] dh0 = first.dh0 == null ? null : concat(parts, false);
        float[] dc0 = first.dc0 == null ? null : concat(parts, true);
        return new Partial(index, loss, tokens, g, dh0, dc0, kernels, maxNanos, nanos, tasks);
    }

    private static float[] concat(List<Partial> parts, boolean cell) {
        int n = 0;
        for (Partial p : parts) n += (cell ? p.dc0 : p.dh0).length;
        float[] r = new float[n];
        int at = 0;
        for (Partial p : parts) {
            float[] a = cell ? p.dc0 : p.dh0;
            System.arraycopy(a, 0, r, at, a.length);
            at += a.length;
        }
        return r;
    }
}
