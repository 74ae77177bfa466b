package dev.recur.spark;

import org.apache.spark.api.java.JavaRDD;
import scala.Tuple2;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

/**
 * Sums one {@link Partial} per partition in partition-index order, so the bits of the sum do not
 * depend on which task finished first. (Spark's {@code reduce} and {@code treeAggregate} merge
 * partial results as they arrive, and float addition is not associative: their bits change from
 * run to run.)
 *
 * <p>Up to {@code fanout} partials go to the driver and are added there, left to right in index
 * order. With more, a fixed tree over the indices runs first: partial i goes to group i / fanout
 * by a shuffle, each group adds its members in index order and becomes partial i / fanout of the
 * next level, until at most {@code fanout} remain. The tree depends on the partition count and
 * the fanout alone, so the driver receives at most {@code fanout} gradients whatever P is.
 */
public final class IndexOrderedSum {
    private IndexOrderedSum() {}

    /** Partials the driver adds itself; more go through the tree first. */
    public static final int DEFAULT_FANOUT = 16;

    /**
     * The sum of {@code task}'s results over the partitions of {@code data} (the result of
     * partition p tagged with index p), in index order: one job when the driver adds them all,
     * else the tree's jobs first.
     */
    static <T> Partial sum(JavaRDD<T> data, PartitionJob.Function<T, Partial> task, int fanout) {
        if (fanout < 2) throw new IllegalArgumentException("fanout = " + fanout + ", expected >= 2");
        int n = data.getNumPartitions();
        if (n <= fanout) return combineInOrder(-1, new ArrayList<>(PartitionJob.run(data, task, Partial.class)), n);
        return sum(data.mapPartitionsWithIndex((p, it) -> List.of(task.apply(p, it)).iterator(), true), fanout);
    }

    /** The sum of the partials of {@code partials} (each tagged with its index 0..n-1), in index order. */
    public static Partial sum(JavaRDD<Partial> partials, int fanout) {
        if (fanout < 2) throw new IllegalArgumentException("fanout = " + fanout + ", expected >= 2");
        int n = partials.getNumPartitions();
        JavaRDD<Partial> level = partials;
        while (n > fanout) {
            final int f = fanout, size = n;
            int groups = (n + fanout - 1) / fanout;
            level = level.mapToPair(p -> new Tuple2<>(p.index / f, p))
                    .partitionBy(new IndexPartitioner(groups))
                    .mapPartitionsWithIndex((g, it) -> List.of(combineGroup(g, values(it), size, f)).iterator(), true);
            n = groups;
        }
        List<Partial> top = new ArrayList<>(level.collect());
        return combineInOrder(-1, top, n);
    }

    private static List<Partial> values(Iterator<Tuple2<Integer, Partial>> it) {
        List<Partial> out = new ArrayList<>();
        while (it.hasNext()) out.add(it.next()._2());
        return out;
    }

    /** Group g of a level of n partials: indices [g*f, min(n, (g+1)*f)). */
    private static Partial combineGroup(int g, List<Partial> members, int n, int f) {
        int expected = Math.min(n, (g + 1) * f) - g * f;
        if (members.size() != expected) {
            throw new IllegalStateException("group " + g + " received " + members.size() + " partials, expected " + expected);
        }
        return combineInOrder(g, members, expected);
    }

    /** Sorts by index, checks that each index appears once, and adds left to right. */
    static Partial combineInOrder(int index, List<Partial> parts, int expected) {
        parts.sort(Comparator.comparingInt(Partial::index));
        if (parts.size() != expected) {
            throw new IllegalStateException("received " + parts.size() + " partials, expected " + expected);
        }
        for (int k = 1; k < parts.size(); k++) {
            if (parts.get(k).index == parts.get(k - 1).index) {
                throw new IllegalStateException("two partials with index " + parts.get(k).index);
            }
        }
        return Partial.combine(index, parts);
    }
}
