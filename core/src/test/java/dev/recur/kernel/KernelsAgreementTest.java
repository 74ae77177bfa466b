package dev.recur.kernel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import dev.recur.Activation;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Every {@link Kernels} method: {@link VectorKernels} and {@link ScalarKernels} against a
 * double-precision loop written here, on sizes around the lane count (and 1, 2, 3, 255, 257),
 * with nonzero offsets, leading dimensions wider than the rows, outputs that start nonzero
 * (every product accumulates) and guard values around every output that must stay untouched
 * (masked tails must not write past a row).
 *
 * <p>Tolerance: for an output {@code c0 + sum of k products}, any float evaluation order, with
 * or without FMA, is within {@code gamma(k+1) * (|c0| + sum |terms|)} of the exact value, where
 * {@code gamma(n) = n u / (1 - n u)} and {@code u = 2^-24} (Higham, Accuracy and Stability,
 * 3.1). That worst-case bound is what {@link #check} uses, times 1.5 for the float inputs'
 * own rounding in the reference and elementwise steps; it cannot be met by a result that
 * misses or doubles a term (see {@link #checkerCatchesOneMissingTerm}), and it grows with k
 * so it is not flaky at k = 257. The activations add a few ulp of the result each (the
 * vector tanh/exp are polynomial, see {@link #activationsAreAccurateOverTheirRange}).
 */
class KernelsAgreementTest {

    private static final Kernels VEC = VectorKernels.INSTANCE;
    private static final Kernels SCA = ScalarKernels.INSTANCE;
    private static final Kernels[] BOTH = {SCA, VEC};
    private static final double U = 0x1p-24;

    private static final int[] SIZES = {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 64, 255, 257};
    private static final int[] SMALL = {1, 2, 3, 7, 8, 9, 16, 17, 33};
    private static final int[] KS = {1, 5, 9, 64, 65};
    private static final float GUARD = 12345.678f;

    private final Random rnd = new Random(20240611);

    // ---------------------------------------------------------------- helpers

    /** A matrix region inside a larger array: offset, leading dimension, guard values around. */
    private final class Mat {
        final int rows, cols, off, ld;
        final float[] data;

        Mat(int rows, int cols) {
            this.rows = rows;
            this.cols = cols;
            this.off = 1 + rnd.nextInt(5);
            this.ld = cols + rnd.nextInt(4);
            this.data = new float[off + Math.max(0, rows - 1) * ld + cols + 1 + rnd.nextInt(3)];
            Arrays.fill(data, GUARD);
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < cols; j++) data[off + i * ld + j] = rnd.nextFloat() * 2 - 1;
            }
        }

        /** Dense rows (ld == cols), as the recurrence and loss kernels take them. */
        Mat dense() {
            float[] d = new float[off + rows * cols + 2];
            Arrays.fill(d, GUARD);
            for (int i = 0; i < rows; i++) System.arraycopy(data, off + i * ld, d, off + i * cols, cols);
            return new Mat(rows, cols, off, cols, d);
        }

        private Mat(int rows, int cols, int off, int ld, float[] data) {
            this.rows = rows;
            this.cols = cols;
            this.off = off;
            this.ld = ld;
            this.data = data;
        }

        double get(int i, int j) { return data[off + i * ld + j]; }

        Mat copy() { return new Mat(rows, cols, off, ld, data.clone()); }
    }

    /**
     * Asserts |got - ref| <= 1.5 gamma(k+1) absSum + extra for each element of the region and
     * that everything outside the region is bitwise unchanged from {@code before}.
     */
    private static void check(String what, Mat got, Mat before, double[][] ref, double[][] absSum, int k,
                              double extraUlps) {
        String err = firstError(got, before, ref, absSum, k, extraUlps);
        if (err != null) fail(what + ": " + err);
    }

    private static String firstError(Mat got, Mat before, double[][] ref, double[][] absSum, int k, double extraUlps) {
        double g = (k + 1) * U / (1 - (k + 1) * U);
        boolean[] inside = new boolean[got.data.length];
        for (int i = 0; i < got.rows; i++) {
            for (int j = 0; j < got.cols; j++) {
                int idx = got.off + i * got.ld + j;
                inside[idx] = true;
                double v = got.data[idx];
                double tol = 1.5 * g * absSum[i][j] + extraUlps * U * Math.abs(ref[i][j]) + Double.MIN_NORMAL;
                if (!(Math.abs(v - ref[i][j]) <= tol)) {
                    return "element (" + i + "," + j + ") = " + v + ", expected " + ref[i][j] + " +- " + tol;
                }
            }
        }
        for (int idx = 0; idx < got.data.length; idx++) {
            if (!inside[idx] && Float.floatToRawIntBits(got.data[idx]) != Float.floatToRawIntBits(before.data[idx])) {
                return "wrote outside the output region at index " + idx;
            }
        }
        return null;
    }

    private static String dims(Kernels k, int m, int n, int p) { return k.name() + " m=" + m + " n=" + n + " k=" + p; }

    // ---------------------------------------------------------------- products

    /** Reference for C += op(A) op(B), in double, with the sum of absolute terms. */
    private interface Entry { double get(int i, int p); }

    private static double[][][] refProduct(Mat c, int k, Entry a, Entry b) {
        double[][] ref = new double[c.rows][c.cols], abs = new double[c.rows][c.cols];
        for (int i = 0; i < c.rows; i++) {
            for (int j = 0; j < c.cols; j++) {
                double s = c.get(i, j), t = Math.abs(s);
                for (int p = 0; p < k; p++) {
                    double x = a.get(i, p) * b.get(p, j);
                    s += x;
                    t += Math.abs(x);
                }
                ref[i][j] = s;
                abs[i][j] = t;
            }
        }
        return new double[][][] {ref, abs};
    }

    private void checkGemmNT(int m, int n, int k) {
        Mat a = new Mat(m, k), b = new Mat(n, k), c0 = new Mat(m, n);
        double[][][] r = refProduct(c0, k, a::get, (p, j) -> b.get(j, p));
        for (Kernels kk : BOTH) {
            Mat c = c0.copy();
            kk.gemmNT(m, n, k, a.data, a.off, a.ld, b.data, b.off, b.ld, c.data, c.off, c.ld);
            check("gemmNT " + dims(kk, m, n, k), c, c0, r[0], r[1], k, 0);
        }
    }

    private void checkGemmNN(int m, int n, int k) {
        Mat a = new Mat(m, k), b = new Mat(k, n), c0 = new Mat(m, n);
        double[][][] r = refProduct(c0, k, a::get, b::get);
        for (Kernels kk : BOTH) {
            Mat c = c0.copy();
            kk.gemmNN(m, n, k, a.data, a.off, a.ld, b.data, b.off, b.ld, c.data, c.off, c.ld);
            check("gemmNN " + dims(kk, m, n, k), c, c0, r[0], r[1], k, 0);
        }
    }

    private void checkGemmTN(int m, int n, int k) {
        Mat a = new Mat(k, m), b = new Mat(k, n), c0 = new Mat(m, n);
        double[][][] r = refProduct(c0, k, (i, p) -> a.get(p, i), b::get);
        for (Kernels kk : BOTH) {
            Mat c = c0.copy();
            kk.gemmTN(m, n, k, a.data, a.off, a.ld, b.data, b.off, b.ld, c.data, c.off, c.ld);
            check("gemmTN " + dims(kk, m, n, k), c, c0, r[0], r[1], k, 0);
        }
    }

    @Test
    void gemmsAgreeOnAwkwardShapes() {
        for (int m : SMALL) {
            for (int n : SMALL) {
                for (int k : KS) {
                    checkGemmNT(m, n, k);
                    checkGemmNN(m, n, k);
                    checkGemmTN(m, n, k);
                }
            }
        }
    }

    @Test
    void gemmsAgreeOnLargeShapes() {
        int[][] shapes = {{255, 257, 5}, {257, 31, 65}, {6, 255, 257}, {5, 257, 64}, {257, 3, 300}, {9, 40, 600}, {64, 15, 64}};
        for (int[] s : shapes) {
            checkGemmNT(s[0], s[1], s[2]);
            checkGemmNN(s[0], s[1], s[2]);
            checkGemmTN(s[0], s[1], s[2]);
        }
    }

    /**
     * Shapes that reach every blocked path of {@link VectorKernels}: 6-row and 4-row register
     * tiles, row blocks and reduction blocks of the outer-product family; the 8-row, 4-row and
     * 1-row GEMV tiles against the 4 x 2 tile of gemmNT. Each row of a many-row call must be
     * bitwise the row computed alone (the one-row paths), and within tolerance of the reference.
     */
    @Test
    void blockedPathsMatchSingleRowsBitForBit() {
        int l = VectorKernels.lanes();
        int narrow = 6 * l + l + 3;   // 2L panels, one full vector, a masked tail
        int wide = 1024 + 2 * l + l + 3;   // past one block of packed B panels (1024 columns)
        for (int[] mkn : new int[][] {{131, 300, narrow}, {17, 64, narrow}, {10, 9, narrow}, {13, 20, wide}}) {
            int m = mkn[0], k = mkn[1], n = mkn[2];
            checkGemmNN(m, n, k);
            checkGemmTN(m, n, k);
            Mat a = new Mat(m, k), at = new Mat(k, m), b = new Mat(k, n), c0 = new Mat(m, n);
            for (Kernels kk : BOTH) {
                Mat all = c0.copy(), one = c0.copy();
                kk.gemmNN(m, n, k, a.data, a.off, a.ld, b.data, b.off, b.ld, all.data, all.off, all.ld);
                for (int i = 0; i < m; i++) {
                    kk.gemmNN(1, n, k, a.data, a.off + i * a.ld, a.ld, b.data, b.off, b.ld, one.data, one.off + i * one.ld, one.ld);
                }
                assertArrayEquals(all.data, one.data, "gemmNN rows " + dims(kk, m, n, k));
                all = c0.copy();
                one = c0.copy();
                kk.gemmTN(m, n, k, at.data, at.off, at.ld, b.data, b.off, b.ld, all.data, all.off, all.ld);
                for (int i = 0; i < m; i++) {
                    kk.gemmTN(1, n, k, at.data, at.off + i, at.ld, b.data, b.off, b.ld, one.data, one.off + i * one.ld, one.ld);
                }
                assertArrayEquals(all.data, one.data, "gemmTN rows " + dims(kk, m, n, k));
            }
        }
        int nt = 70;
        for (int k : new int[] {256, 300, 1100}) {
            int m = 9;
            checkGemmNT(m, nt, k);
            Mat a = new Mat(m, k), b = new Mat(nt, k), c0 = new Mat(m, nt);
            for (Kernels kk : BOTH) {
                Mat all = c0.copy(), one = c0.copy();
                kk.gemmNT(m, nt, k, a.data, a.off, a.ld, b.data, b.off, b.ld, all.data, all.off, all.ld);
                for (int i = 0; i < m; i++) {
                    kk.gemv(nt, k, b.data, b.off, b.ld, a.data, a.off + i * a.ld, one.data, one.off + i * one.ld);
                }
                assertArrayEquals(all.data, one.data, "gemmNT rows = gemv " + dims(kk, m, nt, k));
            }
        }
    }

    @Test
    void gemvAndGemvTAgree() {
        for (int m : SIZES) {
            for (int n : SIZES) {
                Mat a = new Mat(m, n), x = new Mat(1, Math.max(m, n)), y0 = new Mat(1, m), yt0 = new Mat(1, n);
                // y as a 1 x m row: y[i] += sum_j A[i][j] x[j]
                double[][][] r = refProduct(y0, n, (zero, j) -> x.get(0, j), (j, i) -> a.get(i, j));
                double[][][] rt = refProduct(yt0, m, (zero, i) -> x.get(0, i), a::get);
                for (Kernels kk : BOTH) {
                    Mat y = y0.copy();
                    kk.gemv(m, n, a.data, a.off, a.ld, x.data, x.off, y.data, y.off);
                    check("gemv " + dims(kk, m, n, 0), y, y0, r[0], r[1], n, 0);
                    Mat yt = yt0.copy();
                    kk.gemvT(m, n, a.data, a.off, a.ld, x.data, x.off, yt.data, yt.off);
                    check("gemvT " + dims(kk, m, n, 0), yt, yt0, rt[0], rt[1], m, 0);
                }
            }
        }
    }

    /** The tolerance is tight enough to see one product left out (or one extra): it can fail. */
    @Test
    void checkerCatchesOneMissingTerm() {
        int[][] shapes = {{7, 9, 65}, {16, 16, 64}, {3, 257, 5}};
        for (int[] s : shapes) {
            int m = s[0], n = s[1], k = s[2];
            Mat a = new Mat(m, k), b = new Mat(n, k), c0 = new Mat(m, n);
            double[][][] r = refProduct(c0, k, a::get, (p, j) -> b.get(j, p));
            for (Kernels kk : BOTH) {
                Mat c = c0.copy();
                // the last reduction step dropped: what an off-by-one in a tail would do
                kk.gemmNT(m, n, k - 1, a.data, a.off, a.ld, b.data, b.off, b.ld, c.data, c.off, c.ld);
                assertTrue(firstError(c, c0, r[0], r[1], k, 0) != null, "missing term not caught: " + dims(kk, m, n, k));
                Mat d = c0.copy();
                kk.gemmNT(m, n, k, a.data, a.off, a.ld, b.data, b.off, b.ld, d.data, d.off, d.ld);
                assertEquals(null, firstError(d, c0, r[0], r[1], k, 0));
                d.data[d.off + (m - 1) * d.ld + n - 1] = Math.nextUp(Math.nextUp(d.data[d.off + (m - 1) * d.ld + n - 1]))
                        + (float) (1e-3 * r[1][m - 1][n - 1]);
                assertTrue(firstError(d, c0, r[0], r[1], k, 0) != null, "perturbed element not caught");
                Mat e = c0.copy();
                kk.gemmNT(m, n, k, a.data, a.off, a.ld, b.data, b.off, b.ld, e.data, e.off, e.ld);
                e.data[e.off - 1] = 0.5f; // the guard just before the region
                assertTrue(firstError(e, c0, r[0], r[1], k, 0) != null, "write outside the region not caught");
            }
        }
    }

    // ---------------------------------------------------------------- element-wise

    @Test
    void columnSumsAndRowVectorMatchScalarBitForBit() {
        for (int m : SIZES) {
            for (int n : SIZES) {
                if (m * n > 20000) continue;
                Mat a = new Mat(m, n), y0 = new Mat(1, n), x = new Mat(1, n);
                double[][] ref = new double[1][n], abs = new double[1][n];
                for (int j = 0; j < n; j++) {
                    ref[0][j] = y0.get(0, j);
                    abs[0][j] = Math.abs(ref[0][j]);
                    for (int i = 0; i < m; i++) {
                        ref[0][j] += a.get(i, j);
                        abs[0][j] += Math.abs(a.get(i, j));
                    }
                }
                Mat ys = y0.copy(), yv = y0.copy();
                SCA.addColumnSums(m, n, a.data, a.off, a.ld, ys.data, ys.off);
                VEC.addColumnSums(m, n, a.data, a.off, a.ld, yv.data, yv.off);
                check("addColumnSums m=" + m + " n=" + n, yv, y0, ref, abs, m, 0);
                assertArrayEquals(ys.data, yv.data, "addColumnSums: same adds in the same order, m=" + m + " n=" + n);

                Mat c0 = new Mat(m, n), cs = c0.copy(), cv = c0.copy();
                double[][] rc = new double[m][n], ac = new double[m][n];
                for (int i = 0; i < m; i++) {
                    for (int j = 0; j < n; j++) {
                        rc[i][j] = c0.get(i, j) + x.get(0, j);
                        ac[i][j] = Math.abs(c0.get(i, j)) + Math.abs(x.get(0, j));
                    }
                }
                SCA.addRowVector(m, n, x.data, x.off, cs.data, cs.off, cs.ld);
                VEC.addRowVector(m, n, x.data, x.off, cv.data, cv.off, cv.ld);
                check("addRowVector m=" + m + " n=" + n, cv, c0, rc, ac, 1, 0);
                assertArrayEquals(cs.data, cv.data, "addRowVector m=" + m + " n=" + n);
            }
        }
    }

    // ---------------------------------------------------------------- recurrence

    private static double act(Activation a, double x) {
        return switch (a) {
            case TANH -> Math.tanh(x);
            case SIGMOID -> 1 / (1 + Math.exp(-x));
            case RELU -> x > 0 ? x : 0;
        };
    }

    private static double actDeriv(Activation a, double h) {
        return switch (a) {
            case TANH -> 1 - h * h;
            case SIGMOID -> h * (1 - h);
            case RELU -> h > 0 ? 1 : 0;
        };
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void recurrentForwardAgrees(Activation act) {
        for (int h : SIZES) {
            for (int batch : new int[] {1, 2, 3, 4, 5, 9}) {
                if (h > 64 && batch != 1 && batch != 5) continue;
                Mat w = new Mat(h, h).dense(), hp = new Mat(batch, h).dense(), pre = new Mat(batch, h).dense();
                for (int i = 0; i < batch * h; i++) pre.data[pre.off + i] *= 3; // reach the flat parts
                Mat out0 = new Mat(batch, h).dense();
                double[][] ref = new double[batch][h], tol = new double[batch][h];
                double g = 1.5 * (h + 1) * U / (1 - (h + 1) * U);
                for (int r = 0; r < batch; r++) {
                    for (int i = 0; i < h; i++) {
                        double s = pre.get(r, i), t = Math.abs(s);
                        for (int j = 0; j < h; j++) {
                            double x = w.get(i, j) * hp.get(r, j);
                            s += x;
                            t += Math.abs(x);
                        }
                        ref[r][i] = act(act, s);
                        // error of the sum passes through act (slope <= 1), then a few ulp of
                        // the activation itself (relative, plus one ulp of 1 for 1 - 2/(e+1))
                        tol[r][i] = g * t + 8 * U * Math.abs(ref[r][i]) + (act == Activation.RELU ? 0 : 2 * U);
                    }
                }
                for (int form = 0; form < 4; form++) {
                    // scalar and vector, each without and with W^T packed (vector: outer-product form)
                    Kernels kk = BOTH[form / 2];
                    boolean packed = form % 2 == 1;
                    float[] wt = null;
                    if (packed) {
                        wt = new float[kk.packedWeightsLength(h, h)];
                        kk.packTransposedWeights(h, h, w.data, w.off, wt);
                    }
                    Mat out = out0.copy();
                    kk.recurrentForward(act, batch, h, h, w.data, w.off, wt, hp.data, hp.off, pre.data, pre.off, out.data, out.off, false);
                    for (int r = 0; r < batch; r++) {
                        for (int i = 0; i < h; i++) {
                            double v = out.get(r, i);
                            if (!(Math.abs(v - ref[r][i]) <= tol[r][i])) {
                                fail("recurrentForward " + act + " " + kk.name() + (packed ? " packed W^T" : "") + " h=" + h
                                        + " batch=" + batch + " (" + r
                                        + "," + i + ") = " + v + ", expected " + ref[r][i] + " +- " + tol[r][i]);
                            }
                        }
                    }
                    assertGuardsKept(out, out0, batch * h, "recurrentForward " + kk.name());
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void recurrentBackwardAgrees(Activation act) {
        for (int h : SIZES) {
            for (int batch : new int[] {1, 2, 3, 4, 5, 9}) {
                if (h > 64 && batch != 1 && batch != 5) continue;
                Mat w = new Mat(h, h).dense(), dn = new Mat(batch, h).dense(), gIn = new Mat(batch, h).dense();
                Mat hc = new Mat(batch, h).dense();
                for (int i = 0; i < batch * h; i++) {
                    float v = hc.data[hc.off + i];
                    // outputs of the activation: tanh in (-1,1), sigmoid in (0,1), relu >= 0 with zeros
                    hc.data[hc.off + i] = act == Activation.TANH ? v : act == Activation.SIGMOID ? (v + 1) / 2 : Math.max(v, 0f);
                }
                Mat d0 = new Mat(batch, h).dense();
                double[][] ref = new double[batch][h], abs = new double[batch][h];
                for (int r = 0; r < batch; r++) {
                    for (int j = 0; j < h; j++) {
                        double s = gIn.get(r, j), t = Math.abs(s);
                        for (int i = 0; i < h; i++) {
                            double x = w.get(i, j) * dn.get(r, i);
                            s += x;
                            t += Math.abs(x);
                        }
                        double d = actDeriv(act, hc.get(r, j));
                        ref[r][j] = d * s;
                        // the sum's error times |act'| (<= 1), plus act' itself computed in float
                        // (1 - h*h, h*(1-h): absolute error <= 2u, times |sum| <= t)
                        abs[r][j] = t * (Math.abs(d) + 1);
                    }
                }
                for (Kernels kk : BOTH) {
                    Mat d = d0.copy();
                    kk.recurrentBackward(act, batch, h, h, w.data, w.off, null, dn.data, dn.off, gIn.data, gIn.off,
                            hc.data, hc.off, d.data, d.off, false);
                    check("recurrentBackward " + act + " " + dims(kk, batch, h, h), d, d0, ref, abs, h + 1, 2);
                }
            }
        }
    }

    /**
     * W packed once (Kernels#packWeights) gives the backward step bitwise what reading W in place
     * gives, for every batch from the one-row path up, sizes around the panel width (2L) and the
     * K block (256), and W at an offset inside a larger array.
     */
    @Test
    void packedWeightsGiveTheSameBits() {
        int lanes = VectorKernels.lanes();
        for (int h : new int[] {1, 7, 2 * lanes - 1, 2 * lanes, 2 * lanes + 1, 3 * lanes, 33, 255, 257, 300}) {
            for (int batch : new int[] {1, 3, 4, 5, 6, 7, 10, 13}) {
                if (h > 64 && batch > 7) continue;
                Mat w = new Mat(h, h).dense(), dn = new Mat(batch, h).dense(), gIn = new Mat(batch, h).dense();
                Mat hc = new Mat(batch, h).dense(), d0 = new Mat(batch, h).dense();
                for (Kernels kk : BOTH) {
                    float[] packed = new float[kk.packedWeightsLength(h, h)];
                    kk.packWeights(h, h, w.data, w.off, packed);
                    Mat plain = d0.copy(), viaPacked = d0.copy();
                    kk.recurrentBackward(Activation.TANH, batch, h, h, w.data, w.off, null, dn.data, dn.off, gIn.data, gIn.off,
                            hc.data, hc.off, plain.data, plain.off, false);
                    kk.recurrentBackward(Activation.TANH, batch, h, h, w.data, w.off, packed, dn.data, dn.off, gIn.data,
                            gIn.off, hc.data, hc.off, viaPacked.data, viaPacked.off, false);
                    assertArrayEquals(plain.data, viaPacked.data, kk.name() + " packed W, h=" + h + " batch=" + batch);
                    assertFalse(Arrays.equals(plain.data, d0.data), "the step changed nothing");
                }
            }
        }
        // a packed W that was not refreshed after W changed is visible: the packed form is what is read
        int h = 4 * lanes, batch = 6;
        Mat w = new Mat(h, h).dense(), dn = new Mat(batch, h).dense(), gIn = new Mat(batch, h).dense();
        Mat hc = new Mat(batch, h).dense(), d0 = new Mat(batch, h).dense();
        float[] packed = new float[VEC.packedWeightsLength(h, h)];
        VEC.packWeights(h, h, w.data, w.off, packed);
        Mat before = d0.copy(), after = d0.copy();
        VEC.recurrentBackward(Activation.TANH, batch, h, h, w.data, w.off, packed, dn.data, dn.off, gIn.data, gIn.off,
                hc.data, hc.off, before.data, before.off, false);
        w.data[w.off] += 1f;   // W(0, 0): a panel column, not an edge column read in place
        VEC.recurrentBackward(Activation.TANH, batch, h, h, w.data, w.off, packed, dn.data, dn.off, gIn.data, gIn.off,
                hc.data, hc.off, after.data, after.off, false);
        assertArrayEquals(before.data, after.data, "the stale packed copy is read, not W");
    }

    /**
     * The part steps (a thread's share of a row-split step) give bitwise the whole step's values
     * at bounds that are multiples of splitAlignment, with and without packed weights, for every
     * batch, and touch nothing outside their share.
     */
    @Test
    void partStepsGiveTheWholeStepsBits() {
        int lanes = VectorKernels.lanes();
        for (int h : new int[] {1, 7, 2 * lanes, 3 * lanes + 5, 8 * lanes, 9 * lanes + 1, 257, 300}) {
            for (int batch : new int[] {1, 2, 5}) {
                Mat w = new Mat(h, h).dense(), hp = new Mat(batch, h).dense(), pre = new Mat(batch, h).dense();
                Mat gIn = new Mat(batch, h).dense(), hc = new Mat(batch, h).dense();
                for (Kernels kk : BOTH) {
                    int unit = kk.splitAlignment();
                    // cut points: every unit, then a few uneven shares (always whole units)
                    int[][] cuts = {{0, h}, {0, Math.min(h, unit), h}, {0, h / unit / 2 * unit, h}, {0, h / unit / 3 * unit, 2 * h / unit / 3 * unit, h}};
                    for (boolean packed : new boolean[] {false, true}) {
                        float[] wt = packed ? packedTransposed(kk, h, w) : null, wp = packed ? packedRows(kk, h, w) : null;
                        Mat out0 = new Mat(batch, h).dense(), whole = out0.copy(), wholeB = out0.copy();
                        kk.recurrentForward(Activation.TANH, batch, h, h, w.data, w.off, wt, hp.data, hp.off, pre.data, pre.off,
                                whole.data, whole.off, false);
                        kk.recurrentBackward(Activation.TANH, batch, h, h, w.data, w.off, wp, hp.data, hp.off, gIn.data, gIn.off,
                                hc.data, hc.off, wholeB.data, wholeB.off, false);
                        for (int[] cut : cuts) {
                            Mat parts = out0.copy(), partsB = out0.copy();
                            float[] before = parts.data.clone();
                            for (int c = 0; c + 1 < cut.length; c++) {
                                kk.recurrentForwardPart(Activation.TANH, batch, h, h, cut[c], cut[c + 1], w.data, w.off, wt, hp.data,
                                        hp.off, pre.data, pre.off, parts.data, parts.off, false);
                                kk.recurrentBackwardPart(Activation.TANH, batch, h, h, cut[c], cut[c + 1], w.data, w.off, wp, hp.data,
                                        hp.off, gIn.data, gIn.off, hc.data, hc.off, partsB.data, partsB.off, false);
                            }
                            String what = kk.name() + (packed ? " packed" : "") + " h=" + h + " batch=" + batch + " cuts="
                                    + Arrays.toString(cut);
                            assertArrayEquals(whole.data, parts.data, "forward parts, " + what);
                            assertArrayEquals(wholeB.data, partsB.data, "backward parts, " + what);
                            // misaligned bounds are refused, not computed wrongly
                            if (unit > 1 && h > unit) {
                                var e = assertThrows(IllegalArgumentException.class, () -> kk.recurrentForwardPart(Activation.TANH,
                                        batch, h, h, 1, h, w.data, w.off, wt, hp.data, hp.off, pre.data, pre.off, parts.copy().data, parts.off, false));
                                assertTrue(e.getMessage().contains("multiples of splitAlignment() = " + unit), e.getMessage());
                            }
                            // one share alone writes only its own outputs
                            if (cut.length > 2 && cut[1] > 0) {
                                float[] one = before.clone();
                                kk.recurrentForwardPart(Activation.TANH, batch, h, h, 0, cut[1], w.data, w.off, wt, hp.data, hp.off,
                                        pre.data, pre.off, one, parts.off, false);
                                for (int r = 0; r < batch; r++) {
                                    for (int i = cut[1]; i < h; i++) {
                                        int at = parts.off + r * h + i;
                                        if (one[at] != before[at]) fail("forward part [0, " + cut[1] + ") wrote output " + i + ", " + what);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * The sweep order is only a cache hint: descending gives bitwise the ascending result, for
     * the whole steps and for their parts (a split step), with and without packed weights, on
     * sizes below, at and past the sweep's group of four panels (8L) and the K block (256).
     */
    @Test
    void descendingSweepGivesTheSameBits() {
        int lanes = VectorKernels.lanes();
        for (int h : new int[] {1, 7, 2 * lanes, 8 * lanes - 2, 8 * lanes, 9 * lanes + 1, 16 * lanes + 2 * lanes, 255, 257, 520}) {
            for (int batch : new int[] {1, 2, 5}) {
                Mat w = new Mat(h, h).dense(), hp = new Mat(batch, h).dense(), pre = new Mat(batch, h).dense();
                Mat gIn = new Mat(batch, h).dense(), hc = new Mat(batch, h).dense(), out0 = new Mat(batch, h).dense();
                for (Kernels kk : BOTH) {
                    int unit = kk.splitAlignment(), mid = h / unit / 2 * unit;
                    for (boolean packed : new boolean[] {false, true}) {
                        float[] wt = packed ? packedTransposed(kk, h, w) : null, wp = packed ? packedRows(kk, h, w) : null;
                        String what = kk.name() + (packed ? " packed" : "") + " h=" + h + " batch=" + batch;
                        Mat[] fwd = new Mat[2], bwd = new Mat[2], fwdParts = new Mat[2], bwdParts = new Mat[2];
                        for (int down = 0; down < 2; down++) {
                            fwd[down] = out0.copy();
                            bwd[down] = out0.copy();
                            fwdParts[down] = out0.copy();
                            bwdParts[down] = out0.copy();
                            kk.recurrentForward(Activation.TANH, batch, h, h, w.data, w.off, wt, hp.data, hp.off, pre.data, pre.off,
                                    fwd[down].data, fwd[down].off, down == 1);
                            kk.recurrentBackward(Activation.TANH, batch, h, h, w.data, w.off, wp, hp.data, hp.off, gIn.data, gIn.off,
                                    hc.data, hc.off, bwd[down].data, bwd[down].off, down == 1);
                            for (int[] share : new int[][] {{mid, h}, {0, mid}}) {
                                kk.recurrentForwardPart(Activation.TANH, batch, h, h, share[0], share[1], w.data, w.off, wt, hp.data,
                                        hp.off, pre.data, pre.off, fwdParts[down].data, fwdParts[down].off, down == 1);
                                kk.recurrentBackwardPart(Activation.TANH, batch, h, h, share[0], share[1], w.data, w.off, wp,
                                        hp.data, hp.off, gIn.data, gIn.off, hc.data, hc.off, bwdParts[down].data, bwdParts[down].off,
                                        down == 1);
                            }
                        }
                        assertFalse(Arrays.equals(out0.data, fwd[0].data), "the forward step changed nothing, " + what);
                        for (int down = 0; down < 2; down++) {
                            String how = (down == 1 ? "descending" : "ascending") + ", " + what;
                            assertArrayEquals(fwd[0].data, fwd[down].data, "forward, " + how);
                            assertArrayEquals(bwd[0].data, bwd[down].data, "backward, " + how);
                            assertArrayEquals(fwd[0].data, fwdParts[down].data, "forward parts, " + how);
                            assertArrayEquals(bwd[0].data, bwdParts[down].data, "backward parts, " + how);
                        }
                    }
                }
            }
        }
    }

    /** The h x h W as the kernels' packed W^T (the forward step's layout); a 1-float array where there is nothing to pack. */
    private static float[] packedTransposed(Kernels kk, int h, Mat w) {
        float[] wt = new float[Math.max(1, kk.packedWeightsLength(h, h))];
        kk.packTransposedWeights(h, h, w.data, w.off, wt);
        return wt;
    }

    /** The h x h W as the kernels' packed panels of W (the backward step's layout). */
    private static float[] packedRows(Kernels kk, int h, Mat w) {
        float[] wp = new float[Math.max(1, kk.packedWeightsLength(h, h))];
        kk.packWeights(h, h, w.data, w.off, wp);
        return wp;
    }

    private static void assertGuardsKept(Mat got, Mat before, int len, String what) {
        for (int i = 0; i < got.data.length; i++) {
            if (i >= got.off && i < got.off + len) continue;
            assertEquals(Float.floatToRawIntBits(before.data[i]), Float.floatToRawIntBits(got.data[i]),
                    what + ": wrote outside the output at index " + i);
        }
    }

    /**
     * The vector activations (polynomial tanh, exp) over a sweep of pre-activations, W = 0 so
     * h = act(pre) exactly: within 4 ulp of the result plus 1 ulp of 1 (the cancellation in
     * 1 - 2/(e+1)), for every h position (the last h % L use the scalar definition).
     */
    @ParameterizedTest
    @EnumSource(Activation.class)
    void activationsAreAccurateOverTheirRange(Activation act) {
        int h = 64 + 3, batch = 300;
        float[] w = new float[h * h], hp = new float[batch * h], pre = new float[batch * h], out = new float[batch * h];
        for (int i = 0; i < pre.length; i++) {
            double t = (i - pre.length / 2.0) / (pre.length / 2.0);          // -1 .. 1
            pre[i] = (float) (Math.signum(t) * Math.pow(Math.abs(t), 3) * 40);  // dense near 0, out to +-40
        }
        pre[0] = 0f;
        pre[1] = -0f;
        pre[2] = 1e-30f;
        pre[3] = -100f;
        pre[4] = 100f;
        pre[5] = 0.625f;
        pre[6] = Math.nextDown(0.625f);
        for (Kernels kk : BOTH) {
            kk.recurrentForward(act, batch, h, h, w, 0, null, hp, 0, pre, 0, out, 0, false);
            for (int i = 0; i < pre.length; i++) {
                double ref = act(act, pre[i]);
                double tol = 4 * Math.ulp((float) ref) + (act == Activation.RELU ? 0 : U);
                if (!(Math.abs(out[i] - ref) <= tol)) {
                    fail(act + " " + kk.name() + " at " + pre[i] + ": " + out[i] + ", expected " + ref + " +- " + tol);
                }
            }
        }
        // the bounds themselves
        float[] big = {-1000f, 1000f, Float.NaN};
        float[] p = new float[8 * big.length], o = new float[p.length];
        for (int i = 0; i < p.length; i++) p[i] = big[i % big.length];
        VEC.recurrentForward(act, p.length, 1, 1, new float[1], 0, null, new float[p.length], 0, p, 0, o, 0, false);
        VEC.recurrentForward(act, 1, p.length, p.length, new float[p.length * p.length], 0, null, new float[p.length], 0, p, 0, o, 0, false);
        for (int i = 0; i < p.length; i++) {
            float want = act.apply(p[i]);
            if (Float.isNaN(want) || Float.isNaN(o[i])) {
                assertEquals(Float.isNaN(want), Float.isNaN(o[i]), act + " at " + p[i]);
            } else {
                assertEquals(want, o[i], 0f, act + " at " + p[i]);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Activation.class)
    void activateAndDerivativeAgree(Activation act) {
        for (int n : SIZES) {
            int xOff = 2, yOff = 5;
            float[] x = new float[xOff + n + 3];
            for (int i = 0; i < x.length; i++) x[i] = (rnd.nextFloat() * 2 - 1) * 6;
            float[] h = new float[n], d0 = new float[yOff + n + 2];
            for (int i = 0; i < n; i++) h[i] = act.apply(x[xOff + i]);
            for (int i = 0; i < d0.length; i++) d0[i] = rnd.nextFloat() * 2 - 1;
            float[][] ds = new float[2][];
            int idx = 0;
            for (Kernels kk : BOTH) {
                float[] y = new float[yOff + n + 2];
                Arrays.fill(y, GUARD);
                kk.activate(act, n, x, xOff, y, yOff);
                for (int i = 0; i < n; i++) {
                    double ref = act(act, x[xOff + i]);
                    double tol = 4 * Math.ulp((float) ref) + (act == Activation.RELU ? 0 : U);
                    assertEquals(ref, y[yOff + i], tol, act + " " + kk.name() + " n=" + n + " at " + x[xOff + i]);
                }
                assertEquals(GUARD, y[yOff - 1], 0f);
                assertEquals(GUARD, y[yOff + n], 0f);
                float[] inPlace = x.clone();
                kk.activate(act, n, inPlace, xOff, inPlace, xOff);
                assertArrayEquals(Arrays.copyOfRange(y, yOff, yOff + n), Arrays.copyOfRange(inPlace, xOff, xOff + n),
                        "in place = out of place");
                float[] d = d0.clone();
                kk.multiplyByDerivative(act, n, h, 0, d, yOff);
                ds[idx++] = d;
            }
            // the derivative is the same float arithmetic on both paths
            assertArrayEquals(ds[0], ds[1], act + " multiplyByDerivative n=" + n);
        }
    }

    /**
     * The driver computes a step either with recurrentForward/recurrentBackward or, when it
     * splits one step's rows (columns) among threads, with gemv + activate (gemvT +
     * multiplyByDerivative) on the parts. Both must give the same bits.
     */
    @ParameterizedTest
    @EnumSource(Activation.class)
    void splitStepMatchesFusedStepBitForBit(Activation act) {
        for (int h : new int[] {7, 16, 33, 64, 255}) {
            float[] w = new float[h * h], hp = new float[h], pre = new float[h], g = new float[h];
            for (int i = 0; i < w.length; i++) w[i] = (rnd.nextFloat() * 2 - 1) / (float) Math.sqrt(h);
            for (int i = 0; i < h; i++) {
                hp[i] = rnd.nextFloat() * 2 - 1;
                pre[i] = rnd.nextFloat() * 2 - 1;
                g[i] = rnd.nextFloat() * 2 - 1;
            }
            for (Kernels kk : BOTH) {
                float[] fused = new float[h];
                kk.recurrentForward(act, 1, h, h, w, 0, null, hp, 0, pre, 0, fused, 0, false);
                float[] dFused = new float[h];
                kk.recurrentBackward(act, 1, h, h, w, 0, null, hp, 0, g, 0, fused, 0, dFused, 0, false);
                for (int s : new int[] {1, 5, h / 2, h - 1}) {
                    float[] y = pre.clone();
                    kk.gemv(s, h, w, 0, h, hp, 0, y, 0);
                    kk.gemv(h - s, h, w, s * h, h, hp, 0, y, s);
                    kk.activate(act, s, y, 0, y, 0);
                    kk.activate(act, h - s, y, s, y, s);
                    assertArrayEquals(fused, y, act + " " + kk.name() + " forward h=" + h + " split " + s);
                    float[] d = g.clone();
                    kk.gemvT(h, s, w, 0, h, hp, 0, d, 0);
                    kk.gemvT(h, h - s, w, s, h, hp, 0, d, s);
                    kk.multiplyByDerivative(act, s, fused, 0, d, 0);
                    kk.multiplyByDerivative(act, h - s, fused, s, d, s);
                    assertArrayEquals(dFused, d, act + " " + kk.name() + " backward h=" + h + " split " + s);
                }
            }
        }
    }

    // ---------------------------------------------------------------- losses

    @Test
    void softmaxCrossEntropyAgreesAndMayOverwriteLogits() {
        for (int n : SIZES) {
            for (int rows : new int[] {1, 2, 5}) {
                int lOff = 3, dyOff = 2, tOff = 1;
                float[] logits = new float[lOff + rows * n + 2];
                Arrays.fill(logits, GUARD);
                int[] targets = new int[tOff + rows];
                for (int r = 0; r < rows; r++) {
                    targets[tOff + r] = rnd.nextInt(n);
                    float scale = r == 1 ? 60f : 4f; // one row with a wide range of logits
                    for (int j = 0; j < n; j++) logits[lOff + r * n + j] = (rnd.nextFloat() * 2 - 1) * scale;
                }
                double refLoss = 0, lossTol = 0;
                double[] refDy = new double[rows * n];
                double tolDyRel = (n + 16) * U;
                for (int r = 0; r < rows; r++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < n; j++) max = Math.max(max, logits[lOff + r * n + j]);
                    double sum = 0;
                    for (int j = 0; j < n; j++) sum += Math.exp(logits[lOff + r * n + j] - max);
                    double lse = Math.log(sum) + max;
                    refLoss += lse - logits[lOff + r * n + targets[tOff + r]];
                    lossTol += tolDyRel + 2 * U * (Math.abs(Math.log(sum)) + Math.abs(max) + Math.abs(lse));
                    for (int j = 0; j < n; j++) {
                        refDy[r * n + j] = Math.exp(logits[lOff + r * n + j] - max) / sum - (j == targets[tOff + r] ? 1 : 0);
                    }
                }
                for (Kernels kk : BOTH) {
                    for (boolean alias : new boolean[] {false, true}) {
                        float[] z = logits.clone();
                        float[] dy;
                        int dOff;
                        if (alias) {
                            dy = z;
                            dOff = lOff;
                        } else {
                            dy = new float[dyOff + rows * n + 3];
                            Arrays.fill(dy, GUARD);
                            dOff = dyOff;
                        }
                        double loss = kk.softmaxCrossEntropy(rows, n, z, lOff, targets, tOff, dy, dOff);
                        String what = "softmax " + kk.name() + " n=" + n + " rows=" + rows + " alias=" + alias;
                        assertEquals(refLoss, loss, lossTol, what + " loss");
                        for (int i = 0; i < rows * n; i++) {
                            double p = refDy[i] + (i % n == targets[tOff + i / n] ? 1 : 0);
                            double tol = tolDyRel * p + 2 * U;
                            assertEquals(refDy[i], dy[dOff + i], tol, what + " dy[" + i + "]");
                        }
                        for (int i = 0; i < dy.length; i++) {
                            if (i < dOff || i >= dOff + rows * n) assertEquals(GUARD, dy[i], 0f, what + " guard " + i);
                        }
                        if (!alias) assertArrayEquals(logits, z, what + ": logits are read only");
                    }
                }
            }
        }
    }

    @Test
    void squaredErrorAgreesAndMayOverwriteOutputs() {
        for (int n : SIZES) {
            for (int rows : new int[] {1, 3}) {
                int oOff = 2, tOff = 5, dOff = 1;
                float[] out = new float[oOff + rows * n + 1], tg = new float[tOff + rows * n];
                for (int i = 0; i < out.length; i++) out[i] = rnd.nextFloat() * 4 - 2;
                for (int i = 0; i < tg.length; i++) tg[i] = rnd.nextFloat() * 4 - 2;
                double ref = 0;
                for (int i = 0; i < rows * n; i++) {
                    float d = out[oOff + i] - tg[tOff + i]; // the definition: dy = o - y in float
                    ref += 0.5 * d * d;
                }
                float[][] dys = new float[2][];
                int idx = 0;
                for (Kernels kk : BOTH) {
                    float[] dy = new float[dOff + rows * n + 2];
                    Arrays.fill(dy, GUARD);
                    double loss = kk.squaredError(rows, n, out, oOff, tg, tOff, dy, dOff);
                    // each 0.5 d^2 is exact in double; only the double sum rounds
                    assertEquals(ref, loss, 1e-12 * ref, kk.name() + " n=" + n);
                    for (int i = 0; i < rows * n; i++) assertEquals(out[oOff + i] - tg[tOff + i], dy[dOff + i], 0f);
                    assertEquals(GUARD, dy[0], 0f);
                    assertEquals(GUARD, dy[dOff + rows * n], 0f);
                    dys[idx++] = dy;
                    float[] o2 = out.clone();
                    double l2 = kk.squaredError(rows, n, o2, oOff, tg, tOff, o2, oOff);
                    assertEquals(loss, l2, 0.0, "aliased dy = out");
                    for (int i = 0; i < rows * n; i++) assertEquals(dy[dOff + i], o2[oOff + i], 0f);
                }
                assertArrayEquals(dys[0], dys[1]);
            }
        }
    }

    // ---------------------------------------------------------------- determinism

    /**
     * The rule in {@link Kernels}: the rows of an output computed in one call are bitwise the
     * rows computed in two calls (split anywhere), so that results do not depend on threads.
     */
    @Test
    void rowSplitsGiveTheSameBits() {
        int[] ms = {5, 9, 17};
        int[] ns = {7, 16, 33};
        for (int m : ms) {
            for (int n : ns) {
                int k = n + 3;
                Mat a = new Mat(m, k), b = new Mat(n, k), c0 = new Mat(m, n);
                Mat bNN = new Mat(k, n), aTN = new Mat(k, m);
                for (int split = 1; split < m; split += 2) {
                    for (Kernels kk : BOTH) {
                        int s = split;
                        // gemv: rows of A (= elements of y)
                        assertSplit("gemv", c0, s, (c, i0, rows) ->
                                kk.gemv(rows, k, a.data, a.off + i0 * a.ld, a.ld, b.data, b.off, c.data, c.off + i0));
                        assertSplit("gemmNT", c0, s, (c, i0, rows) -> kk.gemmNT(rows, n, k, a.data, a.off + i0 * a.ld,
                                a.ld, b.data, b.off, b.ld, c.data, c.off + i0 * c.ld, c.ld));
                        assertSplit("gemmNN", c0, s, (c, i0, rows) -> kk.gemmNN(rows, n, k, a.data, a.off + i0 * a.ld,
                                a.ld, bNN.data, bNN.off, bNN.ld, c.data, c.off + i0 * c.ld, c.ld));
                        assertSplit("gemmTN", c0, s, (c, i0, rows) -> kk.gemmTN(rows, n, k, aTN.data, aTN.off + i0,
                                aTN.ld, bNN.data, bNN.off, bNN.ld, c.data, c.off + i0 * c.ld, c.ld));
                    }
                }
            }
        }
        for (Activation act : Activation.values()) {
            for (int h : new int[] {7, 16, 33}) {
                int batch = 9;
                Mat w = new Mat(h, h).dense(), hp = new Mat(batch, h).dense(), pre = new Mat(batch, h).dense();
                Mat out0 = new Mat(batch, h).dense();
                for (Kernels kk : BOTH) {
                    for (int s = 1; s < batch; s++) {
                        assertSplit("recurrentForward " + act, out0, s, (c, r0, rows) -> kk.recurrentForward(act, rows, h, h,
                                w.data, w.off, null, hp.data, hp.off + r0 * h, pre.data, pre.off + r0 * h, c.data, c.off + r0 * h, false));
                        float[] wt = new float[kk.packedWeightsLength(h, h)];
                        kk.packTransposedWeights(h, h, w.data, w.off, wt);
                        assertSplit("recurrentForward packed W^T " + act, out0, s, (c, r0, rows) -> kk.recurrentForward(act,
                                rows, h, h, w.data, w.off, wt, hp.data, hp.off + r0 * h, pre.data, pre.off + r0 * h, c.data,
                                c.off + r0 * h, false));
                        assertSplit("recurrentBackward " + act, out0, s, (c, r0, rows) -> kk.recurrentBackward(act, rows, h, h,
                                w.data, w.off, null, hp.data, hp.off + r0 * h, pre.data, pre.off + r0 * h, hp.data, hp.off + r0 * h,
                                c.data, c.off + r0 * h, false));
                    }
                }
            }
        }
    }

    private interface RowCall { void run(Mat c, int firstRow, int rows); }

    private static void assertSplit(String what, Mat c0, int split, RowCall call) {
        Mat one = c0.copy(), two = c0.copy();
        call.run(one, 0, c0.rows);
        call.run(two, 0, split);
        call.run(two, split, c0.rows - split);
        assertArrayEquals(one.data, two.data, what + " split at row " + split + " of " + c0.rows);
        // and the bits are not trivially equal: the call did something
        assertFalse(Arrays.equals(one.data, c0.data), what + " changed nothing");
    }

    @Test
    void vectorLanesAreReported() {
        assertTrue(VectorKernels.lanes() >= 1 && Integer.bitCount(VectorKernels.lanes()) == 1);
        assertEquals("vector", VEC.name());
    }

    // ---------------------------------------------------------------- gated cells

    /**
     * The recurrent products of a gated cell: W is G*h x h, no activation (act null), forward
     * (out = pre + hPrev W^T, with and without W^T packed) and backward (out = g + next W, with and
     * without W packed; g and out the same region, as the driver calls it), against double loops.
     */
    @Test
    void nonSquareRecurrentProductsAgree() {
        for (int h : new int[] {1, 7, 9, 17, 33, 65}) {
            for (int gates : new int[] {3, 4}) {
                int m = gates * h;
                for (int batch : new int[] {1, 3, 5}) {
                    Mat w = new Mat(m, h).dense(), hp = new Mat(batch, h).dense(), pre = new Mat(batch, m).dense();
                    double[][] ref = new double[batch][m], abs = new double[batch][m];
                    for (int r = 0; r < batch; r++) {
                        for (int i = 0; i < m; i++) {
                            double v = pre.get(r, i), a = Math.abs(v);
                            for (int j = 0; j < h; j++) {
                                v += w.get(i, j) * hp.get(r, j);
                                a += Math.abs(w.get(i, j) * hp.get(r, j));
                            }
                            ref[r][i] = v;
                            abs[r][i] = a;
                        }
                    }
                    for (Kernels kk : BOTH) {
                        for (boolean packedW : new boolean[] {false, true}) {
                            float[] wt = null;
                            if (packedW) {
                                wt = new float[Math.max(1, kk.packedWeightsLength(m, h))];
                                kk.packTransposedWeights(m, h, w.data, w.off, wt);
                            }
                            Mat out0 = new Mat(batch, m).dense(), out = out0.copy();
                            kk.recurrentForward(null, batch, m, h, w.data, w.off, wt, hp.data, hp.off, pre.data, pre.off, out.data, out.off, false);
                            check("forward G=" + gates + " " + dims(kk, batch, m, h) + (packedW ? " packed" : ""), out, out0, ref, abs, h, 2);
                        }
                    }
                    // backward: out (batch x h) = g + next (batch x m) W
                    Mat next = new Mat(batch, m).dense(), g = new Mat(batch, h).dense();
                    double[][] bref = new double[batch][h], babs = new double[batch][h];
                    for (int r = 0; r < batch; r++) {
                        for (int j = 0; j < h; j++) {
                            double v = g.get(r, j), a = Math.abs(v);
                            for (int i = 0; i < m; i++) {
                                v += next.get(r, i) * w.get(i, j);
                                a += Math.abs(next.get(r, i) * w.get(i, j));
                            }
                            bref[r][j] = v;
                            babs[r][j] = a;
                        }
                    }
                    float[][] results = new float[4][];
                    int n = 0;
                    for (Kernels kk : BOTH) {
                        for (boolean packedW : new boolean[] {false, true}) {
                            float[] wp = null;
                            if (packedW) {
                                wp = new float[Math.max(1, kk.packedWeightsLength(m, h))];
                                kk.packWeights(m, h, w.data, w.off, wp);
                            }
                            Mat inPlace = g.copy();
                            kk.recurrentBackward(null, batch, m, h, w.data, w.off, wp, next.data, next.off, inPlace.data, inPlace.off,
                                    null, 0, inPlace.data, inPlace.off, false);
                            check("backward G=" + gates + " " + dims(kk, batch, h, m) + (packedW ? " packed" : ""), inPlace, g, bref, babs, m, 2);
                            results[n++] = inPlace.data;
                        }
                    }
                    assertArrayEquals(results[0], results[1], "scalar: packed W gives the same bits");
                    assertArrayEquals(results[2], results[3], "vector: packed W gives the same bits");
                }
            }
        }
    }

    static double sig(double a) { return 1 / (1 + Math.exp(-a)); }

    /**
     * The LSTM's element-wise steps, both paths, against double: the activations are a few ulp
     * off (polynomial exp and tanh in the vector path, Math's in the scalar one), and every value
     * is a few operations on them, so each element is held to 16 ulp of 1.
     */
    @Test
    void lstmStepsAgree() {
        for (int h : SIZES) {
            for (int batch : new int[] {1, 3}) {
                Mat pre = new Mat(batch, 4 * h).dense(), cp = new Mat(batch, h).dense();
                for (int k = 0; k < batch * 4 * h; k++) pre.data[pre.off + k] *= 4;   // reach the flat parts
                double[][] gates = new double[batch][4 * h], c = new double[batch][h], hh = new double[batch][h];
                for (int r = 0; r < batch; r++) {
                    for (int j = 0; j < h; j++) {
                        double i = sig(pre.get(r, j)), f = sig(pre.get(r, h + j)), g = Math.tanh(pre.get(r, 2 * h + j)), o = sig(pre.get(r, 3 * h + j));
                        gates[r][j] = i;
                        gates[r][h + j] = f;
                        gates[r][2 * h + j] = g;
                        gates[r][3 * h + j] = o;
                        c[r][j] = f * cp.get(r, j) + i * g;
                        hh[r][j] = o * Math.tanh(c[r][j]);
                    }
                }
                for (Kernels kk : BOTH) {
                    Mat g = pre.copy(), cOut = new Mat(batch, h).dense(), hOut = new Mat(batch, h).dense();
                    Mat c0 = cOut.copy(), h0 = hOut.copy();
                    kk.lstmForward(batch, h, g.data, g.off, cp.data, cp.off, cOut.data, cOut.off, hOut.data, hOut.off);
                    String what = "lstmForward " + kk.name() + " h=" + h + " batch=" + batch;
                    // each value is a few operations on activations that are a few ulp off: 16 ulp of 1
                    check(what + " gates", g, pre, gates, ones(batch, 4 * h), 0, 0);
                    check(what + " c", cOut, c0, c, ones(batch, h), 0, 0);
                    check(what + " h", hOut, h0, hh, ones(batch, h), 0, 0);
                }
                // backward from the double forward's values (rounded to float), against double
                Mat dh = new Mat(batch, h).dense(), dcn = new Mat(batch, h).dense();
                Mat gf = matOf(gates), cf = matOf(c);
                double[][] dz = new double[batch][4 * h], dcp = new double[batch][h];
                for (int r = 0; r < batch; r++) {
                    for (int j = 0; j < h; j++) {
                        double i = gf.get(r, j), f = gf.get(r, h + j), g = gf.get(r, 2 * h + j), o = gf.get(r, 3 * h + j);
                        double tc = Math.tanh(cf.get(r, j)), d = dh.get(r, j);
                        double dc = dcn.get(r, j) + d * o * (1 - tc * tc);
                        dz[r][j] = dc * g * i * (1 - i);
                        dz[r][h + j] = dc * cp.get(r, j) * f * (1 - f);
                        dz[r][2 * h + j] = dc * i * (1 - g * g);
                        dz[r][3 * h + j] = d * tc * o * (1 - o);
                        dcp[r][j] = dc * f;
                    }
                }
                for (Kernels kk : BOTH) {
                    Mat dzo = new Mat(batch, 4 * h).dense(), dco = new Mat(batch, h).dense(), dz0 = dzo.copy(), dc0 = dco.copy();
                    kk.lstmBackward(batch, h, dh.data, dh.off, dcn.data, dcn.off, gf.data, gf.off, cp.data, cp.off, cf.data, cf.off,
                            dzo.data, dzo.off, dco.data, dco.off);
                    check("lstmBackward " + kk.name() + " h=" + h + " dz", dzo, dz0, dz, ones(batch, 4 * h), 0, 0);
                    check("lstmBackward " + kk.name() + " h=" + h + " dcPrev", dco, dc0, dcp, ones(batch, h), 0, 0);
                }
            }
        }
    }

    /**
     * The LSTM's element-wise steps over units [from, to) of one row (a row-split step's share):
     * each range, and three ranges that cover the row, give bitwise the whole call's values there
     * and leave every other value (and the guards) untouched.
     */
    @Test
    void lstmPartsAreTheWholeStepsBitForBit() {
        for (int h : SIZES) {
            int[][] splits = {{0, h}, {0, h / 3, h - h / 4, h}, {0, Math.min(h, 1), h}};
            for (Kernels kk : BOTH) {
                for (int[] cut : splits) {
                    Mat pre = new Mat(1, 4 * h).dense(), cp = new Mat(1, h).dense();
                    for (int k = 0; k < 4 * h; k++) pre.data[pre.off + k] *= 4;
                    Mat gWhole = pre.copy(), cWhole = new Mat(1, h).dense(), hWhole = new Mat(1, h).dense();
                    Mat gPart = gWhole.copy(), cPart = cWhole.copy(), hPart = hWhole.copy();
                    kk.lstmForward(1, h, gWhole.data, gWhole.off, cp.data, cp.off, cWhole.data, cWhole.off, hWhole.data, hWhole.off);
                    for (int i = 0; i + 1 < cut.length; i++) {
                        kk.lstmForwardPart(1, h, cut[i], cut[i + 1], gPart.data, gPart.off, cp.data, cp.off, cPart.data, cPart.off,
                                hPart.data, hPart.off);
                    }
                    String what = kk.name() + " h=" + h + " cuts=" + Arrays.toString(cut);
                    assertArrayEquals(gWhole.data, gPart.data, "lstmForwardPart gates " + what);
                    assertArrayEquals(cWhole.data, cPart.data, "lstmForwardPart c " + what);
                    assertArrayEquals(hWhole.data, hPart.data, "lstmForwardPart h " + what);

                    Mat dh = new Mat(1, h).dense(), dcn = new Mat(1, h).dense();
                    Mat dzWhole = new Mat(1, 4 * h).dense(), dcWhole = new Mat(1, h).dense();
                    Mat dzPart = dzWhole.copy(), dcPart = dcWhole.copy();
                    kk.lstmBackward(1, h, dh.data, dh.off, dcn.data, dcn.off, gWhole.data, gWhole.off, cp.data, cp.off, cWhole.data,
                            cWhole.off, dzWhole.data, dzWhole.off, dcWhole.data, dcWhole.off);
                    for (int i = 0; i + 1 < cut.length; i++) {
                        kk.lstmBackwardPart(1, h, cut[i], cut[i + 1], dh.data, dh.off, dcn.data, dcn.off, gWhole.data, gWhole.off,
                                cp.data, cp.off, cWhole.data, cWhole.off, dzPart.data, dzPart.off, dcPart.data, dcPart.off);
                    }
                    assertArrayEquals(dzWhole.data, dzPart.data, "lstmBackwardPart dz " + what);
                    assertArrayEquals(dcWhole.data, dcPart.data, "lstmBackwardPart dcPrev " + what);
                }
                // one share alone writes its units only
                if (h >= 3) {
                    Mat g = new Mat(1, 4 * h).dense(), cp = new Mat(1, h).dense(), cOut = new Mat(1, h).dense(), hOut = new Mat(1, h).dense();
                    Mat g0 = g.copy(), c0 = cOut.copy(), h0 = hOut.copy();
                    int from = h / 3, to = 2 * h / 3;
                    kk.lstmForwardPart(1, h, from, to, g.data, g.off, cp.data, cp.off, cOut.data, cOut.off, hOut.data, hOut.off);
                    for (int j = 0; j < h; j++) {
                        boolean mine = j >= from && j < to;
                        for (int q = 0; q < 4; q++) {
                            int at = g.off + q * h + j;
                            assertEquals(mine, g.data[at] != g0.data[at], kk.name() + " h=" + h + " gate " + q + " unit " + j);
                        }
                        assertEquals(mine, cOut.data[cOut.off + j] != c0.data[c0.off + j], kk.name() + " h=" + h + " c unit " + j);
                        assertEquals(mine, hOut.data[hOut.off + j] != h0.data[h0.off + j], kk.name() + " h=" + h + " h unit " + j);
                    }
                    for (int k = 0; k < g.data.length; k++) {
                        if (k < g.off || k >= g.off + 4 * h) assertEquals(g0.data[k], g.data[k], "guard " + k);
                    }
                }
            }
        }
    }

    /** The GRU's element-wise steps over unit ranges that cover a row: bitwise the whole calls. */
    @Test
    void gruPartsAreTheWholeStepsBitForBit() {
        for (int h : SIZES) {
            int[][] splits = {{0, h}, {0, h / 3, h - h / 4, h}, {0, Math.min(h, 1), h}};
            for (Kernels kk : BOTH) {
                for (int[] cut : splits) {
                    Mat gx = new Mat(1, 3 * h).dense(), gh = new Mat(1, 3 * h).dense(), hp = new Mat(1, h).dense();
                    for (int k = 0; k < 3 * h; k++) gx.data[gx.off + k] *= 4;
                    Mat hWhole = new Mat(1, h).dense(), cWhole = new Mat(1, 4 * h).dense();
                    Mat hPart = hWhole.copy(), cPart = cWhole.copy();
                    kk.gruForward(1, h, gx.data, gx.off, gh.data, gh.off, hp.data, hp.off, hWhole.data, hWhole.off, cWhole.data,
                            cWhole.off);
                    for (int i = 0; i + 1 < cut.length; i++) {
                        kk.gruForwardPart(1, h, cut[i], cut[i + 1], gx.data, gx.off, gh.data, gh.off, hp.data, hp.off, hPart.data,
                                hPart.off, cPart.data, cPart.off);
                    }
                    String what = kk.name() + " h=" + h + " cuts=" + Arrays.toString(cut);
                    assertArrayEquals(hWhole.data, hPart.data, "gruForwardPart h " + what);
                    assertArrayEquals(cWhole.data, cPart.data, "gruForwardPart cache " + what);

                    Mat dh = new Mat(1, h).dense();
                    Mat xWhole = new Mat(1, 3 * h).dense(), yWhole = new Mat(1, 3 * h).dense(), dWhole = new Mat(1, h).dense();
                    Mat xPart = xWhole.copy(), yPart = yWhole.copy(), dPart = dWhole.copy();
                    kk.gruBackward(1, h, dh.data, dh.off, hp.data, hp.off, cWhole.data, cWhole.off, xWhole.data, xWhole.off,
                            yWhole.data, yWhole.off, dWhole.data, dWhole.off);
                    for (int i = 0; i + 1 < cut.length; i++) {
                        kk.gruBackwardPart(1, h, cut[i], cut[i + 1], dh.data, dh.off, hp.data, hp.off, cWhole.data, cWhole.off,
                                xPart.data, xPart.off, yPart.data, yPart.off, dPart.data, dPart.off);
                    }
                    assertArrayEquals(xWhole.data, xPart.data, "gruBackwardPart dzx " + what);
                    assertArrayEquals(yWhole.data, yPart.data, "gruBackwardPart dzh " + what);
                    assertArrayEquals(dWhole.data, dPart.data, "gruBackwardPart direct " + what);
                }
            }
        }
    }

    @Test
    void gruStepsAgree() {
        for (int h : SIZES) {
            for (int batch : new int[] {1, 3}) {
                Mat gx = new Mat(batch, 3 * h).dense(), gh = new Mat(batch, 3 * h).dense(), hp = new Mat(batch, h).dense();
                for (int k = 0; k < batch * 3 * h; k++) gx.data[gx.off + k] *= 4;
                double[][] cache = new double[batch][4 * h], hh = new double[batch][h];
                for (int r = 0; r < batch; r++) {
                    for (int j = 0; j < h; j++) {
                        double rg = sig(gx.get(r, j) + gh.get(r, j)), z = sig(gx.get(r, h + j) + gh.get(r, h + j));
                        double n = Math.tanh(gx.get(r, 2 * h + j) + rg * gh.get(r, 2 * h + j));
                        cache[r][j] = rg;
                        cache[r][h + j] = z;
                        cache[r][2 * h + j] = n;
                        cache[r][3 * h + j] = gh.get(r, 2 * h + j);
                        hh[r][j] = (1 - z) * n + z * hp.get(r, j);
                    }
                }
                for (Kernels kk : BOTH) {
                    Mat hOut = new Mat(batch, h).dense(), co = new Mat(batch, 4 * h).dense(), h0 = hOut.copy(), c0 = co.copy();
                    kk.gruForward(batch, h, gx.data, gx.off, gh.data, gh.off, hp.data, hp.off, hOut.data, hOut.off, co.data, co.off);
                    check("gruForward " + kk.name() + " h=" + h + " h", hOut, h0, hh, ones(batch, h), 0, 0);
                    check("gruForward " + kk.name() + " h=" + h + " cache", co, c0, cache, ones(batch, 4 * h), 0, 0);
                }
                Mat dh = new Mat(batch, h).dense(), cf = matOf(cache);
                float[][] out = new float[2][];
                int n = 0;
                for (Kernels kk : BOTH) {
                    Mat dzx = new Mat(batch, 3 * h).dense(), dzh = new Mat(batch, 3 * h).dense(), dir = new Mat(batch, h).dense();
                    Mat dzx0 = dzx.copy(), dzh0 = dzh.copy(), dir0 = dir.copy();
                    kk.gruBackward(batch, h, dh.data, dh.off, hp.data, hp.off, cf.data, cf.off, dzx.data, dzx.off, dzh.data, dzh.off,
                            dir.data, dir.off);
                    double[][] wx = new double[batch][3 * h], wh = new double[batch][3 * h], wd = new double[batch][h];
                    for (int r = 0; r < batch; r++) {
                        for (int j = 0; j < h; j++) {
                            double rg = cf.get(r, j), z = cf.get(r, h + j), nn = cf.get(r, 2 * h + j), hn = cf.get(r, 3 * h + j), d = dh.get(r, j);
                            double dn = d * (1 - z) * (1 - nn * nn);
                            wx[r][j] = dn * hn * rg * (1 - rg);
                            wx[r][h + j] = d * (hp.get(r, j) - nn) * z * (1 - z);
                            wx[r][2 * h + j] = dn;
                            wh[r][j] = wx[r][j];
                            wh[r][h + j] = wx[r][h + j];
                            wh[r][2 * h + j] = dn * rg;
                            wd[r][j] = d * z;
                        }
                    }
                    check("gruBackward " + kk.name() + " h=" + h + " dzx", dzx, dzx0, wx, ones(batch, 3 * h), 0, 0);
                    check("gruBackward " + kk.name() + " h=" + h + " dzh", dzh, dzh0, wh, ones(batch, 3 * h), 0, 0);
                    check("gruBackward " + kk.name() + " h=" + h + " direct", dir, dir0, wd, ones(batch, h), 0, 0);
                    out[n++] = concat(region(dzx), region(dzh), region(dir));
                }
                assertArrayEquals(out[0], out[1], "gruBackward has no transcendental function: the paths agree bitwise");
            }
        }
    }

    /** A scale of 1 per element: a tolerance of 1.5 gamma(1) plus 16 ulp of 1 (see the callers). */
    private static double[][] ones(int rows, int cols) {
        double[][] a = new double[rows][cols];
        for (double[] r : a) Arrays.fill(r, 16 / 1.5);
        return a;
    }

    /** The values rounded to float, as a dense Mat. */
    private Mat matOf(double[][] v) {
        Mat m = new Mat(v.length, v[0].length).dense();
        for (int i = 0; i < v.length; i++) for (int j = 0; j < v[0].length; j++) m.data[m.off + i * m.cols + j] = (float) v[i][j];
        return m;
    }

    /** The values of a Mat's region, row by row. */
    private static float[] region(Mat m) {
        float[] r = new float[m.rows * m.cols];
        for (int i = 0; i < m.rows; i++) System.arraycopy(m.data, m.off + i * m.ld, r, i * m.cols, m.cols);
        return r;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] r = new float[n];
        int k = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, r, k, p.length);
            k += p.length;
        }
        return r;
    }

    /**
     * foldLanes (the softmax's sum, through a lane buffer) is sumLanes' tree: the same bits on
     * values of mixed magnitudes and signs, where another order of the additions would differ.
     */
    @Test
    void foldLanesIsSumLanesBitForBit() {
        // the kernels' species (recur.vector.bits may ask for a narrower one than preferred)
        jdk.incubator.vector.VectorSpecies<Float> sp = jdk.incubator.vector.VectorSpecies.of(float.class,
                jdk.incubator.vector.VectorShape.forBitSize(32 * VectorKernels.lanes()));
        float[] v = new float[sp.length()], lanes = new float[sp.length()];
        int differsFromLaneOrder = 0;
        for (int trial = 0; trial < 2_000; trial++) {
            for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * Math.pow(10, rnd.nextInt(9) - 4));
            float tree = VectorKernels.sumLanes(jdk.incubator.vector.FloatVector.fromArray(sp, v, 0));
            System.arraycopy(v, 0, lanes, 0, v.length);
            assertEquals(Float.floatToRawIntBits(tree), Float.floatToRawIntBits(VectorKernels.foldLanes(lanes)), "trial " + trial);
            float inOrder = 0;
            for (float x : v) inOrder += x;
            if (Float.floatToRawIntBits(inOrder) != Float.floatToRawIntBits(tree)) differsFromLaneOrder++;
        }
        assertTrue(differsFromLaneOrder > 0, "the values must be order-sensitive for this test to mean anything");
    }
}
