package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A bidirectional network with fewer sequences than threads runs the two directions of each
 * layer side by side, one worker each. Against one thread: the forward pass (loss, outputs,
 * states) and a single layer's parameter gradients and dL/dh0 are bitwise equal (each direction
 * does the same operations); dL/dx into a layer below, which sums the two directions, may
 * differ by rounding, and with it everything below (held to 1e-5 of each block's largest
 * value). Two runs at the same thread count are bitwise equal. Every cell, dense and class
 * inputs, sequences of different lengths, 2 and 3 threads.
 */
class DirectionLanesTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (Cell c : Cell.values()) {
                list.add(Arguments.of(k, c, 33, 1, 1, 2, false));
                list.add(Arguments.of(k, c, 40, 2, 1, 2, true));
                list.add(Arguments.of(k, c, 17, 3, 2, 3, false));   // B = 2 on 3 threads, two lengths
            }
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} {1} H={2} layers={3} B={4} threads={5} classes={6}")
    @MethodSource("cases")
    void directionsSideBySideMatchOneThread(KernelChoice k, Cell cell, int h, int layers, int batch, int threads, boolean classes) {
        int I = 5, O = 4, T = 21;
        Shape shape = Shape.network(I, h, O, layers, true, cell);
        Params params = Params.random(shape, 9);
        SplittableRandom r = new SplittableRandom(4);
        float[] x = new float[T * batch * I];
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * r.nextDouble() - 1);
        int[] xi = new int[T * batch];
        for (int i = 0; i < xi.length; i++) xi[i] = r.nextInt(I);
        int[] y = new int[T * batch];
        for (int i = 0; i < y.length; i++) y[i] = r.nextInt(O);
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) lengths[b] = T - 6 * b;
        Run one = run(shape, params, k, 1, classes ? null : x, xi, y, lengths, batch, T);
        Run lanes = run(shape, params, k, threads, classes ? null : x, xi, y, lengths, batch, T);
        Run again = run(shape, params, k, threads, classes ? null : x, xi, y, lengths, batch, T);
        for (int i = 0; i < Run.NAMES.length; i++) {
            assertArrayEquals(lanes.values[i], again.values[i], Run.NAMES[i] + ": reproducible at a fixed thread count");
        }
        // the forward pass is the same operations on either path
        for (int i : new int[] {0, 1}) assertArrayEquals(one.values[i], lanes.values[i], Run.NAMES[i] + ", bitwise");
        if (layers == 1) {
            for (int i : new int[] {2, 4, 5}) assertArrayEquals(one.values[i], lanes.values[i], Run.NAMES[i] + ", bitwise (one layer)");
        }
        for (int i = 2; i < Run.NAMES.length; i++) {
            float[] a = one.values[i], b = lanes.values[i];
            assertEquals(a.length, b.length);
            double max = 0;
            for (float v : a) max = Math.max(max, Math.abs(v));
            String name = Run.NAMES[i];
            for (int j = 0; j < a.length; j++) {
                final int at = j;
                assertTrue(Math.abs(a[j] - b[j]) <= 1e-5 * (1 + max), () -> name + " [" + at + "]: " + a[at] + " vs " + b[at]);
            }
        }
    }

    /** Loss, top layer states, grads, dL/dx, dL/dh0, dL/dc0 (an LSTM's; else empty). */
    private record Run(float[][] values) {
        static final String[] NAMES = {"loss", "top layer states", "grads", "dL/dx", "dL/dh0", "dL/dc0"};
    }

    private static Run run(Shape shape, Params params, KernelChoice k, int threads, float[] x, int[] xi, int[] y, int[] lengths,
                           int batch, int T) {
        try (Rnn rnn = Rnn.builder(shape).kernels(k).threads(threads).build()) {
            assertEquals(threads, rnn.threads());
            Workspace ws = rnn.trainingWorkspace(batch, T);
            Batch b = new Batch(batch, T).lengths(lengths).targets(y).loss(Loss.CROSS_ENTROPY);
            if (x != null) b.input(x);
            else b.input(xi);
            double loss = rnn.forward(params, ws, b);
            float[] states = ws.outputs(new float[T * batch * 2 * shape.hidden()], 0);
            Grads g = Grads.zeros(shape);
            int n = shape.stateBlocks() * batch * shape.hidden();
            float[] dx = x == null ? new float[0] : new float[x.length], dh0 = new float[n];
            float[] dc0 = shape.cell().hasCellState() ? new float[n] : new float[0];
            Backprop bp = new Backprop().initialStateGradient(dh0, 0);
            if (x != null) bp.inputGradient(dx, 0);
            if (dc0.length > 0) bp.initialCellGradient(dc0, 0);
            rnn.backward(params, ws, g, bp);
            return new Run(new float[][] {{(float) loss}, states, g.data(), dx, dh0, dc0});
        }
    }
}
