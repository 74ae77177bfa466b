package dev.recur.seq;

/**
 * Told by the long-sequence drivers where they are, once per segment or window (cheap: a few
 * calls per second at most in practice). Called on the driver's thread.
 */
@FunctionalInterface
public interface ProgressListener {

    /** The phases a run goes through. */
    enum Phase {
        /** Checkpointed: the first forward pass, which records the checkpoints. Store-all: the forward pass. */
        FORWARD,
        /** Checkpointed: recompute and back-propagate each segment, last first. Store-all: the backward pass. */
        BACKWARD,
        /** Truncated BPTT: forward and back-propagate window after window. */
        WINDOWS
    }

    /** {@code done} of {@code total} steps of {@code phase} are finished. */
    void progress(Phase phase, long done, long total);

    /** A listener that ignores everything. */
    ProgressListener NONE = (p, d, t) -> { };
}
