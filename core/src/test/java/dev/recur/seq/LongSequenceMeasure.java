package dev.recur.seq;

import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.kernel.KernelChoice;
import dev.recur.seq.InputSource.Kind;

import java.util.Arrays;
import java.util.Locale;

/**
 * Measurements for the long-sequence note (not a test; run by hand with java on the test class path):
 * <pre>
 *   ratio T H reps     checkpoint vs store-all time per step, interleaved in one JVM (noisy machine)
 *   accuracy T H       dW relative error against the double reference: naive store-all vs recur checkpoint
 * </pre>
 */
public final class LongSequenceMeasure {
    private LongSequenceMeasure() {}

    public static void main(String[] a) {
        switch (a[0]) {
            case "ratio" -> ratio(Integer.parseInt(a[1]), Integer.parseInt(a[2]), Integer.parseInt(a[3]), a.length > 4 ? a[4] : "auto");
            case "accuracy" -> accuracy(Integer.parseInt(a[1]), Integer.parseInt(a[2]), a.length > 3 ? a[3].split(",") : new String[] {"scalar"});
            default -> throw new IllegalArgumentException(a[0]);
        }
    }

    static void ratio(int T, int H, int reps, String kernels) {
        Shape shape = new Shape(16, H, 16);
        try (Rnn rnn = Rnn.builder(shape).kernels(KernelChoice.parse(kernels)).build()) {
            Params p = SyntheticSource.contractingParams(shape, 1, 0.9);
            SyntheticSource src = new SyntheticSource(T, 1, 16, 16, 2);
            StoreAllBptt sa = StoreAllBptt.create(rnn, src, 0, null);
            CheckpointedBptt cp = CheckpointedBptt.builder(rnn, src).build();
            // warm-up: one run of each
            sa.run(p, src, Grads.zeros(shape), null, null, null);
            cp.run(p, src, Grads.zeros(shape));
            double[] tsa = new double[reps], tcp = new double[reps];
            double[] rec = new double[reps];
            for (int r = 0; r < reps; r++) {
                Grads g1 = Grads.zeros(shape), g2 = Grads.zeros(shape);
                SequenceResult a = sa.run(p, src, g1, null, null, null);
                SequenceResult b = cp.run(p, src, g2);
                tsa[r] = a.seconds() / T * 1e6;
                tcp[r] = b.seconds() / T * 1e6;
                rec[r] = b.recomputeShare();
                System.out.printf(Locale.ROOT, "rep %d: store-all %.3f us/step, checkpoint %.3f us/step (S=%d, %d checkpoints, "
                                + "recompute %.1f%% of its time), ratio %.3f, grad rel diff %.2e%n", r, tsa[r], tcp[r], cp.segment(),
                        cp.checkpoints(), 100 * rec[r], tcp[r] / tsa[r], Fixtures.relDiff(g2.data(), g1.data()));
                System.out.printf(Locale.ROOT, "   store-all fwd %.2f s bwd %.2f s | checkpoint fwd %.2f s recompute %.2f s bwd %.2f s%n",
                        a.forwardNanos() * 1e-9, a.backwardNanos() * 1e-9, b.forwardNanos() * 1e-9, b.recomputeNanos() * 1e-9,
                        b.backwardNanos() * 1e-9);
            }
            Arrays.sort(tsa);
            Arrays.sort(tcp);
            double msa = tsa[reps / 2], mcp = tcp[reps / 2];
            System.out.printf(Locale.ROOT, "RATIO T=%d H=%d B=1 kernels=%s: store-all median %.3f us/step, checkpoint median %.3f us/step, "
                    + "checkpoint/store-all = %.3f (min/min %.3f)%n", T, H, rnn.kernels().name(), msa, mcp, mcp / msa, tcp[0] / tsa[0]);
        }
    }

    static void accuracy(int T, int H, String[] kernels) {
        Shape shape = new Shape(16, H, 16);
        Params p = SyntheticSource.contractingParams(shape, 1, 0.9);
        SyntheticSource src = new SyntheticSource(T, 1, 16, 16, Kind.DENSE, Kind.CLASS, 2, 0f);
        long t0 = System.nanoTime();
        Fixtures.Out ref = Fixtures.reference(p, src, T, T);
        System.out.printf(Locale.ROOT, "double reference: %.1f s%n", (System.nanoTime() - t0) * 1e-9);
        int w = shape.recurrentWeights(0, 0), n = H * H;
        for (String k : kernels) {
            try (Rnn rnn = Rnn.builder(shape).kernels(KernelChoice.parse(k)).build()) {
                Grads naive = Grads.zeros(shape);
                StoreAllBptt.create(rnn, src, 0, null).run(p, src, naive, null, null, null);
                Grads recur = Grads.zeros(shape);
                CheckpointedBptt cp = CheckpointedBptt.builder(rnn, src).build();
                cp.run(p, src, recur);
                System.out.printf(Locale.ROOT, "ACCURACY T=%d H=%d kernels=%s ||W||=0.9 class targets: dW rel err vs double: "
                                + "store-all float sum %.3e, recur checkpoint S=%d compensated %.3e; all params: %.3e vs %.3e%n",
                        T, H, rnn.kernels().name(), Fixtures.relErr(naive.data(), ref.grad(), w, n), cp.segment(),
                        Fixtures.relErr(recur.data(), ref.grad(), w, n), Fixtures.relErr(naive.data(), ref.grad()),
                        Fixtures.relErr(recur.data(), ref.grad()));
            }
        }
    }
}
