package dev.recur;

import dev.recur.internal.Checks;
import java.util.Arrays;

/**
 * The memory one engine call works in, sized once for a largest batch and sequence length and
 * reused across calls: no allocation per step or per call in steady state.
 *
 * <p>A <em>training</em> workspace ({@link Rnn#trainingWorkspace}) keeps every state of every
 * layer and direction (and what a gated cell needs for its backward) and, after a forward pass
 * with a loss, dL/do_t for every step, so that {@link Rnn#backward} can follow. An
 * <em>inference</em> workspace ({@link Rnn#inferenceWorkspace}) keeps one block of steps per
 * layer: O(B*H) memory whatever T is (a bidirectional network needs the whole sequence, so its
 * inference workspace is sized for a largest T too), but no backward.
 *
 * <p>One workspace holds one forward pass. To back-propagate a sequence split into chunks, give
 * every chunk its own workspace (a second forward on the same workspace overwrites the first
 * chunk's states; {@link Rnn#backward} with a {@link Carry} detects that). Between a forward and
 * its backward the workspace keeps reading the caller's input arrays (not copies): do not change
 * them in between. Not thread-safe: one workspace per thread.
 */
public final class Workspace {
    final Shape shape;
    final int maxBatch;
    /** Largest T (training, and bidirectional inference); Integer.MAX_VALUE for unidirectional inference. */
    final int maxSteps;
    final boolean training;
    /** Steps per block at the full batch (the driver's time blocking). */
    final int block;
    /** Rows (steps * sequences) per block buffer. */
    final int blockRows;
    /** True when states are kept for the whole sequence (training, or a bidirectional network). */
    final boolean wholeSequence;
    /** The engine whose driver fills it. */
    Rnn owner;
    final Lengths lengths;

    // per layer-direction k = layer*D + direction
    /** States: rows [0, B) hold h0 (sorted order), then packed rows (all of them, or one block). */
    final float[][] states;
    /** LSTM cell states, as states; null otherwise. */
    final float[][] cells;
    /** Gated cells, training: per packed row what the cell's backward reads (gate activations ...). */
    final float[][] cache;
    /** Each sequence's final state (sorted order), captured when it ends. */
    final float[][] finals;
    /**
     * An inference stream's panels of W_ih^T per layer and of V^T, packed once with the other
     * prepared weights (Rnn.prepareWeights): its per-step products have too few rows to
     * amortise packing them on every step. Null for other workspaces.
     */
    float[][] wihPacked;
    float[] vPacked;
    /** 0 or 1: flipped by each step of a stream, the parity of its steps' sweep over W (Rnn.sweepDown). */
    int sweepFlip;
    /** The params object and batch whose weights the per-call arrays below hold (see Rnn.run). */
    Params preparedFor;
    int preparedBatch;
    /** The engine's forward job for this workspace, reused across calls (an Rnn.ForwardCall). */
    Object forwardCall;
    final float[][] finalCells;
    /** The kernels' packed W_hh (W^T for forward, W for backward), or null where they read W in place. */
    final float[][] packed;
    /** Per call: the bias the hoisted product starts from (b, or b_ih + b_hh). */
    final float[][] biasSum;
    /** Per call: W_ih^T (I_l x G*H), so the input product is C += A B with contiguous rows of B. */
    final float[][] wihT;
    /** Per call: V^T (D*H x O). */
    final float[] vT;
    /** Training: the carried delta of each layer-direction between blocks (B x G*H; the GRU's recurrent side). */
    final float[][] deltaCarry;
    /**
     * Gated cells, training: the second quantity the backward recursion carries from step to
     * step (the LSTM's dL/dc times f, the GRU's z * dL/dh): per block row, between blocks, at each
     * sequence's first reverse step, and as read from a carry or dL/dc_T (null for Elman).
     */
    final float[] aux;
    final float[][] auxCarry;
    final float[] auxStart;
    float[][] auxIn;
    /** GRU: per row, the recurrent side's bias [0, 0, b_hn] the product starts from, and its product. */
    final float[][] recBias;
    final float[] ghScratch;
    /** Gated cells, inference: one step's cache rows (gate activations), which training keeps in cache. */
    final float[] stepCache;

