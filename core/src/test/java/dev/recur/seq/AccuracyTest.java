package dev.recur.seq;

import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.seq.InputSource.Kind;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The accurate-time-sum claim. A contracting network (||W||_2 = 0.9, so float and double runs
 * stay close over any length) on a long sequence whose targets sit above what the network can
 * output (a constant target offset): every step's dy has the same sign, so the time sums dW, dU,
 * db, dV, dc grow linearly with T and a float accumulator added to one step at a time loses
 * low bits on every addition (the drift). Compared with an independent double reference:
 * <ul>
 *   <li>naive: store-all, the engine's float sum over all T steps, scalar kernels (one float
 *       addition per step and entry);</li>
 *   <li>recur: checkpointed with compensated summation (float sums per segment of ~sqrt(T)
 *       steps, segment sums in a Neumaier double master).</li>
 * </ul>
 * Prints a line starting "ACCURACY" with both errors.
 */
class AccuracyTest {

    @Test
    void compensatedTimeSumsBeatNaiveFloatSums() {
        int T = 100_000;
        Shape shape = new Shape(4, 8, 4);
        Rnn rnn = Fixtures.scalarRnn(shape);
        Params p = SyntheticSource.contractingParams(shape, 17, 0.9);
        SyntheticSource src = new SyntheticSource(T, 1, 4, 4, Kind.DENSE, Kind.DENSE, 5, 3f);

        Fixtures.Out ref = Fixtures.reference(p, src, T, T);
        Fixtures.StoreAll naive = Fixtures.storeAll(rnn, p, src, null, null);
        Grads recur = Grads.zeros(shape);
        CheckpointedBptt cp = CheckpointedBptt.builder(rnn, src).build();
        cp.run(p, src, recur);

        int w = shape.recurrentWeights(0, 0), n = shape.hidden() * shape.hidden();
        double naiveW = Fixtures.relErr(naive.grads().data(), ref.grad(), w, n);
        double recurW = Fixtures.relErr(recur.data(), ref.grad(), w, n);
        double naiveAll = Fixtures.relErr(naive.grads().data(), ref.grad());
        double recurAll = Fixtures.relErr(recur.data(), ref.grad());
        System.out.printf("ACCURACY T=%d H=%d ||W||=0.9 dW rel err vs double: naive float sum %.3e, recur (checkpoint S=%d, "
                + "compensated) %.3e; all gradients: naive %.3e, recur %.3e%n", T, shape.hidden(), naiveW, cp.segment(), recurW,
                naiveAll, recurAll);
        for (Shape.Block b : shape.blocks()) {
            double e = Fixtures.relErr(recur.data(), ref.grad(), b.offset(), b.length());
            assertTrue(e < 2e-6, b + ": recur rel err " + e);
        }
        assertTrue(recurW < 2e-6, "recur dW rel err " + recurW);
        assertTrue(naiveW > 20 * recurW, "naive " + naiveW + " vs recur " + recurW);
    }

    @Test
    void accumulatorIsExactOnAdversarialSums() {
        // 10^6 additions of 0.1f: float drifts by ~1e-2 relative; the master stays exact to double rounding
        Shape s = new Shape(1, 1, 1);
        GradAccumulator acc = new GradAccumulator(s);
        Grads g = Grads.zeros(s), naive = Grads.zeros(s);
        java.util.Arrays.fill(g.data(), 0.1f);
        for (int k = 0; k < 1_000_000; k++) {
            acc.add(g);
            naive.add(g);
        }
        double exact = 1_000_000 * (double) 0.1f;
        Grads out = Grads.zeros(s);
        acc.foldInto(out);
        assertEquals((float) exact, out.data()[0]);
        assertTrue(Math.abs(naive.data()[0] - exact) / exact > 1e-3);
        assertEquals(exact, acc.value(0), 1e-9);
    }
}
