package dev.recur;

import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.Kernels;
import dev.recur.kernel.KernelsLookup;

import java.util.Arrays;

/**
 * The engine: forward pass and exact, full backpropagation through time for the Elman RNN
 *
 * <pre>
 *   a_t = U x_t + W h_{t-1} + b,   h_t = act(a_t),   o_t = V h_t + c
 * </pre>
 *
 * over a batch of B independent sequences of length T, time-major ({@code x[t][r][i]}
 * flattened). Inputs are dense ({@code float[T*B*I]}) or class indices ({@code int[T*B]}: then
 * {@code U x_t} is a column of U, gathered, never a one-hot product). Targets are class
 * indices ({@code int[T*B]}: softmax cross-entropy) or floats ({@code float[T*B*O]}: squared
 * error {@code 1/2 ||o_t - y_t||^2}). The loss is SUMMED over time and batch, not averaged.
 *
 * <p>Backward accumulates ({@code +=}) dL/dU, dL/dW, dL/db, dL/dV, dL/dc into a {@link Grads},
 * takes an incoming dL/dh_T (gradient on the final state from a later chunk; zeros when
 * absent) and returns dL/dh_0. So a long sequence split into chunks, run forward from the first
 * chunk (carrying the final state) and backward from the last (carrying dL/dh_0 into the
 * previous chunk's dL/dh_T), gives the gradients of the unsplit sequence.
 *
 * <p>Layer mode, for a caller's own network: {@link #forwardLayer} runs without a loss head and
 * {@link #backwardLayer} takes the caller's dL/dh_t for every step, and can return dL/dx_t.
 *
 * <p>How the work is laid out (DESIGN.md, "Where the time goes"): everything that is not
 * sequential runs over blocks of steps as matrix products: the input projection, the output
 * projection and the loss, {@code V^T dy}, and the time sums dW, dU, dV. Only {@code W h_{t-1}}
 * and {@code W^T delta_{t+1}} run step by step, fused with the activation. For B >= 4 the
 * kernels get W and W^T packed once per call ({@link #PACKED_MIN_BATCH}), so those per-step
 * products stream packed panels instead of re-reading W row by row.
 *
 * <p>Threads: an engine runs each call on its own fixed team of {@link Builder#threads} threads
 * (results are bitwise reproducible at a fixed thread count, and agree across thread counts to
 * float rounding). Calls on one engine are serialised; for concurrent calls from several
 * threads use one engine per thread. Each call needs its own {@link Workspace} and
 * {@link Grads}. {@link Params} are only read and may be shared by any number of threads
 * while no one updates them. Close the engine to stop its threads.
 */
public final class Rnn implements AutoCloseable {

    /**
     * Rows (steps * batch) per block of the hoisted matrix products, when B is small. The time
     * sums dW, dU are products with this many terms per call, each updating all of dW: 512
     * measured 1.05-1.08x the speed of 128 at B = 64, H = 512 and 1024 (dW's tiles reload C
     * less often), and even at B = 32, H = 256.
     */
    private static final int BLOCK_ROWS = 512;
    /** Never fewer steps than this per block... */
    private static final int MIN_BLOCK_STEPS = 1;
    /** ...nor more (bounds the workspace for B = 1). */
    private static final int MAX_BLOCK_STEPS = 64;
    /**
     * Default smallest H at which one step is split among threads when B < threads. Measured at
     * B = 1, 2 threads (BENCHMARKS.md): the per-step barrier made H = 256 1.8x slower than not
     * splitting; H = 512 and 1024 came out even, so only H >= 1024 splits (its W no longer fits
     * one core's L2, so each core keeps its half).
     */
    static final int DEFAULT_SPLIT_HIDDEN = 1024;

    private final Shape shape;
    private final Activation activation;
    private final Kernels kernels;
    private final boolean checkFinite;
    private final Workers workers;
    /** Smallest H at which one step of a B < threads recurrence is split among the workers. */
    private final int splitHiddenMin;

    private Rnn(Builder b) {
        this.shape = b.shape;
        this.activation = b.activation;
        this.kernels = b.kernels != null ? b.kernels
                : KernelsLookup.resolve(b.choice != null ? b.choice : KernelsLookup.defaultChoice());
        this.checkFinite = b.checkFinite;
        this.splitHiddenMin = b.splitHiddenMin;
        this.workers = new Workers(b.threads);
    }

    /** An engine with default settings: tanh, kernels from {@link KernelsLookup#get()}. */
    public static Rnn create(Shape shape) { return builder(shape).build(); }

    public static Builder builder(Shape shape) { return new Builder(shape); }

    public Shape shape() { return shape; }
    public Activation activation() { return activation; }
    public Kernels kernels() { return kernels; }