    /** Logits, then dy = dL/do (training: every packed row; inference: one block). */
    final float[] outs;
    /** Block buffer: pre-activations in forward. */
    final float[] pre;
    /** Block buffers of backward: the gradient reaching h_t from above, and delta. */
    final float[] gAbove;
    final float[] delta;
    /** Block buffers for gathered inputs, targets, previous states and dL/dx (non-plain layouts). */
    final float[] xBlock;
    final int[] xiBlock;
    final int[] yiBlock;
    final float[] yfBlock;
    final float[] hPrevBlock;
    final float[] dXBlock;
    /** Between stacked layers in backward: dL/d(layer below's states), two buffers used in turn. */
    final float[][] gradBelow;
    /** Delta at each sequence's first reverse step (for the reverse direction's dL/dh0), B x G*H. */
    final float[] deltaStart;
    final float[] zeros;
    /** Class inputs: dL/dW_ih^T per direction of layer 0, folded into the gradient at the end. */
    float[][] dWihT;
    /** A carry read into sorted order, per layer (allocated on first use). */
    float[][] carryIn;
    final double[] partialLoss;

    // ------------------------------------------------------------------ the last forward call
    Params params;
    Batch data;
    /** What the last forward left: its size, whether a loss head ran, and its generation. */
    int steps;
    int batch;
    int blockSteps;
    boolean forwardDone;
    boolean hasLossHead;
    double loss;
    /** Positions that carried loss, and 1/count for a mean (1 for a sum). */
    long counted;
    float lossScale;
    float[] denseInputs;
    int[] classInputs;
    int inputOffset;
    long generation;
    /** Per call of backward. */
    Grads grads;
    Backprop bp;

    /**
     * True for a lane (see {@link #lane}): a view that one worker runs alone, with no barriers,
     * on one direction of a bidirectional layer while another worker runs the other, or on one
     * stage of a stack's wavefront while another worker runs the other stage.
     */
    final boolean alone;
    /** The two lanes of this workspace, made on first use; null until then. */
    private Workspace[] lanes;
    /**
     * A bidirectional network's reverse lane's dL/d(network input), in the caller's layout
     * (T*B*I), added into the caller's array after layer 0 (its between-layer dL/dx has a pair
     * of buffers of its own in the lane).
     */
    float[] laneDX;

