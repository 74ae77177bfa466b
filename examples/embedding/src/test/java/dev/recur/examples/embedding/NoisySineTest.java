package dev.recur.examples.embedding;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.Activation;
import dev.recur.InferenceStream;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.kernel.KernelChoice;
import org.junit.jupiter.api.Test;

class NoisySineTest {

    @Test
    void vectorKernelsAreActiveAndTrainingLowersTheLoss() {
        Shape shape = new Shape(1, NoisySine.HIDDEN, 1);
        Params params = Params.random(shape, 42);
        try (Rnn rnn = Rnn.builder(shape).activation(Activation.TANH).kernels(KernelChoice.AUTO).build()) {
            // surefire's argLine adds jdk.incubator.vector, so auto must pick the vector kernels
            assertEquals("vector", rnn.kernels().name(), rnn.toString());
            double[] losses = NoisySine.train(rnn, params, 200, 7);
            double first = mean(losses, 0, 10), last = mean(losses, losses.length - 10, losses.length);
            assertTrue(last < 0.25 * first, "loss " + first + " -> " + last + ", expected at least 4x lower");

            InferenceStream stream = rnn.stream(params, 1);
            float next = stream.step(new float[] {0.5f})[0];
            float[] h = stream.state(new float[NoisySine.HIDDEN], 0);
            assertTrue(Float.isFinite(next) && h[0] != 0f, "one streamed step updates the state");
        }
    }

    private static double mean(double[] a, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) s += a[i];
        return s / (to - from);
    }
}
