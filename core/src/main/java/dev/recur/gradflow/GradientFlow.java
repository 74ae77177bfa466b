package dev.recur.gradflow;

import dev.recur.Activation;
import dev.recur.Backprop;
import dev.recur.Batch;
import dev.recur.Cell;
import dev.recur.internal.Checks;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.optim.Clipping;

import java.util.Arrays;

/**
 * How much of the last step's loss reaches each earlier state: {@code ||dL_T/dh_t||} for
 * t = T..0, measured with the engine's own BPTT kernels, and the per-step factors
 * {@code ||W^T diag(act'(a_t))||} whose product bounds it.
 *
 * <p>L_T is the softmax cross-entropy of the last step alone, {@code o_T = V h_T + c} against a
 * fixed target. Then {@code dL_T/dh_T = V^T (softmax(o_T) - onehot(target))} and, for {@code t <= T},
 *
 * <pre>
 *   dL_T/dh_{t-1} = W^T diag(act'(a_t)) dL_T/dh_t
 * </pre>
 *
 * so {@code ||dL_T/dh_{t-1}|| <= ||W^T diag(act'(a_t))|| ||dL_T/dh_t|| <= sup|act'| ||W|| ||dL_T/dh_t||}:
 * at most a factor 0.25 ||W|| per step for sigmoid and ||W|| for tanh (the seed's argument).
 *
 * <p>The gated cells have a direct path besides: the LSTM's {@code dL/dc_{t-1} = f_t * dL/dc_t + ...}
 * and the GRU's {@code dL/dh_{t-1} = z_t * dL/dh_t + ...}, so with small weights their gradient
 * decays at about the keep gate's value per step, not at {@code act' ||W||}.
 *
 * <p>How it is measured: one forward pass keeps h_0..h_T (and an LSTM's c_0..c_T); then the sequence is run backwards as
 * one-step chunks, each a {@link Rnn#forward Rnn.forward} from the stored h_{t-1} and a
 * {@link Rnn#backward(Params, Workspace, Grads, Backprop) Rnn.backward} whose incoming final-state gradient is dL_T/dh_t; the dL/dh_0 that
 * backward returns is dL_T/dh_{t-1}. That is exact chunked BPTT, so the parameter gradients it
 * accumulates are the full dL_T/dU, dL_T/dW, dL_T/db (dL_T/dV and dL_T/dc are added from the head),
 * and dL_T/dh_0 equals what a single full-sequence backward returns.
 */
public final class GradientFlow {
    private GradientFlow() {}

    /**
     * The measurement for one activation.
     *
     * @param activation   the non-linearity
     * @param steps        T
     * @param loss         L_T
     * @param dLdh         (T+1)*H floats: dL_T/dh_t at {@code t*H}, t = 0..T
     * @param gradNorm     T+1 norms by lag: {@code gradNorm[k] = ||dL_T/dh_{T-k}||}, k = 0..T
     *                     (k = T is dL_T/dh_0, the gradient on the initial state)
     * @param factorNorm   T norms by lag: {@code factorNorm[k] = ||W^T diag(act'(a_t))||_2}, t = T-k,
     *                     the factor that takes dL_T/dh_t to dL_T/dh_{t-1} (lag k to lag k+1); for
     *                     the gated cells the mean keep gate of step t instead (the LSTM's forget
     *                     gate f_t, the GRU's update gate z_t), the factor on their direct path
     * @param wNorm        ||W||_2 (of W_hh, all gate rows, for the gated cells)
     * @param grads        dL_T/d(U, W, b, V, c)
     * @param firstNonFiniteStep the first t whose forward state h_t has a NaN or infinity, -1 if none
     * @param fit          the rate fit over lags 0..T-1
     * @param cell         the cell: Elman (then {@code activation} is its non-linearity), GRU or LSTM
     * @param cellGradNorm an LSTM's {@code ||dL_T/dc_{T-lag}||} by lag (0 at lag 0: the loss sees
     *                     c_T only through h_T, which step T's own backward takes care of); null
     *                     for the other cells
     * @param cellFit      the rate fit of cellGradNorm over lags 1..T-1 (null without it)
     */
    public record Flow(Activation activation, int steps, double loss, float[] dLdh, double[] gradNorm,
                       double[] factorNorm, double wNorm, Grads grads, int firstNonFiniteStep, RateFit fit,
                       Cell cell, double[] cellGradNorm, RateFit cellFit) {

        /**
         * The gradient norm {@code lag} steps back from the last.
         *
         * @param lag steps back, {@code 0 <= lag <= T}
         * @return {@code ||dL_T/dh_{T-lag}||}
         * @throws ArrayIndexOutOfBoundsException if {@code lag} is outside [0, T]
         */
        public double gradNorm(int lag) { return gradNorm[lag]; }

        /** The curve's name: the activation for the Elman cell, else the cell ("lstm", "gru"). */
        public String label() { return cell == Cell.ELMAN ? activation.id() : cell.id(); }

        /**
         * The per-step bound {@code sup|act'| * ||W||}: 0.25||W|| for sigmoid, ||W|| otherwise;
         * NaN for the gated cells, whose per-step factor is their keep gate (see {@code factorNorm}).
         */
        public double stepBound() { return cell == Cell.ELMAN ? Derivatives.supremum(activation) * wNorm : Double.NaN; }

        /** Global L2 norm of dL_T/dtheta (all parameters). */
        public double paramGradNorm() { return grads.l2Norm(); }

        /** Clips a copy of the parameter gradient by global norm; the original is left as it is. */
        public Clip clip(double maxNorm) {
            Grads g = Grads.wrap(grads.shape(), grads.data().clone());
            double before = Clipping.byGlobalNorm(g, maxNorm);
            return new Clip(maxNorm, before, g.l2Norm());
        }
    }

