package dev.recur.seq;

/**
 * What a long-sequence run reports.
 *
 * @param steps           T
 * @param loss            the summed loss over all steps and sequences (for truncated BPTT: every
 *                        step's loss counted once, in the window that ends with it)
 * @param checkpoints     checkpoints kept (checkpointed mode; 0 otherwise)
 * @param segment         segment length S (checkpointed), k1 (truncated), T (store-all)
 * @param forwardNanos    time in the first forward pass (checkpointed: recording checkpoints)
 * @param recomputeNanos  time spent recomputing segment states (checkpointed), or the look-back
 *                        forward of truncated windows; 0 for store-all
 * @param backwardNanos   time in back-propagation and gradient accumulation
 * @param estimatedBytes  the pre-flight memory estimate for the run
 */
public record SequenceResult(long steps, double loss, long checkpoints, int segment, long forwardNanos,
                             long recomputeNanos, long backwardNanos, long estimatedBytes) {

    /** Wall time of the three phases together, in seconds. */
    public double seconds() { return (forwardNanos + recomputeNanos + backwardNanos) * 1e-9; }

    /** Share of the total time spent recomputing (0 for store-all). */
    public double recomputeShare() {
        long total = forwardNanos + recomputeNanos + backwardNanos;
        return total == 0 ? 0 : (double) recomputeNanos / total;
    }
}
