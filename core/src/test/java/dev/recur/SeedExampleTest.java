package dev.recur;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.reference.ReferenceNetwork;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The seed notes' worked example (the BPTT notes the project started from; see docs/design.md), T = 3, built term by term in
 * double from explicit Jacobians:
 *
 * <pre>
 *   dL^t/dh(t)           = V^T dy_t                      (the seed's dL/dy^ dy^/dO dO/dh)
 *   dh(t)/dh(t-1)  = J_t = diag(act'(a_t)) W
 *   dh(k)/dW  (k-slice)  : the immediate partial through step k, g -&gt; (g o act'(a_k)) h_{k-1}^T
 *   dh(k)/dU  (k-slice)  : g -&gt; (g o act'(a_k)) x_k^T
 * </pre>
 *
 * The seed writes, for W,
 * {@code dL1/dh1 dh1/dW + dL2/dh2 dh2/dh1 dh1/dW + dL3/dh3 dh3/dh2 [dh1/dh1] dh1/dW}, the bracket
 * being a typo for dh(2)/dh(1); its second "V" block is really U, with the slips
 * {@code dh2/dh2 dh1/dh1} for {@code dh3/dh2 dh2/dh1} in its last term. Shown here:
 * <ol>
 *   <li>(a) the seed's expression (typos corrected) equals the k = 1 slice of the exact gradient,
 *       delta_1 h_0^T (resp. delta_1 x_1^T) taken from the reference's BPTT, a different
 *       computation; read literally (dh1/dh1 = identity) the third term is wrong;</li>
 *   <li>(b) the exact gradient is the full double sum over t and k &lt;= t: the seed's
 *       expression misses the k = 2, 3 slices, which are far from zero, and adding them gives the
 *       reference's BPTT gradient, which finite differences and the engine confirm.</li>
 * </ol>
 * h0 is non-zero on purpose: with h0 = 0 the k = 1 slice of dL/dW is 0 (dh1/dW involves h0)
 * and the seed's W expression would be identically zero. The per-step quantities (states,
 * pre-activations, dL/do_t, the deltas) come from {@link ReferenceNetwork}; the Jacobians and the
 * sums over paths are built here.
 */
class SeedExampleTest {

    static final int I = 2, H = 3, O = 2, T = 3;

    @ParameterizedTest
    @EnumSource(Activation.class)
    void seedExpressionIsTheK1SliceOfTheExactGradient(Activation act) {
        NetFixture f = pick(act);
        ReferenceNetwork ref = f.reference();
        ReferenceNetwork.Problem pr = f.problem();
        ReferenceNetwork.Result r = ref.run(pr);
        double[] V = ref.params.get("V"), W = ref.params.get("W");
        ReferenceNetwork.Nonlinearity nl = ReferenceNetwork.Nonlinearity.parse(act.id());

        // per-step pieces, t = 1..3 at index t (index 0 unused except h[0] = h0)
        double[][] dLdh = new double[T + 1][];
        double[][][] jac = new double[T + 1][][];
        double[][] dact = new double[T + 1][H];
        double[][] hPrev = new double[T + 1][], x = new double[T + 1][], h = new double[T + 1][];
        h[0] = pr.h0[0][0];
        for (int t = 1; t <= T; t++) h[t] = r.outputs[t - 1][0];
        for (int t = 1; t <= T; t++) {
            double[] dy = r.dlogits[t - 1][0];
            dLdh[t] = new double[H];
            for (int j = 0; j < H; j++) for (int k = 0; k < O; k++) dLdh[t][j] += V[k * H + j] * dy[k];
            for (int j = 0; j < H; j++) dact[t][j] = derivative(nl, r.pre[0][t - 1][0][j]);
            jac[t] = new double[H][H];
            for (int p = 0; p < H; p++) for (int q = 0; q < H; q++) jac[t][p][q] = dact[t][p] * W[p * H + q];
            hPrev[t] = h[t - 1];
            x[t] = pr.x[t - 1][0];
        }
        double[][] delta = new double[T + 1][];
        for (int t = 1; t <= T; t++) delta[t] = r.dpre[0][t - 1][0];
        double[][] dW = toMatrix(r.grads.get("W"), H, H), dU = toMatrix(r.grads.get("U"), H, I), dV = toMatrix(r.grads.get("V"), O, H);

        // ---- W ----
        // the seed's three terms, k = 1 throughout
        double[][] term1 = slice(dLdh[1], dact[1], hPrev[1]);
        double[][] term2 = slice(rowTimes(dLdh[2], jac[2]), dact[1], hPrev[1]);
        double[][] term3 = slice(rowTimes(rowTimes(dLdh[3], jac[3]), jac[2]), dact[1], hPrev[1]);
        double[][] seedW = add(add(term1, term2), term3);
        // (a) = the k = 1 slice of the exact gradient, from BPTT: delta_1 h_0^T
        double[][] bpttK1 = outer(delta[1], h[0]);
        assertTrue(norm(bpttK1) > 1e-3, "the k = 1 slice is not zero (h0 != 0)");
        assertClose(bpttK1, seedW, 1e-12, "seed W expression vs delta_1 h_0^T");
        // read literally, dh(1)/dh(1) = identity, the third term is a different (wrong) matrix
        double[][] literal3 = slice(rowTimes(dLdh[3], jac[3]), dact[1], hPrev[1]);
        assertFar(add(add(term1, term2), literal3), seedW, 1e-3, "the typo dh1/dh1 matters");

        // (b) the exact gradient: sum over t and k <= t
        double[][] exactW = new double[H][H];
        double[][][] sliceW = new double[T + 1][H][H];
        for (int t = 1; t <= T; t++) {
            double[] g = dLdh[t];
            for (int k = t; k >= 1; k--) {
                if (k < t) g = rowTimes(g, jac[k + 1]);          // dL^t/dh(t) dh(t)/dh(t-1) ... dh(k+1)/dh(k)
                double[][] s = slice(g, dact[k], hPrev[k]);
                sliceW[k] = add(sliceW[k], s);
                exactW = add(exactW, s);
            }
        }
        assertClose(dW, exactW, 1e-12, "full double sum vs BPTT dW");
        assertClose(sliceW[1], seedW, 1e-12, "the k = 1 slice of the double sum is the seed's expression");
        for (int k = 1; k <= T; k++) assertClose(outer(delta[k], h[k - 1]), sliceW[k], 1e-12, "slice " + k);
        double[][] missing = add(sliceW[2], sliceW[3]);
        assertTrue(norm(missing) > 0.05 * norm(exactW), "the k = 2, 3 slices the seed misses are far from zero: "
                + norm(missing) + " vs " + norm(exactW));
        assertClose(dW, add(seedW, missing), 1e-12, "seed + slices 2, 3 = exact dW");

        // ---- U (the seed's second "V" block) ----
        double[][] u1 = slice(dLdh[1], dact[1], x[1]);
        double[][] u2 = slice(rowTimes(dLdh[2], jac[2]), dact[1], x[1]);
        double[][] u3 = slice(rowTimes(rowTimes(dLdh[3], jac[3]), jac[2]), dact[1], x[1]);   // dh3/dh2 dh2/dh1
        double[][] seedU = add(add(u1, u2), u3);
        assertClose(outer(delta[1], x[1]), seedU, 1e-12, "seed U expression vs delta_1 x_1^T");
        double[][] literalU3 = slice(dLdh[3], dact[1], x[1]);     // dh2/dh2 dh1/dh1 read literally: no Jacobians
        assertFar(add(add(u1, u2), literalU3), seedU, 1e-3, "the slips dh2/dh2 dh1/dh1 matter");
        double[][] exactU = new double[H][I];
        double[][][] sliceU = new double[T + 1][H][I];
        for (int t = 1; t <= T; t++) {
            double[] g = dLdh[t];
            for (int k = t; k >= 1; k--) {
                if (k < t) g = rowTimes(g, jac[k + 1]);
                double[][] s = slice(g, dact[k], x[k]);
                sliceU[k] = add(sliceU[k], s);
                exactU = add(exactU, s);
            }
        }
        assertClose(dU, exactU, 1e-12, "full double sum vs BPTT dU");
        assertClose(sliceU[1], seedU, 1e-12, "k = 1 slice of U");
        double[][] missingU = add(sliceU[2], sliceU[3]);
        assertTrue(norm(missingU) > 0.05 * norm(exactU), "U: the k = 2, 3 slices are far from zero");
        assertClose(dU, add(seedU, missingU), 1e-12, "seed + slices 2, 3 = exact dU");

        // ---- V: the seed's first formula sum_t dL^t/dO(t) dO(t)/dV has no recursion and is exact ----
        double[][] seedV = new double[O][H];
        for (int t = 1; t <= T; t++) seedV = add(seedV, outer(r.dlogits[t - 1][0], h[t]));
        assertClose(dV, seedV, 1e-12, "V");

        // ---- finite differences: the exact gradient is the derivative, the seed's is not ----
        double[][] fdW = new double[H][H], fdU = new double[H][I];
        double eps = 1e-6;
        double[] Wp = ref.params.get("W"), Up = ref.params.get("U");
        for (int p = 0; p < H; p++) {
            for (int q = 0; q < H; q++) fdW[p][q] = centred(ref, pr, Wp, p * H + q, eps);
            for (int q = 0; q < I; q++) fdU[p][q] = centred(ref, pr, Up, p * I + q, eps);
        }
        assertClose(fdW, exactW, 1e-7, "finite differences vs exact dW");
        assertClose(fdU, exactU, 1e-7, "finite differences vs exact dU");
        assertFar(fdW, seedW, 0.05, "the seed's dW is not the derivative");
        assertFar(fdU, seedU, 0.05, "the seed's dU is not the derivative");

        // ---- the engine computes the exact gradient, not the seed's ----
        Shape shape = f.shape;
        Rnn rnn = Rnn.builder(shape).activation(act).kernels(KernelChoice.SCALAR).build();
        Params params = Params.wrap(shape, f.params.clone());
        Workspace ws = rnn.trainingWorkspace(1, T);
        Grads grads = Grads.zeros(shape);
        rnn.forward(params, ws, f.batch());
        rnn.backward(params, ws, grads);
        double tol = NetFixture.U_FLOAT * (I + H + O + T + 8);
        assertNull(compare("engine dW", toMatrix(grads.copyOf("W"), H, H), exactW, r.magnitudes.get("W"), tol));
        assertNull(compare("engine dU", toMatrix(grads.copyOf("U"), H, I), exactU, r.magnitudes.get("U"), tol));
        assertFar(toMatrix(grads.copyOf("W"), H, H), seedW, 0.05, "the engine's dW is not the seed's");
    }

    static double centred(ReferenceNetwork ref, ReferenceNetwork.Problem pr, double[] p, int k, double eps) {
        double keep = p[k];
        p[k] = keep + eps;
        double lp = ref.run(pr).loss;
        p[k] = keep - eps;
        double lm = ref.run(pr).loss;
        p[k] = keep;
        return (lp - lm) / (2 * eps);
    }

    static double derivative(ReferenceNetwork.Nonlinearity nl, double a) {
        return switch (nl) {
            case TANH -> 1 / (Math.cosh(a) * Math.cosh(a));
            case SIGMOID -> {
                double s = 1 / (1 + Math.exp(-a));
                yield s * (1 - s);
            }
            case RELU -> a > 0 ? 1 : 0;
        };
    }

    /** Null when ||got - want|| <= tol * ||magnitude||, else a message. */
    static String compare(String name, double[][] got, double[][] want, double[] magnitude, double tol) {
        double[] g = flat(got), w = flat(want);
        double d = 0;
        for (int k = 0; k < g.length; k++) d += (g[k] - w[k]) * (g[k] - w[k]);
        double scaled = Math.sqrt(d) / NetFixture.norm(magnitude);
        return scaled <= tol ? null : name + ": error/magnitude " + scaled + " > " + tol;
    }

    /** A fixture with h0 != 0; for relu, pre-activations away from 0 and some units active at every step. */
    private static NetFixture pick(Activation act) {
        Shape shape = new Shape(I, H, O);
        for (long seed = 1; seed < 500; seed++) {
            NetFixture f = new NetFixture(shape, act, T, 1, NetFixture.Options.of(true, "xent").withH0(true), seed);
            ReferenceNetwork.Result r = f.reference().run(f.problem());
            boolean ok = true;
            for (int t = 0; t < T && ok; t++) {
                int active = 0;
                for (double a : r.pre[0][t][0]) {
                    if (Math.abs(a) < 1e-3) ok = false;
                    if (a > 0) active++;
                }
                if (act == Activation.RELU && active < 2) ok = false;
            }
            if (ok) return f;
        }
        throw new AssertionError("no seed");
    }

    // ---- small dense linear algebra, in double ----

    /** The k-slice contraction: (g o act'(a_k)) v^T. */
    static double[][] slice(double[] g, double[] dact, double[] v) {
        double[][] m = new double[g.length][v.length];
        for (int p = 0; p < g.length; p++) for (int q = 0; q < v.length; q++) m[p][q] = g[p] * dact[p] * v[q];
        return m;
    }

    /** Row vector times matrix: (g J)[q] = sum_p g[p] J[p][q]. */
    static double[] rowTimes(double[] g, double[][] j) {
        double[] r = new double[j[0].length];
        for (int p = 0; p < g.length; p++) for (int q = 0; q < r.length; q++) r[q] += g[p] * j[p][q];
        return r;
    }

    static double[][] outer(double[] a, double[] b) {
        double[][] m = new double[a.length][b.length];
        for (int p = 0; p < a.length; p++) for (int q = 0; q < b.length; q++) m[p][q] = a[p] * b[q];
        return m;
    }

    static double[][] add(double[][] a, double[][] b) {
        double[][] m = new double[a.length][a[0].length];
        for (int p = 0; p < a.length; p++) for (int q = 0; q < a[0].length; q++) m[p][q] = a[p][q] + b[p][q];
        return m;
    }

    static double norm(double[][] a) { return NetFixture.norm(flat(a)); }

    static double[] flat(double[][] a) {
        double[] f = new double[a.length * a[0].length];
        for (int p = 0; p < a.length; p++) System.arraycopy(a[p], 0, f, p * a[0].length, a[0].length);
        return f;
    }

    static double[][] toMatrix(double[] d, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int p = 0; p < rows; p++) for (int q = 0; q < cols; q++) m[p][q] = d[p * cols + q];
        return m;
    }

    static double[][] toMatrix(float[] d, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int p = 0; p < rows; p++) for (int q = 0; q < cols; q++) m[p][q] = d[p * cols + q];
        return m;
    }

    static void assertClose(double[][] want, double[][] got, double tol, String what) {
        double e = NetFixture.relErr(flat(got), flat(want));
        assertTrue(e <= tol, what + ": relative error " + e + " > " + tol);
    }

    static void assertFar(double[][] a, double[][] b, double min, String what) {
        double e = NetFixture.relErr(flat(b), flat(a));
        assertTrue(e >= min, what + ": relative difference only " + e);
    }
}