    Workspace(Rnn owner, int maxBatch, int maxSteps, boolean training, int packedLength, int workers) {
        Shape s = owner.shape();
        this.owner = owner;
        this.shape = s;
        this.maxBatch = maxBatch;
        this.training = training;
        this.wholeSequence = training || s.bidirectional();
        this.maxSteps = wholeSequence ? maxSteps : Integer.MAX_VALUE;
        this.block = Math.min(Rnn.stepsPerBlock(maxBatch), wholeSequence ? maxSteps : Rnn.MAX_BLOCK_STEPS);
        this.blockRows = block * maxBatch;
        int H = s.hidden(), G = s.gates(), GH = G * H, K = s.stateBlocks(), I = s.input(), O = s.output();
        int DH = s.outputWidth();
        long allRows = (long) maxSteps * maxBatch;
        long stateRows = wholeSequence ? maxBatch + allRows : maxBatch + blockRows;
        long cacheWidth = cacheWidth(s);
        check("states", stateRows * H);
        check("outputs", (wholeSequence ? allRows : blockRows) * Math.max(O, 1));
        if (training) check("gate cache", allRows * Math.max(cacheWidth, 1));
        if (training && s.layers() > 1 && s.bidirectional()) check("gradients between layers", allRows * DH);

        states = new float[K][(int) stateRows * H];
        cells = s.cell().hasCellState() ? new float[K][(int) stateRows * H] : null;
        cache = training && cacheWidth > 0 ? new float[K][(int) (allRows * cacheWidth)] : null;
        finals = new float[K][maxBatch * H];
        finalCells = s.cell().hasCellState() ? new float[K][maxBatch * H] : null;
        packed = packedLength > 0 ? new float[K][packedLength] : null;
        biasSum = new float[K][GH];
        wihT = new float[K][];
        for (int l = 0; l < s.layers(); l++) {
            for (int d = 0; d < s.directions(); d++) wihT[l * s.directions() + d] = new float[s.layerInput(l) * GH];
        }
        vT = new float[DH * O];
        deltaCarry = training ? new float[K][maxBatch * GH] : null;
        boolean gated = s.cell() != Cell.ELMAN;
        aux = training && gated ? new float[blockRows * H] : null;
        auxCarry = training && gated ? new float[K][maxBatch * H] : null;
        auxStart = training && gated ? new float[maxBatch * H] : null;
        recBias = s.cell() == Cell.GRU ? new float[K][maxBatch * GH] : null;
        ghScratch = s.cell() == Cell.GRU ? new float[maxBatch * GH] : null;
        stepCache = !training && gated ? new float[maxBatch * 4 * H] : null;
        outs = new float[(int) (training ? allRows : blockRows) * O];
        pre = new float[blockRows * GH];
        int gateDeltas = s.cell() == Cell.GRU ? 2 : 1;   // the GRU's recurrent side has its own delta
        gAbove = training ? new float[blockRows * H] : new float[0];
        delta = training ? new float[blockRows * GH * gateDeltas] : new float[0];
        xBlock = new float[blockRows * I];
        xiBlock = new int[blockRows];
        yiBlock = new int[blockRows];
        yfBlock = new float[blockRows * O];
        hPrevBlock = training ? new float[blockRows * H] : new float[0];
        dXBlock = training ? new float[blockRows * I] : new float[0];
        if (training && s.layers() > 1) {
            int n = s.bidirectional() ? (int) allRows * DH : blockRows * H;
            gradBelow = new float[][] {new float[n], new float[n]};
        } else {
            gradBelow = null;
        }
        deltaStart = training ? new float[maxBatch * GH] : new float[0];
        zeros = new float[maxBatch * GH];
        partialLoss = new double[workers];
        lengths = new Lengths(maxBatch);
        alone = false;
    }

    /**
     * A lane of {@code parent}: every per-layer-direction array and the call's bookkeeping
     * shared; the block buffers its phases write, and its between-layer dL/dx pair, its own
     * ({@code ownBuffers}; lane 0 borrows the parent's, which nobody else uses while the lanes
     * run). Both directions of a layer add into a between-layer buffer, so the reverse lane adds
     * into its own and the driver sums them; a wavefront's upper stage writes into its own while
     * the lower stage reads the previous block's copy.
     */
    private Workspace(Workspace parent, boolean ownBuffers) {
        Shape s = parent.shape;
        shape = s;
        owner = parent.owner;
        maxBatch = parent.maxBatch;
        maxSteps = parent.maxSteps;
        training = parent.training;
        block = parent.block;
        blockRows = parent.blockRows;
        wholeSequence = parent.wholeSequence;
        lengths = parent.lengths;
        states = parent.states;
        cells = parent.cells;
        cache = parent.cache;
        finals = parent.finals;
        finalCells = parent.finalCells;
        packed = parent.packed;
        biasSum = parent.biasSum;
        wihT = parent.wihT;
        vT = parent.vT;
        deltaCarry = parent.deltaCarry;
        auxCarry = parent.auxCarry;
        recBias = parent.recBias;
        outs = parent.outs;
        zeros = parent.zeros;
        partialLoss = new double[1];
        alone = true;
        if (!ownBuffers) {
            aux = parent.aux;
            auxStart = parent.auxStart;
            ghScratch = parent.ghScratch;
            stepCache = parent.stepCache;
            pre = parent.pre;
            gAbove = parent.gAbove;
            delta = parent.delta;
            xBlock = parent.xBlock;
            xiBlock = parent.xiBlock;
            yiBlock = parent.yiBlock;
            yfBlock = parent.yfBlock;
            hPrevBlock = parent.hPrevBlock;
            dXBlock = parent.dXBlock;
            deltaStart = parent.deltaStart;
            gradBelow = parent.gradBelow;
        } else {
            aux = copyShape(parent.aux);
            auxStart = copyShape(parent.auxStart);
            ghScratch = copyShape(parent.ghScratch);
            stepCache = copyShape(parent.stepCache);
            pre = copyShape(parent.pre);
            gAbove = copyShape(parent.gAbove);
            delta = copyShape(parent.delta);
            xBlock = copyShape(parent.xBlock);
            xiBlock = new int[parent.xiBlock.length];
            yiBlock = new int[parent.yiBlock.length];
            yfBlock = copyShape(parent.yfBlock);
            hPrevBlock = copyShape(parent.hPrevBlock);
            dXBlock = copyShape(parent.dXBlock);
            deltaStart = copyShape(parent.deltaStart);
            gradBelow = parent.gradBelow == null ? null
                    : new float[][] {copyShape(parent.gradBelow[0]), copyShape(parent.gradBelow[1])};
        }
    }

