package dev.recur.spark;

import java.util.SplittableRandom;

/**
 * A partition's share of a set of N sequences of T steps (from {@code .npy} arrays): sequences
 * [p*N/P, (p+1)*N/P), time-major as {@code recur grad} reads them. A task draws its windows as
 * whole sequences, uniformly with replacement from its share, by (seed, iteration, partition).
 *
 * @param count  sequences held
 * @param xi     class inputs (T, count) or null; xf dense inputs (T, count, inputWidth) or null
 * @param yi     class targets (T, count) or null; yf dense targets (T, count, outputWidth) or null
 */
record SequenceShard(int steps, int count, int[] xi, float[] xf, int inputWidth, int[] yi, float[] yf, int outputWidth)
        implements Shard {

    /** Partition p's share of the N sequences of time-major arrays. */
    static SequenceShard of(NpySequences.Arrays a, int partitions, int p) {
        int N = a.sequences(), lo = (int) ((long) p * N / partitions), hi = (int) ((long) (p + 1) * N / partitions);
        int n = hi - lo, T = a.steps();
        return new SequenceShard(T, n, gather(a.xi(), T, N, lo, n, 1, null), gather(a.xf(), T, N, lo, n, a.input()),
                a.input(), gather(a.yi(), T, N, lo, n, 1, null), gather(a.yf(), T, N, lo, n, a.output()), a.output());
    }

    /** Sequences picked[r] (or lo..lo+n when picked is null) of a time-major (T, N, width) array. */
    private static int[] gather(int[] a, int T, int N, int lo, int n, int width, int[] picked) {
        if (a == null) return null;
        int[] r = new int[T * n * width];
        for (int t = 0; t < T; t++) {
            for (int s = 0; s < n; s++) {
                int src = picked == null ? lo + s : picked[s];
                System.arraycopy(a, (t * N + src) * width, r, (t * n + s) * width, width);
            }
        }
        return r;
    }

    private static float[] gather(float[] a, int T, int N, int lo, int n, int width) {
        return gather(a, T, N, lo, n, width, null);
    }

    private static float[] gather(float[] a, int T, int N, int lo, int n, int width, int[] picked) {
        if (a == null) return null;
        float[] r = new float[T * n * width];
        for (int t = 0; t < T; t++) {
            for (int s = 0; s < n; s++) {
                int src = picked == null ? lo + s : picked[s];
                System.arraycopy(a, (t * N + src) * width, r, (t * n + s) * width, width);
            }
        }
        return r;
    }

    @Override
    public Windows draw(long seed, long iteration, int partition, int k) {
        SplittableRandom rnd = Shard.random(seed, iteration, partition);
        int[] picked = new int[k];
        for (int r = 0; r < k; r++) picked[r] = rnd.nextInt(count);
        return new Windows(k, steps, gather(xi, steps, count, 0, k, 1, picked),
                gather(xf, steps, count, 0, k, inputWidth, picked), gather(yi, steps, count, 0, k, 1, picked),
                gather(yf, steps, count, 0, k, outputWidth, picked), null);
    }
}
