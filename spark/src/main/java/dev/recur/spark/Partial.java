package dev.recur.spark;

import java.io.Serializable;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One task's result, or the sum of several, tagged with its index: the summed loss, the scored
 * steps, the flat gradient (the parameters' layout), per-sequence outputs ({@code dh0}, batch
 * order, or null), which kernels the tasks ran, and how long their compute took.
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
    final float[] dh0;
    /** Kernel description (e.g. "vector") -> how many tasks ran it. */
    final TreeMap<String, Integer> kernels;
    /** The slowest task's compute time, and all tasks' compute time added up. */
    final long maxComputeNanos, computeNanos;
    /** Tasks summed into this partial. */
    final int tasks;

    Partial(int index, double loss, long tokens, float[] grad, float[] dh0, TreeMap<String, Integer> kernels,
            long maxComputeNanos, long computeNanos, int tasks) {
        this.index = index;
        this.loss = loss;
        this.tokens = tokens;
        this.grad = grad;
        this.dh0 = dh0;
        this.kernels = kernels;
        this.maxComputeNanos = maxComputeNanos;
        this.computeNanos = computeNanos;
        this.tasks = tasks;
    }

    /** One task's result. */
    static Partial of(int index, double loss, long tokens, float[] grad, float[] dh0, String kernels, long computeNanos) {
        TreeMap<String, Integer> k = new TreeMap<>();
        k.put(kernels, 1);
        return new Partial(index, loss, tokens, grad, dh0, k, computeNanos, computeNanos, 1);
    }

    public int index() { return index; }
    public double loss() { return loss; }
    public long tokens() { return tokens; }
    /** The flat gradient (not a copy). */
    public float[] grad() { return grad; }
    /** dL/dh0 of every sequence, in batch order, or null. */
    public float[] dh0() { return dh0; }
    public Map<String, Integer> kernels() { return Collections.unmodifiableMap(kernels); }
    public long maxComputeNanos() { return maxComputeNanos; }
    public long computeNanos() { return computeNanos; }
    public int tasks() { return tasks; }

    /**
     * The sum of {@code parts} taken left to right, tagged {@code index}: losses and gradients
     * added in that order, dh0 concatenated in that order. The first part's arrays are not
     * changed (a fresh gradient is made).
     */
    static Partial combine(int index, List<Partial> parts) {
        if (parts.isEmpty()) throw new IllegalArgumentException("nothing to combine");
        Partial first = parts.get(0);
        float[] g = first.grad.clone();
        double loss = first.loss;
        long tokens = first.tokens;
        long maxNanos = first.maxComputeNanos, nanos = first.computeNanos;
        int tasks = first.tasks;
        int dh0Length = 0;
        TreeMap<String, Integer> kernels = new TreeMap<>();
        for (Partial p : parts) {
            if (p.grad.length != g.length) {
                throw new IllegalArgumentException("partial " + p.index + " has a gradient of " + p.grad.length
                        + " values, expected " + g.length);
            }
            if ((p.dh0 == null) != (first.dh0 == null)) throw new IllegalArgumentException("partials disagree on dh0");
            if (p.dh0 != null) dh0Length += p.dh0.length;
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
        float[] dh0 = null;
        if (first.dh0 != null) {
            dh0 = new float[dh0Length];
            int at = 0;
            for (Partial p : parts) {
                System.arraycopy(p.dh0, 0, dh0, at, p.dh0.length);
                at += p.dh0.length;
            }
        }
        return new Partial(index, loss, tokens, g, dh0, kernels, maxNanos, nanos, tasks);
    }
}
