package dev.recur;

/**
 * An independent double-precision Elman RNN for the tests: straight loops over the formulas of
 * DESIGN.md, sharing no code with the main sources (no Activation, no Shape offsets, no kernels).
 *
 * <pre>
 *   a_t = U x_t + W h_{t-1} + b,   h_t = act(a_t),   o_t = V h_t + c
 *   L   = sum_{t,b} L_t  (softmax cross-entropy with int targets, or 1/2 ||o - y||^2)
 *       + sum_{t,b} &lt;dH_t, h_t&gt; + &lt;dhT, h_T&gt;    (layer mode: the caller's dL/dh_t as a linear term)
 * </pre>
 *
 * Batches are time-major: {@code x[t][b][i]}. The activation derivative is taken from the
 * pre-activation (1/cosh^2 a, e^-|a|/(1+e^-|a|)^2, [a &gt; 0]), not from the output as the engine
 * does, so the two formulations are independent.
 */
final class ReferenceRnn {

    /** The reference's own activations, in double. */
    enum Act {
        TANH, SIGMOID, RELU;

        double f(double a) {
            return switch (this) {
                case TANH -> Math.tanh(a);
                case SIGMOID -> a >= 0 ? 1.0 / (1.0 + Math.exp(-a)) : Math.exp(a) / (1.0 + Math.exp(a));
                case RELU -> a > 0 ? a : 0.0;
            };
        }

        /** d act / d a, from the pre-activation. */
        double df(double a) {
            return switch (this) {
                case TANH -> {
                    double ch = Math.cosh(a);
                    yield 1.0 / (ch * ch);
                }
                case SIGMOID -> {
                    double e = Math.exp(-Math.abs(a));
                    yield e / ((1 + e) * (1 + e));
                }
                case RELU -> a > 0 ? 1.0 : 0.0;
            };
        }

        /** The label of the engine's activation with the same name (only the name is used). */
        static Act of(Activation a) { return valueOf(a.name()); }
    }

    final Act act;
    final int nIn, nHid, nOut;
    final double[][] U, W, V;
    final double[] b, c;

    ReferenceRnn(Act act, int nIn, int nHid, int nOut) {
        this.act = act;
        this.nIn = nIn;
        this.nHid = nHid;
        this.nOut = nOut;
        U = new double[nHid][nIn];
        W = new double[nHid][nHid];
        b = new double[nHid];
        V = new double[nOut][nHid];
        c = new double[nOut];
    }

    /**
     * Reads the flat layout U (H x I) | W (H x H) | b (H) | V (O x H) | c (O), row-major, as
     * documented for the engine; offsets are computed here, independently of Shape.
     */
    static ReferenceRnn fromFlat(Act act, int nIn, int nHid, int nOut, float[] p) {
        ReferenceRnn r = new ReferenceRnn(act, nIn, nHid, nOut);
        int k = 0;
        for (int i = 0; i < nHid; i++) for (int j = 0; j < nIn; j++) r.U[i][j] = p[k++];
        for (int i = 0; i < nHid; i++) for (int j = 0; j < nHid; j++) r.W[i][j] = p[k++];
        for (int i = 0; i < nHid; i++) r.b[i] = p[k++];
        for (int i = 0; i < nOut; i++) for (int j = 0; j < nHid; j++) r.V[i][j] = p[k++];
        for (int i = 0; i < nOut; i++) r.c[i] = p[k++];
        if (k != p.length) throw new AssertionError("flat length " + p.length + ", expected " + k);
        return r;
    }

    /** All parameters flattened in the same layout (for finite differences and comparisons). */
    double[] flat() {
        double[] p = new double[nHid * nIn + nHid * nHid + nHid + nOut * nHid + nOut];
        int k = 0;
        for (double[] row : U) for (double v : row) p[k++] = v;
        for (double[] row : W) for (double v : row) p[k++] = v;
        for (double v : b) p[k++] = v;
        for (double[] row : V) for (double v : row) p[k++] = v;
        for (double v : c) p[k++] = v;
        return p;
    }

