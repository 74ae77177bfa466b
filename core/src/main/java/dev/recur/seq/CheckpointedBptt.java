package dev.recur.seq;

import dev.recur.Backprop;
import dev.recur.Carry;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;

import java.util.Arrays;

/**
 * Exact BPTT over a sequence of any length in O(T/S + S) states: the forward pass keeps only
 * the hidden state at every S-th step (the checkpoints: every layer's state, and the LSTM's cell
 * state); the backward pass walks the segments last to first, recomputes each segment's states
 * from its checkpoint in a training workspace of S steps, and back-propagates through it,
 * carrying the backward recursion (a {@link Carry}) across the boundary into the segment before.
 * Cost: one extra forward pass (without the output head) over the sequence. Unidirectional
 * networks only: a reverse direction starts at the end of the sequence and cannot run segment
 * by segment (the builder refuses one; {@link StoreAllBptt} runs it when it fits in memory).
 *
 * <p><b>Exactness.</b> The recomputed states are bitwise the states a store-all run computes
 * (same kernels, same blocks: S is rounded to whole engine blocks). With {@link Summation#PLAIN}
 * the gradients are bitwise the store-all ones for dense inputs: the carry hands delta itself
 * across each boundary, so every addition happens in the same order as in one pass (class-index
 * inputs fold dW_ih per call, which rounds differently). With {@link Summation#COMPENSATED} (the
 * default) the time sums are more accurate than store-all's (see {@link GradAccumulator}).
 *
 * <p><b>Memory.</b> {@link MemoryPlan#checkpoint}: (T/S + 1) checkpoints of L*B*H floats, one
 * training workspace of S steps, two segment buffers, the gradient master. S defaults to about
 * sqrt(T); with a memory budget that sqrt(T) does not fit, the leanest S is used; or set S. The
 * builder refuses (before allocating) when the plan does not fit the heap or the budget.
 *
 * <p>One instance per thread; it owns its workspaces and reuses them across runs of sequences
 * with the same sizes.
 */
public final class CheckpointedBptt {
    private final Rnn rnn;
    private final Shape shape;
    private final long steps;
    private final int batch;
    private final int segment;
    private final int segments;
    private final InputSource.Kind inKind, targetKind;
    private final Summation summation;
    private final ProgressListener progress;
    private final long estimate;

    private final float[][] checkpoints;
    /** LSTM: the cell states at the checkpoints; null for the other cells. */
    private final float[][] cellCheckpoints;
    private final float[] finalState, finalCell;
    private final Carry carry;
    private final Backprop bp = new Backprop();
    private final Workspace train;
    private final Workspace infer;
    private final Segment full;
    private final Segment tail;
    private final Grads segGrads;
    private final GradAccumulator master;
    private final float[] dh0Buf;

    private CheckpointedBptt(Builder b, int segment, long estimate) {
        this.rnn = b.rnn;
        this.shape = rnn.shape();
        this.steps = b.source.steps();
        this.batch = b.source.batch();
        this.segment = segment;
        this.inKind = b.source.inputKind();
        this.targetKind = b.source.targetKind();
        this.summation = b.summation;
        this.progress = b.progress;
        this.estimate = estimate;
        long n = (steps + segment - 1) / segment;
        this.segments = (int) n;
        int bh = shape.layers() * batch * shape.hidden();
        this.checkpoints = new float[segments][bh];
        boolean lstm = shape.cell().hasCellState();
        this.cellCheckpoints = lstm ? new float[segments][bh] : null;
        this.finalState = new float[bh];
        this.finalCell = lstm ? new float[bh] : null;
        this.carry = rnn.carry(batch);
        this.train = rnn.trainingWorkspace(batch, segment);
        this.infer = rnn.inferenceWorkspace(batch);
        this.full = Segment.allocate(b.source, segment);
        int last = (int) (steps - (long) (segments - 1) * segment);
        this.tail = last == segment ? full : Segment.allocate(b.source, last);
        this.segGrads = Grads.zeros(shape);
        this.master = new GradAccumulator(shape);
        this.dh0Buf = new float[bh];
    }

    /** A plan for sequences shaped like {@code source} (its length, batch, sizes and kinds). */
    public static Builder builder(Rnn rnn, InputSource source) { return new Builder(rnn, source); }

    /** Segment length S. */
    public int segment() { return segment; }

    /** Checkpoints kept: one per segment (the state at its first step). */
    public int checkpoints() { return segments; }

    /** The pre-flight estimate this plan was admitted with, in bytes. */
    public long estimatedBytes() { return estimate; }

    /** The final states h_T of the last run (L*B*H floats, every layer), to carry into a following call. */
    public float[] finalState(float[] out) {
        dev.recur.internal.Checks.length("out", out, (long) shape.layers() * batch * shape.hidden(), "layers*batch*hidden");
        System.arraycopy(finalState, 0, out, 0, out.length);
        return out;
    }

