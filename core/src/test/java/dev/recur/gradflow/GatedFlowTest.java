package dev.recur.gradflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.Activation;
import dev.recur.Backprop;
import dev.recur.Batch;
import dev.recur.Cell;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Workspace;
import dev.recur.kernel.KernelChoice;

import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The gated cells' gradient flow: with small weights, an LSTM's gradient through the cell state
 * decays at about its forget gate's value per step, sigmoid(b_f), and carries across lags where
 * the Elman cells' gradient has vanished. The one-step chunked measurement is exact BPTT: its
 * parameter gradients and dL/dh_0 equal one full-sequence backward.
 */
class GatedFlowTest {

    static final double WEIGHT_SCALE = 0.1;

    static double sigmoid(double b) { return 1 / (1 + Math.exp(-b)); }

    @ParameterizedTest(name = "lstm, b_f = {0}")
    @CsvSource({"1", "3", "5"})
    void lstmRateIsTheForgetGate(double bf) {
        Setup s = new Setup(10, 64, 10, 120, 1.0, false, 1);
        GradientFlow.Flow f = s.runGated(Cell.LSTM, WEIGHT_SCALE, bf, KernelChoice.VECTOR);
        double want = sigmoid(bf), rate = f.cellFit().ratePerStep();
        assertTrue(Math.abs(rate - want) <= 0.1 * want, "fitted rate " + rate + ", sigmoid(b_f) = " + want);
        // the measured factor is the mean forget gate, near sigmoid(b_f) at every step
        for (double g : f.factorNorm()) assertTrue(Math.abs(g - want) <= 0.1 * want, "mean f " + g);
    }

    @Test
    void lstmCarriesTheGradientWhereTanhLosesIt() {
        Setup s = new Setup(10, 64, 10, 120, 1.0, false, 1);
        GradientFlow.Flow lstm = s.runGated(Cell.LSTM, WEIGHT_SCALE, 5, KernelChoice.VECTOR);
        GradientFlow.Flow tanh = s.run(List.of(Activation.TANH), KernelChoice.VECTOR).get(0);
        double lstmRatio = lstm.gradNorm(100) / lstm.gradNorm(0), tanhRatio = tanh.gradNorm(100) / tanh.gradNorm(0);
        assertTrue(lstmRatio >= 1e-2, "lstm ||dL/dh|| lag 100 / lag 0 = " + lstmRatio);
        assertTrue(tanhRatio < 1e-6, "tanh ||dL/dh|| lag 100 / lag 0 = " + tanhRatio);
    }

    @ParameterizedTest
    @EnumSource(value = Cell.class, names = {"GRU", "LSTM"})
    void chunkedMeasurementIsExactBptt(Cell cell) {
        Setup s = new Setup(5, 17, 4, 30, 1.0, false, 3);
        Params p = s.gatedParams(cell, 1.0, 1.0);   // full-size weights: every path matters
        try (Rnn rnn = Rnn.builder(s.shape(cell)).kernels(KernelChoice.SCALAR).build()) {
            GradientFlow.Flow f = GradientFlow.measure(rnn, p, s.inputs(), s.steps(), null, s.target());
            // one full-sequence pass with the same loss: cross-entropy of the last step only
            int T = s.steps(), O = s.output(), H = s.hidden();
            float[] out = new float[T * O];
            Workspace ws = rnn.trainingWorkspace(1, T);
            rnn.forward(p, ws, new Batch(1, T).input(s.inputs()));
            rnn.predict(p, rnn.inferenceWorkspace(1, T), new Batch(1, T).input(s.inputs()), out, 0);
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int r = 0; r < O; r++) max = Math.max(max, out[(T - 1) * O + r]);
            for (int r = 0; r < O; r++) z += Math.exp(out[(T - 1) * O + r] - max);
            double[] dy = new double[O];
            for (int r = 0; r < O; r++) dy[r] = Math.exp(out[(T - 1) * O + r] - max) / z;
            dy[s.target()] -= 1;
            // backward from the layer's outputs: dL/dh_T = V^T dy at the last step, nothing before
            float[] dY = new float[T * H];
            int v = s.shape(cell).headWeights();
            for (int i = 0; i < H; i++) {
                double sum = 0;
                for (int r = 0; r < O; r++) sum += p.data()[v + r * H + i] * dy[r];
                dY[(T - 1) * H + i] = (float) sum;
            }
            Grads g = Grads.zeros(s.shape(cell));
            float[] dh0 = new float[H];
            rnn.backward(p, ws, g, new Backprop().outputGradient(dY, 0).initialStateGradient(dh0, 0));
            double num = 0, den = 0;
            for (int k = 0; k < v; k++) {   // the recurrent layer's gradients (the head's are added by measure)
                double e = g.data()[k] - f.grads().data()[k];
                num += e * e;
                den += (double) g.data()[k] * g.data()[k];
            }
            assertTrue(Math.sqrt(num / den) < 1e-5, "parameter gradients, relative error " + Math.sqrt(num / den));
            for (int i = 0; i < H; i++) assertEquals(dh0[i], f.dLdh()[i], 1e-5 * (1 + Math.abs(dh0[i])), "dL/dh_0");
            assertEquals(cell == Cell.LSTM, f.cellGradNorm() != null);
            assertTrue(Double.isNaN(f.stepBound()));
        }
    }

    @Test
    void gruRateIsTheUpdateGate() {
        Setup s = new Setup(10, 64, 10, 120, 1.0, false, 1);
        GradientFlow.Flow f = s.runGated(Cell.GRU, WEIGHT_SCALE, 3, KernelChoice.VECTOR);
        double want = sigmoid(3), rate = f.fit().ratePerStep();
        assertTrue(Math.abs(rate - want) <= 0.1 * want, "fitted rate " + rate + ", sigmoid(b_z) = " + want);
        assertNull(f.cellFit());
    }
}
