package dev.recur.spark;

import java.io.Serializable;

/**
 * The sequences one task trains on in one iteration (or one partition of {@code recur spark
 * grad}'s batch): {@code batch} sequences of {@code steps} steps, time-major ({@code [t*batch + r]},
 * dense rows {@code [(t*batch + r)*I + i]}). Exactly one of the input arrays and one of the
 * target arrays is set; {@code h0} and {@code c0} ({@code (K, batch, H)}, K = layers*directions) are
 * null for zeros, as every training window starts; {@code lengths} ({@code batch}) is null for
 * sequences of all {@code steps} steps.
 */
public record Windows(int batch, int steps, int[] classInputs, float[] denseInputs, int[] classTargets,
                      float[] denseTargets, float[] h0, int[] lengths, float[] c0) implements Serializable {

    public Windows {
        if (batch < 1 || steps < 1) {
            throw new IllegalArgumentException("windows of " + batch + " x " + steps + ", expected batch >= 1 and steps >= 1");
        }
        if ((classInputs == null) == (denseInputs == null)) {
            throw new IllegalArgumentException("expected exactly one of class or dense inputs");
        }
        if ((classTargets == null) == (denseTargets == null)) {
            throw new IllegalArgumentException("expected exactly one of class or dense targets");
        }
    }

    /** Full-length sequences from h0 (an Elman network's or a GRU's: no c0). */
    public Windows(int batch, int steps, int[] classInputs, float[] denseInputs, int[] classTargets, float[] denseTargets,
                   float[] h0) {
        this(batch, steps, classInputs, denseInputs, classTargets, denseTargets, h0, null, null);
    }

    /** Class-index inputs and targets (next-symbol prediction), from h0 = 0. */
    public static Windows ofClasses(int batch, int steps, int[] x, int[] y) {
        return new Windows(batch, steps, x, null, y, null, null);
    }

    /** Steps of every sequence (the scored positions when no target is ignored). */
    public long tokens() { return (long) batch * steps; }
}
