package dev.recur.seq;

import dev.recur.Batch;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.seq.InputSource.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.*;

class TruncatedBpttTest {
    private final Shape shape = new Shape(4, 10, 3);
    private final Rnn rnn = Fixtures.scalarRnn(shape);
    private final Params p = SyntheticSource.contractingParams(shape, 21, 0.9);

    @Test
    void k1EqualsK2EqualsTIsFullBptt() {
        InputSource src = Fixtures.randomSource(600, 2, 4, 3, Kind.DENSE, Kind.CLASS, 1);
        Fixtures.StoreAll ref = Fixtures.storeAll(rnn, p, src, null, null);
        Grads g = Grads.zeros(shape);
        SequenceResult r = TruncatedBptt.builder(rnn, src, 600, 600).build().run(p, src, g, null, null);
        assertEquals(ref.loss(), r.loss());
        assertArrayEquals(ref.grads().data(), g.data(), "one window = one store-all call: bitwise");
    }

    @Test
    void k1EqualsK2IsChunksWithStateCarriedAndGradientCut() {
        int T = 600, K = 50, B = 2;
        InputSource src = Fixtures.randomSource(T, B, 4, 3, Kind.CLASS, Kind.DENSE, 2);
        // direct construction: one Rnn call per chunk, state carried, dhT = 0
        Segment all = Fixtures.all(src);
        Workspace ws = rnn.trainingWorkspace(B, K);
        float[] h = new float[B * 10];
        double[] sum = new double[shape.size()];
        double loss = 0;
        for (int c = 0; c < T / K; c++) {
            Batch chunk = new Batch(B, K).input(all.classInputs(), c * K * B).targets(all.denseTargets(), c * K * B * 3)
                    .loss(Loss.SQUARED_ERROR).initialState(h);
            loss += rnn.forward(p, ws, chunk);
            Grads gc = Grads.zeros(shape);
            rnn.backward(p, ws, gc);
            for (int k = 0; k < sum.length; k++) sum[k] += gc.data()[k];
            h = ws.finalState();
        }
        Grads g = Grads.zeros(shape);
        TruncatedBptt tb = TruncatedBptt.builder(rnn, src, K, K).build();
        SequenceResult r = tb.run(p, src, g, null, null);
        assertEquals(loss, r.loss(), 1e-12 * loss);
        for (int k = 0; k < sum.length; k++) assertEquals((float) sum[k], g.data()[k], 1e-6 * Math.abs(sum[k]) + 1e-12);
        assertArrayEquals(h, tb.finalState(new float[h.length]), "state carried exactly");
    }

    /** General k1 < k2 (k2 not a multiple of k1, look-back cut at step 0 early on) against the double reference. */
    @ParameterizedTest
    @CsvSource({"5, 13, 60, 2, DENSE, CLASS", "7, 7, 63, 1, CLASS, DENSE", "4, 10, 200, 3, DENSE, DENSE", "1, 3, 30, 1, DENSE, CLASS"})
    void matchesWilliamsPengReference(int k1, int k2, int T, int B, Kind in, Kind tg) {
        InputSource src = Fixtures.randomSource(T, B, 4, 3, in, tg, 3);
        Fixtures.Out ref = Fixtures.reference(p, src, k1, k2);
        Grads g = Grads.zeros(shape);
        int[] windows = {0};
        Grads sum = Grads.zeros(shape);
        TruncatedBptt tb = TruncatedBptt.builder(rnn, src, k1, k2).build();
        SequenceResult r = tb.run(p, src, g, null, (end, loss, wg) -> {
            windows[0]++;
            assertEquals((long) windows[0] * k1, end);
            sum.add(wg);
        });
        assertEquals(T / k1, windows[0]);
        assertEquals(ref.loss(), r.loss(), 1e-5 * ref.loss());
        double e = Fixtures.relErr(g.data(), ref.grad());
        assertTrue(e < 1e-5, "rel err vs reference " + e);
        assertTrue(Fixtures.relDiff(sum.data(), g.data()) < 1e-6, "listener windows sum to the total");
        // and it differs from full BPTT when k2 < T (the truncation is real)
        if (k2 < T) {
            Fixtures.Out full = Fixtures.reference(p, src, T, T);
            double vsFull = Fixtures.relErr(g.data(), full.grad());
            System.out.printf("TBPTT(%d,%d) T=%d: rel err vs TBPTT reference %.2e, vs full BPTT %.2e%n", k1, k2, T, e, vsFull);
            assertTrue(vsFull > 10 * e, "truncated differs from full BPTT: " + vsFull);
        }
    }

    @Test
    void refusesWindowsThatDoNotFit() {
        InputSource src = Fixtures.randomSource(100, 1, 4, 3, Kind.DENSE, Kind.CLASS, 4);
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> TruncatedBptt.builder(rnn, src, 10, 5).build());
        assertTrue(a.getMessage().contains("k2 = 5 < k1 = 10"), a.getMessage());
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class, () -> TruncatedBptt.builder(rnn, src, 30, 40).build());
        assertTrue(b.getMessage().contains("not a multiple of k1 = 30"), b.getMessage());
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> TruncatedBptt.builder(rnn, src, 10, 200).build());
        assertTrue(c.getMessage().contains("does not fit"), c.getMessage());
        assertThrows(IllegalArgumentException.class, () -> TruncatedBptt.builder(rnn, src, 0, 5).build());
        MemoryBudgetException d = assertThrows(MemoryBudgetException.class,
                () -> TruncatedBptt.builder(rnn, src, 10, 100).memoryBudget(1000).build());
        assertTrue(d.getMessage().contains("needs ~"), d.getMessage());
    }

    @Test
    void onlineUpdatesBetweenWindowsAreSeen() {
        // a listener that updates the params makes later windows use them (SGD per window)
        InputSource src = Fixtures.randomSource(200, 1, 4, 3, Kind.DENSE, Kind.CLASS, 5);
        Params q = p.copy();
        TruncatedBptt tb = TruncatedBptt.builder(rnn, src, 20, 40).build();
        double first = tb.run(q, src, Grads.zeros(shape), null, null).loss();
        for (int epoch = 0; epoch < 30; epoch++) {
            tb.run(q, src, Grads.zeros(shape), null, (end, loss, wg) -> {
                float[] d = q.data(), gd = wg.data();
                for (int k = 0; k < d.length; k++) d[k] -= 0.01f * gd[k];
            });
        }
        double last = tb.run(q, src, Grads.zeros(shape), null, null).loss();
        assertTrue(last < first, "loss " + first + " -> " + last);
    }
}