    /** Forward and exact BPTT from h_0 = 0, adding the gradients into {@code grads}. */
    public SequenceResult run(Params params, InputSource source, Grads grads) {
        return run(params, source, grads, null, null, null);
    }

    /**
     * Forward and exact BPTT over {@code source}, adding dL/dparams into {@code grads}.
     *
     * @param h0  initial states (L*B*H, every layer), or null for zeros
     * @param dhT gradient reaching the final states from a later call (L*B*H), or null for zeros
     * @param dh0 receives dL/dh_0 (L*B*H), or null
     */
    public SequenceResult run(Params params, InputSource source, Grads grads, float[] h0, float[] dhT, float[] dh0) {
        if (grads == null || !grads.shape().equals(shape)) {
            throw new IllegalArgumentException("grads.shape() = " + (grads == null ? "null" : grads.shape()) + ", expected " + shape);
        }
        if (summation == Summation.PLAIN) return go(params, source, grads, null, h0, dhT, dh0);
        master.reset();
        SequenceResult r = go(params, source, null, master, h0, dhT, dh0);
        master.foldInto(grads);
        return r;
    }

    /**
     * As {@link #run(Params, InputSource, Grads, float[], float[], float[])}, but adds the
     * segment sums into the caller's compensated master {@code acc} (not folded: the caller
     * folds once after its last call, {@link GradAccumulator#foldInto}). Always compensated.
     */
    public SequenceResult run(Params params, InputSource source, GradAccumulator acc, float[] h0, float[] dhT, float[] dh0) {
        if (acc == null || !acc.shape().equals(shape)) {
            throw new IllegalArgumentException("acc.shape() = " + (acc == null ? "null" : acc.shape()) + ", expected " + shape);
        }
        return go(params, source, null, acc, h0, dhT, dh0);
    }

    private SequenceResult go(Params params, InputSource src, Grads plain, GradAccumulator acc, float[] h0, float[] dhT,
                              float[] dh0) {
        checkSource(src);
        int bh = shape.layers() * batch * shape.hidden();
        if (h0 != null) dev.recur.internal.Checks.length("h0", h0, bh, "layers*batch*hidden");
        if (dhT != null) dev.recur.internal.Checks.length("dhT", dhT, bh, "layers*batch*hidden");
        if (dh0 != null) dev.recur.internal.Checks.length("dh0", dh0, bh, "layers*batch*hidden");

        // 1. Forward, keeping every layer's state (and LSTM cell state) at the start of every segment.
        long t0n = System.nanoTime();
        if (h0 != null) System.arraycopy(h0, 0, checkpoints[0], 0, bh);
        else Arrays.fill(checkpoints[0], 0f);
        if (cellCheckpoints != null) Arrays.fill(cellCheckpoints[0], 0f);
        for (int k = 0; k < segments; k++) {
            Segment seg = k == segments - 1 ? tail : full;
            src.read((long) k * segment, seg);
            seg.forwardLayer(rnn, params, infer, checkpoints[k], cellCheckpoints == null ? null : cellCheckpoints[k]);
            infer.finalState(k + 1 < segments ? checkpoints[k + 1] : finalState, 0);
            if (cellCheckpoints != null) infer.finalCell(k + 1 < segments ? cellCheckpoints[k + 1] : finalCell, 0);
            progress.progress(ProgressListener.Phase.FORWARD, Math.min(steps, (long) (k + 1) * segment), steps);
        }
        long forwardNanos = System.nanoTime() - t0n;

        // 2. Backward, last segment first: recompute its states, back-propagate, carry the recursion.
        long recompute = 0, backward = 0;
        double loss = 0;
        carry.clear();
        for (int k = segments - 1; k >= 0; k--) {
            long a = System.nanoTime();
            Segment seg = k == segments - 1 ? tail : full;
            src.read((long) k * segment, seg);
            loss += seg.forward(rnn, params, train, checkpoints[k], cellCheckpoints == null ? null : cellCheckpoints[k]);
            long b = System.nanoTime();
            Grads target = plain;
            if (acc != null) {
                segGrads.zero();
                target = segGrads;
            }
            // delta itself crosses the boundary (bitwise the store-all additions); dL/dh only at the ends
            bp.clear().carry(carry).finalStateGradient(k == segments - 1 ? dhT : null, 0)
                    .initialStateGradient(k == 0 ? dh0Buf : null, 0);
            rnn.backward(params, train, target, bp);
            if (acc != null) acc.add(segGrads);
            long c = System.nanoTime();
            recompute += b - a;
            backward += c - b;
            progress.progress(ProgressListener.Phase.BACKWARD, steps - (long) k * segment, steps);
        }
        if (dh0 != null) System.arraycopy(dh0Buf, 0, dh0, 0, bh);
        return new SequenceResult(steps, loss, segments, segment, forwardNanos, recompute, backward, estimate);
    }

