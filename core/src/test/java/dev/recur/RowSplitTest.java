package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A step split among threads by rows of W (B below the thread count) gives bitwise what one
 * thread gives: loss, the top layer's states, every gradient, dL/dx and dL/dh0, for both kernel paths, hidden
 * sizes that are and are not multiples of the vector panels, stacks and sequences of
 * different lengths (unidirectional: a bidirectional network at B < threads runs its two
 * directions side by side instead, see DirectionLanesTest). (The shares are whole panels, and each output is computed
 * by the same fma sequence whichever thread owns it.)
 */
class RowSplitTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (int h : new int[] {1, 7, 33, 64, 100, 257}) list.add(Arguments.of(k, h, 1, false, 1, 2));
            list.add(Arguments.of(k, 96, 2, false, 1, 2));
            list.add(Arguments.of(k, 130, 2, false, 2, 3));      // B = 2 on 3 threads, two lengths
            // (bidirectional networks at B < threads run their directions side by side instead: DirectionLanesTest)
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} H={1} layers={2} bi={3} B={4} threads={5}")
    @MethodSource("cases")
    void splitStepIsBitwiseTheSingleThreadStep(KernelChoice k, int h, int layers, boolean bi, int batch, int threads) {
        int I = 5, O = 4, T = 23;
        Shape shape = Shape.network(I, h, O, layers, bi, Cell.ELMAN);
        Params params = Params.random(shape, 7);
        SplittableRandom r = new SplittableRandom(3);
        float[] x = new float[T * batch * I];
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * r.nextDouble() - 1);
        int[] y = new int[T * batch];
        for (int i = 0; i < y.length; i++) y[i] = r.nextInt(O);
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) lengths[b] = T - 5 * b;
        float[][] one = run(shape, params, k, 1, x, y, lengths, batch, T);
        float[][] split = run(shape, params, k, threads, x, y, lengths, batch, T);
        String[] what = {"loss", "top layer states", "grads", "dL/dx", "dL/dh0"};
        for (int i = 0; i < what.length; i++) assertArrayEquals(one[i], split[i], what[i] + ", bitwise");
    }

    private static float[][] run(Shape shape, Params params, KernelChoice k, int threads, float[] x, int[] y, int[] lengths,
                                 int batch, int T) {
        // splitHiddenMin(1): every hidden size splits when B < threads
        try (Rnn rnn = Rnn.builder(shape).kernels(k).threads(threads).splitHiddenMin(1).build()) {
            assertEquals(threads, rnn.threads());
            Workspace ws = rnn.trainingWorkspace(batch, T);
            double loss = rnn.forward(params, ws, new Batch(batch, T).input(x).lengths(lengths).targets(y).loss(Loss.CROSS_ENTROPY));
            float[] states = ws.outputs(new float[T * batch * shape.directions() * shape.hidden()], 0);   // the top layer's h_t
            Grads g = Grads.zeros(shape);
            float[] dx = new float[x.length], dh0 = new float[shape.stateBlocks() * batch * shape.hidden()];
            rnn.backward(params, ws, g, new Backprop().inputGradient(dx, 0).initialStateGradient(dh0, 0));
            return new float[][] {{(float) loss}, states, g.data(), dx, dh0};
        }
    }
}