    /** A workspace that keeps all states of up to {@code maxSteps} steps for backward. */
    public Workspace trainingWorkspace(int batch, int maxSteps) {
        Checks.positive("batch", batch);
        Checks.positive("maxSteps", maxSteps);
        Workspace ws = new Workspace(shape, batch, maxSteps, true, blockSteps(batch, maxSteps), workers.size());
        int packed = kernels.packedWeightsLength(shape.hidden());
        if (packed > 0 && batch >= PACKED_MIN_BATCH) {
            ws.wPacked = new float[packed];
            ws.wtPacked = new float[packed];
        }
        return bind(ws);
    }

    /**
     * Smallest batch for which the recurrence gets W packed by the kernels (Kernels#packWeights
     * for the backward step, Kernels#packTransposedWeights for the forward step, once per call).
     * Below 4 rows the vector kernels' one-row paths read W in place (the packed backward would
     * be wasted) and the dot-product forward is the fast one. The forward's packed form sums in
     * another order, so whether it is used depends on the batch alone: a given batch gives the
     * same bits at any T and chunking, and at any thread count up to B (with more threads than
     * batch rows the step is split by rows of W through gemv, see StepSplit, which agrees to
     * rounding).
     */
    static final int PACKED_MIN_BATCH = 4;

    /** A forward-only workspace: O(B*H) memory for any T; no backward. */
    public Workspace inferenceWorkspace(int batch) {
        Checks.positive("batch", batch);
        Workspace ws = new Workspace(shape, batch, 0, false, blockSteps(batch, MAX_BLOCK_STEPS), workers.size());
        int packed = kernels.packedWeightsLength(shape.hidden());
        if (packed > 0 && batch >= PACKED_MIN_BATCH) ws.wtPacked = new float[packed];
        return bind(ws);
    }

    private Workspace bind(Workspace ws) {
        ws.owner = this;
        ws.forwardJob = w -> forwardWorker(ws, w);
        ws.backwardJob = w -> backwardWorker(ws, w);
        return ws;
    }

    /** Worker threads this engine runs each call on (the calling thread counts as one). */
    public int threads() { return workers.size(); }

    private static int blockSteps(int batch, int maxSteps) {
        return Math.min(stepsPerBlock(batch), maxSteps);
    }

    /**
     * Steps per block of the driver's time blocking for a batch (a workspace for fewer steps
     * uses its own length): what memory plans and checkpoint segments align to.
     */
    public static int stepsPerBlock(int batch) {
        Checks.positive("batch", batch);
        return Math.max(MIN_BLOCK_STEPS, Math.min(MAX_BLOCK_STEPS, (BLOCK_ROWS + batch - 1) / batch));
    }

    // ---------------------------------------------------------------- forward, public faces

    /** Forward with dense inputs and class targets (softmax cross-entropy); returns the summed loss. */
    public double forward(Params params, Workspace ws, int steps, float[] x, int[] targets, float[] h0) {
        checkCommon(params, ws, steps, h0);
        checkDense(x, ws, steps);
        checkClassTargets(targets, ws, steps);
        return run(params, ws, steps, x, null, targets, null, h0, null, true);
    }

    /** Forward with class-index inputs and class targets (softmax cross-entropy). */
    public double forward(Params params, Workspace ws, int steps, int[] x, int[] targets, float[] h0) {
        checkCommon(params, ws, steps, h0);
        checkClassInputs(x, ws, steps);
        checkClassTargets(targets, ws, steps);
        return run(params, ws, steps, null, x, targets, null, h0, null, true);
    }

    /** Forward with dense inputs and float targets (squared error). */
    public double forward(Params params, Workspace ws, int steps, float[] x, float[] targets, float[] h0) {
        checkCommon(params, ws, steps, h0);
        checkDense(x, ws, steps);
        checkFloatTargets(targets, ws, steps);
        return run(params, ws, steps, x, null, null, targets, h0, null, true);
    }

    /** Forward with class-index inputs and float targets (squared error). */
    public double forward(Params params, Workspace ws, int steps, int[] x, float[] targets, float[] h0) {
        checkCommon(params, ws, steps, h0);
        checkClassInputs(x, ws, steps);
        checkFloatTargets(targets, ws, steps);
        return run(params, ws, steps, null, x, null, targets, h0, null, true);
    }

    /** Layer-mode forward (no loss head): computes the states h_1..h_T from dense inputs. */
    public void forwardLayer(Params params, Workspace ws, int steps, float[] x, float[] h0) {
        checkCommon(params, ws, steps, h0);
        checkDense(x, ws, steps);
        run(params, ws, steps, x, null, null, null, h0, null, false);
    }

