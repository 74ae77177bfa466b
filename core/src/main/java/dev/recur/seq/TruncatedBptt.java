package dev.recur.seq;

import dev.recur.Backprop;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;

/**
 * Truncated BPTT(k1, k2) in the sense of Williams and Peng (1990): the sequence is cut into
 * windows of k1 steps; at the end of each window, at step t, the losses of ITS k1 steps are
 * back-propagated through the last k2 >= k1 steps, [t - k2, t), and no further. The state is
 * carried across windows (forward is exact); the gradient is APPROXIMATE: it leaves out every
 * path longer than k2 steps, and each step's loss is back-propagated once, in its own window.
 * k1 = k2 = T is full BPTT; k1 = k2 &lt; T is the common "chunked" BPTT (state carried, dL/dh cut
 * at every chunk boundary).
 *
 * <p>At the start of the sequence the look-back is cut at step 0 (a window ending at t &lt; k2
 * back-propagates through all t steps, to h_0). Refused, with an error and not a silent skip:
 * k2 &lt; k1; k1 or k2 longer than the sequence; a sequence whose length is not a whole number of
 * windows (T mod k1 != 0), since its last window would not fit.
 *
 * <p>How: each window runs forward with its loss head over its k1 steps from the carried state
 * and back-propagates with dL/dh_t = 0 at its end; the dL/dh at its first step then flows into
 * the look-back [t - k2, t - k1), whose states are recomputed from a saved state (no loss head,
 * caller-gradient mode) and back-propagated. The look-back costs (k2 - k1)/k1 extra forward
 * steps per step.
 *
 * <p>States carried between windows are every layer's (and the LSTM's cell states); unidirectional
 * networks only (a reverse direction has no state to carry forward).
 *
 * <p>A {@link WindowListener} sees each window's gradient on its own (for an optimiser step per
 * window, the usual way to use truncated BPTT online); {@code run} also returns the sum over all
 * windows, compensated as in {@link GradAccumulator}.
 */
public final class TruncatedBptt {

    /** Called after each window with that window's gradient (float, fresh per window). */
    @FunctionalInterface
    public interface WindowListener {
        /**
         * One window done.
         *
         * @param end   the window covers the losses of steps [end - k1, end)
         * @param loss  their summed loss
         * @param grads the window's gradient; the listener may read it (and may update the params
         *              the run uses: the following windows then run with the new values)
         */
        void window(long end, double loss, Grads grads);
    }

    private final Rnn rnn;
    private final Shape shape;
    private final long steps;
    private final int batch, k1, k2;
    private final InputSource.Kind inKind, targetKind;
    private final long estimate;
    private final ProgressListener progress;

    private final Workspace chunkWs;
    private final Workspace backWs;
    private final Segment chunk;
    private final Segment back;
    private final float[] zerosBack;
    private final Grads windowGrads;
    private final GradAccumulator master;
    /** Every layer's state (L*B*H) at the window's end, where the next look-back starts, dL/dh, the final one. */
    private final float[] state, backStart, dh, finalState;
    /** The same for the LSTM's cell states; null for the other cells. */
    private final float[] cell, backCell, dc;
    private final Backprop bp = new Backprop();

    private TruncatedBptt(Builder b, long estimate) {
        this.rnn = b.rnn;
        this.shape = rnn.shape();
        this.steps = b.source.steps();
        this.batch = b.source.batch();
        this.k1 = b.k1;
        this.k2 = b.k2;
        this.inKind = b.source.inputKind();
        this.targetKind = b.source.targetKind();
        this.estimate = estimate;
        this.progress = b.progress;
        int bh = shape.layers() * batch * shape.hidden();
        this.chunkWs = rnn.trainingWorkspace(batch, k1);
        this.chunk = Segment.allocate(b.source, k1);
        int lb = k2 - k1;
        this.backWs = lb > 0 ? rnn.trainingWorkspace(batch, lb) : null;
        this.back = lb > 0 ? Segment.allocate(b.source, lb) : null;
        this.zerosBack = lb > 0 ? new float[lb * batch * shape.hidden()] : null;
        this.windowGrads = Grads.zeros(shape);
        this.master = new GradAccumulator(shape);
        this.state = new float[bh];
        this.backStart = new float[bh];
        this.dh = new float[bh];
        this.finalState = new float[bh];
        boolean lstm = shape.cell().hasCellState();
        this.cell = lstm ? new float[bh] : null;
        this.backCell = lstm ? new float[bh] : null;
        this.dc = lstm ? new float[bh] : null;
    }

