package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.recur.kernel.KernelChoice;

import java.util.SplittableRandom;

/**
 * One forward and backward pass of a network on an engine with a given thread count, for the
 * tests that hold a multi-threaded path to the one-thread result: seeded inputs (dense or class
 * indices), class targets, sequences of different lengths, dL/dh_T coming in, and everything
 * out ({@link #NAMES}).
 */
final class ThreadedRun {
    private ThreadedRun() {}

    /** What {@link #run} returns, in order. */
    static final String[] NAMES = {"loss", "top layer states", "grads", "dL/dx", "dL/dh0", "dL/dc0"};

    /** A problem: inputs (x, or xi when classes), targets, lengths (T - lengthStep * b), dL/dh_T. */
    record Problem(Shape shape, int batch, int steps, boolean classes, float[] x, int[] xi, int[] y, int[] lengths, float[] dhT) {
        static Problem of(Shape shape, int batch, int steps, int lengthStep, boolean classes, long seed) {
            SplittableRandom r = new SplittableRandom(seed);
            float[] x = new float[steps * batch * shape.input()];
            for (int i = 0; i < x.length; i++) x[i] = (float) (2 * r.nextDouble() - 1);
            int[] xi = new int[steps * batch];
            for (int i = 0; i < xi.length; i++) xi[i] = r.nextInt(shape.input());
            int[] y = new int[steps * batch];
            for (int i = 0; i < y.length; i++) y[i] = r.nextInt(shape.output());
            int[] lengths = new int[batch];
            for (int b = 0; b < batch; b++) lengths[b] = steps - lengthStep * b;
            float[] dhT = new float[shape.stateBlocks() * batch * shape.hidden()];
            for (int i = 0; i < dhT.length; i++) dhT[i] = (float) (r.nextDouble() - 0.5);
            return new Problem(shape, batch, steps, classes, x, xi, y, lengths, dhT);
        }
    }

    /** Runs {@code p} on a new engine ({@code splitHiddenMin} as the builder takes it); returns {@link #NAMES}' arrays. */
    static float[][] run(Problem p, Params params, KernelChoice k, int threads, int splitHiddenMin) {
        Shape shape = p.shape();
        int B = p.batch(), T = p.steps();
        try (Rnn rnn = Rnn.builder(shape).kernels(k).threads(threads).splitHiddenMin(splitHiddenMin).build()) {
            assertEquals(threads, rnn.threads());
            Workspace ws = rnn.trainingWorkspace(B, T);
            Batch b = new Batch(B, T).lengths(p.lengths()).targets(p.y()).loss(Loss.CROSS_ENTROPY);
            if (p.classes()) b.input(p.xi());
            else b.input(p.x());
            double loss = rnn.forward(params, ws, b);
            float[] states = ws.outputs(new float[T * B * shape.directions() * shape.hidden()], 0);
            Grads g = Grads.zeros(shape);
            int n = shape.stateBlocks() * B * shape.hidden();
            float[] dx = p.classes() ? new float[0] : new float[p.x().length], dh0 = new float[n];
            float[] dc0 = shape.cell().hasCellState() ? new float[n] : new float[0];
            Backprop bp = new Backprop().initialStateGradient(dh0, 0).finalStateGradient(p.dhT(), 0);
            if (!p.classes()) bp.inputGradient(dx, 0);
            if (dc0.length > 0) bp.initialCellGradient(dc0, 0);
            rnn.backward(params, ws, g, bp);
            return new float[][] {{(float) loss}, states, g.data(), dx, dh0, dc0};
        }
    }

    /** Every one of {@link #NAMES}' arrays of {@code actual} holds the bits of {@code expected}'s. */
    static void assertBitwise(float[][] expected, float[][] actual) {
        for (int i = 0; i < NAMES.length; i++) assertArrayEquals(expected[i], actual[i], NAMES[i] + ", bitwise");
    }
}
