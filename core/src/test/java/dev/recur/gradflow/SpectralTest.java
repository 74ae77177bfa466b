package dev.recur.gradflow;

import dev.recur.Params;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class SpectralTest {

    @Test
    void normOfKnownMatrices() {
        // diagonal: max |d|
        double[] d = {0.5, 0, 0, 0, -3, 0, 0, 0, 2};
        assertEquals(3, Spectral.norm(3, 3, d), 1e-12);
        // rank one u v^T: ||u|| ||v||, not square
        double[] u = {1, 2}, v = {3, 0, 4};
        double[] a = new double[6];
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) a[i * 3 + j] = u[i] * v[j];
        assertEquals(Math.sqrt(5) * 5, Spectral.norm(2, 3, a), 1e-9);
        // a 2x2 with a closed form: [[1,2],[3,4]] has sigma_max = sqrt((30 + sqrt(884))/2)
        assertEquals(Math.sqrt((30 + Math.sqrt(884)) / 2), Spectral.norm(2, 2, new double[] {1, 2, 3, 4}), 1e-9);
        assertEquals(0, Spectral.norm(2, 2, new double[4]), 0);
    }

    @Test
    void radiusHandlesAComplexDominantPair() {
        // 0.9 * rotation(1 rad) (+) diag(0.5, -0.7): eigenvalues 0.9 e^{+-i}, 0.5, -0.7 -> rho = 0.9
        double c = Math.cos(1), s = Math.sin(1);
        double[] a = {
                0.9 * c, -0.9 * s, 0, 0,
                0.9 * s, 0.9 * c, 0, 0,
                0, 0, 0.5, 0,
                0, 0, 0, -0.7};
        assertEquals(0.9, Spectral.radius(4, a, 0, 1000), 1e-3);
        // a non-normal matrix: rho and ||.|| differ ([[0.5, 10],[0, 0.4]]: rho 0.5, norm ~10)
        double[] nn = {0.5, 10, 0, 0.4};
        assertEquals(0.5, Spectral.radius(2, nn, 0, 2000), 1e-3);
        assertTrue(Spectral.norm(2, 2, nn) > 10);
    }

    @Test
    void setupScalesWToTheRequestedRadius() {
        // W >= 0: check rho independently with the Collatz-Wielandt bracket
        // min_i (Wv)_i / v_i <= rho <= max_i (Wv)_i / v_i for any positive v
        Setup s = new Setup(3, 20, 2, 5, 1.5, true, 4);
        Params p = s.params();
        int H = 20;
        double[] v = new double[H];
        java.util.Arrays.fill(v, 1);
        double lo = 0, hi = 0;
        for (int it = 0; it < 300; it++) {
            double[] wv = new double[H];
            for (int i = 0; i < H; i++) for (int j = 0; j < H; j++) wv[i] += p.get("W", i, j) * v[j];
            lo = Double.POSITIVE_INFINITY; hi = 0;
            double n = 0;
            for (int i = 0; i < H; i++) {
                lo = Math.min(lo, wv[i] / v[i]);
                hi = Math.max(hi, wv[i] / v[i]);
                n += wv[i] * wv[i];
            }
            n = Math.sqrt(n);
            for (int i = 0; i < H; i++) v[i] = wv[i] / n;
        }
        assertTrue(lo <= 1.5 + 1e-4 && hi >= 1.5 - 1e-4, "[" + lo + ", " + hi + "]");
        assertEquals(1.5, lo, 1e-3);
        assertEquals(1.5, hi, 1e-3);
        // random signs: the estimator agrees with itself on the scaled matrix
        Setup r = new Setup(3, 40, 2, 5, 0.8, false, 4);
        assertEquals(0.8, Spectral.radius(40, r.params().data(), r.shape().recurrentWeights(0, 0)), 5e-3);
        assertThrows(IllegalArgumentException.class, () -> Spectral.radius(2, nn(), 0, 1));
    }

    private static double[] nn() { return new double[4]; }
}
