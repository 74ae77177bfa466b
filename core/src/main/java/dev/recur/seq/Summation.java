package dev.recur.seq;

/** How a long-sequence driver adds its segments' gradients together. */
public enum Summation {
    /**
     * Each segment (window) is summed in float by the engine, the segment sums in double with
     * Neumaier compensation ({@link GradAccumulator}), folded into the caller's Grads at the end.
     * The default: accurate over 10^6..10^9 steps.
     */
    COMPENSATED,
    /**
     * Straight into the caller's float Grads, segment after segment, exactly as one store-all
     * backward would: the same additions in the same order. For comparing with store-all; drifts
     * on long sequences.
     */
    PLAIN
}