    /** Global-norm clipping of dL_T/dtheta: the norm before and after. */
    public record Clip(double maxNorm, double before, double after) {
        /** after / before: the factor every gradient (and every dL_T/dh_t) was scaled by. */
        public double scale() { return before > 0 && Double.isFinite(before) ? after / before : 1.0; }
        /** {@return true when the norm before exceeded {@code maxNorm}, so the gradient was scaled down} */
        public boolean clipped() { return before > maxNorm; }
    }

    /**
     * Measures the flow for {@code engine}'s activation and kernels: one sequence (batch 1) of
     * {@code steps} dense inputs {@code x} (steps*input floats), initial state {@code h0} (hidden
     * floats, null for zeros), L_T against class {@code target}. Any cell; one layer, one
     * direction (an LSTM starts from c_0 = 0).
     */
    public static Flow measure(Rnn engine, Params params, float[] x, int steps, float[] h0, int target) {
        if (engine == null) throw new IllegalArgumentException("engine is null, expected an Rnn");
        Shape shape = engine.shape();
        if (params == null || !params.shape().equals(shape)) {
            throw new IllegalArgumentException("params.shape() = " + (params == null ? "null" : params.shape())
                    + ", expected " + shape);
        }
        if (shape.layers() != 1 || shape.bidirectional() || !shape.hasHead()) {
            throw new IllegalArgumentException("engine.shape() = " + shape + ", expected one layer, one direction and an "
                    + "output head");
        }
        Checks.positive("steps", steps);
        final int H = shape.hidden(), I = shape.input(), O = shape.output();
        final Cell cell = shape.cell();
        final boolean lstm = cell.hasCellState();
        Checks.length("x", x, (long) steps * I, "steps*input");
        if (h0 != null) Checks.length("h0", h0, H, "hidden");
        if (target < 0 || target >= O) {
            throw new IllegalArgumentException("target = " + target + ", expected a class index in [0, output = " + O + ")");
        }
        final Activation act = engine.activation();
        final float[] p = params.data();

        // 1. One forward pass keeps h_0..h_T.
        Workspace full = engine.trainingWorkspace(1, steps);
        engine.forward(params, full, new Batch(1, steps).input(x).initialState(h0));
        float[] hs = new float[(steps + 1) * H];
        if (h0 != null) System.arraycopy(h0, 0, hs, 0, H);
        full.outputs(hs, H);
        float[] cs = lstm ? new float[(steps + 1) * H] : null;
        if (lstm) for (int t = 1; t <= steps; t++) full.cellAt(t, cs, t * H);
        int firstBad = -1;
        for (int t = 1; t <= steps && firstBad < 0; t++) {
            for (int i = 0; i < H; i++) {
                if (!Float.isFinite(hs[t * H + i])) { firstBad = t; break; }
            }
        }

        // 2. The head at T: o = V h_T + c, dy = softmax(o) - onehot, dL_T/dh_T = V^T dy (double).
        double[] o = new double[O];
        int v = shape.headWeights(), c = shape.headBias();
        for (int r = 0; r < O; r++) {
            double s = p[c + r];
            for (int i = 0; i < H; i++) s += (double) p[v + r * H + i] * hs[steps * H + i];
            o[r] = s;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double e : o) max = Math.max(max, e);
        double z = 0;
        double[] dy = new double[O];
        for (int r = 0; r < O; r++) { dy[r] = Math.exp(o[r] - max); z += dy[r]; }
        for (int r = 0; r < O; r++) dy[r] /= z;
        double loss = Math.log(z) + max - o[target];        // -log softmax, stable when o is huge
        dy[target] -= 1;

        float[] dLdh = new float[(steps + 1) * H];
        for (int i = 0; i < H; i++) {
            double s = 0;
            for (int r = 0; r < O; r++) s += (double) p[v + r * H + i] * dy[r];
            dLdh[steps * H + i] = (float) s;
        }

        // 3. Backwards in one-step chunks: each returns dL/dh_0 of its chunk = dL_T/dh_{t-1}.
        Grads grads = Grads.zeros(shape);
        Workspace one = engine.trainingWorkspace(1, 1);
        float[] noStepLoss = new float[H];
        float[] dLdc = lstm ? new float[(steps + 1) * H] : null;   // dL_T/dc_T = 0: c_T reaches L_T only through h_T
        Batch step = new Batch(1, 1);
        Backprop bp = new Backprop().outputGradient(noStepLoss, 0);
        for (int t = steps; t >= 1; t--) {
            step.input(x, (t - 1) * I).initialState(hs, (t - 1) * H);
            bp.finalStateGradient(dLdh, t * H).initialStateGradient(dLdh, (t - 1) * H);
            if (lstm) {
                step.initialCell(cs, (t - 1) * H);
                bp.finalCellGradient(dLdc, t * H).initialCellGradient(dLdc, (t - 1) * H);
            }
            engine.forward(params, one, step);
            engine.backward(params, one, grads, bp);
        }
        // the head's own parameters: dV = dy h_T^T, dc = dy
        float[] g = grads.data();
        for (int r = 0; r < O; r++) {
            g[c + r] += (float) dy[r];
            for (int i = 0; i < H; i++) g[v + r * H + i] += (float) (dy[r] * hs[steps * H + i]);
        }

        // 4. Norms by lag, factor norms, ||W||.
        double[] gradNorm = new double[steps + 1];
        for (int k = 0; k <= steps; k++) gradNorm[k] = norm(dLdh, (steps - k) * H, H);
        RateFit fit = RateFit.of(gradNorm, steps);
        if (cell != Cell.ELMAN) {
            int G = shape.gates();
            double wNorm = Spectral.norm(G * H, H, Spectral.toDouble(p, shape.recurrentWeights(0, 0), G * H * H));
            double[] cellNorm = null;
            RateFit cellFit = null;
            if (lstm) {
                cellNorm = new double[steps + 1];
                for (int k = 0; k <= steps; k++) cellNorm[k] = norm(dLdc, (steps - k) * H, H);
                // lag 0 is 0 by definition (see Flow): the fit starts at lag 1
                cellFit = RateFit.of(Arrays.copyOfRange(cellNorm, 1, steps + 1), steps - 1);
            }
            return new Flow(act, steps, loss, dLdh, gradNorm, keepGates(shape, p, x, hs, steps), wNorm, grads, firstBad,
                    fit, cell, cellNorm, cellFit);
        }
        double[] w = Spectral.toDouble(p, shape.recurrentWeights(0, 0), H * H);
        double wNorm = Spectral.norm(H, H, w);
        double[] factorNorm = new double[steps];
        double[] dw = new double[H * H];
        for (int k = 0; k < steps; k++) {
            int t = steps - k;
            boolean finite = true;
            for (int i = 0; i < H; i++) {
                float h = hs[t * H + i];
                if (!Float.isFinite(h)) { finite = false; break; }
                double d = act.derivativeFromOutput(h);
                for (int j = 0; j < H; j++) dw[i * H + j] = d * w[i * H + j];   // diag(d) W
            }
            // ||W^T diag(d)|| = ||diag(d) W||
            factorNorm[k] = finite ? Spectral.norm(H, H, dw, 0, Spectral.NORM_ITERATIONS) : Double.NaN;
        }
        return new Flow(act, steps, loss, dLdh, gradNorm, factorNorm, wNorm, grads, firstBad, fit, cell, null, null);
    }

