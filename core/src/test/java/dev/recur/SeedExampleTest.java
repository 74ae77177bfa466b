package dev.recur;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The seed notes' worked example (../shared/seed/bptt-notes.md), T = 3, built term by term in
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
 * and the seed's W expression would be identically zero.
 */
class SeedExampleTest {

    static final int I = 2, H = 3, O = 2, T = 3;

    @ParameterizedTest
    @EnumSource(Activation.class)
    void seedExpressionIsTheK1SliceOfTheExactGradient(Activation act) {
        Fixture f = pick(act);
        ReferenceRnn ref = f.reference();
        ReferenceRnn.Problem pr = f.problem(true);
        ReferenceRnn.Result r = ref.run(pr);

        // per-step pieces, t = 1..3 at index t (index 0 unused except h[0] = h0)
        double[][] dLdh = new double[T + 1][];
        double[][][] jac = new double[T + 1][][];
        double[][] dact = new double[T + 1][H];
        double[][] hPrev = new double[T + 1][], x = new double[T + 1][];
        for (int t = 1; t <= T; t++) {
            double[] dy = r.dy[t - 1][0];
            dLdh[t] = new double[H];
            for (int j = 0; j < H; j++) for (int k = 0; k < O; k++) dLdh[t][j] += ref.V[k][j] * dy[k];
            for (int j = 0; j < H; j++) dact[t][j] = ref.act.df(r.a[t - 1][0][j]);
            jac[t] = new double[H][H];
            for (int p = 0; p < H; p++) for (int q = 0; q < H; q++) jac[t][p][q] = dact[t][p] * ref.W[p][q];
            hPrev[t] = r.h[t - 1][0];
            x[t] = pr.x[t - 1][0];
        }

        // ---- W ----
        // the seed's three terms, k = 1 throughout
        double[][] term1 = slice(dLdh[1], dact[1], hPrev[1]);
        double[][] term2 = slice(rowTimes(dLdh[2], jac[2]), dact[1], hPrev[1]);
        double[][] term3 = slice(rowTimes(rowTimes(dLdh[3], jac[3]), jac[2]), dact[1], hPrev[1]);
        double[][] seedW = add(add(term1, term2), term3);
        // (a) = the k = 1 slice of the exact gradient, from BPTT: delta_1 h_0^T
        double[][] bpttK1 = outer(r.delta[0][0], r.h[0][0]);
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
        assertClose(r.dW, exactW, 1e-12, "full double sum vs BPTT dW");
        assertClose(sliceW[1], seedW, 1e-12, "the k = 1 slice of the double sum is the seed's expression");
        for (int k = 1; k <= T; k++) assertClose(outer(r.delta[k - 1][0], r.h[k - 1][0]), sliceW[k], 1e-12, "slice " + k);
        double[][] missing = add(sliceW[2], sliceW[3]);
        assertTrue(norm(missing) > 0.05 * norm(exactW), "the k = 2, 3 slices the seed misses are far from zero: "
                + norm(missing) + " vs " + norm(exactW));
        assertClose(r.dW, add(seedW, missing), 1e-12, "seed + slices 2, 3 = exact dW");

        // ---- U (the seed's second "V" block) ----
        double[][] u1 = slice(dLdh[1], dact[1], x[1]);
        double[][] u2 = slice(rowTimes(dLdh[2], jac[2]), dact[1], x[1]);
        double[][] u3 = slice(rowTimes(rowTimes(dLdh[3], jac[3]), jac[2]), dact[1], x[1]);   // dh3/dh2 dh2/dh1
        double[][] seedU = add(add(u1, u2), u3);
        assertClose(outer(r.delta[0][0], x[1]), seedU, 1e-12, "seed U expression vs delta_1 x_1^T");
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
        assertClose(r.dU, exactU, 1e-12, "full double sum vs BPTT dU");
        assertClose(sliceU[1], seedU, 1e-12, "k = 1 slice of U");
        double[][] missingU = add(sliceU[2], sliceU[3]);
        assertTrue(norm(missingU) > 0.05 * norm(exactU), "U: the k = 2, 3 slices are far from zero");
        assertClose(r.dU, add(seedU, missingU), 1e-12, "seed + slices 2, 3 = exact dU");

        // ---- V: the seed's first formula sum_t dL^t/dO(t) dO(t)/dV has no recursion and is exact ----
        double[][] seedV = new double[O][H];
        for (int t = 1; t <= T; t++) seedV = add(seedV, outer(r.dy[t - 1][0], r.h[t][0]));
        assertClose(r.dV, seedV, 1e-12, "V");

        // ---- finite differences: the exact gradient is the derivative, the seed's is not ----
        double[][] fdW = new double[H][H], fdU = new double[H][I];
        double eps = 1e-6;
        for (int p = 0; p < H; p++) {
            for (int q = 0; q < H; q++) {
                double keep = ref.W[p][q];
                ref.W[p][q] = keep + eps;
                double lp = ref.forward(pr).headLoss;
                ref.W[p][q] = keep - eps;
                double lm = ref.forward(pr).headLoss;
                ref.W[p][q] = keep;
                fdW[p][q] = (lp - lm) / (2 * eps);
            }
            for (int q = 0; q < I; q++) {
                double keep = ref.U[p][q];
                ref.U[p][q] = keep + eps;
                double lp = ref.forward(pr).headLoss;
                ref.U[p][q] = keep - eps;
                double lm = ref.forward(pr).headLoss;
                ref.U[p][q] = keep;
                fdU[p][q] = (lp - lm) / (2 * eps);
            }
        }
        assertClose(fdW, exactW, 1e-7, "finite differences vs exact dW");
        assertClose(fdU, exactU, 1e-7, "finite differences vs exact dU");
        assertFar(fdW, seedW, 0.05, "the seed's dW is not the derivative");
        assertFar(fdU, seedU, 0.05, "the seed's dU is not the derivative");

        // ---- the engine computes the exact gradient, not the seed's ----
        Shape shape = f.shape();
        Rnn rnn = Fixture.engine(shape, act, KernelChoice.SCALAR);
        Params params = Params.wrap(shape, f.params.clone());
        Workspace ws = rnn.trainingWorkspace(1, T);
        Grads grads = Grads.zeros(shape);
        f.forward(rnn, params, ws);
        rnn.backward(params, ws, grads);
        ReferenceRnn.Result m = ref.magnitudes(pr, r);
        double tol = Fixture.U_FLOAT * (I + H + O + T + 8);
        assertNull(Fixture.compare("engine dW", Fixture.slice(grads.data(), f.wOff(), H * H), Fixture.flat(exactW),
                Fixture.flat(m.dW), tol));
        assertNull(Fixture.compare("engine dU", Fixture.slice(grads.data(), f.uOff(), H * I), Fixture.flat(exactU),
                Fixture.flat(m.dU), tol));
        assertFar(toMatrix(grads.data(), f.wOff(), H, H), seedW, 0.05,
                "the engine's dW is not the seed's");
    }