    /**
     * A builder for TBPTT(k1, k2): every k1 steps, back-propagate the last k2 steps.
     *
     * @param rnn    the engine
     * @param source the sequence
     * @param k1     steps per window (the losses scored each time), &gt; 0
     * @param k2     steps back-propagated per window, {@code >= k1}
     * @return the builder; the sizes are checked by {@link Builder#build()}
     * @throws IllegalArgumentException if {@code rnn} or {@code source} is null
     */
    public static Builder builder(Rnn rnn, InputSource source, int k1, int k2) { return new Builder(rnn, source, k1, k2); }

    /** {@return steps per window: the losses scored (and the gradient taken) every k1 steps} */
    public int k1() { return k1; }

    /** {@return steps back-propagated per window} */
    public int k2() { return k2; }

    /** {@return the memory estimate the run was admitted with, in bytes} */
    public long estimatedBytes() { return estimate; }

    /** The final states h_T of the last run (every layer, L*B*H). */
    public float[] finalState(float[] out) {
        dev.recur.internal.Checks.length("out", out, finalState.length, "layers*batch*hidden");
        System.arraycopy(finalState, 0, out, 0, out.length);
        return out;
    }

    /** Runs every window from h0 (null: zeros) and adds the sum of the windows' gradients into {@code grads}. */
    public SequenceResult run(Params params, InputSource source, Grads grads, float[] h0, WindowListener listener) {
        if (grads == null || !grads.shape().equals(shape)) {
            throw new IllegalArgumentException("grads.shape() = " + (grads == null ? "null" : grads.shape()) + ", expected " + shape);
        }
        master.reset();
        SequenceResult r = run(params, source, master, h0, listener);
        master.foldInto(grads);
        return r;
    }

    /** As above, adding the window sums into the caller's compensated master (not folded). */
    public SequenceResult run(Params params, InputSource src, GradAccumulator acc, float[] h0, WindowListener listener) {
        checkSource(src);
        if (acc == null || !acc.shape().equals(shape)) throw new IllegalArgumentException("acc.shape() does not match " + shape);
        int bh = shape.layers() * batch * shape.hidden();
        if (h0 != null) {
            dev.recur.internal.Checks.length("h0", h0, bh, "layers*batch*hidden");
            System.arraycopy(h0, 0, state, 0, bh);
        } else {
            java.util.Arrays.fill(state, 0f);
        }
        if (cell != null) java.util.Arrays.fill(cell, 0f);
        System.arraycopy(state, 0, backStart, 0, bh);   // the state at step max(0, t - k2) for the next window
        if (cell != null) System.arraycopy(cell, 0, backCell, 0, bh);
        long forward = 0, recompute = 0, backward = 0;
        double loss = 0;
        long windows = steps / k1;
        for (long w = 0; w < windows; w++) {
            long start = w * k1, end = start + k1;
            long a = System.nanoTime();
            // the window's own steps, from the carried state, with its loss head
            src.read(start, chunk);
            double wl = chunk.forward(rnn, params, chunkWs, state, cell);
            long b = System.nanoTime();
            windowGrads.zero();
            rnn.backward(params, chunkWs, windowGrads, bp.clear().initialStateGradient(dh, 0).initialCellGradient(dc, 0));
            long c = System.nanoTime();
            // the look-back [max(0, end - k2), start): recompute its states, back-propagate dL/dh into it
            long lbStart = Math.max(0, end - k2);
            int lb = (int) (start - lbStart);
            long d = c, e = c;
            if (lb > 0) {
                Segment lbSeg = lb == back.steps() ? back : Segment.allocate(src, lb);   // shorter only in the first windows
                src.read(lbStart, lbSeg);
                lbSeg.forwardLayer(rnn, params, backWs, backStart, backCell);
                d = System.nanoTime();
                float[] zeros = lb == back.steps() ? zerosBack : new float[lb * batch * shape.hidden()];
                rnn.backward(params, backWs, windowGrads,
                        bp.clear().outputGradient(zeros, 0).finalStateGradient(dh, 0).finalCellGradient(dc, 0));
                e = System.nanoTime();
            }
            acc.add(windowGrads);
            if (listener != null) listener.window(end, wl, windowGrads);
            loss += wl;
            // carry: the state at the window's end, and the state where the next look-back starts
            chunkWs.finalState(state, 0);
            if (cell != null) chunkWs.finalCell(cell, 0);
            long next = Math.max(0, end + k1 - k2);
            if (next >= start) {
                chunkWs.stateAt((int) (next - start), backStart, 0);
                if (cell != null) chunkWs.cellAt((int) (next - start), backCell, 0);
            } else if (lb > 0) {
                backWs.stateAt((int) (next - lbStart), backStart, 0);
                if (cell != null) backWs.cellAt((int) (next - lbStart), backCell, 0);
            }
            long f = System.nanoTime();
            forward += b - a;
            backward += (c - b) + (e - d) + (f - e);
            recompute += d - c;
            progress.progress(ProgressListener.Phase.WINDOWS, end, steps);
        }
        System.arraycopy(state, 0, finalState, 0, bh);
        return new SequenceResult(steps, loss, 0, k1, forward, recompute, backward, estimate);
    }