    /**
     * The mean keep gate of each step by lag ({@code [k]} for step T-k), in double from the
     * parameters and the stored states: the LSTM's forget gate f (rows H..2H of PyTorch's i, f, g,
     * o), the GRU's update gate z (rows H..2H of r, z, n).
     */
    static double[] keepGates(Shape shape, float[] p, float[] x, float[] hs, int steps) {
        int H = shape.hidden(), I = shape.input();
        int wih = shape.inputWeights(0, 0), whh = shape.recurrentWeights(0, 0);
        int bih = shape.inputBias(0, 0), bhh = shape.recurrentBias(0, 0);
        double[] out = new double[steps];
        for (int k = 0; k < steps; k++) {
            int t = steps - k;
            double sum = 0;
            for (int j = H; j < 2 * H; j++) {
                double a = (bih >= 0 ? p[bih + j] : 0) + (bhh >= 0 ? p[bhh + j] : 0);
                for (int i = 0; i < I; i++) a += (double) p[wih + j * I + i] * x[(t - 1) * I + i];
                for (int i = 0; i < H; i++) a += (double) p[whh + j * H + i] * hs[(t - 1) * H + i];
                sum += 1 / (1 + Math.exp(-a));
            }
            out[k] = sum / H;
        }
        return out;
    }

    static double norm(float[] a, int off, int n) {
        double s = 0;
        for (int k = 0; k < n; k++) s += (double) a[off + k] * a[off + k];
        return Math.sqrt(s);
    }
}