    /** Layer-mode forward (no loss head) from class-index inputs. */
    public void forwardLayer(Params params, Workspace ws, int steps, int[] x, float[] h0) {
        checkCommon(params, ws, steps, h0);
        checkClassInputs(x, ws, steps);
        run(params, ws, steps, null, x, null, null, h0, null, false);
    }

    /**
     * Outputs o_t = V h_t + c for every step into {@code outputs} (T*B*O, overwritten); works on
     * either kind of workspace (inference keeps O(B*H) memory). Dense inputs.
     */
    public void predict(Params params, Workspace ws, int steps, float[] x, float[] h0, float[] outputs) {
        checkCommon(params, ws, steps, h0);
        checkDense(x, ws, steps);
        Checks.length("outputs", outputs, (long) steps * ws.batch * shape.output(), "steps*batch*output");
        run(params, ws, steps, x, null, null, null, h0, outputs, false);
    }

    /** As {@link #predict(Params, Workspace, int, float[], float[], float[])} for class-index inputs. */
    public void predict(Params params, Workspace ws, int steps, int[] x, float[] h0, float[] outputs) {
        checkCommon(params, ws, steps, h0);
        checkClassInputs(x, ws, steps);
        Checks.length("outputs", outputs, (long) steps * ws.batch * shape.output(), "steps*batch*output");
        run(params, ws, steps, null, x, null, null, h0, outputs, false);
    }

    // ---------------------------------------------------------------- backward, public faces

    /** Full BPTT after a forward with targets; dL/dh_T = 0; adds into {@code grads}. */
    public void backward(Params params, Workspace ws, Grads grads) {
        backward(params, ws, grads, null, null);
    }

    /**
     * Full BPTT after a forward with targets. {@code dhT} (B*H, may be null for zeros) is the
     * gradient reaching the final state from later steps; dL/dh_0 is written into {@code dh0}
     * (B*H, overwritten; may be null) and returned.
     */
    public float[] backward(Params params, Workspace ws, Grads grads, float[] dhT, float[] dh0) {
        checkBackward(params, ws, grads, dhT, dh0);
        if (!ws.hasLossHead) {
            throw new IllegalStateException("backward needs a forward pass with targets; this workspace's last forward "
                    + "had none (use backwardLayer with dL/dh_t)");
        }
        back(params, ws, grads, null, dhT, null, dh0);
        return dh0;
    }

    /**
     * Full BPTT for one chunk of a longer sequence that carries delta itself across the chunk
     * boundary, so that a sequence run backward chunk by chunk makes bitwise the additions of
     * one unsplit backward (carrying dL/dh_T = W^T delta_{T+1} instead rounds W^T delta_{T+1}
     * separately before adding it to the boundary step's V^T dy). {@code deltaNext} (B*H, null
     * for zeros) is delta_{T+1}: what the following chunk's call wrote into its
     * {@code deltaFirst}; {@code deltaFirst} (B*H, may be null) receives delta_1 of this chunk.
     * {@code dhT} and {@code dh0} as in {@link #backward(Params, Workspace, Grads, float[], float[])}.
     */
    public float[] backward(Params params, Workspace ws, Grads grads, float[] dhT, float[] dh0, float[] deltaNext,
                            float[] deltaFirst) {
        checkBackward(params, ws, grads, dhT, dh0);
        long bh = (long) ws.batch * shape.hidden();
        if (deltaNext != null) Checks.length("deltaNext", deltaNext, bh, "batch*hidden");
        if (deltaFirst != null) Checks.length("deltaFirst", deltaFirst, bh, "batch*hidden");
        if (!ws.hasLossHead) {
            throw new IllegalStateException("backward needs a forward pass with targets; this workspace's last forward "
                    + "had none (use backwardLayer with dL/dh_t)");
        }
        ws.deltaIn = deltaNext;
        ws.deltaOut = deltaFirst;
        back(params, ws, grads, null, dhT, null, dh0);
        return dh0;
    }

    /**
     * Layer-mode BPTT: {@code dH} (T*B*H) holds the caller's dL/dh_t for t = 1..T (row t-1), to
     * which the loss head's gradient is added if the forward had targets. Adds parameter
     * gradients into {@code grads}; adds dL/dx_t into {@code dX} (T*B*I, dense inputs only; may
     * be null); writes dL/dh_0 into {@code dh0} (may be null) and returns it.
     */
    public float[] backwardLayer(Params params, Workspace ws, float[] dH, Grads grads, float[] dhT, float[] dX,
                                 float[] dh0) {
        checkBackward(params, ws, grads, dhT, dh0);
        Checks.length("dH", dH, (long) ws.steps * ws.batch * shape.hidden(), "steps*batch*hidden");
        if (dX != null) {
            if (ws.denseInputs == null) {
                throw new IllegalArgumentException("dX was given but the forward pass had class-index inputs, "
                        + "expected dX = null (there is no gradient with respect to an index)");
            }
            Checks.length("dX", dX, (long) ws.steps * ws.batch * shape.input(), "steps*batch*input");
        }
        if (checkFinite) Checks.finite("dH", dH);
        back(params, ws, grads, dH, dhT, dX, dh0);
        return dh0;
    }