    private void checkSource(InputSource s) {
        if (s == null) throw new IllegalArgumentException("source is null");
        if (s.steps() != steps || s.batch() != batch || s.inputSize() != shape.input() || s.outputSize() != shape.output()
                || s.inputKind() != inKind || s.targetKind() != targetKind) {
            throw new IllegalArgumentException("source (steps=" + s.steps() + ", batch=" + s.batch() + ", input=" + s.inputSize()
                    + " " + s.inputKind().id() + ", output=" + s.outputSize() + " " + s.targetKind().id()
                    + ") does not match this plan (steps=" + steps + ", batch=" + batch + ", input=" + shape.input() + " "
                    + inKind.id() + ", output=" + shape.output() + " " + targetKind.id() + ")");
        }
    }

    /** Settings; {@link #build()} runs the pre-flight check and then allocates. */
    public static final class Builder {
        private final Rnn rnn;
        private final InputSource source;
        private int segment;
        private long budget;
        private Summation summation = Summation.COMPENSATED;
        private ProgressListener progress = ProgressListener.NONE;

        private Builder(Rnn rnn, InputSource source) {
            if (rnn == null) throw new IllegalArgumentException("rnn is null");
            if (source == null) throw new IllegalArgumentException("source is null");
            Shape s = rnn.shape();
            if (s.bidirectional()) {
                throw new IllegalArgumentException("checkpointed BPTT needs a unidirectional network; " + s + " runs a reverse "
                        + "direction from the end of the sequence, which cannot go segment by segment: use store-all BPTT "
                        + "(the whole sequence in memory) or a unidirectional network");
            }
            if (source.inputSize() != s.input() || source.outputSize() != s.output()) {
                throw new IllegalArgumentException("source has input " + source.inputSize() + " and output " + source.outputSize()
                        + ", expected the engine's " + s);
            }
            this.rnn = rnn;
            this.source = source;
        }

        /** Segment length S (rounded up to whole engine blocks, at most T); default about sqrt(T). */
        public Builder segment(int s) {
            this.segment = dev.recur.internal.Checks.positive("segment", s);
            return this;
        }

        /** Bytes this run may use (0: no budget beyond the heap). */
        public Builder memoryBudget(long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("memoryBudget = " + bytes + ", expected >= 0 (0 = the heap)");
            this.budget = bytes;
            return this;
        }

        /**
         * How the per-step parameter gradients are summed over time (compensated by default).
         *
         * @param s COMPENSATED or PLAIN
         * @return this builder
         * @throws IllegalArgumentException if {@code s} is null
         */
        public Builder summation(Summation s) {
            if (s == null) throw new IllegalArgumentException("summation is null, expected COMPENSATED or PLAIN");
            this.summation = s;
            return this;
        }

        /**
         * Receives progress as segments complete.
         *
         * @param l the listener; null means none
         * @return this builder
         */
        public Builder progress(ProgressListener l) {
            this.progress = l == null ? ProgressListener.NONE : l;
            return this;
        }

        /** Estimates, refuses with {@link MemoryBudgetException} if it does not fit, then allocates. */
        public CheckpointedBptt build() {
            Shape s = rnn.shape();
            long T = source.steps();
            int B = source.batch();
            InputSource.Kind in = source.inputKind(), tg = source.targetKind();
            long usable = MemoryPlan.usable(budget);
            int seg;
            long est;
            if (segment > 0) {
                seg = MemoryPlan.align(segment, T, B);
                est = MemoryPlan.checkpoint(s, B, T, seg, in, tg);
                if (est > usable) {
                    int lean = MemoryPlan.leanestSegment(s, B, T, in, tg);
                    long leanEst = MemoryPlan.checkpoint(s, B, T, lean, in, tg);
                    String fix = leanEst <= usable
                            ? "use a segment of " + lean + " steps (--segment " + lean + ", needs ~" + MemoryPlan.human(leanEst) + ")"
                            : "give it more memory: " + MemoryPlan.moreMemoryHint(leanEst, budget) + " (at segment " + lean + ")";
                    throw refuse("checkpointed BPTT with segment " + seg, T, B, s, est, usable, fix);
                }
            } else {
                seg = MemoryPlan.defaultSegment(T, B);
                est = MemoryPlan.checkpoint(s, B, T, seg, in, tg);
                if (est > usable) {
                    seg = MemoryPlan.leanestSegment(s, B, T, in, tg);
                    est = MemoryPlan.checkpoint(s, B, T, seg, in, tg);
                    if (est > usable) {
                        throw refuse("checkpointed BPTT (leanest segment " + seg + ")", T, B, s, est, usable,
                                "give it more memory: " + MemoryPlan.moreMemoryHint(est, budget));
                    }
                }
            }
            return new CheckpointedBptt(this, seg, est);
        }

        private MemoryBudgetException refuse(String what, long T, int B, Shape s, long est, long usable, String fix) {
            return new MemoryBudgetException(what + " for T = " + T + ", batch = " + B + ", hidden = " + s.hidden()
                    + " needs ~" + MemoryPlan.human(est) + " but only " + MemoryPlan.limitText(budget) + " is available; "
                    + fix, est, usable);
        }
    }
}