    private static float[] copyShape(float[] a) { return a == null ? null : new float[a.length]; }

    /**
     * Brings both lanes up to date with the current call (their per-call fields copied from this
     * workspace), making them on first use; the calling thread does this before the workers
     * start. A lane is a direction of a bidirectional layer, or a stage of a stack's wavefront.
     * In a bidirectional network lane 1's dL/d(network input) goes to {@link #laneDX}, zeroed
     * here, when the call asks for dL/dx.
     */
    void prepareLanes() {
        if (lanes == null) lanes = new Workspace[] {new Workspace(this, false), new Workspace(this, true)};
        for (int d = 0; d < 2; d++) syncLane(d);
    }

    /** Lane {@code d} (a direction, or a wavefront stage) as {@link #prepareLanes} left it. */
    Workspace lane(int d) { return lanes[d]; }

    private void syncLane(int d) {
        Workspace v = lanes[d];
        v.wihPacked = wihPacked;
        v.vPacked = vPacked;
        v.preparedFor = preparedFor;
        v.preparedBatch = preparedBatch;
        v.auxIn = auxIn;
        v.dWihT = dWihT;
        v.carryIn = carryIn;
        v.params = params;
        v.data = data;
        v.steps = steps;
        v.batch = batch;
        v.blockSteps = blockSteps;
        v.forwardDone = forwardDone;
        v.hasLossHead = hasLossHead;
        v.loss = loss;
        v.counted = counted;
        v.lossScale = lossScale;
        v.denseInputs = denseInputs;
        v.classInputs = classInputs;
        v.inputOffset = inputOffset;
        v.generation = generation;
        v.grads = grads;
        v.bp = bp;
        if (d == 1 && shape.bidirectional() && bp != null && bp.dX != null) {
            int n = maxSteps * maxBatch * shape.input();
            if (laneDX == null || laneDX.length < n) laneDX = new float[n];
            else Arrays.fill(laneDX, 0, n, 0f);
            if (laneBp == null) laneBp = new Backprop();
            laneBp.copyFrom(bp);
            laneBp.dX = laneDX;
            laneBp.dXOff = 0;
            v.bp = laneBp;
        }
    }

    /** Lane 1's Backprop: the call's, with dL/dx redirected to {@link #laneDX}. */
    private Backprop laneBp;

    /** The reverse lane's between-layer dL/dx pair (null before the first lane call). */
    float[][] laneGradBelow() { return lanes == null ? null : lanes[1].gradBelow; }

    /** Floats per packed row that a cell keeps for its backward beyond h (and c). */
    static int cacheWidth(Shape s) {
        return switch (s.cell()) {
            case ELMAN -> 0;
            case GRU -> 4 * s.hidden();    // r, z, n and W_hn h + b_hn
            case LSTM -> 4 * s.hidden();   // i, f, g, o
        };
    }

