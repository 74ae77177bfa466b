package dev.recur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleUnaryOperator;

import org.junit.jupiter.api.Test;

/**
 * The derivative ranges behind the seed's vanishing-gradient argument, and the engine's
 * derivative-from-output against the analytic derivative.
 *
 * <ul>
 *   <li>sigmoid' = s(1-s) &lt;= 0.25, maximum 0.25 exactly at a = 0 (the seed writes the open
 *       interval (0, 0.25): the upper end IS attained, at 0);</li>
 *   <li>tanh' = 1 - tanh^2 &lt;= 1, maximum 1 at a = 0;</li>
 *   <li>relu' in {0, 1}.</li>
 * </ul>
 * In float the derivative from the output becomes exactly 0 once h rounds to 1: tanh(a) rounds
 * to 1f when 1 - tanh(a) ~ 2 e^{-2a} drops below 2^-25 (half an ulp below 1), i.e. a &gt; ~9.0;
 * the sigmoid when e^{-a} &lt; 2^-25, a &gt; ~17.3. The thresholds are found by bisection.
 */
class ActivationTest {

    static final double U = NetFixture.U_FLOAT;

    static double tanhPrime(double a) {
        double c = Math.cosh(a);
        return 1 / (c * c);
    }

    static double sigmoidPrime(double a) {
        double e = Math.exp(-Math.abs(a));
        return e / ((1 + e) * (1 + e));
    }

    @Test
    void derivativeFromOutputMatchesAnalyticDerivative() {
        for (int k = -800; k <= 800; k++) {
            float a = k / 100f;     // moderate inputs, |a| <= 8
            float ht = Activation.TANH.apply(a), hs = Activation.SIGMOID.apply(a);
            double tp = tanhPrime(a), sp = sigmoidPrime(a);
            // values: one float rounding of the exact value
            assertEquals(Math.tanh(a), ht, 2 * U * Math.abs(Math.tanh(a)) + Float.MIN_NORMAL, "tanh(" + a + ")");
            assertEquals(1 / (1 + Math.exp(-a)), hs, 2 * U, "sigmoid(" + a + ")");
            // derivatives from the float output: 1 - h^2 and h(1-h) lose only absolute accuracy,
            // about u per rounding (h carries u|h|, h^2 and the subtraction a few more)
            float dt = Activation.TANH.derivativeFromOutput(ht), ds = Activation.SIGMOID.derivativeFromOutput(hs);
            assertEquals(tp, dt, 6 * U, "tanh'(" + a + ")");
            assertEquals(sp, ds, 3 * U, "sigmoid'(" + a + ")");
            if (Math.abs(a) <= 2) {
                assertEquals(tp, dt, 1e-5 * tp, "tanh'(" + a + ") relative");
                assertEquals(sp, ds, 1e-5 * sp, "sigmoid'(" + a + ") relative");
            }
            float hr = Activation.RELU.apply(a);
            assertEquals(a > 0 ? a : 0f, hr);
            assertEquals(a > 0 ? 1f : 0f, Activation.RELU.derivativeFromOutput(hr), "relu'(" + a + ")");
        }
    }

    @Test
    void sigmoidDerivativeAtMostQuarterWithMaximumAtZero() {
        // mathematics, in double, on a fine grid: max 0.25 at 0 exactly, strictly below elsewhere
        for (int k = -20000; k <= 20000; k++) {
            double a = k / 1000.0;
            double d = sigmoidPrime(a);
            assertTrue(d <= 0.25, "sigmoid'(" + a + ") = " + d);
            if (k != 0) assertTrue(d < 0.25, "sigmoid'(" + a + ") = " + d + " should be < 0.25");
            assertTrue(d > 0, "sigmoid'(" + a + ") > 0 in exact arithmetic");
        }
        assertEquals(0.25, sigmoidPrime(0), 0.0);
        // the engine: exactly 0.25 at a = 0 (h = 0.5 is exact), never above
        assertEquals(0.25f, Activation.SIGMOID.derivativeFromOutput(Activation.SIGMOID.apply(0f)), 0f);
        for (int k = -3000; k <= 3000; k++) {
            float a = k / 100f;
            assertTrue(Activation.SIGMOID.derivativeFromOutput(Activation.SIGMOID.apply(a)) <= 0.25f);
        }
        // the maximum is a maximum: nearby values are smaller
        assertTrue(sigmoidPrime(1e-3) < 0.25 && sigmoidPrime(-1e-3) < 0.25);
    }

