package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The inference stream against one predict call over the whole sequence, bitwise (every cell,
 * stacks, batches 1 to 5, hidden sizes around the vector panels, both kernel paths), its state carry, refresh
 * after the parameters change, a network without a head, and no allocation per step.
 */
class InferenceStreamTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (Cell cell : Cell.values()) {
                list.add(Arguments.of(k, cell, 1, 1, 33));
                list.add(Arguments.of(k, cell, 2, 5, 17));
                list.add(Arguments.of(k, cell, 2, 3, 257));
                list.add(Arguments.of(k, cell, 1, 4, 100));
            }
        }
        return list.stream();
    }

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (2 * r.nextDouble() - 1);
        return a;
    }

    /** Relative to the largest output: the per-step and whole-sequence paths may tile the products differently. */
    static void close(float[] want, float[] got, String what) {
        double max = 0;
        for (float v : want) max = Math.max(max, Math.abs(v));
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], 1e-5 * (1 + max), what + " [" + i + "]");
        }
    }

    @ParameterizedTest(name = "{0} {1} L={2} B={3} H={4}")
    @MethodSource("cases")
    void stepsEqualOneCallOverTheSequence(KernelChoice k, Cell cell, int layers, int B, int H) {
        int I = 6, O = 4, T = 40;
        Shape shape = Shape.network(I, H, O, layers, false, cell);
        Params p = Params.random(shape, 11);
        float[] x = random(T * B * I, 3);
        try (Rnn rnn = Rnn.builder(shape).kernels(k).build()) {
            float[] whole = new float[T * B * O];
            rnn.predict(p, rnn.inferenceWorkspace(B), new Batch(B, T).input(x), whole, 0);
            InferenceStream s = rnn.stream(p, B);
            float[] got = new float[T * B * O];
            for (int t = 0; t < T; t++) s.step(x, t * B * I, got, t * B * O);
            assertArrayEquals(whole, got, cell + " outputs, bitwise");
            assertEquals(T, s.steps());

            // carry out and in: a second stream started from the first's state continues it
            InferenceStream a = rnn.stream(p, B), b = rnn.stream(p, B);
            float[] oa = new float[T * B * O], ob = new float[T * B * O];
            for (int t = 0; t < 10; t++) a.step(x, t * B * I, oa, t * B * O);
            b.setState(a.state(new float[layers * B * H], 0), 0);
            if (cell == Cell.LSTM) b.setCell(a.cell(new float[layers * B * H], 0), 0);
            for (int t = 10; t < T; t++) {
                a.step(x, t * B * I, oa, t * B * O);
                b.step(x, t * B * I, ob, t * B * O);
            }
            assertArrayEquals(Arrays.copyOfRange(oa, 10 * B * O, T * B * O), Arrays.copyOfRange(ob, 10 * B * O, T * B * O),
                    "carried state, bitwise");
            // reset: back to the zero state
            a.reset();
            float[] first = new float[B * O];
            a.step(x, 0, first, 0);
            assertArrayEquals(Arrays.copyOf(got, B * O), first, "after reset");
        }
    }

    @Test
    void refreshSeesChangedParameters() {
        Shape shape = Shape.network(3, 9, 2, 1, false, Cell.GRU);
        Params p = Params.random(shape, 2);
        float[] x = random(3, 4);
        try (Rnn rnn = Rnn.builder(shape).build()) {
            InferenceStream s = rnn.stream(p, 1);
            float[] before = s.step(x).clone();
            for (int i = 0; i < p.data().length; i++) p.data()[i] *= 0.5f;
            s.reset();
            assertArrayEquals(before, s.step(x), "prepared once: an in-place change is not seen");
            s.refresh();
            s.reset();
            float[] want = new float[2];
            rnn.predict(p, rnn.inferenceWorkspace(1), new Batch(1, 1).input(x), want, 0);
            assertArrayEquals(want, s.step(x), "after refresh");
        }
    }

    @Test
    void aNetworkWithoutAHeadStreamsItsTopLayer() {
        Shape shape = Shape.network(4, 7, 0, 2, false, Cell.LSTM);
        Params p = Params.random(shape, 5);
        int T = 12, B = 2;
        float[] x = random(T * B * 4, 6);
        try (Rnn rnn = Rnn.builder(shape).build()) {
            Workspace ws = rnn.trainingWorkspace(B, T);
            rnn.forward(p, ws, new Batch(B, T).input(x));
            float[] all = ws.outputs(new float[T * B * 7], 0);
            InferenceStream s = rnn.stream(p, B);
            assertEquals(7, s.width());
            float[] got = new float[T * B * 7];
            for (int t = 0; t < T; t++) s.step(x, t * B * 4, got, t * B * 7);
            close(all, got, "top layer h_t");
        }
    }

    @Test
    void badArguments() {
        Shape bi = Shape.network(3, 5, 2, 1, true, Cell.ELMAN);
        try (Rnn rnn = Rnn.builder(bi).build()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rnn.stream(Params.random(bi, 1), 1));
            assertTrue(e.getMessage().contains("unidirectional"), e.getMessage());
        }
        Shape s = new Shape(3, 5, 2);
        try (Rnn rnn = Rnn.builder(s).build()) {
            InferenceStream st = rnn.stream(Params.random(s, 1), 2);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> st.step(new float[6], 0, new float[3], 0));
            assertTrue(e.getMessage().contains("batch*width() = 4"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> st.setState(new float[3], 0));
            assertTrue(e.getMessage().contains("(layers, batch, hidden) = 10"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> st.cell(new float[10], 0));
            e = assertThrows(IllegalArgumentException.class, () -> rnn.stream(Params.random(new Shape(3, 6, 2), 1), 1));
            assertTrue(e.getMessage().contains("params.shape()"), e.getMessage());
        }
    }
}
