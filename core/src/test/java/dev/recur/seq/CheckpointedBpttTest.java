package dev.recur.seq;

import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.seq.InputSource.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointedBpttTest {

    /**
     * Checkpointed (PLAIN summation) against one store-all Rnn call. Bitwise: the loss up to the
     * order of double additions, the final state, and everything when there is one segment.
     * Across segment boundaries the gradients differ only by the boundary rounding explained in
     * CheckpointedBptt's Javadoc: bounded here at 1e-5 relative (norm-wise), measured ~1e-7.
     */
    @ParameterizedTest
    @CsvSource({
            // T, segment, B, I, O, input kind, target kind
            "1, 1, 1, 3, 4, DENSE, CLASS",
            "63, 64, 1, 3, 4, DENSE, CLASS",
            "65, 64, 1, 3, 4, DENSE, DENSE",
            "1000, 64, 1, 5, 3, DENSE, CLASS",
            "1000, 100, 3, 5, 3, CLASS, CLASS",
            "1000, 1000, 3, 5, 3, CLASS, DENSE",
            "4097, 0, 1, 7, 9, DENSE, DENSE",
            "4097, 0, 3, 7, 9, CLASS, CLASS",
            "3000, 7, 2, 4, 4, DENSE, CLASS",
    })
    void equalsStoreAll(int T, int segment, int B, int I, int O, Kind in, Kind tg) {
        Shape shape = new Shape(I, 13, O);
        Rnn rnn = Fixtures.scalarRnn(shape);
        Params p = SyntheticSource.contractingParams(shape, 7, 0.9);
        InputSource src = Fixtures.randomSource(T, B, I, O, in, tg, 11);
        float[] h0 = new float[B * 13];
        for (int k = 0; k < h0.length; k++) h0[k] = 0.01f * (k % 7) - 0.03f;
        float[] dhT = new float[B * 13];
        for (int k = 0; k < dhT.length; k++) dhT[k] = 0.1f * ((k % 5) - 2);

        Fixtures.StoreAll ref = Fixtures.storeAll(rnn, p, src, h0, dhT);

        CheckpointedBptt.Builder bld = CheckpointedBptt.builder(rnn, src).summation(Summation.PLAIN);
        if (segment > 0) bld.segment(segment);
        CheckpointedBptt cp = bld.build();
        Grads g = Grads.zeros(shape);
        float[] dh0 = new float[B * 13];
        SequenceResult r = cp.run(p, src, g, h0, dhT, dh0);

        assertEquals(ref.loss(), r.loss(), 1e-12 * Math.abs(ref.loss()), "loss");
        assertArrayEquals(ref.hT(), cp.finalState(new float[B * 13]), "final state must be bitwise equal");
        assertEquals(cp.segment() % MemoryPlan.engineBlock(B) == 0 || cp.segment() == T, true, "segment aligned to engine blocks");
        double gd = Fixtures.relDiff(g.data(), ref.grads().data());
        double hd = Fixtures.relDiff(dh0, ref.dh0());
        System.out.printf("checkpoint vs store-all T=%d S=%d B=%d segments=%d: grad rel diff %.2e, dh0 rel diff %.2e%n",
                T, cp.segment(), B, cp.checkpoints(), gd, hd);
        if (in == Kind.DENSE || cp.checkpoints() == 1) {
            // Rnn's delta-carrying backward: bitwise at every segmentation (dense inputs)
            assertArrayEquals(ref.grads().data(), g.data(), "bitwise equal");
            assertArrayEquals(ref.dh0(), dh0, "one segment: bitwise equal dh0");
        } else {
            // class inputs: the engine sums dU^T per call and folds it into dU at the end of each
            // call, so dU alone is summed in another order; every other block is bitwise equal
            int nu = shape.block("U").length();
            assertArrayEquals(java.util.Arrays.copyOfRange(ref.grads().data(), nu, shape.size()),
                    java.util.Arrays.copyOfRange(g.data(), nu, shape.size()), "W, b, V, c bitwise equal");
            assertArrayEquals(ref.dh0(), dh0, "dh0 bitwise equal");
            assertTrue(gd <= 1e-5, "grad rel diff " + gd);
            assertTrue(hd <= 1e-5, "dh0 rel diff " + hd);
        }

        // the compensated default agrees too, and both agree with the double reference
        CheckpointedBptt cc = CheckpointedBptt.builder(rnn, src).segment(segment > 0 ? segment : 64).build();
        Grads gc = Grads.zeros(shape);
        cc.run(p, src, gc, h0, dhT, null);
        assertTrue(Fixtures.relDiff(gc.data(), ref.grads().data()) <= 1e-5);
    }

    /**
     * A stack of unidirectional layers of each cell: a checkpoint holds every layer's state (and
     * the LSTM's cell state), and the result is bitwise store-all's (dense inputs); a
     * bidirectional network is refused with the reason.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(dev.recur.Cell.class)
    void stacksCheckpointEveryLayer(dev.recur.Cell cell) {
        Shape shape = Shape.network(4, 9, 3, 3, false, cell);
        Rnn rnn = Fixtures.scalarRnn(shape);
        Params p = SyntheticSource.contractingParams(shape, 5, 0.9);
        int T = 700, B = 2;
        InputSource src = Fixtures.randomSource(T, B, 4, 3, Kind.DENSE, Kind.CLASS, 12);
        float[] h0 = new float[3 * B * 9], dhT = new float[3 * B * 9];
        for (int k = 0; k < h0.length; k++) {
            h0[k] = 0.02f * (k % 5) - 0.04f;
            dhT[k] = 0.1f * ((k % 3) - 1);
        }
        Fixtures.StoreAll ref = Fixtures.storeAll(rnn, p, src, h0, dhT);
        CheckpointedBptt cp = CheckpointedBptt.builder(rnn, src).summation(Summation.PLAIN).segment(128).build();
        assertTrue(cp.checkpoints() > 1);
        Grads g = Grads.zeros(shape);
        float[] dh0 = new float[h0.length];
        SequenceResult r = cp.run(p, src, g, h0, dhT, dh0);
        assertEquals(ref.loss(), r.loss(), 1e-12 * ref.loss());
        assertArrayEquals(ref.hT(), cp.finalState(new float[h0.length]), "every layer's final state, bitwise");
        assertArrayEquals(ref.grads().data(), g.data(), "bitwise store-all");
        assertArrayEquals(ref.dh0(), dh0, "every layer's dL/dh0, bitwise");
        Shape bi = Shape.network(4, 9, 3, 2, true, dev.recur.Cell.ELMAN);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CheckpointedBptt.builder(Fixtures.scalarRnn(bi), src).build());
        assertTrue(e.getMessage().contains("unidirectional") && e.getMessage().contains("store-all"), e.getMessage());
    }

    @Test
    void matchesDoubleReference() {
        Shape shape = new Shape(4, 16, 5);
        Rnn rnn = Fixtures.scalarRnn(shape);
        Params p = SyntheticSource.contractingParams(shape, 3, 0.9);
        InputSource src = Fixtures.randomSource(5000, 2, 4, 5, Kind.DENSE, Kind.CLASS, 5);
        Fixtures.Out ref = Fixtures.reference(p, src, 5000, 5000);
        Grads g = Grads.zeros(shape);
        SequenceResult r = CheckpointedBptt.builder(rnn, src).build().run(p, src, g);
        assertEquals(ref.loss(), r.loss(), 1e-5 * ref.loss());
        for (Shape.Block blk : shape.blocks()) {
            double e = Fixtures.relErr(g.data(), ref.grad(), blk.offset(), blk.length());
            assertTrue(e < 1e-4, blk + " rel err " + e);
        }
    }

    @Test
    void callsChainWithStateAndGradientCarried() {
        // a sequence split in two calls (h carried forward, dL/dh carried backward) = one call
        Shape shape = new Shape(3, 8, 3);
        Rnn rnn = Fixtures.scalarRnn(shape);
        Params p = SyntheticSource.contractingParams(shape, 4, 0.9);
        SyntheticSource whole = new SyntheticSource(2000, 1, 3, 3, 9);
        Segment all = Fixtures.all(whole);
        float[] x1 = java.util.Arrays.copyOfRange(all.denseInputs(), 0, 1200 * 3);
        float[] x2 = java.util.Arrays.copyOfRange(all.denseInputs(), 1200 * 3, 2000 * 3);
        int[] y1 = java.util.Arrays.copyOfRange(all.classTargets(), 0, 1200);
        int[] y2 = java.util.Arrays.copyOfRange(all.classTargets(), 1200, 2000);
        ArraySource a = ArraySource.of(1, 3, 3, x1, y1), b = ArraySource.of(1, 3, 3, x2, y2);
        CheckpointedBptt ca = CheckpointedBptt.builder(rnn, a).build(), cb = CheckpointedBptt.builder(rnn, b).build();
        GradAccumulator acc = new GradAccumulator(shape);
        float[] h = new float[8], dh = new float[8];
        // forward of the first part only gives its final state; the run does both, so run a first
        // to get h_1200 (its gradient is discarded: it lacks the later part's dL/dh)
        ca.run(p, a, Grads.zeros(shape));
        ca.finalState(h);
        cb.run(p, b, acc, h, null, dh);
        ca.run(p, a, acc, null, dh, null);
        Grads g = Grads.zeros(shape);
        acc.foldInto(g);
        Grads one = Grads.zeros(shape);
        CheckpointedBptt.builder(rnn, whole).build().run(p, whole, one);
        assertTrue(Fixtures.relDiff(g.data(), one.data()) < 1e-6);
    }

    @Test
    void preflightRefusesWithEstimateAndFix() {
        Shape shape = new Shape(4, 128, 4);
        Rnn rnn = Fixtures.scalarRnn(shape);
        SyntheticSource src = new SyntheticSource(10_000_000L, 1, 4, 4, 1);
        // a budget too small for any segment
        MemoryBudgetException e = assertThrows(MemoryBudgetException.class,
                () -> CheckpointedBptt.builder(rnn, src).memoryBudget(1 << 20).build());
        assertTrue(e.getMessage().contains("needs ~"), e.getMessage());
        assertTrue(e.getMessage().contains("--memory"), e.getMessage());
        assertTrue(e.estimate() > (1 << 20));
        // a segment too long for the budget: names a segment that fits
        MemoryBudgetException e2 = assertThrows(MemoryBudgetException.class,
                () -> CheckpointedBptt.builder(rnn, src).segment(1_000_000).memoryBudget(64L << 20).build());
        assertTrue(e2.getMessage().contains("--segment"), e2.getMessage());
        // the default fits in a few MiB
        CheckpointedBptt cp = CheckpointedBptt.builder(rnn, src).memoryBudget(64L << 20).build();
        assertTrue(cp.estimatedBytes() < (16L << 20), "estimate " + cp.estimatedBytes());
        assertEquals(MemoryPlan.defaultSegment(10_000_000L, 1), cp.segment());
        // store-all refuses and names checkpoint mode
        MemoryBudgetException e3 = assertThrows(MemoryBudgetException.class,
                () -> StoreAllBptt.create(rnn, new SyntheticSource(100_000_000L, 1, 4, 4, 1), 0, null));
        assertTrue(e3.getMessage().contains("--mode checkpoint"), e3.getMessage());
        MemoryBudgetException e4 = assertThrows(MemoryBudgetException.class,
                () -> StoreAllBptt.create(rnn, new SyntheticSource(100_000, 1, 4, 4, 1), 1 << 20, null));
        assertTrue(e4.getMessage().contains("--mode checkpoint"), e4.getMessage());
        System.out.println("refusal messages:\n  " + e.getMessage() + "\n  " + e2.getMessage() + "\n  " + e3.getMessage()
                + "\n  " + e4.getMessage());
    }

    @Test
    void estimateCoversWhatIsAllocated() {
        // the estimate counts what the engine's workspaces really hold, the vector kernels'
        // packed W_hh^T included (the scalar kernels keep none: the estimate is an upper bound)
        Shape shape = new Shape(8, 64, 8);
        Rnn rnn = Rnn.builder(shape).kernels(dev.recur.kernel.KernelChoice.VECTOR).build();
        SyntheticSource src = new SyntheticSource(4_000_000L, 1, 8, 8, 1);
        long est = MemoryPlan.checkpoint(shape, 1, 4_000_000L, 20_032, Kind.DENSE, Kind.CLASS);
        long ws = MemoryPlan.trainingWorkspace(shape, 1, 20_032, Kind.DENSE);
        assertEquals(rnn.trainingWorkspace(1, 20_032).bytes() + 256, ws, 64.0 * 4, "training workspace estimate");
        assertEquals(rnn.inferenceWorkspace(1).bytes() + 256, MemoryPlan.inferenceWorkspace(shape, 1, Kind.DENSE), 64.0 * 4);
        assertTrue(est > ws);
        CheckpointedBptt cp = CheckpointedBptt.builder(rnn, src).segment(20_000).build();
        assertEquals(20_032, cp.segment(), "rounded up to whole engine blocks of 64 steps");
        assertEquals(est, cp.estimatedBytes());
    }

    @Test
    void progressIsReported() {
        Shape shape = new Shape(3, 8, 3);
        Rnn rnn = Fixtures.scalarRnn(shape);
        SyntheticSource src = new SyntheticSource(1000, 1, 3, 3, 2);
        long[] last = new long[3];
        CheckpointedBptt cp = CheckpointedBptt.builder(rnn, src).segment(128).progress((ph, d, t) -> last[ph.ordinal()] = d).build();
        cp.run(SyntheticSource.contractingParams(shape, 1, 0.9), src, Grads.zeros(shape));
        assertEquals(1000, last[0]);
        assertEquals(1000, last[1]);
        assertEquals(8, cp.checkpoints());
    }
}
