package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.optim.Adagrad;
import dev.recur.optim.Adam;
import dev.recur.optim.Clipping;
import dev.recur.optim.Sgd;

import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;

/** Optimisers against hand-computed steps (standard definitions), clipping, and SGD learning a small task. */
class OptimizerTest {

    static final Shape S1 = new Shape(1, 1, 1);          // 5 parameters: U, W, b, V, c

    static Params params(float... v) { return Params.wrap(S1, v.clone()); }
    static Grads grads(float... v) { return Grads.wrap(S1, v.clone()); }

    @Test
    void sgdIsExactlyPMinusLrTimesG() {
        Params p = params(1f, 2f, 3f, -1f, 0.5f);
        Sgd sgd = new Sgd(0.5f);
        sgd.step(p, grads(2f, -4f, 0.25f, 1f, -8f));
        // by hand: 1 - 0.5*2, 2 + 0.5*4, 3 - 0.5*0.25, -1 - 0.5*1, 0.5 + 0.5*8 (all exact in float)
        assertArrayEquals(new float[] {0f, 4f, 2.875f, -1.5f, 4.5f}, p.data());
        assertEquals(1, sgd.steps());

        // and bitwise P - lr*g in float on random values, every parameter
        Shape s = new Shape(7, 9, 5);
        Params q = Params.random(s, 3);
        Grads g = Grads.zeros(s);
        SplittableRandom rnd = new SplittableRandom(4);
        for (int k = 0; k < g.data().length; k++) g.data()[k] = (float) rnd.nextGaussian();
        float[] before = q.data().clone();
        float lr = 0.0371f;
        new Sgd(lr).step(q, g);
        for (int k = 0; k < before.length; k++) assertEquals(before[k] - lr * g.data()[k], q.data()[k], 0f, "param " + k);
        // the gradient is only read
        Grads g2 = Grads.wrap(s, g.data().clone());
        new Sgd(lr).step(q, g);
        assertArrayEquals(g2.data(), g.data());
    }

    @Test
    void adagradTwoStepsByHand() {
        float lr = 0.1f;
        double[] p0 = {1, 2, 3, -1, 0.5};
        double[] g1 = {3, -4, 0.5, 1, 2}, g2 = {4, 3, -0.5, 0, 1};
        Params p = params(1f, 2f, 3f, -1f, 0.5f);
        Adagrad opt = new Adagrad(5, lr);
        opt.step(p, grads(3f, -4f, 0.5f, 1f, 2f));
        // step 1: G = g^2, so P -= lr * g / (|g| + 1e-8) = P - lr * sign(g)
        double[] want1 = {0.9, 2.1, 2.9, -1.1, 0.4};
        for (int k = 0; k < 5; k++) assertEquals(want1[k], p.data()[k], 1e-6, "step 1, param " + k);
        opt.step(p, grads(4f, 3f, -0.5f, 0f, 1f));
        for (int k = 0; k < 5; k++) {
            double gs = g1[k] * g1[k] + g2[k] * g2[k];
            double want = p0[k] - lr * g1[k] / (Math.abs(g1[k]) + 1e-8) - lr * g2[k] / (Math.sqrt(gs) + 1e-8);
            assertEquals(want, p.data()[k], 1e-6, "step 2, param " + k);
        }
        // e.g. param 0: 1 - 0.1 - 0.1 * 4/5 = 0.82
        assertEquals(0.82, p.data()[0], 1e-6);
        assertEquals(2, opt.steps());
    }