    private void check(String what, long floats) {
        if (floats > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("maxSteps = " + maxSteps + " with batch = " + maxBatch + " and " + shape
                    + " needs " + floats + " floats of " + what + " in one array, expected at most "
                    + (Integer.MAX_VALUE - 16) + "; use checkpointed BPTT or a smaller maxSteps");
        }
    }

    /** The engine that made this workspace (only its calls may use it). */
    public Rnn engine() { return owner; }

    /** The largest batch a call may use. */
    public int maxBatch() { return maxBatch; }

    /** Largest T a call may use; {@link Integer#MAX_VALUE} for a unidirectional inference workspace. */
    public int maxSteps() { return maxSteps; }

    /** True if this workspace keeps the states for a backward pass. */
    public boolean isTraining() { return training; }

    /** T of the last forward pass (0 before any). */
    public int steps() { return forwardDone ? steps : 0; }

    /** B of the last forward pass (0 before any). */
    public int sequences() { return forwardDone ? batch : 0; }

    /** The loss of the last forward pass (summed or averaged as its {@link Loss} said; 0 without one). */
    public double loss() { return loss; }

    /** Positions (t, b) that carried loss in the last forward pass (valid steps, targets not ignored). */
    public long countedPositions() { return counted; }

    /**
     * Copies each sequence's final state (the state after its own last step; for a reverse
     * direction, after t = 0) into {@code out} from {@code offset}: {@code L*D*B*H} floats,
     * PyTorch's h_n layout {@code [layer*D + direction][b][j]}, b in the batch's own order.
     */
    public float[] finalState(float[] out, int offset) {
        return copyFinals(finals, "out", out, offset);
    }

    /** {@link #finalState(float[], int)} into a new array. */
    public float[] finalState() {
        requireForward();
        return finalState(new float[shape.stateBlocks() * batch * shape.hidden()], 0);
    }

    /** Each sequence's final LSTM cell state, as {@link #finalState(float[], int)}. */
    public float[] finalCell(float[] out, int offset) {
        if (finalCells == null) throw new IllegalStateException("finalCell needs an LSTM; this network's cell is " + shape.cell().id());
        return copyFinals(finalCells, "out", out, offset);
    }

    private float[] copyFinals(float[][] src, String name, float[] out, int offset) {
        requireForward();
        int H = shape.hidden(), B = batch;
        Checks.range(name, out, offset, (long) shape.stateBlocks() * B * H, "layers*directions*batch*hidden");
        for (int k = 0; k < shape.stateBlocks(); k++) {
            for (int b = 0; b < B; b++) {
                System.arraycopy(src[k], lengths.rank[b] * H, out, offset + (k * B + b) * H, H);
            }
        }
        return out;
    }

    /**
     * Copies every layer's state after {@code t} steps of the last forward pass ({@code t = 0}:
     * the initial state; a sequence shorter than t gives its final state) into {@code out} from
     * {@code offset}: {@code L*B*H} floats, {@code [layer][b][j]}, b in the batch's own order. For
     * carrying a state from the middle of a pass (truncated BPTT's look-back). Unidirectional
     * networks, training workspaces.
     */
    public float[] stateAt(int t, float[] out, int offset) {
        return copyStates(states, "stateAt", t, out, offset);
    }

    /** The LSTM's cell states after {@code t} steps, as {@link #stateAt}. */
    public float[] cellAt(int t, float[] out, int offset) {
        if (cells == null) throw new IllegalStateException("cellAt needs an LSTM; this network's cell is " + shape.cell().id());
        return copyStates(cells, "cellAt", t, out, offset);
    }

