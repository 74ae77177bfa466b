package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.List;
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

    /** The second lane's own buffers count in bytes() once a call made them; a one-thread engine makes none. */
    @org.junit.jupiter.api.Test
    void lanesCountInBytes() {
        Shape shape = Shape.network(5, 24, 4, 2, true, Cell.GRU);
        Params params = Params.random(shape, 2);
        ThreadedRun.Problem p = ThreadedRun.Problem.of(shape, 1, 30, 0, false, 5);
        for (int threads : new int[] {1, 2}) {
            try (Rnn rnn = Rnn.builder(shape).threads(threads).build()) {
                Workspace ws = rnn.trainingWorkspace(1, 30);
                long before = ws.bytes();
                Batch b = new Batch(1, 30).input(p.x()).targets(p.y()).loss(Loss.CROSS_ENTROPY);
                rnn.forward(params, ws, b);
                rnn.backward(params, ws, Grads.zeros(shape), new Backprop().inputGradient(new float[p.x().length], 0));
                long after = ws.bytes();
                if (threads == 1) {
                    assertEquals(before, after, "one thread: no lanes");
                } else {
                    // at least lane 1's pre-activation block and its two between-layer buffers (30 rows x 2H each)
                    long atLeast = 4L * (30L * shape.gates() * 24 + 2L * 30 * 2 * 24);
                    assertTrue(after - before >= atLeast, () -> "lanes added " + (after - before) + " bytes, expected >= " + atLeast);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} H={2} layers={3} B={4} threads={5} classes={6}")
    @MethodSource("cases")
    void directionsSideBySideMatchOneThread(KernelChoice k, Cell cell, int h, int layers, int batch, int threads, boolean classes) {
        Shape shape = Shape.network(5, h, 4, layers, true, cell);
        Params params = Params.random(shape, 9);
        ThreadedRun.Problem p = ThreadedRun.Problem.of(shape, batch, 21, 6, classes, 4);
        int split = Rnn.DEFAULT_SPLIT_HIDDEN;
        float[][] one = ThreadedRun.run(p, params, k, 1, split);
        float[][] lanes = ThreadedRun.run(p, params, k, threads, split);
        float[][] again = ThreadedRun.run(p, params, k, threads, split);
        String[] names = ThreadedRun.NAMES;
        for (int i = 0; i < names.length; i++) {
            assertArrayEquals(lanes[i], again[i], names[i] + ": reproducible at a fixed thread count");
        }
        // the forward pass is the same operations on either path
        for (int i : new int[] {0, 1}) assertArrayEquals(one[i], lanes[i], names[i] + ", bitwise");
        if (layers == 1) {
            for (int i : new int[] {2, 4, 5}) assertArrayEquals(one[i], lanes[i], names[i] + ", bitwise (one layer)");
        }
        for (int i = 2; i < names.length; i++) {
            float[] a = one[i], b = lanes[i];
            assertEquals(a.length, b.length);
            double max = 0;
            for (float v : a) max = Math.max(max, Math.abs(v));
            String name = names[i];
            for (int j = 0; j < a.length; j++) {
                final int at = j;
                assertTrue(Math.abs(a[j] - b[j]) <= 1e-5 * (1 + max), () -> name + " [" + at + "]: " + a[at] + " vs " + b[at]);
            }
        }
    }
}
