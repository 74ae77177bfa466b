package dev.recur.gradflow;

import dev.recur.Activation;
import dev.recur.Backprop;
import dev.recur.Batch;
import dev.recur.Loss;
import dev.recur.reference.ReferenceNetwork;
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
        for (int k = 0; k < 32 * 32; k++) assertTrue(w[s.shape().recurrentWeights(0, 0) + k] >= 0f);
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
        rnn.forward(p, ws, new Batch(1, T).input(x));
        float[] dH = new float[T * H];
        System.arraycopy(f.dLdh(), T * H, dH, (T - 1) * H, H);    // L_T only: dL_T/dh_T on the last row
        Grads g = Grads.zeros(shape);
        float[] dh0 = new float[H];
        rnn.backward(p, ws, g, new Backprop().outputGradient(dH, 0).initialStateGradient(dh0, 0));
        // the dh0 of one full backward is the value at lag T
        assertVectorClose(dh0, 0, f.dLdh(), 0, H, 1e-5);
        assertEquals(GradientFlow.norm(dh0, 0, H), f.gradNorm(T), 1e-5 * f.gradNorm(T));
        // the accumulated parameter gradients agree too (U, W, b; V and c come from the head)
        float[] a = g.data(), b = f.grads().data();
        for (int k = 0; k < shape.headWeights(); k++) assertEquals(a[k], b[k], 1e-5 * (1 + Math.abs(a[k])), "param " + k);

        // every intermediate lag: a full backward over the suffix t+1..T from h_t
        for (int t = 1; t < T; t += 4) {
            int n = T - t;
            float[] h0 = ws.stateAt(t, new float[H], 0);
            Workspace w2 = rnn.trainingWorkspace(1, n);
            rnn.forward(p, w2, new Batch(1, n).input(x, t * shape.input()).initialState(h0));
            float[] d2 = new float[n * H];
            System.arraycopy(f.dLdh(), T * H, d2, (n - 1) * H, H);
            float[] got = new float[H];
            rnn.backward(p, w2, Grads.zeros(shape), new Backprop().outputGradient(d2, 0).initialStateGradient(got, 0));
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
        rnn.forward(p, all, new Batch(1, T).input(x));
        float[] hPrev = all.stateAt(T - 1, new float[H], 0);
        Workspace last = rnn.trainingWorkspace(1, 1);
        double loss = rnn.forward(p, last, new Batch(1, 1).input(x, (T - 1) * I).targets(new int[] {s.target()})
                .loss(Loss.CROSS_ENTROPY).initialState(hPrev));
        assertEquals(loss, f.loss(), 1e-5 * (1 + loss));
        Grads g = Grads.zeros(s.shape());
        float[] dh = new float[H];
        rnn.backward(p, last, g, new Backprop().initialStateGradient(dh, 0));
        assertVectorClose(dh, 0, f.dLdh(), (T - 1) * H, H, 1e-5);
        // the head's gradients dV, dc
        float[] a = g.data(), b = f.grads().data();
        for (int k = s.shape().headWeights(); k < s.shape().size(); k++) assertEquals(a[k], b[k], 1e-6, "param " + k);
    }

    /**
     * Against the independent double reference: a loss on step T only (the other steps not
     * scored), dL_T/dh_T = V^T dy_T and dL_T/dh_t = W^T delta_{t+1} from the reference's deltas.
     */
    @ParameterizedTest
    @CsvSource({"SIGMOID", "TANH", "RELU"})
    void matchesTheDoubleReference(Activation act) {
        Setup s = new Setup(3, 10, 4, 30, 1.4, false, 3);
        Params p = s.params();
        int T = s.steps(), H = s.hidden(), I = s.input(), O = s.output();
        Shape sh = s.shape();
        ReferenceNetwork ref = new ReferenceNetwork("rnn", act.id(), I, H, O, 1, false, 1);
        for (Shape.Block b : sh.blocks()) ref.set(b.name(), p.copyOf(b.name()));
        ReferenceNetwork.Problem pr = new ReferenceNetwork.Problem();
        pr.steps = T;
        pr.batch = 1;
        pr.x = new double[T][1][I];
        float[] x = s.inputs();
        for (int t = 0; t < T; t++) for (int j = 0; j < I; j++) pr.x[t][0][j] = x[t * I + j];
        pr.loss = "xent";
        pr.yi = new int[T][1];
        pr.yi[T - 1][0] = s.target();
        pr.scored = new boolean[T][1];
        pr.scored[T - 1][0] = true;
        ReferenceNetwork.Result r = ref.run(pr);
        double[] V = ref.params.get("V"), W = ref.params.get("W");
        GradientFlow.Flow f = run(s, act);
        assertEquals(r.loss, f.loss(), 1e-5 * r.loss, "L_T");
        for (int k = 0; k <= T; k++) {
            int t = T - k;
            double[] g = new double[H];
            if (k == 0) {
                for (int i = 0; i < H; i++) for (int o = 0; o < O; o++) g[i] += V[o * H + i] * r.dlogits[T - 1][0][o];
            } else {
                double[] delta = r.dpre[0][t][0];
                for (int j = 0; j < H; j++) for (int i = 0; i < H; i++) g[j] += W[i * H + j] * delta[i];
            }
            double n = 0;
            for (double v : g) n += v * v;
            n = Math.sqrt(n);
            assertEquals(n, f.gradNorm(k), 1e-4 * n + 1e-30, "lag " + k);
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
        rnn.forward(p, ws, new Batch(1, s.steps()).input(s.inputs()));
        int H = 8;
        float[] w = p.copyOf("W");
        for (int k = 0; k < s.steps(); k++) {
            int t = s.steps() - k;
            // J^T = W^T diag(1 - h_t^2), built explicitly (H x H), then its norm
            double[] jt = new double[H * H];
            float[] ht = ws.stateAt(t, new float[H], 0);
            for (int r = 0; r < H; r++) {
                for (int c = 0; c < H; c++) jt[r * H + c] = w[c * H + r] * (1.0 - (double) ht[c] * ht[c]);
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