    @Test
    void adamTwoStepsByHand() {
        float lr = 0.01f;
        double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        double[] p0 = {1, 2, 3, -1, 0.5};
        double[] g1 = {3, -4, 0.5, 1, 2}, g2 = {4, 3, -0.5, 0, 1};
        Params p = params(1f, 2f, 3f, -1f, 0.5f);
        Adam opt = new Adam(5, lr);
        opt.step(p, grads(3f, -4f, 0.5f, 1f, 2f));
        // step 1: mhat = g, vhat = g^2, so P -= lr * g / (|g| + eps) = P - lr * sign(g)
        double[] want1 = {0.99, 2.01, 2.99, -1.01, 0.49};
        for (int k = 0; k < 5; k++) assertEquals(want1[k], p.data()[k], 1e-6, "step 1, param " + k);
        opt.step(p, grads(4f, 3f, -0.5f, 0f, 1f));
        for (int k = 0; k < 5; k++) {
            double m = (1 - b1) * g1[k], v = (1 - b2) * g1[k] * g1[k];
            double p1 = p0[k] - lr * (m / (1 - b1)) / (Math.sqrt(v / (1 - b2)) + eps);
            m = b1 * m + (1 - b1) * g2[k];
            v = b2 * v + (1 - b2) * g2[k] * g2[k];
            double mhat = m / (1 - b1 * b1), vhat = v / (1 - b2 * b2);
            double want = p1 - lr * mhat / (Math.sqrt(vhat) + eps);
            assertEquals(want, p.data()[k], 1e-6, "step 2, param " + k);
        }
        assertEquals(2, opt.steps());
    }

    @Test
    void clipByGlobalNorm() {
        Grads g = grads(3f, 4f, 0f, 0f, 0f);
        assertEquals(5.0, Clipping.byGlobalNorm(g, 10), 1e-12);
        assertArrayEquals(new float[] {3f, 4f, 0f, 0f, 0f}, g.data(), "below the limit: unchanged");
        assertEquals(5.0, Clipping.byGlobalNorm(g, 1), 1e-12);
        assertArrayEquals(new float[] {0.6f, 0.8f, 0f, 0f, 0f}, g.data(), 1e-7f);
        assertEquals(1.0, g.l2Norm(), 1e-6);
        Grads n = grads(Float.NaN, 1f, 0f, 0f, 0f);
        assertTrue(Double.isNaN(Clipping.byGlobalNorm(n, 1)));
        assertEquals(1f, n.data()[1], "a non-finite norm is left alone");
    }

    @Test
    void clipByValue() {
        Grads g = grads(3f, -4f, 0.5f, 1f, -0.2f);
        assertEquals(2, Clipping.byValue(g, 1f));
        assertArrayEquals(new float[] {1f, -1f, 0.5f, 1f, -0.2f}, g.data());
    }

    /**
     * Plain SGD memorises a short sequence: 5 classes, H = 16, T = 20, input = the previous target,
     * a fixed random target sequence (so the next symbol is not a function of the input alone:
     * the state must carry position). The loss (summed over 20 steps, ln 5 each at chance) falls
     * by more than a factor 20 within 400 steps.
     */
    @Test
    void sgdMemorisesAShortSequence() {
        Shape s = new Shape(5, 16, 5);
        int steps = 20;
        SplittableRandom rnd = new SplittableRandom(2024);
        int[] y = new int[steps], x = new int[steps];
        for (int t = 0; t < steps; t++) y[t] = rnd.nextInt(5);
        for (int t = 1; t < steps; t++) x[t] = y[t - 1];
        Rnn rnn = Rnn.builder(s).kernels(KernelChoice.SCALAR).build();
        Params p = Params.random(s, 7);
        Workspace ws = rnn.trainingWorkspace(1, steps);
        Grads g = Grads.zeros(s);
        Sgd sgd = new Sgd(0.05f);
        Batch batch = new Batch(1, steps).input(x).targets(y).loss(Loss.CROSS_ENTROPY);
        double first = rnn.forward(p, ws, batch), last = first;
        for (int it = 0; it < 400; it++) {
            g.zero();
            last = rnn.forward(p, ws, batch);
            rnn.backward(p, ws, g);
            sgd.step(p, g);
        }
        last = rnn.forward(p, ws, batch);
        System.out.printf(java.util.Locale.ROOT, "SGD memorise: loss %.4f -> %.4f%n", first, last);
        assertTrue(first > 0.8 * steps * Math.log(5) * 0.9, "starts near chance: " + first);
        assertTrue(last < first / 20, "loss " + first + " -> " + last);
    }
}
