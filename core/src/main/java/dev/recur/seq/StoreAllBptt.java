package dev.recur.seq;

import dev.recur.Backprop;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;

/**
 * The baseline for long sequences: the whole sequence read into memory, one forward pass that
 * keeps every state, one backward pass ({@link Rnn#backward}): T*B*(H + O) floats of states and
 * outputs. Time sums are the engine's own float sums (no compensation). Use it where it fits;
 * the builder refuses (before allocating) when it does not, and names the checkpointed mode.
 */
public final class StoreAllBptt {
    private final Rnn rnn;
    private final InputSource shapeOf;
    private final Workspace ws;
    private final Segment all;
    private final long estimate;
    private final ProgressListener progress;
    private final float[] finalState;

    private StoreAllBptt(Rnn rnn, InputSource source, long estimate, ProgressListener progress) {
        this.rnn = rnn;
        this.shapeOf = source;
        this.estimate = estimate;
        this.progress = progress;
        int T = (int) source.steps();
        this.ws = rnn.trainingWorkspace(source.batch(), T);
        this.all = Segment.allocate(source, T);
        this.finalState = new float[rnn.shape().stateBlocks() * source.batch() * rnn.shape().hidden()];
    }

    /**
     * Pre-flight check, then allocation. {@code budget} in bytes, 0 for the heap alone.
     *
     * @throws MemoryBudgetException if it does not fit (the message gives the checkpointed estimate)
     */
    public static StoreAllBptt create(Rnn rnn, InputSource source, long budget, ProgressListener progress) {
        Shape s = rnn.shape();
        long T = source.steps();
        int B = source.batch();
        long est = MemoryPlan.storeAll(s, B, T, source.inputKind(), source.targetKind());
        long usable = MemoryPlan.usable(budget);
        long maxArray = Integer.MAX_VALUE - 16;
        long rows = T * B, H = s.hidden();
        long widest = Math.max(Math.max((rows + B) * H, rows * Math.max(s.output(), s.input())),
                Math.max(rows * 4 * H, s.bidirectional() && s.layers() > 1 ? rows * 2 * H : 0));
        boolean tooLong = widest > maxArray;
        if (est > usable || tooLong) {
            String why = tooLong ? " (more than one Java array can hold)" : " but only " + MemoryPlan.limitText(budget) + " is available";
            String more = tooLong ? "" : (s.bidirectional() ? "; give it more memory: " : ", or more memory: ")
                    + MemoryPlan.moreMemoryHint(est, budget);
            String head = "store-all BPTT for T = " + T + ", batch = " + B + ", hidden = " + s.hidden() + " needs ~"
                    + MemoryPlan.human(est) + why;
            if (s.bidirectional()) {
                throw new MemoryBudgetException(head + "; a bidirectional network cannot be checkpointed (its reverse "
                        + "direction starts at the end), so shorten the sequence" + more, est, usable);
            }
            int seg = MemoryPlan.defaultSegment(T, B);
            long cp = MemoryPlan.checkpoint(s, B, T, seg, source.inputKind(), source.targetKind());
            throw new MemoryBudgetException(head + "; use --mode checkpoint (exact, needs ~" + MemoryPlan.human(cp)
                    + " at segment " + seg + ")" + more, est, usable);
        }
        return new StoreAllBptt(rnn, source, est, progress == null ? ProgressListener.NONE : progress);
    }

    /** {@return the memory estimate the run was admitted with, in bytes (what the budget was checked against)} */
    public long estimatedBytes() { return estimate; }

    /** The final states h_T of the last run (every layer and direction). */
    public float[] finalState(float[] out) {
        dev.recur.internal.Checks.length("out", out, finalState.length, "layers*directions*batch*hidden");
        System.arraycopy(finalState, 0, out, 0, out.length);
        return out;
    }

    /**
     * Forward and full BPTT, adding into {@code grads}; h0, dhT (in) and dh0 (out) are every
     * layer's and direction's states, {@code L*D*B*H}, or null.
     */
    public SequenceResult run(Params params, InputSource source, Grads grads, float[] h0, float[] dhT, float[] dh0) {
        if (source == null || source.steps() != shapeOf.steps() || source.batch() != shapeOf.batch()
                || source.inputKind() != shapeOf.inputKind() || source.targetKind() != shapeOf.targetKind()) {
            throw new IllegalArgumentException("source does not match the one this store-all run was sized for");
        }
        long T = source.steps();
        long a = System.nanoTime();
        source.read(0, all);
        double loss = all.forward(rnn, params, ws, h0, null);
        ws.finalState(finalState, 0);
        long b = System.nanoTime();
        progress.progress(ProgressListener.Phase.FORWARD, T, T);
        rnn.backward(params, ws, grads, new Backprop().finalStateGradient(dhT, 0).initialStateGradient(dh0, 0));
        long c = System.nanoTime();
        progress.progress(ProgressListener.Phase.BACKWARD, T, T);
        return new SequenceResult(T, loss, 0, (int) T, b - a, 0, c - b, estimate);
    }
}