    /** Writes a flat array back into the matrices. */
    void setFlat(double[] p) {
        int k = 0;
        for (double[] row : U) for (int j = 0; j < row.length; j++) row[j] = p[k++];
        for (double[] row : W) for (int j = 0; j < row.length; j++) row[j] = p[k++];
        for (int j = 0; j < b.length; j++) b[j] = p[k++];
        for (double[] row : V) for (int j = 0; j < row.length; j++) row[j] = p[k++];
        for (int j = 0; j < c.length; j++) c[j] = p[k++];
    }

    /** One problem: inputs (dense or class), targets (class, float or none), h0, dhT, dH. */
    static final class Problem {
        int steps, batch;
        double[][][] x;      // [T][B][I] dense inputs, or null
        int[][] xi;          // [T][B] class inputs, or null
        int[][] yi;          // [T][B] class targets (softmax cross-entropy), or null
        double[][][] yf;     // [T][B][O] float targets (squared error), or null
        double[][] h0;       // [B][H], or null for zeros
        double[][] dhT;      // [B][H] gradient on h_T from later steps, or null
        double[][][] dH;     // [T][B][H] caller's dL/dh_t (layer mode), or null
    }

    /** Everything the reference computes. */
    static final class Result {
        double headLoss;     // the loss head alone (summed over t and b)
        double objective;    // headLoss + <dH, h> + <dhT, h_T>: what the gradients differentiate
        double[][][] a, h, o, dy, delta;   // h[0..T]; a, o, dy, delta [T]
        double[][] dU, dW, dV, dh0;
        double[] db, dc;
        double[][][] dx;     // [T][B][I] for dense inputs
    }

