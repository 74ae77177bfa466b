package dev.recur.spark;

import dev.recur.cli.Corpora;
import dev.recur.io.NpyArray;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * One iteration's gradient on Spark (local[2]; 1, 2 and 5 partitions) against one engine over
 * the same sequences: equal within float rounding, per array, and bitwise for one partition.
 */
class GradientExactnessTest {
    static JavaSparkContext sc;
    static final Corpora.CharCorpus CORPUS = Corpora.grammar(3);
    static final int H = 32, T = 20, B = 10;
    static final long SEED = 3, ITERATION = 4;
    /** recur grad's bound: 1e-5 relative, norm-wise, per array. */
    static final double BOUND = 1e-5;

    @BeforeAll
    static void start() { sc = TestSpark.start("local[2]"); }

    @AfterAll
    static void stop() { sc.stop(); }

    static TrainSettings settings(int P) {
        return new TrainSettings("grammar", null, null, H, "tanh", T, B, "adam", 0.01, 5, 0, SEED, P);
    }

    /** The windows every partition draws, joined into one batch in partition order. */
    static Windows sameSequences(int P) {
        List<Windows> parts = new ArrayList<>();
        for (int p = 0; p < P; p++) {
            parts.add(StreamShard.of(CORPUS.train(), T, P, p).draw(SEED, ITERATION, p, Shard.share(B, P, p)));
        }
        int[] x = new int[T * B], y = new int[T * B];
        int lo = 0;
        for (Windows w : parts) {
            for (int t = 0; t < T; t++) {
                System.arraycopy(w.classInputs(), t * w.batch(), x, t * B + lo, w.batch());
                System.arraycopy(w.classTargets(), t * w.batch(), y, t * B + lo, w.batch());
            }
            lo += w.batch();
        }
        assertEquals(B, lo);
        return Windows.ofClasses(B, T, x, y);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 5})
    void sparkGradientEqualsOneEngineOverTheSameSequences(int P) {
        SparkTrainer.Data data = SparkTrainCommand.prepare(sc, settings(P), CORPUS);
        ModelSpec spec = new ModelSpec(data.input(), H, data.output(), "tanh", "xent", "auto", 1);
        float[] params = PartitionGradient.initialParameters(spec, 7);
        Partial spark = new SparkTrainer(sc, settings(P), spec, data).gradient(params, ITERATION);
        Partial one = PartitionGradient.compute(0, spec, params, sameSequences(P), false);

        assertEquals(P, spark.tasks());
        assertEquals((long) B * T, spark.tokens());
        assertEquals(one.loss(), spark.loss(), 1e-6 * Math.abs(one.loss()), "summed loss");
        Map<String, NpyArray> got = PartitionGradient.gradientArrays(spec, spark.grad());
        Map<String, NpyArray> want = PartitionGradient.gradientArrays(spec, one.grad());
        for (String k : want.keySet()) {
            double err = TestSpark.relativeError(got.get(k).toFloats(), want.get(k).toFloats());
            assertTrue(err <= BOUND, k + ": relative error " + err + " > " + BOUND + " with " + P + " partitions");
            System.out.printf("exactness P=%d %s: relative error %.3g%n", P, k, err);
        }
        if (P == 1) assertTrue(TestSpark.sameBits(one.grad(), spark.grad()), "one partition is one engine's call");
        data.shards().unpersist(false);
    }
}
