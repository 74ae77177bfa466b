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
 * and {@code W^T delta_{t+1}} run step by step, fused with the activation.
 *
 * <p>Threads: an engine holds no per-call state and may be shared; each thread needs its own
 * {@link Workspace} and {@link Grads}. {@link Params} are only read and may be shared by any
 * number of threads while no one updates them.
 */
public final class Rnn implements AutoCloseable {

    /** Rows (steps * batch) per block of the hoisted matrix products, when B is small. */
    private static final int BLOCK_ROWS = 128;
    /** Never fewer steps than this per block... */
    private static final int MIN_BLOCK_STEPS = 1;
    /** ...nor more (bounds the workspace for B = 1). */
    private static final int MAX_BLOCK_STEPS = 64;

    private final Shape shape;
    private final Activation activation;
    private final Kernels kernels;
    private final boolean checkFinite;

    private Rnn(Builder b) {
        this.shape = b.shape;
        this.activation = b.activation;
        this.kernels = b.kernels != null ? b.kernels : KernelsLookup.resolve(b.choice);
        this.checkFinite = b.checkFinite;
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
        return new Workspace(shape, batch, maxSteps, true, blockSteps(batch, maxSteps));
    }

    /** A forward-only workspace: O(B*H) memory for any T; no backward. */
    public Workspace inferenceWorkspace(int batch) {
        Checks.positive("batch", batch);
        return new Workspace(shape, batch, 0, false, blockSteps(batch, MAX_BLOCK_STEPS));
    }