    Result forward(Problem pr) {
        int T = pr.steps, B = pr.batch;
        Result r = new Result();
        r.a = new double[T][B][nHid];
        r.h = new double[T + 1][B][nHid];
        r.o = new double[T][B][nOut];
        r.dy = new double[T][B][nOut];
        if (pr.h0 != null) for (int s = 0; s < B; s++) r.h[0][s] = pr.h0[s].clone();
        double head = 0, lin = 0;
        for (int t = 0; t < T; t++) {
            for (int s = 0; s < B; s++) {
                double[] hp = r.h[t][s], a = r.a[t][s], h = r.h[t + 1][s], o = r.o[t][s], dy = r.dy[t][s];
                for (int i = 0; i < nHid; i++) {
                    double sum = b[i];
                    if (pr.x != null) {
                        for (int j = 0; j < nIn; j++) sum += U[i][j] * pr.x[t][s][j];
                    } else {
                        sum += U[i][pr.xi[t][s]];
                    }
                    for (int j = 0; j < nHid; j++) sum += W[i][j] * hp[j];
                    a[i] = sum;
                    h[i] = act.f(sum);
                }
                for (int k = 0; k < nOut; k++) {
                    double sum = c[k];
                    for (int j = 0; j < nHid; j++) sum += V[k][j] * h[j];
                    o[k] = sum;
                }
                if (pr.yi != null) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (double v : o) max = Math.max(max, v);
                    double z = 0;
                    for (double v : o) z += Math.exp(v - max);
                    int y = pr.yi[t][s];
                    head += Math.log(z) + max - o[y];
                    for (int k = 0; k < nOut; k++) dy[k] = Math.exp(o[k] - max) / z - (k == y ? 1 : 0);
                } else if (pr.yf != null) {
                    for (int k = 0; k < nOut; k++) {
                        double d = o[k] - pr.yf[t][s][k];
                        head += 0.5 * d * d;
                        dy[k] = d;
                    }
                }
                if (pr.dH != null) for (int i = 0; i < nHid; i++) lin += pr.dH[t][s][i] * h[i];
                if (pr.dhT != null && t == T - 1) for (int i = 0; i < nHid; i++) lin += pr.dhT[s][i] * h[i];
            }
        }
        r.headLoss = head;
        r.objective = head + lin;
        return r;
    }

    /** Forward, then full BPTT. */
    Result run(Problem pr) { return backward(pr, forward(pr)); }

    /** Full BPTT after {@link #forward} of the same problem; fills the gradients of r. */
    Result backward(Problem pr, Result r) {
        int T = pr.steps, B = pr.batch;
        r.delta = new double[T][B][nHid];
        r.dU = new double[nHid][nIn];
        r.dW = new double[nHid][nHid];
        r.db = new double[nHid];
        r.dV = new double[nOut][nHid];
        r.dc = new double[nOut];
        r.dh0 = new double[B][nHid];
        r.dx = pr.x != null ? new double[T][B][nIn] : null;
        for (int s = 0; s < B; s++) {
            double[] next = new double[nHid];       // delta_{t+1}, zero after the last step
            for (int t = T - 1; t >= 0; t--) {
                double[] g = new double[nHid];
                double[] dy = r.dy[t][s], h = r.h[t + 1][s], hp = r.h[t][s], a = r.a[t][s];
                for (int j = 0; j < nHid; j++) {
                    double sum = 0;
                    for (int k = 0; k < nOut; k++) sum += V[k][j] * dy[k];           // V^T dy_t
                    for (int i = 0; i < nHid; i++) sum += W[i][j] * next[i];         // W^T delta_{t+1}
                    if (pr.dH != null) sum += pr.dH[t][s][j];
                    if (pr.dhT != null && t == T - 1) sum += pr.dhT[s][j];
                    g[j] = sum;
                }
                double[] delta = r.delta[t][s];
                for (int j = 0; j < nHid; j++) delta[j] = act.df(a[j]) * g[j];
                for (int k = 0; k < nOut; k++) {
                    r.dc[k] += dy[k];
                    for (int j = 0; j < nHid; j++) r.dV[k][j] += dy[k] * h[j];
                }
                for (int i = 0; i < nHid; i++) {
                    r.db[i] += delta[i];
                    for (int j = 0; j < nHid; j++) r.dW[i][j] += delta[i] * hp[j];
                    if (pr.x != null) {
                        for (int j = 0; j < nIn; j++) r.dU[i][j] += delta[i] * pr.x[t][s][j];
                    } else {
                        r.dU[i][pr.xi[t][s]] += delta[i];
                    }
                }
                if (pr.x != null) {
                    for (int j = 0; j < nIn; j++) {
                        double sum = 0;
                        for (int i = 0; i < nHid; i++) sum += U[i][j] * delta[i];
                        r.dx[t][s][j] = sum;
                    }
                }
                next = delta;
            }
            for (int j = 0; j < nHid; j++) {
                double sum = 0;
                for (int i = 0; i < nHid; i++) sum += W[i][j] * next[i];
                r.dh0[s][j] = sum;
            }
        }
        return r;
    }

    /**
     * The scale a float evaluation's rounding error is proportional to, per gradient: the same
     * sums with every term replaced by its absolute value (Higham: |fl(sum x_i) - sum x_i| &lt;=
     * gamma_n sum |x_i|), taken one level deep. For each step, m_t = act'(a_t) o (|V|^T |dy_t| +
     * |W|^T |delta_{t+1}| + |dH_t| (+ |dhT|)) with the TRUE delta_{t+1}: it bounds |delta_t| and
     * the local rounding of delta_t. The time sums then use m_t in place of delta_t:
     * dW ~ sum_t m_t |h_{t-1}|^T, dU ~ sum_t m_t |x_t|^T, db ~ sum_t m_t, dh0 ~ |W|^T m_1,
     * dx_t ~ |U|^T m_t; and dV ~ sum_t |dy_t| |h_t|^T, dc ~ sum_t |dy_t|.
     *
     * <p>Why one level deep and not the whole recursion in absolute values: |W| is not
     * contractive (its spectral radius is about sqrt(H)/2 for W uniform in +-1/sqrt(H)), so an
     * all-absolute recursion grows like (sqrt(H)/2)^T and would make any tolerance vacuous;
     * the errors themselves propagate through the true Jacobians diag(act') W, which are
     * contractive here. Tests scale their tolerances by these magnitudes so that a gradient entry
     * that is small only because its terms cancel is not held to an impossible relative accuracy.
     * Needs the deltas: runs {@link #backward} first if {@code f} has none. Fills dU..dc, dh0
     * and dx (dense inputs).
     */
    Result magnitudes(Problem pr, Result f) {
        if (f.delta == null) backward(pr, f);
        int T = pr.steps, B = pr.batch;
        Result r = new Result();
        r.dU = new double[nHid][nIn];
        r.dW = new double[nHid][nHid];
        r.db = new double[nHid];
        r.dV = new double[nOut][nHid];
        r.dc = new double[nOut];
        r.dh0 = new double[B][nHid];
        r.dx = pr.x != null ? new double[T][B][nIn] : null;
        for (int s = 0; s < B; s++) {
            double[] m = new double[nHid];
            for (int t = T - 1; t >= 0; t--) {
                double[] dy = f.dy[t][s], h = f.h[t + 1][s], hp = f.h[t][s], a = f.a[t][s];
                double[] next = t + 1 < T ? f.delta[t + 1][s] : new double[nHid];
                for (int j = 0; j < nHid; j++) {
                    double sum = 0;
                    for (int k = 0; k < nOut; k++) sum += Math.abs(V[k][j] * dy[k]);
                    for (int i = 0; i < nHid; i++) sum += Math.abs(W[i][j] * next[i]);
                    if (pr.dH != null) sum += Math.abs(pr.dH[t][s][j]);
                    if (pr.dhT != null && t == T - 1) sum += Math.abs(pr.dhT[s][j]);
                    m[j] = act.df(a[j]) * sum;
                }
                for (int k = 0; k < nOut; k++) {
                    r.dc[k] += Math.abs(dy[k]);
                    for (int j = 0; j < nHid; j++) r.dV[k][j] += Math.abs(dy[k] * h[j]);
                }
                for (int i = 0; i < nHid; i++) {
                    r.db[i] += m[i];
                    for (int j = 0; j < nHid; j++) r.dW[i][j] += m[i] * Math.abs(hp[j]);
                    if (pr.x != null) {
                        for (int j = 0; j < nIn; j++) r.dU[i][j] += m[i] * Math.abs(pr.x[t][s][j]);
                    } else {
                        r.dU[i][pr.xi[t][s]] += m[i];
                    }
                }
                if (pr.x != null) {
                    for (int j = 0; j < nIn; j++) {
                        double sum = 0;
                        for (int i = 0; i < nHid; i++) sum += Math.abs(U[i][j]) * m[i];
                        r.dx[t][s][j] = sum;
                    }
                }
                if (t == 0) {
                    for (int j = 0; j < nHid; j++) {
                        double sum = 0;
                        for (int i = 0; i < nHid; i++) sum += Math.abs(W[i][j]) * m[i];
                        r.dh0[s][j] = sum;
                    }
                }
            }
        }
        return r;
    }

    /** The parameter gradient flattened in the engine's layout. */
    static double[] flatGrad(Result r) {
        int nHid = r.dW.length, nIn = r.dU[0].length, nOut = r.dc.length;
        double[] p = new double[nHid * nIn + nHid * nHid + nHid + nOut * nHid + nOut];
        int k = 0;
        for (double[] row : r.dU) for (double v : row) p[k++] = v;
        for (double[] row : r.dW) for (double v : row) p[k++] = v;
        for (double v : r.db) p[k++] = v;
        for (double[] row : r.dV) for (double v : row) p[k++] = v;
        for (double v : r.dc) p[k++] = v;
        return p;
    }
}
