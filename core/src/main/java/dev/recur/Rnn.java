package dev.recur;

import dev.recur.internal.Checks;
import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.Kernels;
import dev.recur.kernel.KernelsLookup;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The engine: forward pass and exact, full backpropagation through time for a recurrent
 * network of {@link Shape#layers()} layers of one {@link Cell}, each unidirectional or
 * bidirectional, with an optional output head {@code o_t = V h_t + c}, over a batch of sequences
 * of their own lengths. For the Elman cell:
 *
 * <pre>
 *   a_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,   h_t = act(a_t)   (tanh, sigmoid, relu)
 * </pre>
 *
 * with PyTorch's semantics throughout (stacking, directions, packed variable-length batches,
 * state_dict names): see {@link Shape} for the layout and {@link Batch} for the data.
 *
 * <p>A call:
 * <pre>{@code
 * try (Rnn rnn = Rnn.builder(shape).activation(Activation.TANH).threads(2).build()) {
 *     Workspace ws = rnn.trainingWorkspace(maxBatch, maxSteps);   // once; reused
 *     Batch batch = new Batch(B, T).input(x).lengths(len).targets(y).loss(Loss.CROSS_ENTROPY);
 *     double loss = rnn.forward(params, ws, batch);
 *     rnn.backward(params, ws, grads);                             // adds dL/dparams into grads
 * }
 * }</pre>
 *
 * <p>Backward ADDS the gradients of every weight and bias into a {@link Grads} ({@code +=}), so
 * they can be accumulated over batches or chunks; {@link Backprop} carries what else goes in and
 * out (dL/d of the network's outputs in layer mode, dL/dx, dL/dh0, chunk carries).
 *
 * <p>How the work is laid out: everything that is not sequential runs over blocks of steps as
 * matrix products (the input products of every layer, the output projection and the loss,
 * {@code V^T dy}, the time sums of every dW); only {@code W_hh h_{t-1}} and its transpose run
 * step by step, fused with the cell's element-wise part. Variable lengths cost nothing: the rows
 * of a batch are sorted by length (as PyTorch's packed sequences are), so the rows still running
 * at step t are a prefix and every product shrinks with it. A unidirectional stack runs block by
 * block through all its layers (layer l+1 reads layer l's block while it is in cache); a
 * bidirectional one layer by layer.
 *
 * <p>Threads: an engine runs each call on its own fixed team of {@link Builder#threads} threads
 * (results are bitwise reproducible at a fixed thread count, and agree across thread counts to
 * float rounding). Calls on one engine are serialised; for concurrent calls from several threads
 * use one engine per thread. Each call needs its own {@link Workspace} and {@link Grads}.
 * {@link Params} are only read and may be shared by any number of threads while no one updates
 * them. Close the engine to stop its threads.
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
    static final int MAX_BLOCK_STEPS = 64;
    /**
     * Default smallest H at which one step is split among threads when B < threads. Measured at
     * B = 1, 2 threads, one thread timed alongside in the same JVM (`recur bench
     * --one-thread-too`, BENCHMARKS.md): 2.05-2.11x at H = 512 (each core keeps half of W and
     * W^T, which together outgrow one L2); at H = 256 0.83-1.07x on a busy host (1.50-1.70x in
     * quieter hours), at H = 128 0.55-0.78x: a step's half then takes about as long as the
     * barrier and the exchange of h between the cores (0.5-0.9 us here). The threshold applies
     * to the rows of W_hh (G H): an LSTM step (4H rows) splits from H = 128, where it measured
     * 1.74x (H = 128), 1.49x (256), 1.86x (512), 1.88x (1024), and 1.95x for two layers at
     * H = 256 (their wavefront: 1.60x); a GRU step (3H rows) from H = 171: 1.49x (256), 1.65x
     * (512), 1.39-1.74x (1024).
     */
    static final int DEFAULT_SPLIT_HIDDEN = 512;

    private static final AtomicLong ENGINES = new AtomicLong();

    private final Shape shape;
    private final Activation activation;
    private final Kernels kernels;
    private final boolean checkFinite;
    private final Workers workers;
    /** Smallest H at which one step of a B < threads recurrence is split among the workers. */
    private final int splitHiddenMin;
    /** Counts this engine's forward passes: a workspace remembers the one that filled it. */
    private final AtomicLong generations = new AtomicLong();
    private final long id = ENGINES.incrementAndGet();

    private Rnn(Builder b) {
        this.shape = b.shape;
        this.activation = b.activation;
        this.kernels = b.kernels != null ? b.kernels
                : KernelsLookup.resolve(b.choice != null ? b.choice : KernelsLookup.defaultChoice());
        this.checkFinite = b.checkFinite;
        this.splitHiddenMin = b.splitHiddenMin;
        this.workers = new Workers(b.threads);
    }

    /** An engine with default settings: tanh, kernels from {@link KernelsLookup#get()}, one thread. */
    public static Rnn create(Shape shape) { return builder(shape).build(); }

    /** Settings for an engine of {@code shape}. */
    public static Builder builder(Shape shape) { return new Builder(shape); }

    /** The network's sizes and layout. */
    public Shape shape() { return shape; }

    /** The Elman cell's activation (tanh for the gated cells). */
    public Activation activation() { return activation; }

    /** The kernels this engine runs. */
    public Kernels kernels() { return kernels; }

    /** Worker threads this engine runs each call on (the calling thread counts as one). */
    public int threads() { return workers.size(); }

    // ---------------------------------------------------------------- workspaces, carries

    /**
     * A workspace that keeps all states of up to {@code maxSteps} steps of up to
     * {@code maxBatch} sequences, for backward.
     */
    public Workspace trainingWorkspace(int maxBatch, int maxSteps) {
        Checks.positive("maxBatch", maxBatch);
        Checks.positive("maxSteps", maxSteps);
        return new Workspace(this, maxBatch, maxSteps, true, packedLength(), workers.size());
    }

    /**
     * A forward-only workspace for a unidirectional network: O(B*H) memory per layer for any T;
     * no backward. A bidirectional network needs the whole sequence: use
     * {@link #inferenceWorkspace(int, int)}.
     */
    public Workspace inferenceWorkspace(int maxBatch) {
        Checks.positive("maxBatch", maxBatch);
        if (shape.bidirectional()) {
            throw new IllegalArgumentException("inferenceWorkspace(maxBatch) needs a unidirectional network; " + shape
                    + " runs a reverse direction over the whole sequence, expected inferenceWorkspace(maxBatch, maxSteps)");
        }
        return new Workspace(this, maxBatch, 1, false, packedLength(), workers.size());
    }

    /** A forward-only workspace for up to {@code maxSteps} steps (any network; no backward). */
    public Workspace inferenceWorkspace(int maxBatch, int maxSteps) {
        Checks.positive("maxBatch", maxBatch);
        Checks.positive("maxSteps", maxSteps);
        return new Workspace(this, maxBatch, maxSteps, false, packedLength(), workers.size());
    }

    private int packedLength() {
        return kernels.packedWeightsLength(shape.gates() * shape.hidden(), shape.hidden());
    }

    /** An empty chunk carry for {@code batch} sequences (see {@link Carry}; unidirectional networks). */
    public Carry carry(int batch) { return new Carry(shape, batch); }

    /**
     * Steps per block of the driver's time blocking for a batch (a workspace for fewer steps
     * uses its own length): what memory plans and checkpoint segments align to.
     */
    public static int stepsPerBlock(int batch) {
        Checks.positive("batch", batch);
        return Math.max(MIN_BLOCK_STEPS, Math.min(MAX_BLOCK_STEPS, (BLOCK_ROWS + batch - 1) / batch));
    }

    // ---------------------------------------------------------------- the public calls

    /**
     * Forward pass over {@code batch}: every layer's states and, with a loss, the head's outputs,
     * the loss and dL/do (kept for backward in a training workspace). Returns the loss (summed or
     * averaged as the batch's {@link Loss} says; 0 without one).
     */
    public double forward(Params params, Workspace ws, Batch batch) {
        checkForward(params, ws, batch);
        if (batch.loss.hasLoss()) {
            if (!shape.hasHead()) {
                throw new IllegalArgumentException("batch.loss() = " + batch.loss + ", but " + shape + " has no output head "
                        + "(output = 0), expected Loss.NONE");
            }
            checkTargets(batch);
        } else if (batch.yi != null || batch.yf != null) {
            throw new IllegalArgumentException("batch has targets but batch.loss() = none, expected a loss for them "
                    + "(Loss.CROSS_ENTROPY for class targets, Loss.SQUARED_ERROR for float targets) or no targets");
        }
        return run(params, ws, batch, null, 0, false);
    }

    /**
     * Outputs {@code o_t = V h_t + c} of every step into {@code out} from {@code offset}
     * ({@code T*B*O} floats, time-major, overwritten; zero past each sequence's length). Works on
     * either kind of workspace; the batch's targets and loss are ignored.
     */
    public void predict(Params params, Workspace ws, Batch batch, float[] out, int offset) {
        checkForward(params, ws, batch);
        if (!shape.hasHead()) throw new IllegalStateException("predict needs an output head; " + shape + " has none (output = 0)");
        Checks.range("out", out, offset, (long) batch.steps * batch.sequences * shape.output(), "steps*batch*output");
        run(params, ws, batch, out, offset, false);
    }

    /**
     * An inference stream of {@code batch} sequences on this engine: one step per call with the
     * weights prepared once from {@code params} (see {@link InferenceStream}).
     */
    public InferenceStream stream(Params params, int batch) {
        return new InferenceStream(this, params, batch);
    }

    /** Gives a stream's workspace room for its once-packed W_ih^T and V^T panels (see Workspace.wihPacked). */
    void preparePacks(Workspace ws) {
        int GH = shape.gates() * shape.hidden();
        ws.wihPacked = new float[shape.layers()][];   // a stream is unidirectional: one per layer
        for (int l = 0; l < shape.layers(); l++) ws.wihPacked[l] = new float[kernels.packedWeightsLength(shape.layerInput(l), GH)];
        if (shape.hasHead()) ws.vPacked = new float[kernels.packedWeightsLength(shape.outputWidth(), shape.output())];
    }

    /**
     * The stream's step: a forward (predict with {@code out}, else without a loss) that reuses
     * the weights this workspace prepared from the same {@code params} object on its previous
     * call. The stream owns the workspace, so nothing else changes them in between.
     */
    void streamStep(Params params, Workspace ws, Batch batch, float[] out, int offset) {
        checkForward(params, ws, batch);
        ws.sweepFlip ^= 1;
        run(params, ws, batch, out, offset, true);
    }

    /** Full BPTT after a forward pass with a loss: adds dL/dparams into {@code grads}. */
    public void backward(Params params, Workspace ws, Grads grads) {
        backward(params, ws, grads, null);
    }

    /**
     * Full BPTT after a forward pass: adds dL/dparams into {@code grads}, with the gradients
     * in and out that {@code bp} names (null: none). The loss is the forward pass's (if any)
     * plus whatever {@link Backprop#outputGradient} brings.
     */
    public void backward(Params params, Workspace ws, Grads grads, Backprop bp) {
        checkBackward(params, ws, grads, bp);
        ws.grads = grads;
        ws.bp = bp;
        try {
            prepareBackward(ws, bp);
            if (directionLanes(ws.batch) || wavefront(ws)) ws.prepareLanes();
            if (solo(ws)) workers.runAlone(w -> backwardWorker(ws, w));
            else workers.run(w -> backwardWorker(ws, w));
            finishBackward(ws, bp);
        } finally {
            ws.clearCallArguments();
        }
    }

    // ---------------------------------------------------------------- forward: set-up

    /**
     * The forward driver. {@code reusePrepared}: skip {@link #prepareWeights} when this workspace
     * last prepared them from the same params object (the stream's contract); every other call
     * prepares them, since the caller may have changed the parameters in place.
     */
    private double run(Params params, Workspace ws, Batch b, float[] out, int outOff, boolean reusePrepared) {
        final int B = b.sequences, T = b.steps, H = shape.hidden(), D = shape.directions();
        ws.clearForward();
        Lengths len = ws.lengths;
        if (b.lengths == null) len.setAll(B, T);
        else len.set(B, T, b.lengths, b.lengthsOff);
        ws.params = params;
        ws.data = b;
        ws.batch = B;
        ws.steps = T;
        ws.blockSteps = Math.max(1, Math.min(Math.min(stepsPerBlock(B), ws.blockRows / B),
                ws.wholeSequence ? ws.maxSteps : MAX_BLOCK_STEPS));
        ws.denseInputs = b.x;
        ws.classInputs = b.xi;
        ws.inputOffset = b.xOff;
        ws.hasLossHead = out == null && b.loss.hasLoss();
        ws.counted = ws.hasLossHead ? countPositions(b, len) : 0;
        ws.lossScale = ws.hasLossHead && b.loss.reduction() == Loss.Reduction.MEAN ? (ws.counted == 0 ? 0f : 1f / ws.counted) : 1f;
        if (!reusePrepared || ws.preparedFor != params || ws.preparedBatch != B) {
            prepareWeights(params.data(), ws, B);
            ws.preparedFor = params;
            ws.preparedBatch = B;
        }
        // initial states into slot 0 of every layer-direction, in sorted order
        for (int k = 0; k < shape.stateBlocks(); k++) {
            loadInitial(b.h0, b.h0Off, k, ws.states[k], ws);
            if (ws.cells != null) loadInitial(b.c0, b.c0Off, k, ws.cells[k], ws);
        }
        if (out != null && !len.plain) Arrays.fill(out, outOff, outOff + T * B * shape.output(), 0f);
        Arrays.fill(ws.partialLoss, 0);
        // one job object per workspace, reused: a step of a stream allocates nothing
        ForwardCall call = ws.forwardCall instanceof ForwardCall f ? f : new ForwardCall(ws);
        ws.forwardCall = call;
        call.out = out;
        call.outOff = outOff;
        if (directionLanes(B) || wavefront(ws)) ws.prepareLanes();
        try {
            if (solo(ws)) workers.runAlone(call);
            else workers.run(call);
        } finally {
            call.out = null;
        }
        double loss = 0;
        for (double l : ws.partialLoss) loss += l;
        if (ws.hasLossHead && b.loss.reduction() == Loss.Reduction.MEAN) loss = ws.counted == 0 ? Double.NaN : loss / ws.counted;
        ws.loss = loss;
        ws.generation = generations.incrementAndGet();
        ws.forwardDone = true;
        return loss;
    }

    /** The job of a forward call, kept by its workspace and reused; the call sets where o goes. */
    private final class ForwardCall implements Workers.Job {
        final Workspace ws;
        float[] out;
        int outOff;

        ForwardCall(Workspace ws) {
            this.ws = ws;
        }

        @Override public void run(int w) { forwardWorker(ws, w, out, outOff); }
    }

    /**
     * W_ih^T, V^T and the bias sums for this call, and W_hh^T packed where the kernels want it:
     * O(parameters) per call, small beside the O(T B H^2) of a sequence. The transposes make
     * the input and output products C += A B with contiguous rows of B (register tiles over the
     * output row), which beats the dot-product form when the inner size is small; a class input
     * gathers a row of W_ih^T.
     */
    private void prepareWeights(float[] p, Workspace ws, int batch) {
        int H = shape.hidden(), GH = shape.gates() * H, D = shape.directions();
        boolean pack = ws.packed != null;
        for (int l = 0; l < shape.layers(); l++) {
            for (int d = 0; d < D; d++) {
                int k = l * D + d;
                transpose(p, shape.inputWeights(l, d), GH, shape.layerInput(l), ws.wihT[k]);
                prepareBias(p, l, d, ws.biasSum[k]);
                if (ws.recBias != null) prepareRecurrentBias(p, l, d, ws.recBias[k]);
                if (pack) kernels.packTransposedWeights(GH, H, p, shape.recurrentWeights(l, d), ws.packed[k]);
                if (ws.wihPacked != null) kernels.packWeights(shape.layerInput(l), GH, ws.wihT[k], 0, ws.wihPacked[k]);
            }
        }
        if (shape.hasHead()) transpose(p, shape.headWeights(), shape.output(), shape.outputWidth(), ws.vT);
        if (ws.vPacked != null) kernels.packWeights(shape.outputWidth(), shape.output(), ws.vT, 0, ws.vPacked);
    }

    /**
     * The bias the input product starts from: recur's single b, or b_ih + b_hh (PyTorch's pair,
     * added once per call). The GRU keeps b_hn out of it: it sits inside r * (W_hn h + b_hn).
     */
    private void prepareBias(float[] p, int l, int d, float[] sum) {
        int GH = sum.length, H = shape.hidden();
        int bih = shape.inputBias(l, d), bhh = shape.recurrentBias(l, d);
        if (bih < 0) {
            Arrays.fill(sum, 0f);
            return;
        }
        System.arraycopy(p, bih, sum, 0, GH);
        if (bhh < 0) return;
        int end = shape.cell() == Cell.GRU ? 2 * H : GH;
        for (int j = 0; j < end; j++) sum[j] += p[bhh + j];
    }

    /**
     * The GRU's recurrent side starts from [0, 0, b_hn] in every row: b_hn is added inside
     * r * (W_hn h + b_hn), so it cannot join the input side's bias.
     */
    private void prepareRecurrentBias(float[] p, int l, int d, float[] rows) {
        int H = shape.hidden(), GH = 3 * H, bhh = shape.recurrentBias(l, d);
        Arrays.fill(rows, 0f);
        if (bhh < 0) return;
        for (int r = 0; r < rows.length / GH; r++) System.arraycopy(p, bhh + 2 * H, rows, r * GH + 2 * H, H);
    }

    /** dst (cols x rows) = transpose of the rows x cols matrix at src[off]. */
    private static void transpose(float[] src, int off, int rows, int cols, float[] dst) {
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) dst[j * rows + i] = src[off + i * cols + j];
        }
    }

    /** Block k of the caller's h0 (or c0) into slot 0 of {@code states}, in sorted order; zeros if absent. */
    private void loadInitial(float[] h0, int h0Off, int k, float[] states, Workspace ws) {
        int H = shape.hidden(), B = ws.batch;
        if (h0 == null) {
            Arrays.fill(states, 0, B * H, 0f);
            return;
        }
        int[] perm = ws.lengths.perm;
        for (int r = 0; r < B; r++) System.arraycopy(h0, h0Off + (k * B + perm[r]) * H, states, r * H, H);
    }

    /** The (t, b) positions that carry loss: valid steps whose target is not ignored. */
    private long countPositions(Batch b, Lengths len) {
        int B = b.sequences;
        long n = 0;
        for (int bi = 0; bi < B; bi++) {
            int l = len.sorted[len.rank[bi]];
            if (b.yi == null) {
                n += l;
                continue;
            }
            int ignore = b.loss.ignoreIndex();
            for (int t = 0; t < l; t++) if (b.yi[b.yOff + t * B + bi] != ignore) n++;
        }
        return n;
    }

    // ---------------------------------------------------------------- the driver
    //
    // SPMD: every worker runs forwardWorker / backwardWorker on its own slice of each phase and
    // the workers meet at barriers between phases. The slices depend only on the sizes and the
    // worker count, so a fixed thread count gives bitwise the same result on every run.
    //
    // Phases per layer, direction and block of steps: (1) the hoisted input product, rows split;
    // (2) the recurrence, split by batch rows when B >= workers (no barrier per step: sequences
    // are independent), or by rows of W with a barrier per step when B < workers and H is large
    // enough to pay for it (whole panels of the packed W per worker: bitwise the unsplit step),
    // or run by worker 0 alone; (3) the head (top layer), rows split. In
    // backward, (3') the time sums and dL/dx, split by rows of dW and rows of dx.
    //
    // Packed rows: step t's running rows [0, active(t)) sit at packed rows offset(t) + r (see
    // Lengths); a state array keeps h0 in rows [0, maxBatch) and packed row q at maxBatch + q
    // (a whole-sequence workspace) or at maxBatch + q - (first row of the block) (one block).

    /** How one step of the recurrence is shared among the workers. */
    private enum StepSplit { BATCH, ROWS, SINGLE }

    private StepSplit stepSplit(int batch) {
        int n = workers.size();
        if (n == 1) return StepSplit.SINGLE;
        if (batch >= n) return StepSplit.BATCH;
        // the rows of W_hh: what a step's work, and so what splitting it gains, grows with
        if (shape.gates() * shape.hidden() < splitHiddenMin) return StepSplit.SINGLE;
        if (shape.cell() == Cell.ELMAN) return StepSplit.ROWS;
        // a gated cell splits by hidden unit: a worker owns its units' rows in every gate, which
        // start at whole panels only when H does; unidirectional only (a bidirectional layer at
        // B < threads runs its directions on lanes instead)
        boolean units = shape.directions() == 1 && shape.hidden() % kernels.splitAlignment() == 0;
        return units ? StepSplit.ROWS : StepSplit.SINGLE;
    }

    /**
     * True when a call runs on the calling thread alone: the step is not split (B < threads and
     * H below the split threshold), so the other workers would only share the hoisted products
     * and wait at the barriers meanwhile. Measured with 2 threads at B = 1 (profile of
     * 2026-11-27): 0.65x, 0.72x, 0.92x the speed of one thread at H = 128, 256, 512. Alone, the
     * call gives bitwise the single-thread result.
     */
    private boolean solo(Workspace ws) {
        return workers.size() > 1 && stepSplit(ws.batch) == StepSplit.SINGLE && !directionLanes(ws.batch) && !wavefront(ws);
    }

    /**
     * True when a stack of unidirectional layers runs as a wavefront of two stages: worker 0
     * the lower layers, worker 1 the upper ones and the head, a block of steps behind (and in
     * backward a block ahead), each alone on a lane of the workspace, with a barrier per block
     * (not per step). For B below the thread count where a step is not split by rows (a row
     * split of each layer measured better where it applies), in workspaces that keep every
     * step (training, whole-sequence): a lower stage's next block must not overwrite the states
     * the upper stage is still reading. Every layer and block runs the operations one thread
     * runs, in the same order: bitwise the one-thread result.
     */
    private boolean wavefront(Workspace ws) {
        return shape.directions() == 1 && shape.layers() >= 2 && workers.size() >= 2 && ws.batch < workers.size()
                && ws.wholeSequence && (stepSplit(ws.batch) == StepSplit.SINGLE || gruStackPrefersWavefront());
    }

    /**
     * Where both apply, a stack's steps split by hidden unit measured better than the wavefront
     * (2 threads / 1 thread, B = 1, 2 layers: LSTM H = 256 1.95-1.98x against 1.60-1.61x; GRU
     * H = 512 1.74x against 1.53x), except the GRU at H = 256 (1.40-1.61x against 1.61-1.79x):
     * its step, 3H rows, leaves a half too short for the per-step barrier.
     */
    private boolean gruStackPrefersWavefront() {
        return shape.cell() == Cell.GRU && shape.hidden() < 512;
    }

    /** The first layer of the wavefront's upper stage (which also runs the head). */
    private int upperStage() { return (shape.layers() + 1) / 2; }

    /**
     * True when the two directions of each bidirectional layer run side by side, one worker
     * each, on the workspace's two lanes (Workspace#lane): B below the thread count,
     * where splitting the batch is not possible. Each direction's steps then need no barrier at
     * all (the directions are independent until the next layer), where a row-split step needs
     * one per step. The directions' dL/dx into the layer below are summed after each layer, in
     * direction order: bitwise reproducible at a fixed thread count, and equal to one thread's
     * result to rounding.
     */
    private boolean directionLanes(int batch) {
        return shape.directions() == 2 && workers.size() >= 2 && batch < workers.size();
    }

    /** The barrier between phases, or nothing for a call (or a lane: a direction or a wavefront stage) running alone. */
    private void sync(Workspace ws, int w) {
        if (!ws.alone && !solo(ws)) workers.barrier(w);
    }

    /** Workers sharing the phases of this call (one in a lane). */
    private int team(Workspace ws) { return ws.alone || solo(ws) ? 1 : workers.size(); }

    /**
     * Start of worker w's share of the H outputs of a row-split step: contiguous, in whole units
     * of the kernels' split alignment (a panel of W's packed copy), so that every share gives
     * the unsplit step's bits; the last share ends at H.
     */
    private int splitPoint(int w, int n, int H) {
        if (w >= n) return H;
        int unit = kernels.splitAlignment();
        return lo(w, n, H / unit) * unit;
    }

    /** Start of slice w of [0, total) among n workers: contiguous, sizes differ by at most one. */
    private static int lo(int w, int n, int total) { return (int) ((long) total * w / n); }

    /** Row of packed row q in a state array, for a block whose first packed row is qBlock. */
    private static int stateRow(Workspace ws, int q, int qBlock) {
        return ws.maxBatch + (ws.wholeSequence ? q : q - qBlock);
    }

    // ---------------------------------------------------------------- forward: the workers

    private void forwardWorker(Workspace ws, int w, float[] out, int outOff) {
        final int D = shape.directions(), L = shape.layers(), Tn = ws.lengths.maxLength, bs = ws.blockSteps;
        double loss = 0;
        boolean head = ws.hasLossHead || out != null;
        if (D == 1 && wavefront(ws)) {
            loss = forwardWavefront(ws, w, head, out, outOff);
        } else if (D == 1) {
            // block by block through all layers: layer l+1 reads layer l's block while it is hot
            for (int t0 = 0; t0 < Tn; t0 += bs) {
                int t1 = Math.min(t0 + bs, Tn);
                if (!ws.wholeSequence && t0 > 0) {
                    if (w == 0) for (int l = 0; l < L; l++) carryBlockState(ws, l, t0);
                    sync(ws, w);
                }
                for (int l = 0; l < L; l++) {
                    hoist(ws, w, l, 0, t0, t1);
                    recurForward(ws, w, l, 0, t0, t1);
                    if (w == 0) captureFinals(ws, l, 0, t0, t1);
                }
                if (head) loss += head(ws, w, t0, t1, out, outOff);
            }
        } else {
            boolean lanes = directionLanes(ws.batch);
            for (int l = 0; l < L; l++) {
                if (lanes) {
                    // worker d runs direction d alone on its lane; both are done before layer l+1 reads them
                    if (w < D) forwardDirection(ws.lane(w), 0, l, w, Tn, bs);
                    workers.barrier(w);
                } else {
                    for (int d = 0; d < D; d++) forwardDirection(ws, w, l, d, Tn, bs);
                }
            }
            if (head) for (int t0 = 0; t0 < Tn; t0 += bs) loss += head(ws, w, t0, Math.min(t0 + bs, Tn), out, outOff);
        }
        ws.partialLoss[w] = loss;
    }

    /**
     * The wavefront's forward (see {@link #wavefront}): in round i, stage s runs block i - s
     * through its layers (the upper stage then its head); a barrier ends each round, after
     * which the upper stage may read the block the lower one finished.
     */
    private double forwardWavefront(Workspace ws, int w, boolean head, float[] out, int outOff) {
        final int L = shape.layers(), Tn = ws.lengths.maxLength, bs = ws.blockSteps, blocks = (Tn + bs - 1) / bs;
        final int split = upperStage();
        double loss = 0;
        for (int i = 0; i <= blocks; i++) {
            int b = i - w;
            if (w < 2 && b >= 0 && b < blocks) {
                Workspace v = ws.lane(w);
                int t0 = b * bs, t1 = Math.min(t0 + bs, Tn);
                for (int l = w == 0 ? 0 : split; l < (w == 0 ? split : L); l++) {
                    hoist(v, 0, l, 0, t0, t1);
                    recurForward(v, 0, l, 0, t0, t1);
                    captureFinals(v, l, 0, t0, t1);
                }
                if (w == 1 && head) loss += head(v, 0, t0, t1, out, outOff);
            }
            workers.barrier(w);
        }
        return loss;
    }

    /** Every block of layer l, direction d (the reverse direction walks the blocks from the end). */
    private void forwardDirection(Workspace ws, int w, int l, int d, int Tn, int bs) {
        int lastBlock = (Tn - 1) / bs * bs;
        for (int i = 0; i <= lastBlock; i += bs) {
            int t0 = d == 0 ? i : lastBlock - i, t1 = Math.min(t0 + bs, Tn);
            hoist(ws, w, l, d, t0, t1);
            recurForward(ws, w, l, d, t0, t1);
            if (w == 0) captureFinals(ws, l, d, t0, t1);
        }
    }

    /**
     * One-block workspaces: the previous block's last states (rows still running at t0) move to
     * slot 0, where the block's first step reads h_{t-1}. All workers are past the barrier that
     * ended the previous block, so nobody still reads them.
     */
    private void carryBlockState(Workspace ws, int l, int t0) {
        int H = shape.hidden(), n = ws.lengths.active(t0 - 1);
        int qPrev = (int) ws.lengths.offset(t0 - 1), qBlock = (int) ws.lengths.offset(t0 - ws.blockSteps);
        int src = stateRow(ws, qPrev, qBlock) * H;
        System.arraycopy(ws.states[l], src, ws.states[l], 0, n * H);
        if (ws.cells != null) System.arraycopy(ws.cells[l], src, ws.cells[l], 0, n * H);
    }

    /** (1) The block's input product, rows split: pre = bias + x_t W_ih^T (or the layer below's states). */
    private void hoist(Workspace ws, int w, int l, int d, int t0, int t1) {
        final int nw = team(ws), H = shape.hidden(), GH = shape.gates() * H, D = shape.directions();
        final Lengths len = ws.lengths;
        final int q0 = (int) len.offset(t0), n = (int) len.offset(t1) - q0;
        final int r0 = lo(w, nw, n), r1 = lo(w + 1, nw, n), k = l * D + d;
        final float[] pre = ws.pre;
        final Kernels kn = kernels;
        Arrays.fill(pre, r0 * GH, r1 * GH, 0f);
        if (shape.biases() > 0) kn.addRowVector(r1 - r0, GH, ws.biasSum[k], 0, pre, r0 * GH, GH);
        if (l > 0) {
            for (int dd = 0; dd < D; dd++) {
                // a stream is unidirectional (dd = 0 only), so its packed panels cover all of W_ih^T
                kn.gemmNN(r1 - r0, GH, H, ws.states[(l - 1) * D + dd], stateRow(ws, q0 + r0, q0) * H, H, ws.wihT[k], dd * H * GH,
                        GH, ws.wihPacked == null ? null : ws.wihPacked[k], pre, r0 * GH, GH);
            }
        } else if (ws.denseInputs != null) {
            int I = shape.input();
            float[] x = ws.denseInputs;
            int xo = ws.inputOffset + (q0 + r0) * I;
            if (!len.plain) {
                gatherRows(len, ws.batch, t0, q0, r0, r1, ws.denseInputs, ws.inputOffset, I, ws.xBlock);
                x = ws.xBlock;
                xo = r0 * I;
            }
            kn.gemmNN(r1 - r0, GH, I, x, xo, I, ws.wihT[k], 0, GH, ws.wihPacked == null ? null : ws.wihPacked[k],
                    pre, r0 * GH, GH);
        } else {
            int[] xi = classRows(ws, t0, q0, r0, r1);
            int xo = len.plain ? ws.inputOffset + q0 : 0;
            for (int r = r0; r < r1; r++) kn.addRowVector(1, GH, ws.wihT[k], xi[xo + r] * GH, pre, r * GH, GH);
        }
        sync(ws, w);
    }

    /** The class inputs of block rows [r0, r1): the caller's array (plain layout) or gathered into xiBlock. */
    private static int[] classRows(Workspace ws, int t0, int q0, int r0, int r1) {
        if (ws.lengths.plain) return ws.classInputs;
        gatherInts(ws.lengths, ws.batch, t0, q0, r0, r1, ws.classInputs, ws.inputOffset, ws.xiBlock);
        return ws.xiBlock;
    }

    /**
     * Copies rows {@code width} wide of the caller's time-major array (row of (t, b) at
     * {@code off + (t*B + b)*width}) for block rows [r0, r1) of the block starting at step t0
     * (packed row q0) into {@code dst} at block-relative rows.
     */
    private static void gatherRows(Lengths len, int B, int t0, int q0, int r0, int r1, float[] src, int off, int width,
                                   float[] dst) {
        for (int t = t0, q = q0; q < q0 + r1; t++) {
            int n = len.active(t);
            int a = Math.max(q, q0 + r0), e = Math.min(q + n, q0 + r1);
            for (int i = a; i < e; i++) System.arraycopy(src, off + (t * B + len.perm[i - q]) * width, dst, (i - q0) * width, width);
            q += n;
        }
    }

    /** {@link #gatherRows} for ints, one per row. */
    private static void gatherInts(Lengths len, int B, int t0, int q0, int r0, int r1, int[] src, int off, int[] dst) {
        for (int t = t0, q = q0; q < q0 + r1; t++) {
            int n = len.active(t);
            int a = Math.max(q, q0 + r0), e = Math.min(q + n, q0 + r1);
            for (int i = a; i < e; i++) dst[i - q0] = src[off + t * B + len.perm[i - q]];
            q += n;
        }
    }

    /** The inverse of {@link #gatherRows}: block rows [r0, r1) of {@code src} into the caller's array. */
    private static void scatterRows(Lengths len, int B, int t0, int q0, int r0, int r1, float[] src, int width, float[] dst,
                                    int off) {
        for (int t = t0, q = q0; q < q0 + r1; t++) {
            int n = len.active(t);
            int a = Math.max(q, q0 + r0), e = Math.min(q + n, q0 + r1);
            for (int i = a; i < e; i++) System.arraycopy(src, (i - q0) * width, dst, off + (t * B + len.perm[i - q]) * width, width);
            q += n;
        }
    }

    /** (2) The recurrence through the block: h_t = act(pre_t + W_hh h_{t-1}), steps in the direction's order. */
    private void recurForward(Workspace ws, int w, int l, int d, int t0, int t1) {
        final int nw = team(ws), B = ws.batch, H = shape.hidden(), GH = shape.gates() * H, k = l * shape.directions() + d;
        final Lengths len = ws.lengths;
        final int q0 = (int) len.offset(t0);
        final float[] p = ws.params.data(), hs = ws.states[k], pre = ws.pre;
        final int whh = shape.recurrentWeights(l, d);
        final float[] packed = ws.packed != null ? ws.packed[k] : null;
        final StepSplit split = ws.alone ? StepSplit.SINGLE : stepSplit(B);
        final Kernels kn = kernels;
        if (split == StepSplit.ROWS) {
            // every worker owns rows [i0, i1) of W, panel-aligned (its share of W^T's panels stays
            // in its own cache); one barrier a step; bitwise the unsplit step
            int i0 = splitPoint(w, nw, H), i1 = splitPoint(w + 1, nw, H);
            for (int i = 0; i < t1 - t0; i++) {
                int t = d == 0 ? t0 + i : t1 - 1 - i;
                int n = len.active(t), q = (int) len.offset(t);
                boolean down = sweepDown(ws, t);
                for (int r = 0; r < n; r++) {
                    int prev = previousRow(ws, d, t, r, q0), out = stateRow(ws, q + r, q0);
                    if (shape.cell() == Cell.ELMAN) {
                        kn.recurrentForwardPart(activation, 1, H, H, i0, i1, p, whh, packed, hs, prev * H, pre, (q - q0 + r) * GH,
                                hs, out * H, down);
                    } else if (shape.cell() == Cell.LSTM) {
                        // this worker's units in each of the four gates, then their cell and state
                        float[] g = ws.training ? ws.cache[k] : ws.stepCache;
                        int gOff = (ws.training ? q + r : r) * GH;
                        for (int gi = 0; gi < 4; gi++) {
                            int gate = down ? 3 - gi : gi;   // the sweep's order across the gates too
                            kn.recurrentForwardPart(null, 1, GH, H, gate * H + i0, gate * H + i1, p, whh, packed, hs, prev * H,
                                    pre, (q - q0 + r) * GH, g, gOff, down);
                        }
                        kn.lstmForwardPart(1, H, i0, i1, g, gOff, ws.cells[k], prev * H, ws.cells[k], out * H, hs, out * H);
                    } else {
                        // GRU: this worker's units of the recurrent side W_hh h + b_hh (r, z, n rows), then their step
                        for (int gi = 0; gi < 3; gi++) {
                            int gate = down ? 2 - gi : gi;
                            kn.recurrentForwardPart(null, 1, GH, H, gate * H + i0, gate * H + i1, p, whh, packed, hs, prev * H,
                                    ws.recBias[k], r * GH, ws.ghScratch, r * GH, down);
                        }
                        float[] c = ws.training ? ws.cache[k] : ws.stepCache;
                        int cOff = (ws.training ? q + r : r) * 4 * H;
                        kn.gruForwardPart(1, H, i0, i1, pre, (q - q0 + r) * GH, ws.ghScratch, r * GH, hs, prev * H, hs, out * H, c, cOff);
                    }
                }
                sync(ws, w);
            }
            sync(ws, w);
            return;
        }
        if (split == StepSplit.SINGLE && w != 0) {
            sync(ws, w);
            return;
        }
        // this worker's batch rows [b0, b1) (all of them when it runs alone)
        int b0 = split == StepSplit.BATCH ? lo(w, nw, B) : 0, b1 = split == StepSplit.BATCH ? lo(w + 1, nw, B) : B;
        int q = (int) len.offset(d == 0 ? t0 : t1);
        for (int i = 0; i < t1 - t0; i++) {
            int t = d == 0 ? t0 + i : t1 - 1 - i;
            int n = len.active(t);
            if (d == 1) q -= n;
            int e = Math.min(b1, n);
            if (d == 0) {
                int prev = t == t0 ? previousRow(ws, 0, t, b0, q0) : stateRowPrev(ws, t, b0, q0);
                stepForward(ws, k, whh, packed, b0, e, prev, (q - q0 + b0) * GH, stateRow(ws, q + b0, q0), q + b0, p, hs, pre,
                        sweepDown(ws, t));
            } else {
                // rows still running at t+1 continue from h_{t+1}; the others start here from h0 (slot 0)
                int m = len.active(t + 1), c = Math.min(e, m), s = Math.max(b0, m);
                boolean down = sweepDown(ws, t);
                stepForward(ws, k, whh, packed, b0, c, stateRow(ws, q + n + b0, q0), (q - q0 + b0) * GH, stateRow(ws, q + b0, q0),
                        q + b0, p, hs, pre, down);
                stepForward(ws, k, whh, packed, s, e, s, (q - q0 + s) * GH, stateRow(ws, q + s, q0), q + s, p, hs, pre, down);
            }
            if (d == 0) q += n;
        }
        sync(ws, w);
    }

    /**
     * Rows [from, to) of one step, the cell's forward: the recurrent product W_hh hPrev (G*H rows)
     * and the cell's element-wise part, fused for the Elman cell. hPrevRow and outRow are state
     * rows (cells alike for the LSTM); {@code qRow} is the packed row of row {@code from} (where a
     * training workspace keeps its gate activations).
     */
    private void stepForward(Workspace ws, int k, int whh, float[] packed, int from, int to, int hPrevRow, int preOff,
                             int outRow, int qRow, float[] p, float[] hs, float[] pre, boolean down) {
        if (to <= from) return;
        int H = shape.hidden(), n = to - from;
        Kernels kn = kernels;
        switch (shape.cell()) {
            case ELMAN -> kn.recurrentForward(activation, n, H, H, p, whh, packed, hs, hPrevRow * H, pre, preOff, hs, outRow * H, down);
            case LSTM -> {
                // the gates' pre-activations straight into the cache rows, activated there
                float[] g = ws.training ? ws.cache[k] : ws.stepCache;
                int gOff = (ws.training ? qRow : from) * 4 * H;
                kn.recurrentForward(null, n, 4 * H, H, p, whh, packed, hs, hPrevRow * H, pre, preOff, g, gOff, down);
                kn.lstmForward(n, H, g, gOff, ws.cells[k], hPrevRow * H, ws.cells[k], outRow * H, hs, outRow * H);
            }
            case GRU -> {
                kn.recurrentForward(null, n, 3 * H, H, p, whh, packed, hs, hPrevRow * H, ws.recBias[k], from * 3 * H, ws.ghScratch,
                        from * 3 * H, down);
                float[] c = ws.training ? ws.cache[k] : ws.stepCache;
                int cOff = (ws.training ? qRow : from) * 4 * H;
                kn.gruForward(n, H, pre, preOff, ws.ghScratch, from * 3 * H, hs, hPrevRow * H, hs, outRow * H, c, cOff);
            }
        }
    }

    /**
     * The order in which step t visits W's outputs ({@link Kernels#recurrentForward}'s hint):
     * alternating from step to step, so that a step starts on the part of W the step before it
     * ended on, still in cache. A stream's steps are each step 0 of a call, so its workspace
     * flips the parity on every call.
     */
    private static boolean sweepDown(Workspace ws, int t) {
        return ((t ^ ws.sweepFlip) & 1) != 0;
    }

    /** State row of h_{t-1} (forward direction) for sorted row r; h0 (slot 0) at t = 0 or a one-block workspace's block start. */
    private int stateRowPrev(Workspace ws, int t, int r, int q0) {
        if (t == 0) return r;
        return stateRow(ws, (int) ws.lengths.offset(t - 1) + r, q0);
    }

    /** State row of the state step t of direction d reads, for sorted row r (ROWS split: any row). */
    private int previousRow(Workspace ws, int d, int t, int r, int q0) {
        Lengths len = ws.lengths;
        if (d == 0) {
            if (t == 0) return r;
            if (!ws.wholeSequence && t == blockStart(ws, t)) return r;
            return stateRow(ws, (int) len.offset(t - 1) + r, q0);
        }
        if (r < len.active(t + 1)) return stateRow(ws, (int) len.offset(t + 1) + r, q0);
        return r;
    }

    private static int blockStart(Workspace ws, int t) { return t - t % ws.blockSteps; }

    /**
     * The final states of the sequences that end in this block (their last step; for the reverse
     * direction, t = 0) into finals, in sorted order. Worker 0, after the recurrence's barrier.
     */
    private void captureFinals(Workspace ws, int l, int d, int t0, int t1) {
        int H = shape.hidden(), k = l * shape.directions() + d;
        Lengths len = ws.lengths;
        int q0 = (int) len.offset(t0);
        if (d == 1) {
            if (t0 != 0) return;
            int n = len.active(0);
            System.arraycopy(ws.states[k], stateRow(ws, 0, q0) * H, ws.finals[k], 0, n * H);
            if (ws.cells != null) System.arraycopy(ws.cells[k], stateRow(ws, 0, q0) * H, ws.finalCells[k], 0, n * H);
            return;
        }
        for (int r = len.active(t1); r < len.active(t0); r++) {
            int last = len.sorted[r] - 1;
            int row = stateRow(ws, (int) len.offset(last) + r, q0);
            System.arraycopy(ws.states[k], row * H, ws.finals[k], r * H, H);
            if (ws.cells != null) System.arraycopy(ws.cells[k], row * H, ws.finalCells[k], r * H, H);
        }
    }

    /**
     * (3) The head for the block, rows split: o = c + V h (both directions), then the loss and
     * dL/do into outs, or the outputs into the caller's array (predict).
     */
    private double head(Workspace ws, int w, int t0, int t1, float[] out, int outOff) {
        final int nw = team(ws), B = ws.batch, H = shape.hidden(), O = shape.output(), D = shape.directions();
        final Lengths len = ws.lengths;
        final int q0 = (int) len.offset(t0), n = (int) len.offset(t1) - q0;
        final int r0 = lo(w, nw, n), r1 = lo(w + 1, nw, n), top = shape.layers() - 1;
        final float[] p = ws.params.data();
        final Kernels kn = kernels;
        // where o goes: the caller's array in place (predict, plain layout), else outs
        float[] o = ws.outs;
        int oOff = ((ws.training ? q0 : 0) + r0) * O;
        if (out != null && len.plain) {
            o = out;
            oOff = outOff + (q0 + r0) * O;
        } else if (out != null) {
            oOff = r0 * O;
        }
        Arrays.fill(o, oOff, oOff + (r1 - r0) * O, 0f);
        kn.addRowVector(r1 - r0, O, p, shape.headBias(), o, oOff, O);
        for (int d = 0; d < D; d++) {
            kn.gemmNN(r1 - r0, O, H, ws.states[top * D + d], stateRow(ws, q0 + r0, q0) * H, H, ws.vT, d * H * O, O, ws.vPacked,
                    o, oOff, O);
        }
        double loss = 0;
        if (ws.hasLossHead) {
            Batch b = ws.data;
            if (b.loss.classTargets()) {
                int[] y = b.yi;
                int yo = b.yOff + q0 + r0;
                if (!len.plain || b.loss.ignoreIndex() >= 0) {
                    gatherInts(len, B, t0, q0, r0, r1, b.yi, b.yOff, ws.yiBlock);
                    int ignore = b.loss.ignoreIndex();
                    for (int r = r0; r < r1; r++) if (ws.yiBlock[r] == ignore) ws.yiBlock[r] = -1;
                    y = ws.yiBlock;
                    yo = r0;
                }
                // dy = dL/do overwrites the logits (kept for backward in a training workspace)
                loss = kn.softmaxCrossEntropy(r1 - r0, O, o, oOff, y, yo, o, oOff);
            } else {
                float[] y = b.yf;
                int yo = b.yOff + (q0 + r0) * O;
                if (!len.plain) {
                    gatherRows(len, B, t0, q0, r0, r1, b.yf, b.yOff, O, ws.yfBlock);
                    y = ws.yfBlock;
                    yo = r0 * O;
                }
                loss = kn.squaredError(r1 - r0, O, o, oOff, y, yo, o, oOff);
            }
            if (ws.lossScale != 1f) {
                for (int j = oOff, e = oOff + (r1 - r0) * O; j < e; j++) o[j] *= ws.lossScale;
            }
        } else if (out != null && !len.plain) {
            scatterRows(len, B, t0, q0, r0, r1, ws.outs, O, out, outOff);
        }
        sync(ws, w);
        return loss;
    }

    // ---------------------------------------------------------------- backward: set-up

    /** Carries in (sorted order), gradient buffers zeroed, W_hh packed for the backward step. */
    private void prepareBackward(Workspace ws, Backprop bp) {
        int B = ws.batch, H = shape.hidden(), GH = shape.gates() * H, D = shape.directions();
        float[] p = ws.params.data();
        if (ws.packed != null) {
            for (int l = 0; l < shape.layers(); l++) {
                for (int d = 0; d < D; d++) kernels.packWeights(GH, H, p, shape.recurrentWeights(l, d), ws.packed[l * D + d]);
            }
        }
        for (int k = 0; k < shape.stateBlocks(); k++) Arrays.fill(ws.deltaCarry[k], 0, B * GH, 0f);
        Carry c = bp == null ? null : bp.carry;
        if (c != null && c.filled) {
            int[] perm = ws.lengths.perm;
            for (int l = 0; l < shape.layers(); l++) {
                float[] in = ws.carryIn(l);
                for (int r = 0; r < B; r++) System.arraycopy(c.delta[l], perm[r] * GH, in, r * GH, GH);
            }
        }
        if (ws.aux != null) {
            // what the recursion's aux reads at each sequence's final step: a carry's, plus dL/dc_T
            boolean fromCarry = c != null && c.filled;
            boolean fromDcT = bp != null && bp.dcT != null && shape.cell() == Cell.LSTM;
            if (ws.auxIn != null) for (int k = 0; k < ws.auxIn.length; k++) if (ws.auxIn[k] != null) Arrays.fill(ws.auxIn[k], 0f);
            if (fromCarry || fromDcT) {
                int[] perm = ws.lengths.perm;
                for (int k = 0; k < shape.stateBlocks(); k++) {
                    float[] in = ws.auxIn(k);
                    for (int r = 0; r < B; r++) {
                        for (int j = 0; j < H; j++) {
                            float v = fromCarry ? c.aux[k][perm[r] * H + j] : 0f;
                            if (fromDcT) v += bp.dcT[bp.dcTOff + (k * B + perm[r]) * H + j];
                            in[r * H + j] = v;
                        }
                    }
                }
            }
        }
        if (ws.classInputs != null) {
            for (int d = 0; d < D; d++) ws.dWihT(d, shape.input() * GH);
        }
        if (bp != null && bp.dX != null && !ws.lengths.plain) {
            Arrays.fill(bp.dX, bp.dXOff, bp.dXOff + ws.steps * B * shape.input(), 0f);
        }
    }

    /** The carry out (the batch's own order) and the class inputs' dW_ih folded in. */
    private void finishBackward(Workspace ws, Backprop bp) {
        int B = ws.batch, GH = shape.gates() * shape.hidden(), I = shape.input(), D = shape.directions();
        Carry c = bp == null ? null : bp.carry;
        if (c != null) {
            int[] perm = ws.lengths.perm;
            int H = shape.hidden();
            for (int l = 0; l < shape.layers(); l++) {
                for (int r = 0; r < B; r++) System.arraycopy(ws.deltaCarry[l], r * GH, c.delta[l], perm[r] * GH, GH);
                if (c.aux != null) for (int r = 0; r < B; r++) System.arraycopy(ws.auxCarry[l], r * H, c.aux[l], perm[r] * H, H);
            }
            c.filled = true;
            c.source = ws;
            c.sourceGeneration = ws.generation;
        }
        if (ws.classInputs != null) {
            float[] g = ws.grads.data();
            for (int d = 0; d < D; d++) {
                int wih = shape.inputWeights(0, d);
                float[] dT = ws.dWihT[d];
                for (int i = 0; i < GH; i++) {
                    for (int x = 0; x < I; x++) g[wih + i * I + x] += dT[x * GH + i];
                }
            }
        }
    }

    // ---------------------------------------------------------------- backward: the workers

    private void backwardWorker(Workspace ws, int w) {
        final int D = shape.directions(), L = shape.layers(), Tn = ws.lengths.maxLength, bs = ws.blockSteps;
        final int lastBlock = (Tn - 1) / bs * bs;
        if (D == 1 && wavefront(ws)) {
            backwardWavefront(ws, w, lastBlock);
        } else if (D == 1) {
            for (int t0 = lastBlock; t0 >= 0; t0 -= bs) {
                int t1 = Math.min(t0 + bs, Tn);
                for (int l = L - 1; l >= 0; l--) layerBackward(ws, w, l, 0, t0, t1, (L - 1 - l) & 1);
            }
            for (int l = 0; l < L; l++) initialStateGradient(ws, w, l, 0);
        } else {
            boolean lanes = directionLanes(ws.batch);
            for (int l = L - 1; l >= 0; l--) {
                int below = (L - 1 - l) & 1;
                if (l > 0) {
                    // both directions add their dL/dx into the buffer for the layer below (the
                    // reverse lane into its own, summed below)
                    int n = (int) ws.lengths.rows() * D * shape.hidden();
                    int a = lo(w, team(ws), n), e = lo(w + 1, team(ws), n);
                    Arrays.fill(ws.gradBelow[below], a, e, 0f);
                    if (lanes) Arrays.fill(ws.laneGradBelow()[below], a, e, 0f);
                    sync(ws, w);
                }
                if (lanes) {
                    if (w < D) backwardDirection(ws.lane(w), 0, l, w, Tn, bs, lastBlock, below);
                    workers.barrier(w);
                    addLaneGradient(ws, w, l, below);
                } else {
                    for (int d = 0; d < D; d++) backwardDirection(ws, w, l, d, Tn, bs, lastBlock, below);
                }
            }
        }
    }

    /**
     * The wavefront's backward: blocks from the last, the upper stage a round ahead. Each stage
     * writes dL/dx for the layer below it into its own lane's buffer (one block); between rounds
     * the upper stage's, for the lowest of its layers, is copied into the lower stage's lane,
     * where the lower stage reads it in the next round (while the upper stage overwrites its own
     * with the next block).
     */
    private void backwardWavefront(Workspace ws, int w, int lastBlock) {
        final int L = shape.layers(), Tn = ws.lengths.maxLength, bs = ws.blockSteps, blocks = lastBlock / bs + 1;
        final int split = upperStage(), handed = (L - 1 - split) & 1;
        for (int i = 0; i <= blocks; i++) {
            int b = i - (1 - w);
            if (w < 2 && b >= 0 && b < blocks) {
                Workspace v = ws.lane(w);
                int t0 = lastBlock - b * bs, t1 = Math.min(t0 + bs, Tn);
                for (int l = (w == 0 ? split : L) - 1; l >= (w == 0 ? 0 : split); l--) {
                    layerBackward(v, 0, l, 0, t0, t1, (L - 1 - l) & 1);
                }
            }
            workers.barrier(w);
            float[] from = ws.lane(1).gradBelow[handed], to = ws.lane(0).gradBelow[handed];
            int nw = workers.size();
            System.arraycopy(from, lo(w, nw, from.length), to, lo(w, nw, from.length), lo(w + 1, nw, from.length) - lo(w, nw, from.length));
            workers.barrier(w);
        }
        if (w < 2) for (int l = w == 0 ? 0 : split; l < (w == 0 ? split : L); l++) initialStateGradient(ws.lane(w), 0, l, 0);
    }

    /** Every block of layer l, direction d, in backward order (the forward direction from the end, the reverse from the start). */
    private void backwardDirection(Workspace ws, int w, int l, int d, int Tn, int bs, int lastBlock, int below) {
        for (int i = 0; i < Tn; i += bs) {
            int t0 = d == 0 ? Math.max(0, lastBlock - i) : i;
            if (d == 0 && i > lastBlock) break;
            int t1 = Math.min(t0 + bs, Tn);
            layerBackward(ws, w, l, d, t0, t1, below);
        }
        initialStateGradient(ws, w, l, d);
    }

    /**
     * After both direction lanes of layer l: the reverse lane's dL/dx joins the forward's
     * (rows split among the workers), and the sum goes back into the reverse lane's buffer,
     * which it reads as the gradient from above at the next layer down.
     */
    private void addLaneGradient(Workspace ws, int w, int l, int below) {
        int nw = workers.size();
        if (l > 0) {
            float[] sum = ws.gradBelow[below], other = ws.laneGradBelow()[below];
            int n = (int) ws.lengths.rows() * shape.directions() * shape.hidden();
            for (int i = lo(w, nw, n), e = lo(w + 1, nw, n); i < e; i++) {
                sum[i] += other[i];
                other[i] = sum[i];
            }
        } else if (ws.bp != null && ws.bp.dX != null) {
            int n = ws.steps * ws.batch * shape.input(), off = ws.bp.dXOff;
            float[] dX = ws.bp.dX, other = ws.laneDX;
            for (int i = lo(w, nw, n), e = lo(w + 1, nw, n); i < e; i++) dX[off + i] += other[i];
        }
        workers.barrier(w);
    }

    /**
     * Backward through one block of layer l, direction d: the gradient reaching its states from
     * above, the recurrence, then the block's time sums and dL/dx. {@code below} names the
     * gradBelow buffer this layer writes for the layer under it (it reads the other one).
     */
    private void layerBackward(Workspace ws, int w, int l, int d, int t0, int t1, int below) {
        final int nw = team(ws), B = ws.batch, H = shape.hidden(), GH = shape.gates() * H, D = shape.directions();
        final int I = shape.input(), O = shape.output(), DH = D * H, k = l * D + d, top = shape.layers() - 1;
        final Lengths len = ws.lengths;
        final int q0 = (int) len.offset(t0), n = (int) len.offset(t1) - q0;
        final int r0 = lo(w, nw, n), r1 = lo(w + 1, nw, n);
        final float[] p = ws.params.data(), g = ws.grads.data(), hs = ws.states[k];
        final float[] gAbove = ws.gAbove, delta = ws.delta;
        final Backprop bp = ws.bp;
        final Kernels kn = kernels;

        // 1. The gradient reaching each h_t from above (V^T dy_t, a caller's dL/dh_t, or the layer
        //    above's dL/dx), rows split; the head's time sums dV, dc, split by output unit.
        if (l == top) {
            if (bp != null && bp.dY != null) {
                gatherColumns(len, B, t0, q0, r0, r1, bp.dY, bp.dYOff, DH, d * H, H, gAbove);
            } else {
                Arrays.fill(gAbove, r0 * H, r1 * H, 0f);
            }
            if (ws.hasLossHead) {
                int o0 = lo(w, nw, O), o1 = lo(w + 1, nw, O);
                kn.gemmNN(r1 - r0, H, O, ws.outs, (q0 + r0) * O, O, p, shape.headWeights() + d * H, DH, gAbove, r0 * H, H);
                kn.gemmTN(o1 - o0, H, n, ws.outs, q0 * O + o0, O, hs, stateRow(ws, q0, q0) * H, H, g,
                        shape.headWeights() + o0 * DH + d * H, DH);
                if (d == 0) kn.addColumnSums(n, o1 - o0, ws.outs, q0 * O + o0, O, g, shape.headBias() + o0);
            }
        } else {
            float[] src = ws.gradBelow[below ^ 1];
            if (D == 1) {
                System.arraycopy(src, r0 * H, gAbove, r0 * H, (r1 - r0) * H);
            } else {
                for (int r = r0; r < r1; r++) System.arraycopy(src, (q0 + r) * DH + d * H, gAbove, r * H, H);
            }
        }
        if (bp != null && bp.dhT != null) addFinalStateGradient(ws, k, d, t0, t1, q0, r0, r1, bp.dhT, bp.dhTOff);
        if (l == 0 && !len.plain) {
            if (ws.denseInputs != null) gatherRows(len, B, t0, q0, r0, r1, ws.denseInputs, ws.inputOffset, I, ws.xBlock);
            else gatherInts(len, B, t0, q0, r0, r1, ws.classInputs, ws.inputOffset, ws.xiBlock);
        }
        gatherPrevious(ws, k, d, t0, q0, r0, r1);
        sync(ws, w);

        // 2. The recurrence backwards: delta_t = act'(h_t) * (g_t + W_hh^T delta_{t+1}).
        recurBackward(ws, w, l, d, t0, t1, q0);

        // 3. The block's time sums as matrix products, split by rows of dW; dL/dx split by rows.
        final int i0 = lo(w, nw, GH), i1 = lo(w + 1, nw, GH);
        final int whh = shape.recurrentWeights(l, d), wih = shape.inputWeights(l, d);
        float[] hPrev = ws.hPrevBlock;
        int hPrevOff = 0;
        if (previousContiguous(ws, d, t0, t1)) {
            hPrev = hs;
            hPrevOff = stateRowPrev(ws, t0, 0, q0) * H;
        }
        // the recurrent side's delta (the GRU's differs in its n rows: r * dn) for W_hh and b_hh
        final int dzh = shape.cell() == Cell.GRU ? ws.blockRows * GH : 0;
        kn.gemmTN(i1 - i0, H, n, delta, dzh + i0, GH, hPrev, hPrevOff, H, g, whh + i0 * H, H);
        if (shape.biases() > 0) {
            kn.addColumnSums(n, i1 - i0, delta, i0, GH, g, shape.inputBias(l, d) + i0);
            // PyTorch's two biases each get the whole bias gradient (the GRU's n rows excepted)
            if (shape.biases() == 2) kn.addColumnSums(n, i1 - i0, delta, dzh + i0, GH, g, shape.recurrentBias(l, d) + i0);
        }
        if (l > 0) {
            for (int dd = 0; dd < D; dd++) {
                kn.gemmTN(i1 - i0, H, n, delta, i0, GH, ws.states[(l - 1) * D + dd], stateRow(ws, q0, q0) * H, H, g,
                        wih + i0 * DH + dd * H, DH);
            }
            float[] dst = ws.gradBelow[below];
            if (D == 1) {
                Arrays.fill(dst, r0 * H, r1 * H, 0f);
                kn.gemmNN(r1 - r0, H, GH, delta, r0 * GH, GH, p, wih, H, dst, r0 * H, H);
            } else {
                kn.gemmNN(r1 - r0, DH, GH, delta, r0 * GH, GH, p, wih, DH, dst, (q0 + r0) * DH, DH);
            }
        } else if (ws.denseInputs != null) {
            float[] x = len.plain ? ws.denseInputs : ws.xBlock;
            int xo = len.plain ? ws.inputOffset + q0 * I : 0;
            kn.gemmTN(i1 - i0, I, n, delta, i0, GH, x, xo, I, g, wih + i0 * I, I);
            if (bp != null && bp.dX != null) {
                if (len.plain) {
                    int off = bp.dXOff + (q0 + r0) * I;
                    if (d == 0) Arrays.fill(bp.dX, off, off + (r1 - r0) * I, 0f);
                    kn.gemmNN(r1 - r0, I, GH, delta, r0 * GH, GH, p, wih, I, bp.dX, off, I);
                } else {
                    Arrays.fill(ws.dXBlock, r0 * I, r1 * I, 0f);
                    kn.gemmNN(r1 - r0, I, GH, delta, r0 * GH, GH, p, wih, I, ws.dXBlock, r0 * I, I);
                    addRows(len, B, t0, q0, r0, r1, ws.dXBlock, I, bp.dX, bp.dXOff);
                }
            }
        } else {
            int[] xi = len.plain ? ws.classInputs : ws.xiBlock;
            int xo = len.plain ? ws.inputOffset + q0 : 0;
            float[] dT = ws.dWihT[d];
            for (int r = 0; r < n; r++) kn.addRowVector(1, i1 - i0, delta, r * GH + i0, dT, xi[xo + r] * GH + i0, GH);
        }
        // delta (and aux) at this block's last-processed step is delta_{t+1} for the block processed next
        int tLast = d == 0 ? t0 : t1 - 1;
        int rows = len.active(tLast), qLast = (int) len.offset(tLast);
        int c0 = lo(w, nw, rows * GH), c1 = lo(w + 1, nw, rows * GH);
        System.arraycopy(delta, dzh + (qLast - q0) * GH + c0, ws.deltaCarry[k], c0, c1 - c0);
        if (ws.aux != null) {
            int a0 = lo(w, nw, rows * H), a1 = lo(w + 1, nw, rows * H);
            System.arraycopy(ws.aux, (qLast - q0) * H + a0, ws.auxCarry[k], a0, a1 - a0);
        }
        sync(ws, w);
    }

    /** Columns [col, col + width) of the caller's time-major rows (stride {@code stride}) into dst, block rows [r0, r1). */
    private static void gatherColumns(Lengths len, int B, int t0, int q0, int r0, int r1, float[] src, int off, int stride,
                                      int col, int width, float[] dst) {
        for (int t = t0, q = q0; q < q0 + r1; t++) {
            int n = len.active(t);
            int a = Math.max(q, q0 + r0), e = Math.min(q + n, q0 + r1);
            for (int i = a; i < e; i++) {
                System.arraycopy(src, off + (t * B + len.perm[i - q]) * stride + col, dst, (i - q0) * width, width);
            }
            q += n;
        }
    }

    /** Block rows [r0, r1) of src added into the caller's time-major array (dL/dx of both directions). */
    private static void addRows(Lengths len, int B, int t0, int q0, int r0, int r1, float[] src, int width, float[] dst,
                                int off) {
        for (int t = t0, q = q0; q < q0 + r1; t++) {
            int n = len.active(t);
            int a = Math.max(q, q0 + r0), e = Math.min(q + n, q0 + r1);
            for (int i = a; i < e; i++) {
                int s = (i - q0) * width, o = off + (t * B + len.perm[i - q]) * width;
                for (int j = 0; j < width; j++) dst[o + j] += src[s + j];
            }
            q += n;
        }
    }

    /** dL/dh of each sequence's final state joins the gradient of the step that produced it. */
    private void addFinalStateGradient(Workspace ws, int k, int d, int t0, int t1, int q0, int r0, int r1, float[] dhT,
                                       int dhTOff) {
        int H = shape.hidden(), B = ws.batch;
        Lengths len = ws.lengths;
        int from, to, step;
        if (d == 1) {
            if (t0 != 0) return;
            from = 0;
            to = len.active(0);
        } else {
            from = len.active(t1);
            to = len.active(t0);
        }
        for (int r = from; r < to; r++) {
            step = d == 1 ? 0 : len.sorted[r] - 1;
            int row = (int) len.offset(step) + r - q0;
            if (row < r0 || row >= r1) continue;
            int src = dhTOff + (k * B + len.perm[r]) * H;
            for (int j = 0; j < H; j++) ws.gAbove[row * H + j] += dhT[src + j];
        }
    }

    /**
     * True when the states the block's steps read (h_{t-1}, or h_{t+1} for the reverse
     * direction) are one contiguous run of rows: a plain layout, forward direction, and not the
     * first step of a batch smaller than the workspace's (h0 then sits apart).
     */
    private static boolean previousContiguous(Workspace ws, int d, int t0, int t1) {
        return d == 0 && ws.lengths.plain && (t0 > 0 || ws.batch == ws.maxBatch);
    }

    /** Gathers h_{t-1} (or h_{t+1} / h0 for the reverse direction) of block rows [r0, r1) into hPrevBlock. */
    private void gatherPrevious(Workspace ws, int k, int d, int t0, int q0, int r0, int r1) {
        Lengths len = ws.lengths;
        int H = shape.hidden();
        if (previousContiguous(ws, d, t0, t0 + 1)) return;
        float[] hs = ws.states[k];
        for (int t = t0, q = q0; q < q0 + r1; t++) {
            int n = len.active(t);
            int a = Math.max(q, q0 + r0), e = Math.min(q + n, q0 + r1);
            for (int i = a; i < e; i++) {
                int r = i - q;
                int src = d == 0 ? stateRowPrev(ws, t, r, q0) : previousRow(ws, 1, t, r, q0);
                System.arraycopy(hs, src * H, ws.hPrevBlock, (i - q0) * H, H);
            }
            q += n;
        }
    }

    /** (2') The block's recurrence backwards, steps in the reverse of the forward's order. */
    private void recurBackward(Workspace ws, int w, int l, int d, int t0, int t1, int q0) {
        final int nw = team(ws), B = ws.batch, H = shape.hidden(), GH = shape.gates() * H, k = l * shape.directions() + d;
        final Lengths len = ws.lengths;
        final float[] p = ws.params.data(), hs = ws.states[k], delta = ws.delta, gAbove = ws.gAbove;
        final int whh = shape.recurrentWeights(l, d);
        final float[] packed = ws.packed != null ? ws.packed[k] : null;
        final StepSplit split = ws.alone ? StepSplit.SINGLE : stepSplit(B);
        final Kernels kn = kernels;
        final float[] carry = ws.bp != null && ws.bp.carry != null && ws.bp.carry.filled ? ws.carryIn[l] : ws.zeros;
        // the recurrent side's delta (the GRU keeps it apart from the input side's)
        final int dzh = shape.cell() == Cell.GRU ? ws.blockRows * GH : 0;
        if (split == StepSplit.ROWS) {
            // each worker owns columns [i0, i1) of W (panel-aligned): delta_t[i0..i1) needs all of delta_{t+1}
            int i0 = splitPoint(w, nw, H), i1 = splitPoint(w + 1, nw, H);
            for (int i = 0; i < t1 - t0; i++) {
                int t = d == 0 ? t1 - 1 - i : t0 + i;
                int n = len.active(t), q = (int) len.offset(t);
                boolean down = sweepDown(ws, t);
                for (int r = 0; r < n; r++) {
                    int nextOff = nextDeltaOffset(ws, d, t, r, t1, t0, q0), row = q - q0 + r;
                    float[] next = nextSource(ws, k, d, t, r, t0, t1, carry);
                    if (shape.cell() == Cell.ELMAN) {
                        kn.recurrentBackwardPart(activation, 1, GH, H, i0, i1, p, whh, packed, next, nextOff, gAbove, row * H, hs,
                                stateRow(ws, q + r, q0) * H, delta, row * GH, down);
                        continue;
                    }
                    // gated cells (unidirectional): the aux carry of step t+1 (the LSTM's dL/dc, the GRU's
                    // z * dL/dh) for the same row
                    float[] auxNext;
                    int auxOff;
                    if (r >= len.active(t + 1)) {
                        auxNext = ws.auxIn != null && ws.auxIn[k] != null ? ws.auxIn[k] : ws.zeros;
                        auxOff = r * H;
                    } else if (t + 1 < t1) {
                        auxNext = ws.aux;
                        auxOff = ((int) len.offset(t + 1) - q0 + r) * H;
                    } else {
                        auxNext = ws.auxCarry[k];
                        auxOff = r * H;
                    }
                    int prev = t == 0 ? r : stateRow(ws, (int) len.offset(t - 1) + r, q0);
                    if (shape.cell() == Cell.LSTM) {
                        // dL/dh of this worker's units = gAbove + (delta_{t+1} W_hh) there, in place; then
                        // their four gate deltas and dL/dc_{t-1}
                        kn.recurrentBackwardPart(null, 1, GH, H, i0, i1, p, whh, packed, next, nextOff, gAbove, row * H, null, 0,
                                gAbove, row * H, down);
                        float[] cells = ws.cells[k];
                        kn.lstmBackwardPart(1, H, i0, i1, gAbove, row * H, auxNext, auxOff, ws.cache[k], (q + r) * GH, cells,
                                prev * H, cells, stateRow(ws, q + r, q0) * H, delta, row * GH, ws.aux, row * H);
                    } else {
                        // GRU: dL/dh of this worker's units = gAbove + z * dL/dh_{t+1} + (the recurrent side's
                        // delta_{t+1} W_hh) there, in that order as the unsplit step; then their deltas
                        for (int j = i0; j < i1; j++) gAbove[row * H + j] += auxNext[auxOff + j];
                        int recOff = next == delta ? nextOff + dzh : nextOff;
                        kn.recurrentBackwardPart(null, 1, GH, H, i0, i1, p, whh, packed, next, recOff, gAbove, row * H, null, 0,
                                gAbove, row * H, down);
                        kn.gruBackwardPart(1, H, i0, i1, gAbove, row * H, hs, prev * H, ws.cache[k], (q + r) * 4 * H, delta, row * GH,
                                delta, dzh + row * GH, ws.aux, row * H);
                    }
                }
                if (d == 1) captureStartColumns(ws, t, q, q0, i0, i1);
                sync(ws, w);
            }
            sync(ws, w);
            return;
        }
        if (split == StepSplit.SINGLE && w != 0) {
            sync(ws, w);
            return;
        }
        int b0 = split == StepSplit.BATCH ? lo(w, nw, B) : 0, b1 = split == StepSplit.BATCH ? lo(w + 1, nw, B) : B;
        // the aux carry
        final float[] auxIn = ws.auxIn != null && ws.auxIn[k] != null ? ws.auxIn[k] : ws.zeros;
        final int H1 = H;
        for (int i = 0; i < t1 - t0; i++) {
            int t = d == 0 ? t1 - 1 - i : t0 + i;
            int n = len.active(t), q = (int) len.offset(t), e = Math.min(b1, n);
            if (e <= b0) continue;
            boolean down = sweepDown(ws, t);
            if (d == 0) {
                // rows running at t+1 take its delta; the others end here (delta from a later chunk, or zero)
                int m = len.active(t + 1), c = Math.min(e, m);
                int prev = t == 0 ? b0 : stateRow(ws, (int) len.offset(t - 1) + b0, q0);
                if (c > b0) {
                    boolean inBlock = t + 1 < t1;
                    int rel = (int) len.offset(t + 1) - q0 + b0;
                    stepBackward(ws, k, whh, packed, b0, c, inBlock ? delta : ws.deltaCarry[k], inBlock ? dzh + rel * GH : b0 * GH,
                            inBlock ? ws.aux : ws.auxCarry == null ? null : ws.auxCarry[k], inBlock ? rel * H1 : b0 * H1, prev, q, q0, p, hs, down);
                }
                int s = Math.max(b0, m);
                if (e > s) {
                    stepBackward(ws, k, whh, packed, s, e, carry, s * GH, auxIn, s * H1, prev + (s - b0), q, q0, p, hs, down);
                }
            } else {
                boolean first = t == 0, inBlock = t > t0;
                int rel = inBlock ? (int) len.offset(t - 1) - q0 + b0 : b0;
                float[] src = first ? carry : inBlock ? delta : ws.deltaCarry[k];
                int off = first ? b0 * GH : inBlock ? dzh + rel * GH : b0 * GH;
                float[] aSrc = first ? auxIn : inBlock ? ws.aux : ws.auxCarry == null ? null : ws.auxCarry[k];
                int aOff = first ? b0 * H1 : inBlock ? rel * H1 : b0 * H1;
                // rows still running at t+1 read h_{t+1}; the ones starting here read h0 (slot 0)
                int m = len.active(t + 1), c = Math.min(e, m);
                if (c > b0) stepBackward(ws, k, whh, packed, b0, c, src, off, aSrc, aOff, stateRow(ws, q + n + b0, q0), q, q0, p, hs, down);
                int s2 = Math.max(b0, m);
                if (e > s2) {
                    stepBackward(ws, k, whh, packed, s2, e, src, off + (s2 - b0) * GH, aSrc, aOff + (s2 - b0) * H1, s2, q, q0, p, hs, down);
                }
                captureStartRows(ws, t, q, q0, b0, e);
            }
        }
        sync(ws, w);
    }

    /**
     * Rows [from, to) of one backward step at packed row q, the cell's backward. Elman: delta =
     * act'(h) * (gAbove + deltaNext W_hh), fused. Gated cells: dL/dh = gAbove (+ the GRU's direct
     * z * dL/dh_{t+1}) + deltaNext W_hh in place in gAbove, then the cell's element-wise backward
     * into delta (and the GRU's recurrent-side delta) and aux (dL/dc_{t-1}, or z * dL/dh). {@code
     * next}/{@code aux} hold step t+1's values (reverse: t-1's) for these rows; hPrevRow is the
     * state row of h_{t-1} (reverse: h_{t+1} or h0) of row {@code from}.
     */
    private void stepBackward(Workspace ws, int k, int whh, float[] packed, int from, int to, float[] next, int nextOff,
                              float[] auxNext, int auxNextOff, int hPrevRow, int q, int q0, float[] p, float[] hs,
                              boolean down) {
        int H = shape.hidden(), GH = shape.gates() * H, n = to - from, row = q - q0 + from;
        Kernels kn = kernels;
        if (shape.cell() == Cell.ELMAN) {
            kn.recurrentBackward(activation, n, GH, H, p, whh, packed, next, nextOff, ws.gAbove, row * H, hs,
                    stateRow(ws, q + from, q0) * H, ws.delta, row * GH, down);
            return;
        }
        float[] g = ws.gAbove;
        if (shape.cell() == Cell.GRU) {
            for (int j = 0, e = n * H; j < e; j++) g[row * H + j] += auxNext[auxNextOff + j];
        }
        kn.recurrentBackward(null, n, GH, H, p, whh, packed, next, nextOff, g, row * H, null, 0, g, row * H, down);
        int cacheRow = (q + from) * 4 * H;
        if (shape.cell() == Cell.LSTM) {
            float[] cells = ws.cells[k];
            kn.lstmBackward(n, H, g, row * H, auxNext, auxNextOff, ws.cache[k], cacheRow, cells, hPrevRow * H, cells,
                    stateRow(ws, q + from, q0) * H, ws.delta, row * GH, ws.aux, row * H);
        } else {
            kn.gruBackward(n, H, g, row * H, hs, hPrevRow * H, ws.cache[k], cacheRow, ws.delta, row * GH, ws.delta,
                    ws.blockRows * GH + row * GH, ws.aux, row * H);
        }
    }

    /** ROWS split: the array holding delta_{t+1} (forward) or delta_{t-1} (reverse) of sorted row r. */
    private static float[] nextSource(Workspace ws, int k, int d, int t, int r, int t0, int t1, float[] carry) {
        if (d == 0) {
            if (r >= ws.lengths.active(t + 1)) return carry;
            return t + 1 < t1 ? ws.delta : ws.deltaCarry[k];
        }
        if (t == 0) return carry;
        return t > t0 ? ws.delta : ws.deltaCarry[k];
    }

    /** ROWS split: where in {@link #nextSource}'s array row r's delta_{t+1} (or delta_{t-1}) starts. */
    private int nextDeltaOffset(Workspace ws, int d, int t, int r, int t1, int t0, int q0) {
        Lengths len = ws.lengths;
        int GH = shape.gates() * shape.hidden();
        if (d == 0) {
            if (r >= len.active(t + 1) || t + 1 >= t1) return r * GH;
            return ((int) len.offset(t + 1) - q0 + r) * GH;
        }
        if (t == 0 || t == t0) return r * GH;
        return ((int) len.offset(t - 1) - q0 + r) * GH;
    }

    /** Reverse direction: rows whose first reverse step is t keep their delta for dL/dh0. */
    private void captureStartRows(Workspace ws, int t, int q, int q0, int from, int to) {
        int H = shape.hidden(), GH = shape.gates() * H, dzh = shape.cell() == Cell.GRU ? ws.blockRows * GH : 0;
        int a = Math.max(from, ws.lengths.active(t + 1));
        if (to <= a) return;
        System.arraycopy(ws.delta, dzh + (q - q0 + a) * GH, ws.deltaStart, a * GH, (to - a) * GH);
        if (ws.aux != null) System.arraycopy(ws.aux, (q - q0 + a) * H, ws.auxStart, a * H, (to - a) * H);
    }

    /** ROWS split: a worker keeps its own columns [i0, i1) of those rows. */
    private void captureStartColumns(Workspace ws, int t, int q, int q0, int i0, int i1) {
        int GH = shape.gates() * shape.hidden();
        for (int r = ws.lengths.active(t + 1); r < ws.lengths.active(t); r++) {
            System.arraycopy(ws.delta, (q - q0 + r) * GH + i0, ws.deltaStart, r * GH + i0, i1 - i0);
        }
    }

    /**
     * dL/dh0 of layer l, direction d: {@code W_hh^T delta} of each sequence's first step in that
     * direction (t = 0 forward; its last valid step for the reverse direction), split by hidden
     * unit; into the caller's array in its own order.
     */
    private void initialStateGradient(Workspace ws, int w, int l, int d) {
        final Backprop bp = ws.bp;
        if (bp == null || (bp.dh0 == null && bp.dc0 == null)) return;
        final int nw = team(ws), B = ws.batch, H = shape.hidden(), GH = shape.gates() * H, k = l * shape.directions() + d;
        final int i0 = lo(w, nw, H), i1 = lo(w + 1, nw, H);
        final float[] src = d == 0 ? ws.deltaCarry[k] : ws.deltaStart;
        final float[] aux = ws.aux == null ? null : d == 0 ? ws.auxCarry[k] : ws.auxStart;
        final float[] p = ws.params.data();
        final int[] perm = ws.lengths.perm;
        final boolean plain = ws.lengths.plain;
        if (bp.dh0 != null) {
            float[] dst = plain ? bp.dh0 : ws.gAbove;
            int off = plain ? bp.dh0Off + k * B * H : 0;
            for (int r = 0; r < B; r++) Arrays.fill(dst, off + r * H + i0, off + r * H + i1, 0f);
            kernels.gemmNN(B, i1 - i0, GH, src, 0, GH, p, shape.recurrentWeights(l, d) + i0, H, dst, off + i0, H);
            if (shape.cell() == Cell.GRU) {
                // the GRU's h_{t-1} also reaches h_t directly: z * dL/dh_t
                for (int r = 0; r < B; r++) for (int j = i0; j < i1; j++) dst[off + r * H + j] += aux[r * H + j];
            }
            if (!plain) {
                for (int r = 0; r < B; r++) System.arraycopy(dst, r * H + i0, bp.dh0, bp.dh0Off + (k * B + perm[r]) * H + i0, i1 - i0);
            }
        }
        if (bp.dc0 != null && shape.cell() == Cell.LSTM) {
            // dL/dc0 is the recursion's aux at each sequence's first step
            for (int r = 0; r < B; r++) {
                int dst = bp.dc0Off + (k * B + (plain ? r : perm[r])) * H;
                System.arraycopy(aux, r * H + i0, bp.dc0, dst + i0, i1 - i0);
            }
        }
        sync(ws, w);
    }

    // ---------------------------------------------------------------- checks, once per call

    private void checkForward(Params params, Workspace ws, Batch b) {
        checkParams("params", params);
        if (ws == null) throw new IllegalArgumentException("workspace is null, expected one from trainingWorkspace or inferenceWorkspace");
        checkOwner(ws);
        if (b == null) throw new IllegalArgumentException("batch is null, expected a Batch with the inputs");
        int B = b.sequences, T = b.steps, H = shape.hidden();
        if (B > ws.maxBatch) {
            throw new IllegalArgumentException("batch.sequences() = " + B + ", expected <= the workspace's maxBatch = " + ws.maxBatch);
        }
        if (T > ws.maxSteps) {
            throw new IllegalArgumentException("batch.steps() = " + T + ", expected <= the workspace's maxSteps = " + ws.maxSteps
                    + " (batch.sequences() = " + B + ")");
        }
        if (b.lengths != null) {
            Checks.range("lengths", b.lengths, b.lengthsOff, B, "batch");
            for (int i = 0; i < B; i++) {
                int l = b.lengths[b.lengthsOff + i];
                if (l < 1 || l > T) {
                    throw new IllegalArgumentException("lengths[" + i + "] = " + l + ", expected 1 <= length <= steps = " + T);
                }
            }
        }
        long positions = (long) T * B;
        if (b.x != null) {
            Checks.range("x", b.x, b.xOff, positions * shape.input(), "steps*batch*input");
            if (checkFinite) checkFiniteValid(b, b.x, b.xOff, shape.input(), "x");
        } else if (b.xi != null) {
            Checks.range("x", b.xi, b.xOff, positions, "steps*batch");
            checkValidIndices(b, b.xi, b.xOff, shape.input(), "x", "input");
        } else {
            throw new IllegalArgumentException("batch has no inputs, expected batch.input(float[] x) or batch.input(int[] classes)");
        }
        long states = (long) shape.stateBlocks() * B * H;
        if (b.h0 != null) {
            Checks.range("h0", b.h0, b.h0Off, states, "layers*directions*batch*hidden");
            if (checkFinite) Checks.finite("h0", b.h0, b.h0Off, states);
        }
        if (b.c0 != null) {
            if (!shape.cell().hasCellState()) {
                throw new IllegalArgumentException("batch has c0 but the cell is " + shape.cell().id() + ", expected c0 only for lstm");
            }
            Checks.range("c0", b.c0, b.c0Off, states, "layers*directions*batch*hidden");
            if (checkFinite) Checks.finite("c0", b.c0, b.c0Off, states);
        }
    }

    private void checkTargets(Batch b) {
        long positions = (long) b.steps * b.sequences;
        if (b.loss.classTargets()) {
            if (b.yi == null) {
                throw new IllegalArgumentException("batch.loss() = " + b.loss + " needs class-index targets, expected "
                        + "batch.targets(int[])" + (b.yf != null ? " (it has float targets: Loss.SQUARED_ERROR?)" : ""));
            }
            Checks.range("targets", b.yi, b.yOff, positions, "steps*batch");
            int O = shape.output(), ignore = b.loss.ignoreIndex();
            forValid(b, (t, bi) -> {
                int y = b.yi[b.yOff + t * b.sequences + bi];
                if (y != ignore && (y < 0 || y >= O)) {
                    throw new IllegalArgumentException("targets[" + (t * b.sequences + bi) + "] = " + y + " (step " + t
                            + ", sequence " + bi + "), expected a class index in [0, output = " + O + ") or the ignore index "
                            + ignore);
                }
            });
        } else {
            if (b.yf == null) {
                throw new IllegalArgumentException("batch.loss() = " + b.loss + " needs float targets, expected "
                        + "batch.targets(float[])" + (b.yi != null ? " (it has class targets: Loss.CROSS_ENTROPY?)" : ""));
            }
            Checks.range("targets", b.yf, b.yOff, positions * shape.output(), "steps*batch*output");
            if (checkFinite) checkFiniteValid(b, b.yf, b.yOff, shape.output(), "targets");
        }
    }

    private interface Position { void at(int t, int b); }

    /** Visits every valid (t, b): t below the sequence's length. */
    private static void forValid(Batch b, Position f) {
        for (int bi = 0; bi < b.sequences; bi++) {
            int l = b.lengths == null ? b.steps : b.lengths[b.lengthsOff + bi];
            for (int t = 0; t < l; t++) f.at(t, bi);
        }
    }

    private static void checkFiniteValid(Batch b, float[] a, int off, int width, String name) {
        forValid(b, (t, bi) -> {
            int base = off + (t * b.sequences + bi) * width;
            for (int j = 0; j < width; j++) {
                if (!Float.isFinite(a[base + j])) {
                    throw new IllegalArgumentException(name + "[" + (base + j - off) + "] = " + a[base + j] + " (step " + t
                            + ", sequence " + bi + "), expected a finite number");
                }
            }
        });
    }

    private static void checkValidIndices(Batch b, int[] a, int off, int bound, String name, String boundName) {
        forValid(b, (t, bi) -> {
            int v = a[off + t * b.sequences + bi];
            if (v < 0 || v >= bound) {
                throw new IllegalArgumentException(name + "[" + (t * b.sequences + bi) + "] = " + v + " (step " + t + ", sequence "
                        + bi + "), expected a class index in [0, " + boundName + " = " + bound + ")");
            }
        });
    }

    private void checkParams(String name, ParameterArray a) {
        if (a == null) throw new IllegalArgumentException(name + " is null, expected " + shape);
        if (!a.shape().equals(shape)) throw new IllegalArgumentException(name + ".shape() = " + a.shape() + ", expected " + shape);
    }

    /** A workspace is bound to the engine that made it (its layout and threads are that engine's). */
    private void checkOwner(Workspace ws) {
        if (ws.owner != this) {
            throw new IllegalArgumentException("workspace was made by another engine (" + ws.owner + "), expected one from "
                    + "this engine's trainingWorkspace or inferenceWorkspace (" + this + ")");
        }
    }

    private void checkBackward(Params params, Workspace ws, Grads grads, Backprop bp) {
        if (ws == null) throw new IllegalArgumentException("workspace is null, expected the one the forward pass used");
        checkOwner(ws);
        if (!ws.training) {
            throw new IllegalStateException("backward needs a training workspace (trainingWorkspace); this one was made "
                    + "for inference and keeps no states");
        }
        if (!ws.forwardDone) throw new IllegalStateException("backward needs a forward pass on this workspace first");
        checkParams("params", params);
        if (params != ws.params) {
            throw new IllegalArgumentException("params are not the ones the forward pass on this workspace used; expected "
                    + "the same Params object (the states were computed from it)");
        }
        checkParams("grads", grads);
        boolean fromAbove = bp != null && bp.dY != null;
        if (!ws.hasLossHead && !fromAbove) {
            throw new IllegalStateException("backward needs a forward pass with a loss, or dL/d(outputs) in "
                    + "Backprop.outputGradient; this workspace's last forward had neither (loss none)");
        }
        if (bp == null) return;
        int B = ws.batch, T = ws.steps, H = shape.hidden();
        long states = (long) shape.stateBlocks() * B * H;
        if (bp.dY != null) {
            Checks.range("outputGradient", bp.dY, bp.dYOff, (long) T * B * shape.outputWidth(), "steps*batch*directions*hidden");
            if (checkFinite) Checks.finite("outputGradient", bp.dY, bp.dYOff, (long) T * B * shape.outputWidth());
        }
        if (bp.dhT != null) {
            Checks.range("finalStateGradient", bp.dhT, bp.dhTOff, states, "layers*directions*batch*hidden");
            if (checkFinite) Checks.finite("finalStateGradient", bp.dhT, bp.dhTOff, states);
        }
        if (bp.dcT != null) {
            if (!shape.cell().hasCellState()) throw new IllegalArgumentException("finalCellGradient is for lstm, the cell is " + shape.cell().id());
            Checks.range("finalCellGradient", bp.dcT, bp.dcTOff, states, "layers*directions*batch*hidden");
        }
        if (bp.dX != null) {
            if (ws.denseInputs == null) {
                throw new IllegalArgumentException("inputGradient was given but the forward pass had class-index inputs, "
                        + "expected none (there is no gradient with respect to an index)");
            }
            Checks.range("inputGradient", bp.dX, bp.dXOff, (long) T * B * shape.input(), "steps*batch*input");
        }
        if (bp.dh0 != null) Checks.range("initialStateGradient", bp.dh0, bp.dh0Off, states, "layers*directions*batch*hidden");
        if (bp.dc0 != null) {
            if (!shape.cell().hasCellState()) throw new IllegalArgumentException("initialCellGradient is for lstm, the cell is " + shape.cell().id());
            Checks.range("initialCellGradient", bp.dc0, bp.dc0Off, states, "layers*directions*batch*hidden");
        }
        Carry c = bp.carry;
        if (c != null) {
            if (!c.shape.equals(shape)) throw new IllegalArgumentException("carry is for " + c.shape + ", expected " + shape);
            if (c.batch != B) {
                throw new IllegalArgumentException("carry.batch() = " + c.batch + ", expected the forward pass's batch = " + B);
            }
            if (c.filled && c.source == ws && c.sourceGeneration == ws.generation) {
                throw new IllegalStateException("the carry came from this same forward pass on this workspace: a chunk's "
                        + "backward ran twice, most likely because two chunks shared one workspace (the later chunk's forward "
                        + "overwrote the earlier one's states); give each chunk its own workspace");
            }
        }
    }

    @Override
    public String toString() {
        return "Rnn#" + id + "[" + shape + ", " + (shape.cell() == Cell.ELMAN ? activation.id() + ", " : "") + kernels.name()
                + " kernels, " + workers.size() + " threads]";
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

        /** The Elman cell's activation (default tanh); the gated cells accept tanh only. */
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

        /** Check inputs, targets, states and incoming gradients for NaN/Inf on every call (off by default: it costs a pass). */
        public Builder checkFinite(boolean on) {
            this.checkFinite = on;
            return this;
        }

        /**
         * Threads per call (the calling thread plus {@code n - 1} pool threads owned by the
         * engine; default 1). Work is split over the batch and over rows of the hoisted
         * products; with B smaller than n, one step of an Elman recurrence is split by rows of
         * W when H is at least the split threshold (512), a bidirectional layer runs its two
         * directions side by side, and a stack of unidirectional layers in a training workspace
         * runs as a two-stage wavefront (the row split and the wavefront give one thread's bits).
         */
        public Builder threads(int n) {
            Checks.positive("threads", n);
            if (n > 1024) throw new IllegalArgumentException("threads = " + n + ", expected at most 1024");
            this.threads = n;
            return this;
        }

        /**
         * Smallest number of rows of W_hh (H for the Elman cell, 4H for the LSTM, 3H for the GRU) at
         * which a step is split among threads when {@code B < threads} (tests, tuning).
         */
        public Builder splitHiddenMin(int h) {
            Checks.positive("splitHiddenMin", h);
            this.splitHiddenMin = h;
            return this;
        }

        /** The engine; its worker threads start now. */
        public Rnn build() {
            if (shape.cell() != Cell.ELMAN && activation != Activation.TANH) {
                throw new IllegalArgumentException("activation = " + activation.id() + " with cell " + shape.cell().id()
                        + ", expected tanh (the gated cells' activations are fixed)");
            }
            return new Rnn(this);
        }
    }
}