    // ---------------------------------------------------------------- the driver
    //
    // SPMD: every worker runs forwardWorker / backwardWorker on its own slice of each phase and
    // the workers meet at barriers between phases. The slices depend only on the sizes and the
    // worker count, so a fixed thread count gives bitwise the same result on every run.
    //
    // Phases per block of steps: (1) hoisted products, rows split; (2) the recurrence, split by
    // batch rows when B >= workers (no barrier per step: sequences are independent), or by rows
    // of W with a barrier per step when B < workers and H is large enough to pay for it, or run
    // by worker 0 alone; (3) the block's time sums / output products, rows split.

    private double run(Params params, Workspace ws, int steps, float[] x, int[] xi, int[] yi, float[] yf,
                       float[] h0, float[] outputs, boolean head) {
        final int bh = ws.batch * shape.hidden();
        ws.clearForward();
        transposeInputAndOutputWeights(params.data(), ws);
        if (ws.wtPacked != null) kernels.packTransposedWeights(shape.hidden(), params.data(), shape.wOffset(), ws.wtPacked);
        if (h0 != null) System.arraycopy(h0, 0, ws.hs, 0, bh);
        else Arrays.fill(ws.hs, 0, bh, 0f);
        ws.params = params;
        ws.steps = steps;
        ws.denseInputs = x;
        ws.classInputs = xi;
        ws.classTargets = yi;
        ws.floatTargets = yf;
        ws.outputs = outputs;
        ws.hasLossHead = head;
        Arrays.fill(ws.partialLoss, 0);
        try {
            if (solo(ws.batch)) workers.runAlone(ws.forwardJob);
            else workers.run(ws.forwardJob);
        } finally {
            ws.clearCallArguments();
        }
        double loss = 0;
        for (double l : ws.partialLoss) loss += l;
        ws.loss = loss;
        ws.finalOffset = ws.training ? steps * bh : ((steps - 1) % ws.block + 1) * bh;
        ws.forwardDone = true;
        return loss;
    }

    private void back(Params params, Workspace ws, Grads grads, float[] dH, float[] dhT, float[] dX, float[] dh0) {
        if (ws.classInputs != null) ws.dUT(shape.input() * shape.hidden());
        ws.params = params;
        ws.grads = grads;
        ws.dH = dH;
        ws.dhT = dhT;
        ws.dX = dX;
        ws.dh0 = dh0;
        if (ws.wPacked != null) kernels.packWeights(shape.hidden(), params.data(), shape.wOffset(), ws.wPacked);
        try {
            if (solo(ws.batch)) workers.runAlone(ws.backwardJob);
            else workers.run(ws.backwardJob);
        } finally {
            ws.clearCallArguments();
        }
    }

    /** How one step of the recurrence is shared among the workers. */
    private enum StepSplit { BATCH, ROWS, SINGLE }

    private StepSplit stepSplit(int batch) {
        int n = workers.size();
        if (n == 1) return StepSplit.SINGLE;
        if (batch >= n) return StepSplit.BATCH;
        return shape.hidden() >= splitHiddenMin ? StepSplit.ROWS : StepSplit.SINGLE;
    }

    /**
     * True when a call runs on the calling thread alone: the step is not split (B < threads and
     * H below the split threshold), so the other workers would only share the hoisted products
     * and wait at the barriers meanwhile. Measured with 2 threads at B = 1 (profile of
     * 2026-11-27): 0.65x, 0.72x, 0.92x the speed of one thread at H = 128, 256, 512. Alone, the
     * call gives bitwise the single-thread result.
     */
    private boolean solo(int batch) {
        return workers.size() > 1 && stepSplit(batch) == StepSplit.SINGLE;
    }

    /** The barrier between phases, or nothing for a call running alone. */
    private void sync(Workspace ws, int w) {
        if (!solo(ws.batch)) workers.barrier(w);
    }

    /** Start of slice w of [0, total) among n workers: contiguous, sizes differ by at most one. */
    private static int lo(int w, int n, int total) { return (int) ((long) total * w / n); }

