package dev.recur.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * One batch's loss and gradients on Spark: the batch split into P contiguous runs of sequences,
 * one per partition, each computed by its task; the sums come back in partition order and the
 * per-sequence dL/dh0 (and dL/dc0) are put back into (K, B, H) batch order.
 */
public final class SparkGrad {
    private SparkGrad() {}

    /**
     * The sum over {@code parts} (partition p computes parts.get(p)), each task's loss summed, or
     * with {@code mean} its mean (meant for one partition, whose mean is the batch's).
     */
    public static Partial compute(JavaSparkContext sc, ModelSpec spec, float[] params, List<Windows> parts, boolean mean,
                                  int fanout) {
        Broadcast<float[]> bc = sc.broadcast(params);
        try {
            JavaRDD<Windows> rdd = sc.parallelize(parts, parts.size());
            return IndexOrderedSum.sum(rdd, (p, it) -> PartitionGradient.compute(p, spec, bc.value(), it.next(), true, mean),
                    fanout);
        } finally {
            bc.destroy();
        }
    }

    /**
     * Splits a time-major batch of B sequences into P contiguous runs (partition p takes
     * {@link Shard#share} of them, in order). Dense arrays carry {@code width} values per
     * (t, sequence) (inputs: I, targets: O); lengths (B, or null) are split the same way, and the
     * states h0 and c0 ((K, B, H), or null) as K runs of n*H floats each.
     */
    public static List<Windows> split(int B, int T, int P, int[] xi, float[] xf, int inputWidth, int[] yi, float[] yf,
                                      int outputWidth, int[] lengths, float[] h0, float[] c0, int stateBlocks, int hidden) {
        if (P < 1 || P > B) {
            throw new IllegalArgumentException("partitions = " + P + ", expected 1 <= partitions <= batch = " + B);
        }
        List<Windows> out = new ArrayList<>(P);
        int lo = 0;
        for (int p = 0; p < P; p++) {
            int n = Shard.share(B, P, p);
            out.add(new Windows(n, T, rows(xi, B, T, lo, n, 1), rows(xf, B, T, lo, n, inputWidth), rows(yi, B, T, lo, n, 1),
                    rows(yf, B, T, lo, n, outputWidth), states(h0, stateBlocks, B, hidden, lo, n),
                    lengths == null ? null : java.util.Arrays.copyOfRange(lengths, lo, lo + n),
                    states(c0, stateBlocks, B, hidden, lo, n)));
            lo += n;
        }
        return out;
    }

    /**
     * The inverse of the states' split: the partitions' (K, n_p, H) blocks, concatenated in
     * partition order, back into one (K, B, H) array in batch order.
     */
    public static float[] joinStates(float[] blocks, int B, int P, int stateBlocks, int hidden) {
        if (blocks == null) return null;
        int K = stateBlocks, H = hidden;
        if (blocks.length != K * B * H) {
            throw new IllegalArgumentException("state gradients of " + blocks.length + " values, expected K*B*H = " + K * B * H);
        }
        float[] r = new float[blocks.length];
        int lo = 0, at = 0;
        for (int p = 0; p < P; p++) {
            int n = Shard.share(B, P, p);
            for (int k = 0; k < K; k++) {
                System.arraycopy(blocks, at, r, (k * B + lo) * H, n * H);
                at += n * H;
            }
            lo += n;
        }
        return r;
    }

    /** Sequences [lo, lo+n) of a (K, B, H) state array: K runs of n*H floats. */
    private static float[] states(float[] a, int K, int B, int H, int lo, int n) {
        if (a == null) return null;
        float[] r = new float[K * n * H];
        for (int k = 0; k < K; k++) System.arraycopy(a, (k * B + lo) * H, r, k * n * H, n * H);
        return r;
    }

    /** Sequences [lo, lo+n) of a time-major (T, B, width) array. */
    private static int[] rows(int[] a, int B, int T, int lo, int n, int width) {
        if (a == null) return null;
        int[] r = new int[T * n * width];
        for (int t = 0; t < T; t++) System.arraycopy(a, (t * B + lo) * width, r, t * n * width, n * width);
        return r;
    }

    private static float[] rows(float[] a, int B, int T, int lo, int n, int width) {
        if (a == null) return null;
        float[] r = new float[T * n * width];
        for (int t = 0; t < T; t++) System.arraycopy(a, (t * B + lo) * width, r, t * n * width, n * width);
        return r;
    }
}
