package dev.recur.spark;

import dev.recur.cli.Corpora;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.UnaryOperator;

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
        return trainWith(sc, seed, t -> t.hook(hook));
    }

    /** The model after ITERS iterations of a trainer set up by {@code setUp}. */
    static float[] trainWith(JavaSparkContext sc, long seed, UnaryOperator<SparkTrainer> setUp) {
        TrainSettings s = new TrainSettings("grammar", null, null, 24, "tanh", 12, 7, "adam", 0.01, 5, 0, seed, P);
        SparkTrainer.Data data = SparkTrainCommand.prepare(sc, s, CORPUS);
        ModelSpec spec = new ModelSpec(data.input(), s.hidden(), data.output(), "tanh", "xent", "auto", 1);
        try {
            SparkTrainer trainer = setUp.apply(new SparkTrainer(sc, s, spec, data));
            SparkTrainer.Result r = trainer.run(ITERS, null, null, null, 0, null);
            assertTrue(r.jobs().startsWith(trainer.jobs()), r.jobs() + " for " + trainer.jobs());
            LAST_RECOMPUTED.set(trainer.recomputed());
            LAST_JOBS.set(r.jobs());
            return r.params();
        } finally {
            data.shards().unpersist(false);
        }
    }

    /** Partitions the last {@link #trainWith} run computed again after their tasks gave up waiting. */
    static final AtomicLong LAST_RECOMPUTED = new AtomicLong();
    /** How the last {@link #trainWith} run's iterations got their tasks. */
    static final AtomicReference<String> LAST_JOBS = new AtomicReference<>();
    /** The (iteration, partition) pairs the hook has failed once already. */
    static final Set<String> FAILED = ConcurrentHashMap.newKeySet();

    /**
     * Fails partition 1 in iteration 2 and partition 0 in iteration 3, each once (clear {@link
     * #FAILED} before a run), and last: by then the next iteration's tasks wait on the cores the
     * other tasks left.
     */
    static void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void failFirstAttempts(long iteration, int partition, int attempt) {
        if ((iteration == 2 && partition == 1 || iteration == 3 && partition == 0) && FAILED.add(iteration + ":" + partition)) {
            INJECTED.incrementAndGet();
            try {
                Thread.sleep(300);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
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
        FAILED.clear();
        float[] retriedPerIteration;
        long recomputedPerIteration;
        String retriedJobs;
        long recomputed;
        try (JavaSparkContext sc = TestSpark.start("local[3,2]")) { // a task may fail once
            retried = train(sc, 11, DeterminismTest::failFirstAttempts); // one long-lived job (a slot per partition)
            retriedJobs = LAST_JOBS.get();
            FAILED.clear();
            retriedPerIteration = trainWith(sc, 11, t -> t.hook(DeterminismTest::failFirstAttempts).longTasks(false));
            recomputedPerIteration = LAST_RECOMPUTED.get();
            recomputed = recomputedPerIteration;
        }
        assertTrue(TestSpark.sameBits(first, again), "run to run");
        assertFalse(TestSpark.sameBits(first, otherSeed), "another seed draws other windows (the comparison can fail)");
        assertTrue(TestSpark.sameBits(first, oneCore), "local[1] (tasks one after another) vs local[2]");
        assertEquals(4, INJECTED.get(), "two tasks failed once in each of the two runs, and were retried");
        // one long-lived job, restarted after each failure; in about 1 run of 4 of the whole module
        // the loop instead waits out its limit (60 s) and goes on with a job per iteration
        // ("run, then per-iteration"): not yet understood, see docs/spark.md; the bits are the same
        assertTrue(retriedJobs.startsWith("run"), retriedJobs);
        assertTrue(TestSpark.sameBits(first, retried), "retried long-lived tasks leave the model bits unchanged");
        assertTrue(TestSpark.sameBits(first, retriedPerIteration), "retried overlapped tasks leave the model bits unchanged");
        // the next job's waiting tasks held the cores a retry needed until the driver cancelled that job
        // (they would otherwise have given up only after a minute, and their partitions been recomputed)
        assertEquals(0, recomputed, "partitions recomputed after waiting tasks gave up");
    }

    /**
     * The overlapped iterations (the default), one job per iteration after the step, and overlapped
     * tasks that give up waiting for their parameters at once (the driver computes their partitions
     * in a job of its own) train the same bits; on one core too, where the next job's task takes the
     * core only when the previous job's last task has left it.
     */
    @Test
    void overlapAndItsFallbackLeaveTheBitsUnchanged() {
        float[] overlapped, serial, gaveUp, fetched, oneCore;
        long recomputed;
        try (JavaSparkContext sc = TestSpark.start("local[2]")) {
            overlapped = trainWith(sc, 11, t -> t);
            serial = trainWith(sc, 11, t -> t.overlap(false));
            // iteration 1's tasks linger, so iteration 2's start before their parameters exist, and give up
            gaveUp = trainWith(sc, 11, t -> t.waitLimit(0).hook((k, p, attempt) -> {
                if (k == 1) pause(150);
            }));
            recomputed = LAST_RECOMPUTED.get();
            ParameterBlocks.remoteOnly = true; // the tasks poll the master and fetch, as executors elsewhere do
            try {
                fetched = trainWith(sc, 11, t -> t.waitLimit(20_000_000_000L));
                assertEquals(0, LAST_RECOMPUTED.get(), "every task found its parameters through the master");
            } finally {
                ParameterBlocks.remoteOnly = false;
            }
        }
        try (JavaSparkContext sc = TestSpark.start("local[1]")) {
            oneCore = trainWith(sc, 11, t -> t);
        }
        float[] longLived, longLivedGaveUp;
        String longLivedJobs, gaveUpJobs;
        try (JavaSparkContext sc = TestSpark.start("local[3]")) { // a slot for each of the 3 partitions
            longLived = trainWith(sc, 11, t -> t);
            longLivedJobs = LAST_JOBS.get();
            // the driver gives up on the loop when iteration 1 takes longer than its first 50 ms look
            longLivedGaveUp = trainWith(sc, 11, t -> t.waitLimit(0).hook((k, p, attempt) -> {
                if (k == 1) pause(150);
            }));
            gaveUpJobs = LAST_JOBS.get();
        }
        assertEquals("run", longLivedJobs);
        assertEquals("run, then per-iteration", gaveUpJobs);
        assertTrue(TestSpark.sameBits(overlapped, longLived), "one long-lived job vs a job per iteration");
        assertTrue(TestSpark.sameBits(overlapped, longLivedGaveUp), "a loop given up for jobs per iteration");
        assertTrue(recomputed > 0, "with no time to wait, some tasks gave up (the fallback ran)");
        assertTrue(TestSpark.sameBits(overlapped, serial), "overlapped vs one job after each step");
        assertTrue(TestSpark.sameBits(overlapped, gaveUp), "partitions recomputed by the driver's own job");
        assertTrue(TestSpark.sameBits(overlapped, fetched), "parameters fetched through the block manager master");
        assertTrue(TestSpark.sameBits(overlapped, oneCore), "local[1]");
    }
}