    private void forwardWorker(Workspace ws, int w) {
        final int nw = solo(ws.batch) ? 1 : workers.size();
        final int B = ws.batch, H = shape.hidden(), I = shape.input(), O = shape.output();
        final int bh = B * H, steps = ws.steps;
        final float[] p = ws.params.data(), x = ws.denseInputs, out = ws.outputs != null ? ws.outputs : ws.dy;
        final int[] xi = ws.classInputs;
        final boolean head = ws.hasLossHead;
        final Kernels k = kernels;
        final StepSplit split = stepSplit(B);
        final int wOff = shape.wOffset();
        final float[] pre = ws.work, hs = ws.hs;
        double loss = 0;

        for (int t0 = 0; t0 < steps; t0 += ws.block) {
            final int n = Math.min(ws.block, steps - t0);
            final int rows = n * B;
            // Training keeps all states (h_t at t*bh); inference reuses one block of states, the
            // previous block's last state moved to the front (all workers are past the barrier
            // that ended the previous block, so nobody still reads it).
            final int base = ws.training ? t0 * bh : 0;
            if (!ws.training && t0 > 0 && w == 0) System.arraycopy(hs, ws.block * bh, hs, 0, bh);
            if (!ws.training && t0 > 0) sync(ws, w);

            // 1. Input projection for the block, rows split: pre = U x_t + b.
            int r0 = lo(w, nw, rows), r1 = lo(w + 1, nw, rows);
            Arrays.fill(pre, r0 * H, r1 * H, 0f);
            k.addRowVector(r1 - r0, H, p, shape.bOffset(), pre, r0 * H, H);
            if (x != null) {
                k.gemmNN(r1 - r0, H, I, x, (t0 * B + r0) * I, I, ws.uT, 0, H, pre, r0 * H, H);
            } else {
                for (int r = r0; r < r1; r++) k.addRowVector(1, H, ws.uT, xi[t0 * B + r] * H, pre, r * H, H);
            }
            sync(ws, w);

            // 2. The recurrence: h_t = act(pre_t + W h_{t-1}).
            switch (split) {
                case SINGLE -> {
                    if (w == 0) {
                        for (int s = 0; s < n; s++) {
                            k.recurrentForward(activation, B, H, p, wOff, ws.wtPacked, hs, base + s * bh, pre, s * bh,
                                    hs, base + (s + 1) * bh);
                        }
                    }
                }
                case BATCH -> {
                    int b0 = lo(w, nw, B), b1 = lo(w + 1, nw, B);
                    for (int s = 0; s < n; s++) {
                        k.recurrentForward(activation, b1 - b0, H, p, wOff, ws.wtPacked, hs, base + s * bh + b0 * H, pre,
                                s * bh + b0 * H, hs, base + (s + 1) * bh + b0 * H);
                    }
                }
                case ROWS -> {
                    // each worker owns rows [i0, i1) of W (its share stays in its own cache)
                    int i0 = lo(w, nw, H), i1 = lo(w + 1, nw, H);
                    for (int s = 0; s < n; s++) {
                        for (int r = 0; r < B; r++) {
                            int a = s * bh + r * H + i0;
                            k.gemv(i1 - i0, H, p, wOff + i0 * H, H, hs, base + s * bh + r * H, pre, a);
                            k.activate(activation, i1 - i0, pre, a, hs, base + (s + 1) * bh + r * H + i0);
                        }
                        sync(ws, w);
                    }
                }
            }
            sync(ws, w);

            // 3. Output projection (o_t = V h_t + c) and the loss for the block, rows split.
            if (head || ws.outputs != null) {
                int outOff = (ws.outputs != null || ws.training ? t0 * B * O : 0) + r0 * O;
                Arrays.fill(out, outOff, outOff + (r1 - r0) * O, 0f);
                k.addRowVector(r1 - r0, O, p, shape.cOffset(), out, outOff, O);
                k.gemmNN(r1 - r0, O, H, hs, base + bh + r0 * H, H, ws.vT, 0, O, out, outOff, O);
                if (head) {
                    // dy = dL/do overwrites the outputs (kept for backward in a training workspace)
                    loss += ws.classTargets != null
                            ? k.softmaxCrossEntropy(r1 - r0, O, out, outOff, ws.classTargets, t0 * B + r0, ws.dy, outOff)
                            : k.squaredError(r1 - r0, O, out, outOff, ws.floatTargets, (t0 * B + r0) * O, ws.dy, outOff);
                }
            }
            sync(ws, w);
        }
        ws.partialLoss[w] = loss;
    }

