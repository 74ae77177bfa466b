package dev.recur.gradflow;

import dev.recur.Activation;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class RateFitAndDerivativesTest {

    @Test
    void geometricDecayIsFittedExactly() {
        double[] n = new double[40];
        for (int k = 0; k < n.length; k++) n[k] = 2 * Math.pow(0.5, k);
        RateFit f = RateFit.of(n, n.length);
        assertEquals(0.5, f.ratePerStep(), 1e-12);
        assertEquals(Math.log(2), f.intercept(), 1e-12);
        assertEquals(40, f.points());
        assertEquals(20, f.crossingLag());            // 0.5^19 = 1.9e-6, 0.5^20 = 9.5e-7
        assertFalse(f.growing());
        assertEquals(Math.log(1e6) / Math.log(2), f.extrapolatedLag(), 1e-9);
        assertEquals("vanishing", f.regime());
    }

    @Test
    void growthCrossesAboveAMillion() {
        double[] n = new double[20];
        for (int k = 0; k < n.length; k++) n[k] = 0.1 * Math.pow(3, k);
        RateFit f = RateFit.of(n, n.length);
        assertEquals(3, f.ratePerStep(), 1e-12);
        assertEquals(13, f.crossingLag());            // 3^12 = 531441, 3^13 = 1594323
        assertTrue(f.growing());
        assertEquals("exploding", f.regime());
    }

    @Test
    void zerosAndNonFiniteValuesAreLeftOutOfTheFit() {
        double[] n = {1, 0.5, 0.25, 0.125, 0, 0, Double.NaN};
        RateFit f = RateFit.of(n, n.length);
        assertEquals(4, f.points());
        assertEquals(0.5, f.ratePerStep(), 1e-12);
        assertEquals(4, f.crossingLag());             // an underflow to 0 is below 1e-6 of the start
        RateFit flat = RateFit.of(new double[] {1, 1, 1}, 3);
        assertEquals("flat", flat.regime());
        assertEquals(-1, flat.crossingLag());
        assertTrue(Double.isNaN(flat.extrapolatedLag()));
        RateFit empty = RateFit.of(new double[] {0, 0}, 2);
        assertEquals("n/a", empty.regime());
        assertEquals(0, empty.points());
        RateFit inf = RateFit.of(new double[] {1, 2, Double.POSITIVE_INFINITY}, 3);
        assertEquals(2, inf.crossingLag());
        assertTrue(inf.growing());
        assertThrows(IllegalArgumentException.class, () -> RateFit.of(n, 8));
        assertThrows(IllegalArgumentException.class, () -> RateFit.of(null, 0));
    }

    @Test
    void derivativeRangesAreTheSeeds() {
        Derivatives.Curve s = Derivatives.sample(Activation.SIGMOID, -6, 6, 241);
        Derivatives.Curve t = Derivatives.sample(Activation.TANH, -6, 6, 241);
        Derivatives.Curve r = Derivatives.sample(Activation.RELU, -6, 6, 241);
        assertEquals(0.0, s.a()[120], 0);
        assertEquals(0.25, s.derivative()[120], 1e-7);
        assertEquals(0.25, s.maxDerivative(), 1e-7);
        assertEquals(1.0, t.maxDerivative(), 0);
        assertEquals(1.0, r.maxDerivative(), 0);
        for (int k = 0; k < 241; k++) {
            assertTrue(s.derivative()[k] > 0 && s.derivative()[k] <= 0.25);
            assertTrue(t.derivative()[k] > 0 && t.derivative()[k] <= 1);
            double rd = r.derivative()[k];
            assertEquals(r.a()[k] > 0 ? 1.0 : 0.0, rd, 0);
            assertEquals(Math.tanh(t.a()[k]), t.value()[k], 1e-6);
        }
        assertEquals(0.25, Derivatives.supremum(Activation.SIGMOID), 0);
        assertThrows(IllegalArgumentException.class, () -> Derivatives.sample(Activation.TANH, 1, 1, 10));
        assertThrows(IllegalArgumentException.class, () -> Derivatives.sample(Activation.TANH, 0, 1, 1));
        assertThrows(IllegalArgumentException.class, () -> Derivatives.sample(null, 0, 1, 10));
    }
}
