package dev.recur.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

import java.util.ArrayList;
import java.util.List;

/**
 * One batch's loss and gradients on Spark: the batch split into P contiguous runs of sequences,
 * one per partition, each computed by its task; the sums come back in partition order and the
 * per-sequence dL/dh0 in batch order.
 */
public final class SparkGrad {
    private SparkGrad() {}

    /** The sum over {@code parts} (partition p computes parts.get(p)), with dh0 of every sequence in order. */
    public static Partial compute(JavaSparkContext sc, ModelSpec spec, float[] params, List<Windows> parts, int fanout) {
        Broadcast<float[]> bc = sc.broadcast(params);
        try {
            JavaRDD<Windows> rdd = sc.parallelize(parts, parts.size());
            JavaRDD<Partial> partials = rdd.mapPartitionsWithIndex(
                    (p, it) -> List.of(PartitionGradient.compute(p, spec, bc.value(), it.next(), true)).iterator(), true);
            return IndexOrderedSum.sum(partials, fanout);
        } finally {
            bc.destroy();
        }
    }

    /**
     * Splits a time-major batch of B sequences into P contiguous runs (partition p takes
     * {@link Shard#share} of them, in order). Dense arrays carry {@code width} values per
     * (t, sequence) (inputs: I, targets: O); h0 (B*H, or null) is split the same way.
     */
    public static List<Windows> split(int B, int T, int P, int[] xi, float[] xf, int inputWidth, int[] yi, float[] yf,
                                      int outputWidth, float[] h0, int hidden) {
        if (P < 1 || P > B) {
            throw new IllegalArgumentException("partitions = " + P + ", expected 1 <= partitions <= batch = " + B);
        }
        List<Windows> out = new ArrayList<>(P);
        int lo = 0;
        for (int p = 0; p < P; p++) {
            int n = Shard.share(B, P, p);
            out.add(new Windows(n, T, rows(xi, B, T, lo, n, 1), rows(xf, B, T, lo, n, inputWidth), rows(yi, B, T, lo, n, 1),
                    rows(yf, B, T, lo, n, outputWidth), h0 == null ? null : slice(h0, lo * hidden, n * hidden)));
            lo += n;
        }
        return out;
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

    private static float[] slice(float[] a, int off, int len) {
        float[] r = new float[len];
        System.arraycopy(a, off, r, 0, len);
        return r;
    }
}