    /** A fixture with h0 != 0; for relu, pre-activations away from 0 and some units active at every step. */
    private static Fixture pick(Activation act) {
        for (long seed = 1; seed < 500; seed++) {
            Fixture f = new Fixture(I, H, O, T, 1, act, true, true, true, seed);
            ReferenceRnn.Result r = f.reference().forward(f.problem(true));
            boolean ok = true;
            for (int t = 0; t < T && ok; t++) {
                int active = 0;
                for (double a : r.a[t][0]) {
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

    static double norm(double[][] a) { return Fixture.norm(Fixture.flat(a)); }

    static double[][] toMatrix(float[] d, int off, int rows, int cols) {
        double[][] m = new double[rows][cols];
        for (int p = 0; p < rows; p++) for (int q = 0; q < cols; q++) m[p][q] = d[off + p * cols + q];
        return m;
    }

    static void assertClose(double[][] want, double[][] got, double tol, String what) {
        double e = Fixture.relErr(Fixture.flat(got), Fixture.flat(want));
        assertTrue(e <= tol, what + ": relative error " + e + " > " + tol);
    }

    static void assertFar(double[][] a, double[][] b, double min, String what) {
        double e = Fixture.relErr(Fixture.flat(b), Fixture.flat(a));
        assertTrue(e >= min, what + ": relative difference only " + e);
    }
}
