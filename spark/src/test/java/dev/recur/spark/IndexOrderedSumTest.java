package dev.recur.spark;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sum in partition order: the same bits whatever order the tasks finish in, directly and through the tree. */
class IndexOrderedSumTest {
    static JavaSparkContext sc;

    @BeforeAll
    static void start() { sc = TestSpark.start("local[3]"); }

    @AfterAll
    static void stop() { sc.stop(); }

    /** Partial p: values of mixed magnitudes, so that the order of the additions shows in the bits. */
    static Partial partial(int p, int n) {
        SplittableRandom r = new SplittableRandom(1000 + p);
        float[] g = new float[n];
        for (int k = 0; k < n; k++) g[k] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(7) - 3));
        return Partial.of(p, r.nextDouble() * 1e6, 10 + p, g, null, "scalar", 0);
    }

    /** The partials as an RDD of one per partition; later partitions finish first (earlier ones sleep longer). */
    static JavaRDD<Partial> partials(int P, int n) {
        return sc.parallelize(IntStream.range(0, P).boxed().toList(), P).mapPartitionsWithIndex((p, it) -> {
            Thread.sleep(20L * (P - p));
            return List.of(partial(p, n)).iterator();
        }, true);
    }

    /**
     * The same partials as the task of a {@link PartitionJob} over P one-item partitions (the
     * trainer's form: one job, or the tree's jobs when P exceeds the fanout), sums by {@code f}.
     */
    static Partial sumOfTasks(int P, int n, int f) {
        JavaRDD<Integer> items = sc.parallelize(IntStream.range(0, P).boxed().toList(), P);
        return IndexOrderedSum.sum(items, (p, it) -> {
            Thread.sleep(20L * (P - p));
            return partial(p, n);
        }, f);
    }

    /** The fixed tree computed here, on lists: groups of f in index order, level by level. */
    static Partial expectedTree(List<Partial> level, int f) {
        while (level.size() > f) {
            List<Partial> next = new ArrayList<>();
            for (int g = 0; g * f < level.size(); g++) {
                next.add(Partial.combine(g, new ArrayList<>(level.subList(g * f, Math.min(level.size(), (g + 1) * f)))));
            }
            level = next;
        }
        return Partial.combine(-1, level);
    }

    @Test
    void orderOfAdditionChangesTheBitsSoTheOrderMustBeFixed() {
        List<Partial> parts = IntStream.range(0, 5).mapToObj(p -> partial(p, 512)).toList();
        Partial forward = Partial.combine(0, new ArrayList<>(parts));
        Partial backward = Partial.combine(0, new ArrayList<>(parts.reversed()));
        assertFalse(TestSpark.sameBits(forward.grad(), backward.grad()), "these partials must be order-sensitive for the "
                + "tests below to mean anything");
    }

    @Test
    void directSumIsIndexOrderWhateverTheCompletionOrder() {
        int P = 5, n = 512;
        List<Partial> parts = IntStream.range(0, P).mapToObj(p -> partial(p, n)).toList();
        Partial want = Partial.combine(-1, new ArrayList<>(parts));
        for (int run = 0; run < 4; run++) {
            Partial got = run % 2 == 0 ? IndexOrderedSum.sum(partials(P, n), 16) : sumOfTasks(P, n, 16);
            assertTrue(TestSpark.sameBits(want.grad(), got.grad()), "run " + run);
            assertEquals(want.loss(), got.loss(), 0.0);
            assertEquals(want.tokens(), got.tokens());
            assertEquals(P, got.tasks());
        }
    }

    @Test
    void treeSumIsTheFixedTreeOverIndices() {
        int P = 11, n = 300, f = 2; // levels of 11 -> 6 -> 3 -> 2, then the driver
        List<Partial> parts = IntStream.range(0, P).mapToObj(p -> partial(p, n)).toList();
        Partial want = expectedTree(new ArrayList<>(parts), f);
        Partial flat = Partial.combine(-1, new ArrayList<>(parts));
        assertFalse(TestSpark.sameBits(want.grad(), flat.grad()), "the tree adds in another order than the flat sum");
        for (int run = 0; run < 4; run++) {
            Partial got = run % 2 == 0 ? IndexOrderedSum.sum(partials(P, n), f) : sumOfTasks(P, n, f);
            assertTrue(TestSpark.sameBits(want.grad(), got.grad()), "run " + run);
            assertEquals(want.loss(), got.loss(), 0.0);
            assertEquals(P, got.tasks());
            assertEquals(want.tokens(), got.tokens());
        }
    }

    @Test
    void dh0IsConcatenatedInIndexOrder() {
        int P = 4;
        JavaRDD<Partial> rdd = sc.parallelize(IntStream.range(0, P).boxed().toList(), P).mapPartitionsWithIndex((p, it) -> {
            Thread.sleep(15L * (P - p));
            return List.of(Partial.of(p, 1, 1, new float[] {1}, new float[] {p, p + 0.5f}, "scalar", 0)).iterator();
        }, true);
        assertArrayEquals(new float[] {0, 0.5f, 1, 1.5f, 2, 2.5f, 3, 3.5f}, IndexOrderedSum.sum(rdd, 2).dh0());
    }
}