    private static int blockSteps(int batch, int maxSteps) {
        int steps = Math.max(MIN_BLOCK_STEPS, Math.min(MAX_BLOCK_STEPS, (BLOCK_ROWS + batch - 1) / batch));
        return Math.min(steps, maxSteps);
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

    private double run(Params params, Workspace ws, int steps, float[] x, int[] xi, int[] yi, float[] yf,
                       float[] h0, float[] outputs, boolean head) {
        final int B = ws.batch, H = shape.hidden(), I = shape.input(), O = shape.output();
        final int bh = B * H;
        final float[] p = params.data();
        final Kernels k = kernels;
        ws.clearForward();
        float[] uT = xi != null ? transposeU(p, ws) : null;

        // h_0 goes to hs[0..bh): the first state of the first block.
        if (h0 != null) System.arraycopy(h0, 0, ws.hs, 0, bh);
        else Arrays.fill(ws.hs, 0, bh, 0f);

        double loss = 0;
        for (int t0 = 0; t0 < steps; t0 += ws.block) {
            final int n = Math.min(ws.block, steps - t0);
            final int rows = n * B;
            // states of this block: training keeps all (h_t at t*bh), inference reuses the
            // block buffer with the block's first state copied to its front.
            final int base = ws.training ? t0 * bh : 0;
            if (!ws.training && t0 > 0) System.arraycopy(ws.hs, ws.block * bh, ws.hs, 0, bh);

            // 1. Input projection for the whole block: pre = U x_t + b.
            float[] pre = ws.work;
            Arrays.fill(pre, 0, rows * H, 0f);
            k.addRowVector(rows, H, p, shape.bOffset(), pre, 0, H);
            if (x != null) {
                k.gemmNT(rows, H, I, x, t0 * B * I, I, p, shape.uOffset(), I, pre, 0, H);
            } else {
                for (int r = 0; r < rows; r++) k.addRowVector(1, H, uT, xi[t0 * B + r] * H, pre, r * H, H);
            }

            // 2. The recurrence, step by step: h_t = act(pre_t + W h_{t-1}).
            for (int s = 0; s < n; s++) {
                k.recurrentForward(activation, B, H, p, shape.wOffset(), ws.hs, base + s * bh, pre, s * bh,
                        ws.hs, base + (s + 1) * bh);
            }

            // 3. Output projection and loss for the block: o_t = V h_t + c.
            if (head || outputs != null) {
                float[] out = outputs != null ? outputs : ws.dy;
                int outOff = outputs != null || ws.training ? t0 * B * O : 0;
                Arrays.fill(out, outOff, outOff + rows * O, 0f);
                k.addRowVector(rows, O, p, shape.cOffset(), out, outOff, O);
                k.gemmNT(rows, O, H, ws.hs, base + bh, H, p, shape.vOffset(), H, out, outOff, O);
                if (head) {
                    // dy = dL/do overwrites the outputs (kept for backward in a training workspace)
                    loss += yi != null
                            ? k.softmaxCrossEntropy(rows, O, out, outOff, yi, t0 * B, ws.dy, outOff)
                            : k.squaredError(rows, O, out, outOff, yf, t0 * B * O, ws.dy, outOff);
                }
            }
        }
        ws.steps = steps;
        ws.denseInputs = x;
        ws.classInputs = xi;
        ws.hasLossHead = head;
        ws.loss = loss;
        ws.finalOffset = ws.training ? steps * bh : (steps - 1) % ws.block * bh + bh;
        ws.forwardDone = true;
        return loss;
    }

    private void back(Params params, Workspace ws, Grads grads, float[] dH, float[] dhT, float[] dX, float[] dh0) {
        final int B = ws.batch, H = shape.hidden(), I = shape.input(), O = shape.output();
        final int bh = B * H, steps = ws.steps;
        final float[] p = params.data(), g = grads.data();
        final Kernels k = kernels;
        final float[] x = ws.denseInputs;
        final int[] xi = ws.classInputs;
        float[] dUT = xi != null ? ws.dUT(I * H) : null;

        // delta_{T+1} = 0; the first block processed (the last in time) starts from it.
        float[] deltaNext = ws.zeros;
        int deltaNextOff = 0;

        int lastBlock = (steps - 1) / ws.block * ws.block;
        for (int t0 = lastBlock; t0 >= 0; t0 -= ws.block) {
            final int n = Math.min(ws.block, steps - t0);
            final int rows = n * B;
            final int hsBlock = t0 * bh;           // h_{t0} .. h_{t0+n-1}: the previous states
            final int hsOut = hsBlock + bh;        // h_{t0+1} .. h_{t0+n}: this block's states

            // 1. The gradient reaching each h_t from above: V^T dy_t and/or the caller's dL/dh_t.
            float[] gAbove = ws.work;
            if (dH != null) System.arraycopy(dH, t0 * bh, gAbove, 0, rows * H);
            else Arrays.fill(gAbove, 0, rows * H, 0f);
            if (ws.hasLossHead) {
                int dyOff = t0 * B * O;
                k.gemmNN(rows, H, O, ws.dy, dyOff, O, p, shape.vOffset(), H, gAbove, 0, H);
                k.gemmTN(O, H, rows, ws.dy, dyOff, O, ws.hs, hsOut, H, g, shape.vOffset(), H);
                k.addColumnSums(rows, O, ws.dy, dyOff, O, g, shape.cOffset());
            }
            if (t0 + n == steps && dhT != null) {
                for (int j = 0; j < bh; j++) gAbove[(n - 1) * bh + j] += dhT[j];
            }

            // 2. The recurrence backwards: delta_t = act'(h_t) * (g_t + W^T delta_{t+1}).
            for (int s = n - 1; s >= 0; s--) {
                k.recurrentBackward(activation, B, H, p, shape.wOffset(), deltaNext, deltaNextOff, gAbove, s * bh,
                        ws.hs, hsOut + s * bh, ws.delta, s * bh);
                deltaNext = ws.delta;
                deltaNextOff = s * bh;
            }

            // 3. Time sums over the block as matrix products.
            k.gemmTN(H, H, rows, ws.delta, 0, H, ws.hs, hsBlock, H, g, shape.wOffset(), H);
            k.addColumnSums(rows, H, ws.delta, 0, H, g, shape.bOffset());
            if (x != null) {
                k.gemmTN(H, I, rows, ws.delta, 0, H, x, t0 * B * I, I, g, shape.uOffset(), I);
                if (dX != null) k.gemmNN(rows, I, H, ws.delta, 0, H, p, shape.uOffset(), I, dX, t0 * B * I, I);
            } else {
                for (int r = 0; r < rows; r++) k.addRowVector(1, H, ws.delta, r * H, dUT, xi[t0 * B + r] * H, H);
            }

            // delta at this block's first step is delta_{t+1} for the block before it.
            System.arraycopy(ws.delta, 0, ws.deltaCarry, 0, bh);
            deltaNext = ws.deltaCarry;
            deltaNextOff = 0;
        }

        // dL/dh_0 = W^T delta_1.
        if (dh0 != null) {
            Arrays.fill(dh0, 0f);
            k.gemmNN(B, H, H, ws.deltaCarry, 0, H, p, shape.wOffset(), H, dh0, 0, H);
        }
        if (dUT != null) {
            int u = shape.uOffset();
            for (int c = 0; c < I; c++) {
                for (int i = 0; i < H; i++) g[u + i * I + c] += dUT[c * H + i];
            }
        }
    }

    private float[] transposeU(float[] p, Workspace ws) {
        int H = shape.hidden(), I = shape.input(), u = shape.uOffset();
        float[] uT = ws.uT(I * H);
        for (int i = 0; i < H; i++) {
            for (int c = 0; c < I; c++) uT[c * H + i] = p[u + i * I + c];
        }
        return uT;
    }

    // ---------------------------------------------------------------- checks, once per call

    private void checkCommon(Params params, Workspace ws, int steps, float[] h0) {
        if (params == null) throw new IllegalArgumentException("params is null, expected Params of " + shape);
        if (!params.shape().equals(shape)) {
            throw new IllegalArgumentException("params.shape() = " + params.shape() + ", expected " + shape);
        }
        if (ws == null) throw new IllegalArgumentException("workspace is null, expected one from trainingWorkspace or inferenceWorkspace");
        if (!ws.shape.equals(shape)) {
            throw new IllegalArgumentException("workspace shape = " + ws.shape + ", expected " + shape
                    + " (a workspace belongs to an engine of one shape)");
        }
        Checks.positive("steps", steps);
        if (ws.training && steps > ws.capacity) {
            throw new IllegalArgumentException("steps = " + steps + ", expected <= the workspace's maxSteps = " + ws.capacity);
        }
        if (h0 != null) {
            Checks.length("h0", h0, (long) ws.batch * shape.hidden(), "batch*hidden");
            if (checkFinite) Checks.finite("h0", h0);
        }
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

    /** Nothing to release yet beyond the engine itself; kept AutoCloseable for worker threads. */
    @Override public void close() {}

    /** Engine settings. */
    public static final class Builder {
        private final Shape shape;
        private Activation activation = Activation.TANH;
        private KernelChoice choice;
        private Kernels kernels;
        private boolean checkFinite;

        private Builder(Shape shape) {
            if (shape == null) throw new IllegalArgumentException("shape is null, expected a Shape(input, hidden, output)");
            this.shape = shape;
            this.choice = KernelsLookup.defaultChoice();
        }

        public Builder activation(Activation a) {
            if (a == null) throw new IllegalArgumentException("activation is null, expected tanh, sigmoid or relu");
            this.activation = a;
            return this;
        }

        /** Kernel path: auto (default, or the {@code recur.kernels} property), scalar or vector. */
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

        public Rnn build() { return new Rnn(this); }
    }
}