    private void checkSource(InputSource s) {
        if (s == null) throw new IllegalArgumentException("source is null");
        if (s.steps() != steps || s.batch() != batch || s.inputSize() != shape.input() || s.outputSize() != shape.output()
                || s.inputKind() != inKind || s.targetKind() != targetKind) {
            throw new IllegalArgumentException("source (steps=" + s.steps() + ", batch=" + s.batch()
                    + ") does not match this plan (steps=" + steps + ", batch=" + batch + ")");
        }
    }

    /** Settings; {@link #build()} validates k1/k2, runs the pre-flight check, then allocates. */
    public static final class Builder {
        private final Rnn rnn;
        private final InputSource source;
        private final int k1, k2;
        private long budget;
        private ProgressListener progress = ProgressListener.NONE;

        private Builder(Rnn rnn, InputSource source, int k1, int k2) {
            if (rnn == null) throw new IllegalArgumentException("rnn is null");
            if (source == null) throw new IllegalArgumentException("source is null");
            this.rnn = rnn;
            this.source = source;
            this.k1 = k1;
            this.k2 = k2;
        }

        /**
         * A memory budget for the estimate check.
         *
         * @param bytes the budget in bytes; 0 means the free heap
         * @return this builder
         * @throws IllegalArgumentException if {@code bytes < 0}
         */
        public Builder memoryBudget(long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("memoryBudget = " + bytes + ", expected >= 0 (0 = the heap)");
            this.budget = bytes;
            return this;
        }

        /**
         * Receives progress as windows complete.
         *
         * @param l the listener; null means none
         * @return this builder
         */
        public Builder progress(ProgressListener l) {
            this.progress = l == null ? ProgressListener.NONE : l;
            return this;
        }

        /**
         * Checks the sizes and the memory estimate and allocates the run's buffers.
         *
         * @return the run, reusable for {@code run} calls
         * @throws IllegalArgumentException if {@code k1 <= 0} or {@code k2 < k1}
         * @throws MemoryBudgetException if the estimate does not fit the budget or the heap
         */
        public TruncatedBptt build() {
            long T = source.steps();
            if (k1 <= 0) throw new IllegalArgumentException("k1 = " + k1 + ", expected > 0 (steps per window)");
            if (k2 <= 0) throw new IllegalArgumentException("k2 = " + k2 + ", expected > 0 (steps back-propagated)");
            if (k2 < k1) {
                throw new IllegalArgumentException("k2 = " + k2 + " < k1 = " + k1 + ", expected k2 >= k1: every window's "
                        + "losses must be back-propagated at least through the window itself");
            }
            if (k2 > T) {
                throw new IllegalArgumentException("k2 = " + k2 + ", expected <= the sequence length T = " + T
                        + " (the look-back window does not fit the sequence)");
            }
            if (T % k1 != 0) {
                long lo = T / k1 * k1;
                throw new IllegalArgumentException("T = " + T + " is not a multiple of k1 = " + k1 + ": the last window ("
                        + (T - lo) + " steps from step " + lo + ") does not fit; use a k1 that divides T, or a sequence of "
                        + lo + " or " + (lo + k1) + " steps");
            }
            Shape s = rnn.shape();
            if (s.bidirectional()) {
                throw new IllegalArgumentException("truncated BPTT needs a unidirectional network; " + s + " runs a reverse "
                        + "direction from the end of the sequence, which has no state to carry from window to window");
            }
            if (source.inputSize() != s.input() || source.outputSize() != s.output()) {
                throw new IllegalArgumentException("source has input " + source.inputSize() + " and output " + source.outputSize()
                        + ", expected the engine's " + s);
            }
            long est = MemoryPlan.truncated(s, source.batch(), k1, k2, source.inputKind(), source.targetKind());
            long usable = MemoryPlan.usable(budget);
            if (est > usable) {
                long lean = MemoryPlan.truncated(s, source.batch(), k1, k1, source.inputKind(), source.targetKind());
                String fix = lean <= usable && k2 > k1 ? "use a shorter look-back (--k2 closer to --k1 = " + k1 + ")"
                        : "use shorter windows (smaller --k1/--k2), or more memory: " + MemoryPlan.moreMemoryHint(est, budget);
                throw new MemoryBudgetException("truncated BPTT (k1 = " + k1 + ", k2 = " + k2 + ") for batch = " + source.batch()
                        + ", hidden = " + s.hidden() + " needs ~" + MemoryPlan.human(est) + " but only "
                        + MemoryPlan.limitText(budget) + " is available; " + fix, est, usable);
            }
            return new TruncatedBptt(this, est);
        }
    }
}
