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
 * A stack of unidirectional layers with fewer sequences than threads runs as a wavefront (the
 * lower layers on one worker, the upper ones and the head on another, a block of steps apart)
 * and gives bitwise what one thread gives: loss, outputs, every gradient, dL/dx, dL/dh0 and an
 * LSTM's dL/dc0, with dL/dh_T coming in. Every cell, 2-4 layers (both stage splits), dense and
 * class inputs, sequences of different lengths over several time blocks, 2 and 3 threads.
 */
class WavefrontTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (Cell c : Cell.values()) {
                list.add(Arguments.of(k, c, 33, 2, 1, 2, false));
                list.add(Arguments.of(k, c, 40, 3, 1, 2, true));
                list.add(Arguments.of(k, c, 17, 4, 2, 3, false));   // B = 2 on 3 threads, two lengths
            }
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} {1} H={2} layers={3} B={4} threads={5} classes={6}")
    @MethodSource("cases")
    void wavefrontIsBitwiseOneThread(KernelChoice k, Cell cell, int h, int layers, int batch, int threads, boolean classes) {
        int I = 5, O = 4, T = 150;   // several blocks of steps at B = 1 and 2
        Shape shape = Shape.network(I, h, O, layers, false, cell);
        Params params = Params.random(shape, 13);
        SplittableRandom r = new SplittableRandom(8);
        float[] x = new float[T * batch * I];
        for (int i = 0; i < x.length; i++) x[i] = (float) (2 * r.nextDouble() - 1);
        int[] xi = new int[T * batch];
        for (int i = 0; i < xi.length; i++) xi[i] = r.nextInt(I);
        int[] y = new int[T * batch];
        for (int i = 0; i < y.length; i++) y[i] = r.nextInt(O);
        int[] lengths = new int[batch];
        for (int b = 0; b < batch; b++) lengths[b] = T - 37 * b;
        float[] dhT = new float[shape.stateBlocks() * batch * h];
        for (int i = 0; i < dhT.length; i++) dhT[i] = (float) (r.nextDouble() - 0.5);
        float[][] one = run(shape, params, k, 1, classes ? null : x, xi, y, lengths, dhT, batch, T);
        float[][] wave = run(shape, params, k, threads, classes ? null : x, xi, y, lengths, dhT, batch, T);
        String[] what = {"loss", "top layer states", "grads", "dL/dx", "dL/dh0", "dL/dc0"};
        for (int i = 0; i < what.length; i++) assertArrayEquals(one[i], wave[i], what[i] + ", bitwise");
    }

    private static float[][] run(Shape shape, Params params, KernelChoice k, int threads, float[] x, int[] xi, int[] y,
                                 int[] lengths, float[] dhT, int batch, int T) {
        try (Rnn rnn = Rnn.builder(shape).kernels(k).threads(threads).build()) {
            assertEquals(threads, rnn.threads());
            Workspace ws = rnn.trainingWorkspace(batch, T);
            Batch b = new Batch(batch, T).lengths(lengths).targets(y).loss(Loss.CROSS_ENTROPY);
            if (x != null) b.input(x);
            else b.input(xi);
            double loss = rnn.forward(params, ws, b);
            float[] states = ws.outputs(new float[T * batch * shape.hidden()], 0);
            Grads g = Grads.zeros(shape);
            int n = shape.stateBlocks() * batch * shape.hidden();
            float[] dx = x == null ? new float[0] : new float[x.length], dh0 = new float[n];
            float[] dc0 = shape.cell().hasCellState() ? new float[n] : new float[0];
            Backprop bp = new Backprop().initialStateGradient(dh0, 0).finalStateGradient(dhT, 0);
            if (x != null) bp.inputGradient(dx, 0);
            if (dc0.length > 0) bp.initialCellGradient(dc0, 0);
            rnn.backward(params, ws, g, bp);
            return new float[][] {{(float) loss}, states, g.data(), dx, dh0, dc0};
        }
    }
}