    private float[] copyStates(float[][] src, String what, int t, float[] out, int offset) {
        requireForward();
        if (!training || shape.bidirectional()) {
            throw new IllegalStateException(what + " needs a training workspace of a unidirectional network; this is " + this);
        }
        if (t < 0 || t > steps) throw new IllegalArgumentException("t = " + t + ", expected 0 <= t <= steps() = " + steps);
        int H = shape.hidden(), B = batch;
        Checks.range("out", out, offset, (long) shape.layers() * B * H, "layers*batch*hidden");
        for (int l = 0; l < shape.layers(); l++) {
            for (int b = 0; b < B; b++) {
                int r = lengths.rank[b], step = Math.min(t, lengths.sorted[r]);
                int row = step == 0 ? r : maxBatch + (int) lengths.offset(step - 1) + r;
                System.arraycopy(src[l], row * H, out, offset + (l * B + b) * H, H);
            }
        }
        return out;
    }

    /**
     * Copies the top layer's states h_t of the last forward pass into {@code out} from
     * {@code offset}: {@code T*B*D*H} floats, time-major, both directions side by side (forward
     * first), zero past each sequence's length: PyTorch's {@code output} after
     * {@code pad_packed_sequence}. Training workspaces only (and bidirectional inference ones).
     */
    public float[] outputs(float[] out, int offset) {
        requireForward();
        if (!wholeSequence) {
            throw new IllegalStateException("outputs needs a training workspace; this inference workspace keeps one "
                    + "block of states (use predict for the head's outputs)");
        }
        int H = shape.hidden(), D = shape.directions(), B = batch, T = steps, DH = D * H, top = shape.layers() - 1;
        Checks.range("out", out, offset, (long) T * B * DH, "steps*batch*directions*hidden");
        Arrays.fill(out, offset, offset + T * B * DH, 0f);
        for (int t = 0; t < lengths.maxLength; t++) {
            int q0 = (int) lengths.offset(t), n = lengths.active(t);
            for (int r = 0; r < n; r++) {
                int dst = offset + (t * B + lengths.perm[r]) * DH;
                for (int d = 0; d < D; d++) System.arraycopy(states[top * D + d], (maxBatch + q0 + r) * H, out, dst + d * H, H);
            }
        }
        return out;
    }

    /**
     * Bytes held by this workspace's arrays (what a memory budget should count), including the
     * second lane's own buffers once a call with fewer sequences than threads has made them (a
     * bidirectional network, or a stack run as a wavefront: its block buffers, its
     * between-layer gradients, and dL/dx).
     */
    public long bytes() {
        long lane = 0;
        if (lanes != null) {
            Workspace v = lanes[1];
            lane = v.ownBytes() - 4L * Integer.BYTES * maxBatch + (laneDX == null ? 0 : (long) laneDX.length * Float.BYTES);
        }
        return ownBytes() + lane;
    }

    /** For a lane: its block buffers (everything else is its parent's, counted there). */
    private long ownBytes() {
        if (alone) {
            long floats = 0;
            if (gradBelow != null) for (float[] a : gradBelow) floats += a.length;
            floats += (long) pre.length + gAbove.length + delta.length + xBlock.length + xiBlock.length + yiBlock.length
                    + yfBlock.length + hPrevBlock.length + dXBlock.length + deltaStart.length;
            for (float[] a : new float[][] {aux, auxStart, ghScratch, stepCache}) if (a != null) floats += a.length;
            return floats * Float.BYTES + 4L * Integer.BYTES * maxBatch;
        }
        long floats = 0;
        for (float[][] group : new float[][][] {states, cells, cache, finals, finalCells, packed, biasSum, wihT, deltaCarry,
                gradBelow, dWihT, carryIn, auxCarry, auxIn, recBias}) {
            if (group != null) for (float[] a : group) floats += a.length;
        }
        floats += (long) vT.length + outs.length + pre.length + gAbove.length + delta.length + xBlock.length + xiBlock.length
                + yiBlock.length + yfBlock.length + hPrevBlock.length + dXBlock.length + deltaStart.length + zeros.length;
        for (float[] a : new float[][] {aux, auxStart, ghScratch, stepCache}) if (a != null) floats += a.length;
        return floats * Float.BYTES + 4L * Integer.BYTES * maxBatch;
    }

