package dev.recur.seq;

/**
 * A sequence that the long-sequence drivers read one segment of steps at a time, and may read
 * again (the checkpointed backward re-reads every segment once for its recompute; truncated
 * BPTT re-reads the steps of each window's look-back). Implementations must return exactly the
 * same values every time a step is read.
 *
 * <p>A source holds {@link #batch()} independent sequences of {@link #steps()} steps each,
 * time-major like the engine ({@code x[t][r][i]}). Inputs are dense (I floats per step and
 * sequence) or class indices (one int in [0, I)); targets are class indices (softmax
 * cross-entropy, one int in [0, O)) or floats (squared error, O floats).
 *
 * <p>Implementations: {@link ArraySource} (arrays in memory), {@link SyntheticSource} (a seeded
 * generator with random access), {@link FileSource} (raw little-endian float32/int32 or .npy
 * files, read in chunks through a reusable buffer, for sequences larger than memory).
 *
 * <p>Not thread-safe unless an implementation says so: one driver reads a source at a time.
 */
public interface InputSource extends AutoCloseable {

    /** How a step's inputs or targets are stored. */
    enum Kind {
        /** Floats: I per step and sequence for inputs, O for targets (squared error). */
        DENSE,
        /** Class indices: one int per step and sequence (inputs gather a column of U; targets: cross-entropy). */
        CLASS;

        /** Lower-case name, as the CLI writes it. */
        public String id() { return name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** Steps per sequence, T. */
    long steps();

    /** Independent sequences per step, B. */
    int batch();

    /** I: the width of a dense input, or the number of input classes. */
    int inputSize();

    /** O: the width of a float target, or the number of target classes. */
    int outputSize();

    /** How inputs are stored. */
    Kind inputKind();

    /** How targets are stored. */
    Kind targetKind();

    /**
     * Fills {@code into} with steps {@code [t0, t0 + into.steps())}: its input array
     * ({@link Segment#denseInputs()} or {@link Segment#classInputs()}) and its target array.
     * Must not allocate per call in steady state. Throws {@link IllegalArgumentException} if the
     * range lies outside [0, steps()) and {@link java.io.UncheckedIOException} on a read error.
     */
    void read(long t0, Segment into);

    /** Releases files or buffers; the default does nothing. */
    @Override default void close() {}

    /** Checks that {@code [t0, t0+n)} lies in [0, steps()); the message names the range. */
    static void checkRange(InputSource s, long t0, int n) {
        if (t0 < 0 || n < 0 || t0 + n > s.steps()) {
            throw new IllegalArgumentException("steps [" + t0 + ", " + (t0 + n) + ") requested, expected a range inside [0, "
                    + s.steps() + ")");
        }
    }
}
