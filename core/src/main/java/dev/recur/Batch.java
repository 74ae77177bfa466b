package dev.recur;

import dev.recur.internal.Checks;

/**
 * The data of one forward call: B sequences of up to T steps, time-major and padded to T, with
 * their lengths, initial states, targets and the loss. Nothing is copied: the engine reads the
 * arrays where they are, from the offsets given, so a caller can slice one large array into
 * chunks or batches without copies.
 *
 * <p>Layouts (all time-major, row b of step t at {@code t*B + b}):
 * <ul>
 *   <li>inputs: dense {@code x[t][b][i]} ({@code T*B*I} floats), or class indices
 *   {@code x[t][b]} ({@code T*B} ints; {@code W_ih x_t} is then a column of W_ih);</li>
 *   <li>lengths: {@code B} ints, {@code 1 <= len_b <= T}, in any order; none means all T. The
 *   semantics are PyTorch's packed sequences: the forward direction runs t = 0 .. len_b-1, the
 *   reverse direction t = len_b-1 .. 0 from its own h0; steps past len_b carry no loss and give
 *   zero outputs; a sequence's final state is the state after its own last step;</li>
 *   <li>initial states: {@code h0[k][b][j]} with {@code k = layer*D + direction}, PyTorch's h_0
 *   ({@code L*D*B*H} floats; none means zeros); LSTM {@code c0} alike;</li>
 *   <li>targets: class indices {@code y[t][b]} for {@link Loss#CROSS_ENTROPY}, floats
 *   {@code y[t][b][o]} for {@link Loss#SQUARED_ERROR}; entries past a sequence's length are
 *   not read.</li>
 * </ul>
 *
 * <p>A Batch is a small mutable holder meant to be reused from call to call (set what changes;
 * nothing is allocated). Between a forward pass and its backward the engine keeps reading the
 * inputs (for the weight gradients): do not change them in between. Not thread-safe.
 */
public final class Batch {
    int sequences;
    int steps;
    float[] x;
    int[] xi;
    int xOff;
    int[] lengths;
    int lengthsOff;
    float[] h0;
    int h0Off;
    float[] c0;
    int c0Off;
    int[] yi;
    float[] yf;
    int yOff;
    Loss loss = Loss.NONE;

    /** A batch of {@code sequences} sequences padded to {@code steps} steps. */
    public Batch(int sequences, int steps) {
        size(sequences, steps);
    }

    /** Sets B and T (for the next chunk or batch); keeps the arrays, which must fit the new sizes. */
    public Batch size(int sequences, int steps) {
        Checks.positive("sequences", sequences);
        Checks.positive("steps", steps);
        this.sequences = sequences;
        this.steps = steps;
        return this;
    }

    /** B. */
    public int sequences() { return sequences; }

    /** T, the padded length. */
    public int steps() { return steps; }

    /** Dense inputs, {@code T*B*I} floats from index 0. */
    public Batch input(float[] x) { return input(x, 0); }

    /** Dense inputs, {@code T*B*I} floats from {@code offset}. */
    public Batch input(float[] x, int offset) {
        this.x = x;
        this.xi = null;
        this.xOff = offset;
        return this;
    }

    /** Class-index inputs, {@code T*B} ints from index 0. */
    public Batch input(int[] classes) { return input(classes, 0); }

    /** Class-index inputs, {@code T*B} ints from {@code offset}. */
    public Batch input(int[] classes, int offset) {
        this.xi = classes;
        this.x = null;
        this.xOff = offset;
        return this;
    }

    /** Sequence lengths, {@code B} ints from index 0; null: every sequence has T steps. */
    public Batch lengths(int[] lengths) { return lengths(lengths, 0); }

    /** Sequence lengths, {@code B} ints from {@code offset}; null: every sequence has T steps. */
    public Batch lengths(int[] lengths, int offset) {
        this.lengths = lengths;
        this.lengthsOff = offset;
        return this;
    }

    /** Initial states h0 ({@code L*D*B*H} floats from index 0); null: zeros. */
    public Batch initialState(float[] h0) { return initialState(h0, 0); }

    /** Initial states h0 ({@code L*D*B*H} floats from {@code offset}); null: zeros. */
    public Batch initialState(float[] h0, int offset) {
        this.h0 = h0;
        this.h0Off = offset;
        return this;
    }

    /** Initial LSTM cell states c0 ({@code L*D*B*H} floats from index 0); null: zeros. */
    public Batch initialCell(float[] c0) { return initialCell(c0, 0); }

    /** Initial LSTM cell states c0 ({@code L*D*B*H} floats from {@code offset}); null: zeros. */
    public Batch initialCell(float[] c0, int offset) {
        this.c0 = c0;
        this.c0Off = offset;
        return this;
    }

    /** Class-index targets ({@code T*B} ints from index 0) for {@link Loss#CROSS_ENTROPY}. */
    public Batch targets(int[] classes) { return targets(classes, 0); }

    /** Class-index targets ({@code T*B} ints from {@code offset}) for {@link Loss#CROSS_ENTROPY}. */
    public Batch targets(int[] classes, int offset) {
        this.yi = classes;
        this.yf = null;
        this.yOff = offset;
        return this;
    }

    /** Float targets ({@code T*B*O} floats from index 0) for {@link Loss#SQUARED_ERROR}. */
    public Batch targets(float[] values) { return targets(values, 0); }

    /** Float targets ({@code T*B*O} floats from {@code offset}) for {@link Loss#SQUARED_ERROR}. */
    public Batch targets(float[] values, int offset) {
        this.yf = values;
        this.yi = null;
        this.yOff = offset;
        return this;
    }

    /** Drops the targets (a forward pass without a loss, or {@code predict}). */
    public Batch noTargets() {
        this.yi = null;
        this.yf = null;
        this.loss = Loss.NONE;
        return this;
    }

    /** The loss the forward pass computes (default {@link Loss#NONE}). */
    public Batch loss(Loss loss) {
        if (loss == null) throw new IllegalArgumentException("loss is null, expected Loss.CROSS_ENTROPY, Loss.SQUARED_ERROR or Loss.NONE");
        this.loss = loss;
        return this;
    }

    /** The loss set for this batch. */
    public Loss loss() { return loss; }

    /** True if the inputs are class indices. */
    public boolean classInputs() { return xi != null; }

    @Override public String toString() {
        return "Batch[B=" + sequences + ", T=" + steps + (x != null ? ", dense inputs" : xi != null ? ", class inputs" : ", no inputs")
                + (lengths != null ? ", lengths" : "") + (h0 != null ? ", h0" : "") + (c0 != null ? ", c0" : "")
                + ", loss " + loss + "]";
    }
}
