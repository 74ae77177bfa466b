package dev.recur.spark;

import dev.recur.cli.Corpora;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A training run's bits depend on the data, the seed and P only: the same on every run, with
 * another executor count, and when tasks fail and are retried.
 */
class DeterminismTest {
    static final Corpora.CharCorpus CORPUS = Corpora.grammar(5);
    static final int P = 3, ITERS = 4;
    /** Failures the hook injected (the tasks run in this JVM in local mode). */
    static final AtomicInteger INJECTED = new AtomicInteger();

    static float[] train(JavaSparkContext sc, long seed, SparkTrainer.TaskHook hook) {
        TrainSettings s = new TrainSettings("grammar", null, null, 24, "tanh", 12, 7, "adam", 0.01, 5, 0, seed, P);
        SparkTrainer.Data data = SparkTrainCommand.prepare(sc, s, CORPUS);
        ModelSpec spec = new ModelSpec(data.input(), s.hidden(), data.output(), "tanh", "xent", "auto", 1);
        try {
            return new SparkTrainer(sc, s, spec, data).hook(hook).run(ITERS, null, null, null, 0, null).params();
        } finally {
            data.shards().unpersist(false);
        }
    }

    /** Fails partition 1 in iteration 2 and partition 0 in iteration 3, each on its first attempt only. */
    static void failFirstAttempts(long iteration, int partition, int attempt) {
        if (attempt == 0 && (iteration == 2 && partition == 1 || iteration == 3 && partition == 0)) {
            INJECTED.incrementAndGet();
            throw new IllegalStateException("injected failure: iteration " + iteration + ", partition " + partition);
        }
    }

    @Test
    void sameBitsOnEveryRunWithAnyExecutorCountAndAfterRetries() {
        float[] first, again, otherSeed, oneCore, retried;
        try (JavaSparkContext sc = TestSpark.start("local[2]")) {
            first = train(sc, 11, null);
            again = train(sc, 11, null);
            otherSeed = train(sc, 12, null);
        }
        try (JavaSparkContext sc = TestSpark.start("local[1]")) {
            oneCore = train(sc, 11, null);
        }
        INJECTED.set(0);
        try (JavaSparkContext sc = TestSpark.start("local[3,2]")) { // a task may fail once
            retried = train(sc, 11, DeterminismTest::failFirstAttempts);
        }
        assertTrue(TestSpark.sameBits(first, again), "run to run");
        assertFalse(TestSpark.sameBits(first, otherSeed), "another seed draws other windows (the comparison can fail)");
        assertTrue(TestSpark.sameBits(first, oneCore), "local[1] (tasks one after another) vs local[2]");
        assertEquals(2, INJECTED.get(), "two tasks failed on their first attempt and were retried");
        assertTrue(TestSpark.sameBits(first, retried), "retried tasks leave the model bits unchanged");
    }
}
