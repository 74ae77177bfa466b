package dev.recur;

import java.util.Arrays;

/**
 * The memory one engine call works in, sized once for a batch and a largest sequence length
 * and reused across calls: no allocation per step or per call in steady state.
 *
 * <p>A <em>training</em> workspace ({@link Rnn#trainingWorkspace}) keeps every hidden state
 * h_0..h_T and, after a forward pass with targets, dL/do_t for every step, so that
 * {@link Rnn#backward} can follow. An <em>inference</em> workspace ({@link Rnn#inferenceWorkspace})
 * keeps only one block of steps: O(B*H) memory whatever T is, but no backward.
 *
 * <p>Between a forward and its backward the workspace holds a reference to the caller's input
 * array (not a copy): do not change it in between. Not thread-safe: one workspace per thread.
 *
 * <p>States layout: {@code hidden()[hiddenOffset(t) + r*H + i]} is h_t[i] of sequence r; h_0 is
 * the initial state, h_T the final one (training workspaces; inference keeps h_0 and h_T only
 * in the sense of {@link #finalState}).
 */
public final class Workspace {
    final Shape shape;
    final int batch;
    final int capacity;
    final boolean training;
    /** Steps per block of the hoisted GEMMs. */
    final int block;

    /** Training: (capacity+1)*B*H, h_0..h_T. Inference: (block+1)*B*H, the current block's states. */
    final float[] hs;
    /** block*B*H: pre-activations in forward; the gradient reaching h_t from above in backward. */
    final float[] work;
    /** block*B*H: delta_t for the block being back-propagated. */
    final float[] delta;
    /** W packed for the kernels' backward recurrence (Kernels#packWeights), refilled per backward call; or null. */
    float[] wPacked;
    /** W^T packed for the kernels' forward recurrence (Kernels#packTransposedWeights), refilled per forward call; or null. */
    float[] wtPacked;
    /** B*H: delta at the first step of the block processed last (the next block's delta_{t+1}). */
    final float[] deltaCarry;
    /** B*H zeros: delta_{T+1}. */
    final float[] zeros;
    /** Training: capacity*B*O, dL/do_t. Inference: block*B*O, the current block's outputs. */
    final float[] dy;
    /** I*H: U transposed (class inputs gather a contiguous row of it); filled per forward call. */
    final float[] uT;
    /** H*O: V transposed, for the output projection; filled per forward call. */
    final float[] vT;
    /** I*H: dU transposed for class inputs, folded into Grads at the end of backward. */
    float[] dUT;

    /** The engine that made this workspace: only it may run calls on it. */
    Rnn owner;
    /** Workers of the engine that made this workspace; per-worker partial losses. */
    final int workers;
    final double[] partialLoss;
    /** The engine's two jobs bound to this workspace, made once (no allocation per call). */
    Workers.Job forwardJob, backwardJob;

    // The arguments of the call in flight (read by every worker).
    Params params;
    Grads grads;
    int[] classTargets;
    float[] floatTargets;
    float[] outputs;
    float[] dH, dhT, dX, dh0;
    /** Chunked backward: delta_{T+1} from the following chunk (null: zeros), and where delta_1 goes (null: nowhere). */
    float[] deltaIn, deltaOut;

    // What the last forward pass left for backward.
    int steps;
    boolean hasLossHead;
    boolean forwardDone;
    float[] denseInputs;
    int[] classInputs;
    double loss;
    /** Offset of the final state in hs. */
    int finalOffset;

    Workspace(Shape shape, int batch, int capacity, boolean training, int block, int workers) {
        this.workers = workers;
        this.partialLoss = new double[workers];
        this.shape = shape;
        this.batch = batch;
        this.capacity = capacity;
        this.training = training;
        this.block = block;
        int bh = batch * shape.hidden();
        long statesLen = training ? (long) (capacity + 1) * bh : (long) (block + 1) * bh;
        long dyLen = training ? (long) capacity * batch * shape.output() : (long) block * batch * shape.output();
        if (statesLen > Integer.MAX_VALUE - 16 || dyLen > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxSteps = " + capacity + " with batch = " + batch + " and " + shape
                    + " needs " + Math.max(statesLen, dyLen) + " floats in one array, expected at most "
                    + (Integer.MAX_VALUE - 16) + "; use checkpointed BPTT or a smaller maxSteps");
        }
        this.hs = new float[(int) statesLen];
        this.work = new float[block * bh];
        this.delta = training ? new float[block * bh] : new float[0];
        this.deltaCarry = training ? new float[bh] : new float[0];
        this.zeros = new float[bh];
        this.dy = new float[(int) dyLen];
        this.uT = new float[shape.input() * shape.hidden()];
        this.vT = new float[shape.hidden() * shape.output()];
    }

    /** Sequences per call. */
    public int batch() { return batch; }

    /** Largest T a call may use (training), or {@link Integer#MAX_VALUE} for inference. */
    public int maxSteps() { return training ? capacity : Integer.MAX_VALUE; }

    /** True if this workspace keeps the states for a backward pass. */
    public boolean isTraining() { return training; }

    /** T of the last forward pass (0 before any). */
    public int steps() { return steps; }

    /** The loss of the last forward pass with targets (summed over time and batch). */
    public double loss() { return loss; }

    /** The states array itself; see the class comment for its layout. Training workspaces only. */
    public float[] hidden() {
        requireTraining("hidden()");
        return hs;
    }

    /** Offset of h_t (0 <= t <= steps()) in {@link #hidden()}. */
    public int hiddenOffset(int t) {
        requireTraining("hiddenOffset(t)");
        if (t < 0 || t > steps) throw new IllegalArgumentException("t = " + t + ", expected 0 <= t <= steps() = " + steps);
        return t * batch * shape.hidden();
    }

    /** Copies the final state h_T of the last forward pass (B*H floats) into {@code out}. */
    public float[] finalState(float[] out) {
        Checks.length("out", out, (long) batch * shape.hidden(), "batch*hidden");
        if (!forwardDone) throw new IllegalStateException("no forward pass has run on this workspace yet");
        System.arraycopy(hs, finalOffset, out, 0, out.length);
        return out;
    }

    /** Bytes held by this workspace's arrays (what a memory budget should count). */
    public long bytes() {
        long floats = (long) hs.length + work.length + delta.length + deltaCarry.length + zeros.length + dy.length
                + uT.length + vT.length + (dUT == null ? 0 : dUT.length) + (wPacked == null ? 0 : wPacked.length)
                + (wtPacked == null ? 0 : wtPacked.length);
        return floats * Float.BYTES;
    }

    private void requireTraining(String what) {
        if (!training) throw new IllegalStateException(what + " needs a training workspace; this one was made for inference");
    }

    /** Drops the references to the caller's arrays that only one call needs. */
    void clearCallArguments() {
        params = null;
        grads = null;
        classTargets = null;
        floatTargets = null;
        outputs = null;
        dH = dhT = dX = dh0 = null;
        deltaIn = deltaOut = null;
    }

    void clearForward() {
        forwardDone = false;
        denseInputs = null;
        classInputs = null;
        hasLossHead = false;
        loss = 0;
        steps = 0;
    }

    float[] dUT(int size) {
        if (dUT == null) dUT = new float[size];
        else Arrays.fill(dUT, 0f);
        return dUT;
    }
}