    /**
     * Bytes a workspace of these sizes takes, without making one (memory plans): what
     * {@link Rnn#trainingWorkspace} or {@link Rnn#inferenceWorkspace} would allocate with kernels
     * that keep {@code packedLength} floats of packed weights per layer and direction, and after
     * a backward pass with class-index inputs (which adds one I x G*H buffer per direction).
     */
    public static long estimateBytes(Shape s, int maxBatch, long maxSteps, boolean training, int packedLength,
                                     boolean classInputs) {
        boolean whole = training || s.bidirectional();
        int block = (int) Math.min(Rnn.stepsPerBlock(maxBatch), whole ? maxSteps : Rnn.MAX_BLOCK_STEPS);
        long blockRows = (long) block * maxBatch, allRows = maxSteps * maxBatch;
        long H = s.hidden(), G = s.gates(), GH = G * H, K = s.stateBlocks(), I = s.input(), O = s.output();
        long DH = s.outputWidth();
        long stateRows = whole ? maxBatch + allRows : maxBatch + blockRows;
        long f = K * stateRows * H * (s.cell().hasCellState() ? 2 : 1);
        if (training) f += K * allRows * cacheWidth(s);
        f += K * maxBatch * H * (s.cell().hasCellState() ? 2 : 1) + K * packedLength + K * GH;
        for (int l = 0; l < s.layers(); l++) f += (long) s.directions() * s.layerInput(l) * GH;
        f += DH * O + (training ? K * maxBatch * GH : 0) + (training ? allRows : blockRows) * O + blockRows * GH;
        if (training) {
            f += blockRows * H + blockRows * GH * (s.cell() == Cell.GRU ? 2 : 1) + blockRows * H + blockRows * I
                    + maxBatch * GH;
            if (s.layers() > 1) f += 2 * (s.bidirectional() ? allRows * DH : blockRows * H);
        }
        f += blockRows * I + 2 * blockRows + blockRows * O + (long) maxBatch * GH;
        if (training && classInputs) f += s.directions() * I * GH;
        if (s.cell() != Cell.ELMAN) {
            if (training) f += blockRows * H + K * maxBatch * H + maxBatch * H;
            else f += maxBatch * 4 * H;
        }
        if (s.cell() == Cell.GRU) f += K * maxBatch * GH + maxBatch * GH;
        return f * Float.BYTES + 4L * Integer.BYTES * maxBatch;
    }

    private void requireForward() {
        if (!forwardDone) throw new IllegalStateException("no forward pass has run on this workspace yet");
    }

    /** Drops the references to the caller's arrays that only one call needs. */
    void clearCallArguments() {
        grads = null;
        bp = null;
    }

    void clearForward() {
        forwardDone = false;
        params = null;
        data = null;
        denseInputs = null;
        classInputs = null;
        hasLossHead = false;
        loss = 0;
        counted = 0;
        steps = 0;
        batch = 0;
    }

    float[] dWihT(int d, int size) {
        if (dWihT == null) dWihT = new float[shape.directions()][];
        if (dWihT[d] == null) dWihT[d] = new float[size];
        else Arrays.fill(dWihT[d], 0f);
        return dWihT[d];
    }

    /** Per layer-direction, in sorted order: what the recursion's aux reads at each sequence's final step. */
    float[] auxIn(int k) {
        if (auxIn == null) auxIn = new float[shape.stateBlocks()][];
        if (auxIn[k] == null) auxIn[k] = new float[maxBatch * shape.hidden()];
        return auxIn[k];
    }

    float[] carryIn(int layer) {
        if (carryIn == null) carryIn = new float[shape.layers()][];
        if (carryIn[layer] == null) carryIn[layer] = new float[maxBatch * shape.gates() * shape.hidden()];
        return carryIn[layer];
    }

    @Override public String toString() {
        return "Workspace[" + (training ? "training" : "inference") + ", maxBatch=" + maxBatch
                + (maxSteps == Integer.MAX_VALUE ? "" : ", maxSteps=" + maxSteps) + ", " + shape + "]";
    }
}