    private void backwardWorker(Workspace ws, int w) {
        final int nw = solo(ws.batch) ? 1 : workers.size();
        final int B = ws.batch, H = shape.hidden(), I = shape.input(), O = shape.output();
        final int bh = B * H, steps = ws.steps;
        final float[] p = ws.params.data(), g = ws.grads.data();
        final float[] x = ws.denseInputs, dH = ws.dH, dhT = ws.dhT, dX = ws.dX, dh0 = ws.dh0;
        final int[] xi = ws.classInputs;
        final Kernels k = kernels;
        final StepSplit split = stepSplit(B);
        final int wOff = shape.wOffset();
        final float[] gAbove = ws.work, delta = ws.delta, hs = ws.hs;
        // this worker's slices of the hidden units, the outputs and the batch
        final int i0 = lo(w, nw, H), i1 = lo(w + 1, nw, H);
        final int o0 = lo(w, nw, O), o1 = lo(w + 1, nw, O);
        final int b0 = lo(w, nw, B), b1 = lo(w + 1, nw, B);

        // delta_{T+1} = 0 (or the following chunk's delta_1): the first block processed starts from it.
        float[] deltaNext = ws.deltaIn != null ? ws.deltaIn : ws.zeros;
        int deltaNextOff = 0;
        final int lastBlock = (steps - 1) / ws.block * ws.block;
        for (int t0 = lastBlock; t0 >= 0; t0 -= ws.block) {
            final int n = Math.min(ws.block, steps - t0);
            final int rows = n * B;
            final int hsPrev = t0 * bh;        // h_{t0} .. h_{t0+n-1}
            final int hsCur = hsPrev + bh;     // h_{t0+1} .. h_{t0+n}
            final int r0 = lo(w, nw, rows), r1 = lo(w + 1, nw, rows);

            // 1. The gradient reaching each h_t from above (V^T dy_t and/or the caller's dL/dh_t),
            //    rows split; and the output layer's time sums dV, dc, split by output unit.
            if (dH != null) System.arraycopy(dH, t0 * bh + r0 * H, gAbove, r0 * H, (r1 - r0) * H);
            else Arrays.fill(gAbove, r0 * H, r1 * H, 0f);
            if (ws.hasLossHead) {
                int dyOff = t0 * B * O;
                k.gemmNN(r1 - r0, H, O, ws.dy, dyOff + r0 * O, O, p, shape.vOffset(), H, gAbove, r0 * H, H);
                k.gemmTN(o1 - o0, H, rows, ws.dy, dyOff + o0, O, hs, hsCur, H, g, shape.vOffset() + o0 * H, H);
                k.addColumnSums(rows, o1 - o0, ws.dy, dyOff + o0, O, g, shape.cOffset() + o0);
            }
            if (t0 + n == steps && dhT != null) {
                // dL/dh_T from a later chunk joins the last step's gradient
                int last = (n - 1) * B;
                for (int r = Math.max(r0, last); r < r1; r++) {
                    for (int j = 0; j < H; j++) gAbove[r * H + j] += dhT[(r - last) * H + j];
                }
            }
            sync(ws, w);

            // 2. The recurrence backwards: delta_t = act'(h_t) * (g_t + W^T delta_{t+1}).
            switch (split) {
                case SINGLE -> {
                    if (w == 0) {
                        for (int s = n - 1; s >= 0; s--) {
                            k.recurrentBackward(activation, B, H, p, wOff, ws.wPacked, deltaNext, deltaNextOff, gAbove, s * bh,
                                    hs, hsCur + s * bh, delta, s * bh);
                            deltaNext = delta;
                            deltaNextOff = s * bh;
                        }
                    }
                }
                case BATCH -> {
                    for (int s = n - 1; s >= 0; s--) {
                        k.recurrentBackward(activation, b1 - b0, H, p, wOff, ws.wPacked, deltaNext, deltaNextOff + b0 * H,
                                gAbove, s * bh + b0 * H, hs, hsCur + s * bh + b0 * H, delta, s * bh + b0 * H);
                        deltaNext = delta;
                        deltaNextOff = s * bh;
                    }
                }
                case ROWS -> {
                    // each worker owns columns [i0, i1) of W: delta_t[i0..i1) needs all of delta_{t+1}
                    for (int s = n - 1; s >= 0; s--) {
                        for (int r = 0; r < B; r++) {
                            int d = s * bh + r * H + i0;
                            System.arraycopy(gAbove, d, delta, d, i1 - i0);
                            k.gemvT(H, i1 - i0, p, wOff + i0, H, deltaNext, deltaNextOff + r * H, delta, d);
                            k.multiplyByDerivative(activation, i1 - i0, hs, hsCur + s * bh + r * H + i0, delta, d);
                        }
                        deltaNext = delta;
                        deltaNextOff = s * bh;
                        sync(ws, w);
                    }
                }
            }
            sync(ws, w);

            // 3. The block's time sums as matrix products, split by hidden unit (rows of dW, dU).
            k.gemmTN(i1 - i0, H, rows, delta, i0, H, hs, hsPrev, H, g, wOff + i0 * H, H);
            k.addColumnSums(rows, i1 - i0, delta, i0, H, g, shape.bOffset() + i0);
            if (x != null) {
                k.gemmTN(i1 - i0, I, rows, delta, i0, H, x, t0 * B * I, I, g, shape.uOffset() + i0 * I, I);
                if (dX != null) {
                    k.gemmNN(r1 - r0, I, H, delta, r0 * H, H, p, shape.uOffset(), I, dX, (t0 * B + r0) * I, I);
                }
            } else {
                for (int r = 0; r < rows; r++) {
                    k.addRowVector(1, i1 - i0, delta, r * H + i0, ws.dUT, xi[t0 * B + r] * H + i0, H);
                }
            }
            // delta at this block's first step is delta_{t+1} for the block before it
            int c0 = lo(w, nw, bh), c1 = lo(w + 1, nw, bh);
            System.arraycopy(delta, c0, ws.deltaCarry, c0, c1 - c0);
            deltaNext = ws.deltaCarry;
            deltaNextOff = 0;
            sync(ws, w);
        }

        if (ws.deltaOut != null) {
            int c0 = lo(w, nw, bh), c1 = lo(w + 1, nw, bh);
            System.arraycopy(ws.deltaCarry, c0, ws.deltaOut, c0, c1 - c0);
        }
        // dL/dh_0 = W^T delta_1, split by hidden unit; fold dU^T (class inputs) into dU.
        if (dh0 != null) {
            for (int r = 0; r < B; r++) Arrays.fill(dh0, r * H + i0, r * H + i1, 0f);
            k.gemmNN(B, i1 - i0, H, ws.deltaCarry, 0, H, p, wOff + i0, H, dh0, i0, H);
        }
        if (xi != null) {
            int u = shape.uOffset();
            for (int i = i0; i < i1; i++) {
                for (int c = 0; c < I; c++) g[u + i * I + c] += ws.dUT[c * H + i];
            }
        }
    }

