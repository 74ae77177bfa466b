package dev.recur.gradflow;

import dev.recur.Activation;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.kernel.KernelChoice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GradientFlowTest {

    private static final double TOL = 1e-4;   // relative slack on bounds: float gradients, power iteration

    private static GradientFlow.Flow run(Setup s, Activation a) {
        return s.run(List.of(a), KernelChoice.SCALAR).get(0);
    }

    // ------------------------------------------------------------------ the seed's bounds

    @ParameterizedTest(name = "{0}, radius {1}, seed {2}")
    @CsvSource({
            "SIGMOID, 1.5, 1", "SIGMOID, 3.0, 2", "SIGMOID, 0.9, 3",
            "TANH, 1.5, 1", "TANH, 3.0, 2", "TANH, 0.9, 3",
    })
    void perStepDecayIsBoundedBySupDerivativeTimesNormW(Activation act, double radius, long seed) {
        Setup s = new Setup(6, 24, 5, 40, radius, false, seed);
        GradientFlow.Flow f = run(s, act);
        double bound = Derivatives.supremum(act) * f.wNorm();   // 0.25 ||W|| or ||W||
        assertEquals(Derivatives.supremum(act) * f.wNorm(), f.stepBound(), 0);
        int checked = 0;
        for (int k = 0; k < s.steps(); k++) {
            double now = f.gradNorm(k), next = f.gradNorm(k + 1);
            assertTrue(f.factorNorm()[k] <= bound * (1 + TOL),
                    "lag " + k + ": factor " + f.factorNorm()[k] + " > bound " + bound);
            if (now < 1e-30) continue;   // float's range: leave the subnormal tail alone
            double ratio = next / now;
            assertTrue(ratio <= f.factorNorm()[k] * (1 + TOL) + 1e-12,
                    "lag " + k + ": ratio " + ratio + " > factor " + f.factorNorm()[k]);
            assertTrue(ratio <= bound * (1 + TOL), "lag " + k + ": ratio " + ratio + " > bound " + bound);
            checked++;
        }
        assertTrue(checked >= 20, "checked only " + checked + " steps");
        if (bound < 1) {
            // every factor is below 1, so the gradient must vanish
            assertTrue(f.fit().ratePerStep() < 1);
            assertEquals("vanishing", f.fit().regime());
        }
    }

    @Test
    void reluWithNonNegativeWAndRadiusAboveOneGrows() {
        Setup s = new Setup(6, 32, 5, 30, 1.5, true, 7);
        Params p = s.params();
        float[] w = p.data();
        for (int k = 0; k < 32 * 32; k++) assertTrue(w[s.shape().wOffset() + k] >= 0f);
        GradientFlow.Flow f = run(s, Activation.RELU);
        assertEquals(-1, f.firstNonFiniteStep(), "forward states must stay finite");
        assertTrue(Double.isFinite(f.gradNorm(s.steps())));
        assertTrue(f.fit().ratePerStep() > 1.2, "rate " + f.fit().ratePerStep());
        assertEquals("exploding", f.fit().regime());
        assertTrue(f.gradNorm(s.steps() - 1) > 1e3 * f.gradNorm(0));
        // once every unit is on, the factor is ||W^T|| exactly
        assertEquals(f.wNorm(), f.factorNorm()[0], 1e-6 * f.wNorm());
        // and the growth per step approaches rho(W) = 1.5 (away from t = 1, where U x_1 switches
        // about half of the units off)
        double mean = Math.pow(f.gradNorm(20) / f.gradNorm(5), 1.0 / 15);
        assertEquals(1.5, mean, 0.05);
        assertTrue(f.fit().growing());
    }

    @Test
    void sameWeightsAndInputsForEveryActivation() {
        Setup s = new Setup(4, 16, 3, 12, 1.2, false, 11);
        List<GradientFlow.Flow> flows = s.run(List.of(Activation.SIGMOID, Activation.TANH, Activation.RELU),
                KernelChoice.SCALAR);
        assertEquals(3, flows.size());
        assertEquals(flows.get(0).wNorm(), flows.get(1).wNorm(), 0);
        assertEquals(flows.get(0).wNorm(), flows.get(2).wNorm(), 0);
        assertArrayEquals(s.params().data(), s.params().data());
        assertArrayEquals(s.inputs(), s.inputs());
    }

    // ------------------------------------------------------------------ agreement with the engine

    @ParameterizedTest
    @CsvSource({"SIGMOID", "TANH", "RELU"})
    void chunkedGradientsMatchOneFullBackward(Activation act) {
        Setup s = new Setup(5, 20, 4, 25, 1.3, false, 5);
        Shape shape = s.shape();
        Params p = s.params();
        float[] x = s.inputs();
        int T = s.steps(), H = s.hidden();
        GradientFlow.Flow f = run(s, act);

        Rnn rnn = Rnn.builder(shape).activation(act).kernels(KernelChoice.SCALAR).build();
        Workspace ws = rnn.trainingWorkspace(1, T);
        rnn.forwardLayer(p, ws, T, x, null);
        float[] dH = new float[T * H];
        System.arraycopy(f.dLdh(), T * H, dH, (T - 1) * H, H);    // L_T only: dL_T/dh_T on the last row
        Grads g = Grads.zeros(shape);
        float[] dh0 = rnn.backwardLayer(p, ws, dH, g, null, null, new float[H]);
        // the dh0 of one full backward is the value at lag T
        assertVectorClose(dh0, 0, f.dLdh(), 0, H, 1e-5);
        assertEquals(GradientFlow.norm(dh0, 0, H), f.gradNorm(T), 1e-5 * f.gradNorm(T));
        // the accumulated parameter gradients agree too (U, W, b; V and c come from the head)
        float[] a = g.data(), b = f.grads().data();
        for (int k = 0; k < shape.vOffset(); k++) assertEquals(a[k], b[k], 1e-5 * (1 + Math.abs(a[k])), "param " + k);

        // every intermediate lag: a full backward over the suffix t+1..T from h_t
        float[] hs = ws.hidden();
        for (int t = 1; t < T; t += 4) {
            int n = T - t;
            float[] h0 = new float[H];
            System.arraycopy(hs, t * H, h0, 0, H);
            float[] xs = new float[n * shape.input()];
            System.arraycopy(x, t * shape.input(), xs, 0, xs.length);
            Workspace w2 = rnn.trainingWorkspace(1, n);
            rnn.forwardLayer(p, w2, n, xs, h0);
            float[] d2 = new float[n * H];
            System.arraycopy(f.dLdh(), T * H, d2, (n - 1) * H, H);
            float[] got = rnn.backwardLayer(p, w2, d2, Grads.zeros(shape), null, null, new float[H]);
            assertVectorClose(got, 0, f.dLdh(), t * H, H, 1e-5);
        }
    }

    @ParameterizedTest
    @CsvSource({"SIGMOID", "TANH", "RELU"})
    void lastStepLossAndHeadMatchTheEngineLossHead(Activation act) {
        Setup s = new Setup(5, 12, 4, 9, 1.1, false, 9);
        Params p = s.params();
        float[] x = s.inputs();
        int T = s.steps(), H = s.hidden(), I = s.input();
        GradientFlow.Flow f = run(s, act);
        Rnn rnn = Rnn.builder(s.shape()).activation(act).kernels(KernelChoice.SCALAR).build();
        Workspace all = rnn.trainingWorkspace(1, T);
        rnn.forwardLayer(p, all, T, x, null);
        float[] hPrev = new float[H];
        System.arraycopy(all.hidden(), (T - 1) * H, hPrev, 0, H);
        float[] xT = new float[I];
        System.arraycopy(x, (T - 1) * I, xT, 0, I);
        Workspace last = rnn.trainingWorkspace(1, 1);
        double loss = rnn.forward(p, last, 1, xT, new int[] {s.target()}, hPrev);
        assertEquals(loss, f.loss(), 1e-5 * (1 + loss));
        Grads g = Grads.zeros(s.shape());
        float[] dh = rnn.backward(p, last, g, null, new float[H]);
        assertVectorClose(dh, 0, f.dLdh(), (T - 1) * H, H, 1e-5);
        // the head's gradients dV, dc
        float[] a = g.data(), b = f.grads().data();
        for (int k = s.shape().vOffset(); k < s.shape().size(); k++) assertEquals(a[k], b[k], 1e-6, "param " + k);
    }

    @ParameterizedTest
    @CsvSource({"SIGMOID", "TANH", "RELU"})
    void matchesAnIndependentDoubleReference(Activation act) {
        Setup s = new Setup(3, 10, 4, 30, 1.4, false, 3);
        Params p = s.params();
        float[] x = s.inputs();
        int T = s.steps(), H = s.hidden(), I = s.input(), O = s.output();
        Shape sh = s.shape();
        float[] d = p.data();
        // forward in double
        double[][] h = new double[T + 1][H];
        for (int t = 1; t <= T; t++) {
            for (int i = 0; i < H; i++) {
                double a = d[sh.bOffset() + i];
                for (int j = 0; j < I; j++) a += d[sh.uOffset() + i * I + j] * (double) x[(t - 1) * I + j];
                for (int j = 0; j < H; j++) a += d[sh.wOffset() + i * H + j] * h[t - 1][j];
                h[t][i] = switch (act) {
                    case TANH -> Math.tanh(a);
                    case SIGMOID -> 1 / (1 + Math.exp(-a));
                    case RELU -> Math.max(0, a);
                };
            }
        }
        double[] o = new double[O];
        for (int r = 0; r < O; r++) {
            o[r] = d[sh.cOffset() + r];
            for (int i = 0; i < H; i++) o[r] += d[sh.vOffset() + r * H + i] * h[T][i];
        }
        double z = 0;
        for (double v : o) z += Math.exp(v);
        double[] dy = new double[O];
        for (int r = 0; r < O; r++) dy[r] = Math.exp(o[r]) / z;
        dy[s.target()] -= 1;
        double[] g = new double[H];
        for (int i = 0; i < H; i++) for (int r = 0; r < O; r++) g[i] += d[sh.vOffset() + r * H + i] * dy[r];
        GradientFlow.Flow f = run(s, act);
        for (int t = T; t >= 0; t--) {
            double n = 0;
            for (double v : g) n += v * v;
            n = Math.sqrt(n);
            assertEquals(n, f.gradNorm(T - t), 1e-4 * n + 1e-30, "t = " + t);
            if (t == 0) break;
            double[] next = new double[H];
            for (int i = 0; i < H; i++) {
                double dd = switch (act) {
                    case TANH -> 1 - h[t][i] * h[t][i];
                    case SIGMOID -> h[t][i] * (1 - h[t][i]);
                    case RELU -> h[t][i] > 0 ? 1 : 0;
                };
                double delta = dd * g[i];
                for (int j = 0; j < H; j++) next[j] += d[sh.wOffset() + i * H + j] * delta;
            }
            g = next;
        }
    }

    @ParameterizedTest
    @CsvSource({"SIGMOID", "TANH", "RELU"})
    void vectorKernelsAgreeWithScalar(Activation act) {
        org.junit.jupiter.api.Assumptions.assumeTrue(dev.recur.kernel.KernelsLookup.vectorUnavailableReason() == null,
                "vector kernels cannot run here");
        Setup s = new Setup(7, 48, 5, 40, 1.4, false, 13);
        GradientFlow.Flow a = s.run(List.of(act), KernelChoice.SCALAR).get(0);
        GradientFlow.Flow b = s.run(List.of(act), KernelChoice.VECTOR).get(0);
        for (int k = 0; k <= s.steps(); k++) {
            assertEquals(a.gradNorm(k), b.gradNorm(k), 1e-3 * a.gradNorm(k) + 1e-37, "lag " + k);
        }
        assertEquals(a.fit().ratePerStep(), b.fit().ratePerStep(), 1e-4);
    }

    // ------------------------------------------------------------------ factors, clipping, errors

    @Test
    void factorNormsAreTheSpectralNormOfTheTransposedJacobian() {
        Setup s = new Setup(4, 8, 3, 6, 1.2, false, 21);
        GradientFlow.Flow f = run(s, Activation.TANH);
        Params p = s.params();
        Rnn rnn = Rnn.builder(s.shape()).activation(Activation.TANH).kernels(KernelChoice.SCALAR).build();
        Workspace ws = rnn.trainingWorkspace(1, s.steps());
        rnn.forwardLayer(p, ws, s.steps(), s.inputs(), null);
        int H = 8;
        for (int k = 0; k < s.steps(); k++) {
            int t = s.steps() - k;
            // J^T = W^T diag(1 - h_t^2), built explicitly (H x H), then its norm
            double[] jt = new double[H * H];
            for (int r = 0; r < H; r++) {
                for (int c = 0; c < H; c++) {
                    float hc = ws.hidden()[ws.hiddenOffset(t) + c];
                    jt[r * H + c] = p.w(c, r) * (1.0 - (double) hc * hc);
                }
            }
            assertEquals(Spectral.norm(H, H, jt), f.factorNorm()[k], 1e-6);
            // and the norm really is max ||J^T v|| over unit v: no unit basis vector exceeds it
            for (int c = 0; c < H; c++) {
                double col = 0;
                for (int r = 0; r < H; r++) col += jt[r * H + c] * jt[r * H + c];
                assertTrue(Math.sqrt(col) <= f.factorNorm()[k] * (1 + 1e-9));
            }
        }
    }

    @Test
    void clippingTamesTheExplodingCase() {
        Setup s = new Setup(6, 32, 5, 30, 1.5, true, 7);
        GradientFlow.Flow f = run(s, Activation.RELU);
        GradientFlow.Clip c = f.clip(5.0);
        assertTrue(c.clipped());
        assertTrue(c.before() > 1e3, "before " + c.before());
        assertEquals(f.paramGradNorm(), c.before(), 0);
        assertEquals(5.0, c.after(), 5e-5);
        assertEquals(5.0 / c.before(), c.scale(), 1e-6 * c.scale());
        // the measurement itself is untouched
        assertEquals(c.before(), f.paramGradNorm(), 0);
        GradientFlow.Clip none = f.clip(1e30);
        assertFalse(none.clipped());
        assertEquals(none.before(), none.after(), 0);
        assertEquals(1.0, none.scale(), 0);
        assertThrows(IllegalArgumentException.class, () -> f.clip(0));
        assertThrows(IllegalArgumentException.class, () -> f.clip(Double.NaN));
    }

    @Test
    void badArgumentsAreNamed() {
        Setup s = new Setup(2, 4, 3, 5, 1.0, false, 1);
        Rnn rnn = Rnn.builder(s.shape()).kernels(KernelChoice.SCALAR).build();
        Params p = s.params();
        float[] x = s.inputs();
        assertMessage("target = 3", () -> GradientFlow.measure(rnn, p, x, 5, null, 3));
        assertMessage("target = -1", () -> GradientFlow.measure(rnn, p, x, 5, null, -1));
        assertMessage("x.length = 10, expected steps*input = 12", () -> GradientFlow.measure(rnn, p, x, 6, null, 0));
        assertMessage("steps = 0", () -> GradientFlow.measure(rnn, p, x, 0, null, 0));
        assertMessage("h0.length = 3", () -> GradientFlow.measure(rnn, p, x, 5, new float[3], 0));
        assertMessage("engine is null", () -> GradientFlow.measure(null, p, x, 5, null, 0));
        assertMessage("params.shape()", () -> GradientFlow.measure(rnn, Params.zeros(new Shape(2, 5, 3)), x, 5, null, 0));
        assertMessage("radius = 0.0", () -> new Setup(2, 4, 3, 5, 0, false, 1));
        assertMessage("radius = NaN", () -> new Setup(2, 4, 3, 5, Double.NaN, false, 1));
        assertMessage("output = 1", () -> new Setup(2, 4, 1, 5, 1, false, 1));
        assertMessage("hidden = 0", () -> new Setup(2, 0, 3, 5, 1, false, 1));
        assertMessage("activations is empty", () -> s.run(List.of(), KernelChoice.SCALAR));
    }

    static void assertMessage(String part, org.junit.jupiter.api.function.Executable e) {
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, e);
        assertTrue(ex.getMessage().contains(part), "message '" + ex.getMessage() + "' lacks '" + part + "'");
    }

    static void assertVectorClose(float[] a, int aOff, float[] b, int bOff, int n, double rel) {
        double na = GradientFlow.norm(a, aOff, n);
        for (int i = 0; i < n; i++) {
            assertEquals(a[aOff + i], b[bOff + i], rel * na + 1e-38, "element " + i);
        }
    }
}