    @Test
    void tanhDerivativeAtMostOneWithMaximumAtZero() {
        for (int k = -20000; k <= 20000; k++) {
            double a = k / 1000.0;
            double d = tanhPrime(a);
            assertTrue(d <= 1, "tanh'(" + a + ") = " + d);
            if (k != 0) assertTrue(d < 1, "tanh'(" + a + ") = " + d);
            assertTrue(d > 0);
        }
        assertEquals(1.0, tanhPrime(0), 0.0);
        assertEquals(1f, Activation.TANH.derivativeFromOutput(Activation.TANH.apply(0f)), 0f);
        for (int k = -3000; k <= 3000; k++) {
            float a = k / 100f;
            float d = Activation.TANH.derivativeFromOutput(Activation.TANH.apply(a));
            assertTrue(d <= 1f && d >= 0f, "tanh'(" + a + ") = " + d);
        }
    }

    @Test
    void reluDerivativeIsZeroOrOne() {
        float[] as = {-1e30f, -5f, -1f, -Float.MIN_VALUE, -0f, 0f, Float.MIN_VALUE, 1e-20f, 0.5f, 3f, 1e30f};
        for (float a : as) {
            float d = Activation.RELU.derivativeFromOutput(Activation.RELU.apply(a));
            assertTrue(d == 0f || d == 1f, "relu'(" + a + ") = " + d);
            assertEquals(a > 0 ? 1f : 0f, d, "relu'(" + a + ")");
        }
    }

    /** Smallest positive float a with pred(a) true, pred monotone on [lo, hi]. */
    static float threshold(float lo, float hi, java.util.function.Predicate<Float> pred) {
        assertTrue(!pred.test(lo) && pred.test(hi));
        int l = Float.floatToIntBits(lo), h = Float.floatToIntBits(hi);   // positive floats order like their bits
        while (h - l > 1) {
            int m = (l + h) >>> 1;
            if (pred.test(Float.intBitsToFloat(m))) h = m;
            else l = m;
        }
        return Float.intBitsToFloat(h);
    }

    @Test
    void floatDerivativeVanishesExactlyOnceOutputRoundsToOne() {
        float tanhT = threshold(1f, 40f, a -> Activation.TANH.derivativeFromOutput(Activation.TANH.apply(a)) == 0f);
        float sigT = threshold(1f, 60f, a -> Activation.SIGMOID.derivativeFromOutput(Activation.SIGMOID.apply(a)) == 0f);
        System.out.printf(java.util.Locale.ROOT, "SATURATION tanh' = 0 in float for a >= %.4f; sigmoid' = 0 for a >= %.4f%n",
                tanhT, sigT);
        assertTrue(tanhT > 8.5f && tanhT < 10f, "tanh threshold " + tanhT);
        assertTrue(sigT > 16.5f && sigT < 18f, "sigmoid threshold " + sigT);
        // the cause: h rounds to exactly 1
        assertEquals(1f, Activation.TANH.apply(tanhT));
        assertTrue(Activation.TANH.apply(Math.nextDown(tanhT)) < 1f);
        assertEquals(1f, Activation.SIGMOID.apply(sigT));
        assertTrue(Activation.SIGMOID.apply(Math.nextDown(sigT)) < 1f);
        // ... while the exact derivative there is small but not zero
        assertTrue(tanhPrime(tanhT) > 1e-9 && sigmoidPrime(sigT) > 1e-9);
        // and it stays exactly 0 beyond (sampled), for tanh on both sides (odd function)
        for (float a = tanhT; a < 50; a += 0.37f) {
            assertEquals(0f, Activation.TANH.derivativeFromOutput(Activation.TANH.apply(a)), "tanh' at " + a);
            assertEquals(0f, Activation.TANH.derivativeFromOutput(Activation.TANH.apply(-a)), "tanh' at " + -a);
        }
        for (float a = sigT; a < 80; a += 0.37f) {
            assertEquals(0f, Activation.SIGMOID.derivativeFromOutput(Activation.SIGMOID.apply(a)), "sigmoid' at " + a);
        }
        // the sigmoid is not symmetric in float: for a -> -inf, h -> 0 stays representable far
        // longer (h ~ e^a), so h(1-h) ~ h > 0 at a = -20 or -80
        DoubleUnaryOperator sd = a -> Activation.SIGMOID.derivativeFromOutput(Activation.SIGMOID.apply((float) a));
        assertTrue(sd.applyAsDouble(-20) > 0 && sd.applyAsDouble(-80) > 0);
    }
}