    /**
     * U^T (I x H) and V^T (H x O) for this call: the projections then run as C += A B with
     * contiguous rows of B (register tiles over the output row), which beats the dot-product
     * form C += A B^T when the inner size (I, or H for the output) is small. A class input
     * gathers row x_t of U^T. Costs O(H(I + O)) per call, small beside a step's O(H^2).
     */
    private void transposeInputAndOutputWeights(float[] p, Workspace ws) {
        int H = shape.hidden(), I = shape.input(), O = shape.output();
        transpose(p, shape.uOffset(), H, I, ws.uT);
        transpose(p, shape.vOffset(), O, H, ws.vT);
    }

    /** dst (cols x rows) = transpose of the rows x cols matrix at src[off]. */
    private static void transpose(float[] src, int off, int rows, int cols, float[] dst) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) dst[j * rows + i] = src[off + i * cols + j];
        }
    }

    // ---------------------------------------------------------------- checks, once per call

    private void checkCommon(Params params, Workspace ws, int steps, float[] h0) {
        if (params == null) throw new IllegalArgumentException("params is null, expected Params of " + shape);
        if (!params.shape().equals(shape)) {
            throw new IllegalArgumentException("params.shape() = " + params.shape() + ", expected " + shape);
        }
        if (ws == null) throw new IllegalArgumentException("workspace is null, expected one from trainingWorkspace or inferenceWorkspace");
        checkOwner(ws);
        Checks.positive("steps", steps);
        if (ws.training && steps > ws.capacity) {
            throw new IllegalArgumentException("steps = " + steps + ", expected <= the workspace's maxSteps = " + ws.capacity);
        }
        if (h0 != null) {
            Checks.length("h0", h0, (long) ws.batch * shape.hidden(), "batch*hidden");
            if (checkFinite) Checks.finite("h0", h0);
        }
    }

    /** A workspace is bound to the engine that made it (its jobs run that engine's driver). */
    private void checkOwner(Workspace ws) {
        if (!ws.shape.equals(shape)) {
            throw new IllegalArgumentException("workspace shape = " + ws.shape + ", expected " + shape
                    + " (a workspace belongs to the engine that made it)");
        }
        if (ws.owner != this) {
            throw new IllegalArgumentException("workspace was made by another engine (" + ws.owner
                    + "), expected one from this engine's trainingWorkspace or inferenceWorkspace (" + this + ")");
        }
    }

    @Override
    public String toString() {
        return "Rnn[" + shape + ", " + activation.id() + ", " + kernels.name() + " kernels, " + workers.size() + " threads]";
    }

    private void checkDense(float[] x, Workspace ws, int steps) {
        Checks.length("x", x, (long) steps * ws.batch * shape.input(), "steps*batch*input");
        if (checkFinite) Checks.finite("x", x);
    }

    private void checkClassInputs(int[] x, Workspace ws, int steps) {
        Checks.length("x", x, (long) steps * ws.batch, "steps*batch");
        Checks.indices("x", x, shape.input(), "input");
    }

    private void checkClassTargets(int[] y, Workspace ws, int steps) {
        Checks.length("targets", y, (long) steps * ws.batch, "steps*batch");
        Checks.indices("targets", y, shape.output(), "output");
    }

    private void checkFloatTargets(float[] y, Workspace ws, int steps) {
        Checks.length("targets", y, (long) steps * ws.batch * shape.output(), "steps*batch*output");
        if (checkFinite) Checks.finite("targets", y);
    }

    private void checkBackward(Params params, Workspace ws, Grads grads, float[] dhT, float[] dh0) {
        if (ws == null) throw new IllegalArgumentException("workspace is null, expected the one the forward pass used");
        checkOwner(ws);
        if (!ws.training) {
            throw new IllegalStateException("backward needs a training workspace (trainingWorkspace); this one was made "
                    + "for inference and keeps no states");
        }
        if (!ws.forwardDone) throw new IllegalStateException("backward needs a forward pass on this workspace first");
        if (params == null || !params.shape().equals(shape)) {
            throw new IllegalArgumentException("params.shape() = " + (params == null ? "null" : params.shape())
                    + ", expected " + shape);
        }
        if (grads == null || !grads.shape().equals(shape)) {
            throw new IllegalArgumentException("grads.shape() = " + (grads == null ? "null" : grads.shape())
                    + ", expected " + shape);
        }
        long bh = (long) ws.batch * shape.hidden();
        if (dhT != null) {
            Checks.length("dhT", dhT, bh, "batch*hidden");
            if (checkFinite) Checks.finite("dhT", dhT);
        }
        if (dh0 != null) Checks.length("dh0", dh0, bh, "batch*hidden");
    }

    /** Stops the worker threads; the engine cannot run calls afterwards. */
    @Override public void close() { workers.close(); }

    /** Engine settings. */
    public static final class Builder {
        private final Shape shape;
        private Activation activation = Activation.TANH;
        private KernelChoice choice;
        private Kernels kernels;
        private boolean checkFinite;
        private int threads = 1;
        private int splitHiddenMin = Integer.getInteger("recur.splitHidden", DEFAULT_SPLIT_HIDDEN);

        private Builder(Shape shape) {
            if (shape == null) throw new IllegalArgumentException("shape is null, expected a Shape(input, hidden, output)");
            this.shape = shape;
        }

        public Builder activation(Activation a) {
            if (a == null) throw new IllegalArgumentException("activation is null, expected tanh, sigmoid or relu");
            this.activation = a;
            return this;
        }

        /**
         * Kernel path: auto, scalar or vector. Unset, the {@code recur.kernels} system property
         * decides (read when the engine is built; auto if absent).
         */
        public Builder kernels(KernelChoice c) {
            if (c == null) throw new IllegalArgumentException("kernels is null, expected auto, scalar or vector");
            this.choice = c;
            this.kernels = null;
            return this;
        }

        /** A specific kernel implementation (tests, benchmarks). */
        public Builder kernels(Kernels k) {
            if (k == null) throw new IllegalArgumentException("kernels is null");
            this.kernels = k;
            return this;
        }

        /** Check inputs, targets, h0 and dH for NaN/Inf on every call (off by default: it costs a pass). */
        public Builder checkFinite(boolean on) {
            this.checkFinite = on;
            return this;
        }

        /**
         * Threads per call (the calling thread plus {@code n - 1} pool threads owned by the
         * engine; default 1). Work is split over the batch and over rows of the hoisted
         * products; with B smaller than n, one step of the recurrence is split by rows of W
         * when H is at least the split threshold.
         */
        public Builder threads(int n) {
            Checks.positive("threads", n);
            if (n > 1024) throw new IllegalArgumentException("threads = " + n + ", expected at most 1024");
            this.threads = n;
            return this;
        }

        /** Smallest H at which a step is split among threads when B < threads (tests, tuning). */
        public Builder splitHiddenMin(int h) {
            Checks.positive("splitHiddenMin", h);
            this.splitHiddenMin = h;
            return this;
        }

        public Rnn build() { return new Rnn(this); }
    }
}
