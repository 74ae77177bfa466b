package dev.recur.spark;

import dev.recur.cli.Corpora;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A stop request (what Ctrl-C sends) saves the last completed iteration, and --resume goes on bit for bit. */
class StopTest {
    @TempDir Path dir;

    @Test
    void stoppedRunSavesAndResumesAsIfNeverStopped() {
        TrainSettings s = new TrainSettings("grammar", null, null, 16, "tanh", 10, 4, "adam", 0.01, 5, 0, 8, 2);
        Corpora.CharCorpus corpus = Corpora.grammar(8);
        Path file = dir.resolve("m.npz");
        try (JavaSparkContext sc = TestSpark.start("local[2]")) {
            SparkTrainer.Data data = SparkTrainCommand.prepare(sc, s, corpus);
            ModelSpec spec = new ModelSpec(data.input(), s.hidden(), data.output(), "tanh", "xent", "auto", 1);
            SparkTrainer.Result whole = new SparkTrainer(sc, s, spec, data).run(5, null, null, null, 0, null);
            assertFalse(whole.stopped());

            SparkTrainer stopping = new SparkTrainer(sc, s, spec, data);
            SparkTrainer.Result cut = stopping.run(5, null, null, file, 0, it -> {
                if (it.iter() == 2) stopping.requestStop();
            });
            assertTrue(cut.stopped());
            assertEquals(2, cut.iters());
            Checkpoint.Saved saved = Checkpoint.load(file);
            assertEquals(2, saved.step());
            assertTrue(TestSpark.sameBits(cut.params(), saved.params()));

            SparkTrainer.Result resumed = new SparkTrainer(sc, s, spec, data).run(5, saved, file, null, 0, null);
            assertEquals(5, resumed.iters());
            assertTrue(TestSpark.sameBits(whole.params(), resumed.params()), "stopped at 2, resumed to 5 = 5 in one go");
        }
    }
}
