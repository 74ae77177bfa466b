package dev.recur.spark;

import dev.recur.Cell;
import dev.recur.Params;
import dev.recur.Shape;
import dev.recur.cli.Seeds;
import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import dev.recur.io.NpyArray;
import dev.recur.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** recur spark train: learning with the defaults, --json, text data, exact resumption, one-line errors. */
class SparkTrainCommandTest {

    @TempDir Path dir;

    static final String SMALL = "--master local[2] --partitions 2 --hidden 16 --seq-len 16 --batch 4 --progress none";

    private static String[] args(String fixed, String... more) {
        List<String> a = new ArrayList<>(List.of("train"));
        a.addAll(List.of(fixed.split(" ")));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    private static Map<String, Object> lastJson(TestSpark.Result r) {
        String[] lines = r.out().strip().split("\n");
        return Json.parseObject(lines[lines.length - 1]);
    }

    @Test
    void defaultTaskLearnsAndJsonReportsTheRun() {
        TestSpark.Result r = TestSpark.run("train", "--master", "local[2]", "--partitions", "2", "--iters", "150",
                "--log-every", "50", "--json");
        assertEquals(0, r.code(), r::toString);
        Map<String, Object> m = lastJson(r);
        double first = ((Number) m.get("loss_first")).doubleValue(), last = ((Number) m.get("loss_last")).doubleValue();
        assertEquals(150L, m.get("iters"));
        assertEquals(2L, m.get("partitions"));
        assertTrue(first > 2.5, "starts near ln(19): " + first);
        assertTrue(last < first / 2, "loss falls below half of the first: " + first + " -> " + last);
        assertTrue(((Number) m.get("tokens_per_s")).doubleValue() > 0);
        assertTrue(((Number) m.get("gradient_bytes_per_iter")).longValue() > 0);
        assertTrue(m.get("kernels") instanceof Map<?, ?> k && !k.isEmpty(), "reports the executors' kernels");
        assertEquals("run", m.get("jobs"), "local[2], 2 partitions: one job with long-lived tasks");
        assertTrue(r.err().contains("iter 150/150"), r.err());
        assertTrue(r.err().contains("ms/iter = compute"), "progress splits the iteration's time: " + r.err());
    }

    @Test
    void resumeContinuesBitForBit() throws Exception {
        Path whole = dir.resolve("whole.npz"), parts = dir.resolve("parts.npz");
        TestSpark.Result a = TestSpark.run(args(SMALL, "--iters", "6", "--save", whole.toString()));
        assertEquals(0, a.code(), a::toString);
        TestSpark.Result b = TestSpark.run(args(SMALL, "--iters", "3", "--save", parts.toString()));
        assertEquals(0, b.code(), b::toString);
        TestSpark.Result c = TestSpark.run("train", "--master", "local[1]", "--progress", "none", "--save", parts.toString(),
                "--resume", "--iters", "6");
        assertEquals(0, c.code(), c::toString);
        Map<String, NpyArray> x = Npz.read(whole), y = Npz.read(parts);
        for (String k : List.of("U", "W", "b", "V", "c", "adam_m", "adam_v")) {
            assertTrue(TestSpark.sameBits(x.get(k).toFloats(), y.get(k).toFloats()), k + " after resume");
        }
        assertEquals(6L, ModelFile.read(parts).meta().get("step"));
        assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(parts), "the same file, byte for byte");

        TestSpark.Result d = TestSpark.run("train", "--save", parts.toString(), "--resume", "--partitions", "3", "--iters", "9");
        assertEquals(2, d.code(), d::toString);
        assertTrue(d.err().contains("--partitions = 3 differs from the saved run's 2"), d.err());
    }

    @Test
    void layersAndCellAsRecurTrainAndResumeBitForBit() throws Exception {
        // the shapes and seeded initial parameters of recur train: one Elman layer is recur's model, else PyTorch's network
        TrainSettings one = new TrainSettings("grammar", null, null, 16, "tanh", 16, 4, "adam", 0.01, 5, 0, 1, 2);
        assertEquals(new Shape(19, 16, 19), one.shape(19, 19));
        TrainSettings deep = new TrainSettings("grammar", null, null, 16, 2, "lstm", "tanh", 16, 4, "adam", 0.01, 5, 0, 1, 2);
        Shape s = Shape.network(19, 16, 19, 2, false, Cell.LSTM);
        assertEquals(s, deep.shape(19, 19));
        assertArrayEquals(Params.random(s, Seeds.mix(1, 1)).data(),
                PartitionGradient.initialParameters(ModelSpec.of(s, "tanh", "xent", "auto", 1), Seeds.mix(1, 1)));

        Path whole = dir.resolve("whole.npz"), parts = dir.resolve("parts.npz");
        TestSpark.Result a = TestSpark.run(args(SMALL, "--layers", "2", "--cell", "lstm", "--iters", "3", "--save",
                whole.toString()));
        assertEquals(0, a.code(), a::toString);
        ModelFile.Model m = ModelFile.read(whole);
        assertEquals(2, m.shape().layers());
        assertEquals(Cell.LSTM, m.shape().cell());
        assertEquals(1, m.shape().directions());
        Map<?, ?> train = (Map<?, ?>) m.meta().get("train");
        assertEquals(2L, train.get("layers"));
        assertEquals("lstm", train.get("cell"));
        TestSpark.Result b = TestSpark.run(args(SMALL, "--layers", "2", "--cell", "lstm", "--iters", "2", "--save",
                parts.toString()));
        assertEquals(0, b.code(), b::toString);
        TestSpark.Result c = TestSpark.run("train", "--master", "local[1]", "--progress", "none", "--save", parts.toString(),
                "--resume", "--iters", "3");
        assertEquals(0, c.code(), c::toString);
        assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(parts), "the same file, byte for byte");

        oneLineError(TestSpark.run("train", "--save", parts.toString(), "--resume", "--cell", "gru", "--iters", "4"), 2,
                "--cell = gru differs from the saved run's lstm");
        oneLineError(TestSpark.run("train", "--cell", "gru", "--activation", "relu"), 2, "--activation relu with --cell gru");
        oneLineError(TestSpark.run("train", "--cell", "tree"), 2, "--cell = 'tree'", "expected rnn, gru or lstm");
        oneLineError(TestSpark.run("train", "--layers", "0"), 2, "--layers = 0");
    }

    @Test
    void textFilesKeepTheirNewlines() throws Exception {
        Path corpus = Files.createDirectory(dir.resolve("corpus"));
        Files.writeString(corpus.resolve("a.txt"), "the cat sat\non the mat\n".repeat(20));
        Files.writeString(corpus.resolve("b.txt"), "a dog; a log.\n".repeat(20));
        Path model = dir.resolve("m.npz");
        TestSpark.Result r = TestSpark.run("train", "--master", "local[2]", "--partitions", "3", "--data", corpus.toString(),
                "--hidden", "8", "--seq-len", "10", "--batch", "6", "--iters", "3", "--save", model.toString(), "--json",
                "--progress", "none", "--kernels", "scalar");
        assertEquals(0, r.code(), r::toString);
        Map<String, Object> m = lastJson(r);
        assertEquals(3L, m.get("iters"));
        assertEquals(Map.of("scalar", 9L), m.get("kernels"), "3 iterations x 3 partitions, the kernels asked for");
        assertEquals(null, m.get("kernels_warning"), "scalar was asked for: no warning");
        String vocab = (String) ModelFile.read(model).meta().get("vocabulary");
        assertTrue(vocab.contains("\n") && vocab.contains(";") && vocab.contains("c"), "vocabulary '" + vocab + "'");
        assertEquals("text", ((Map<?, ?>) ModelFile.read(model).meta().get("train")).get("task"));
    }

    @Test
    void npySequencesTrainWithSquaredError() throws Exception {
        int T = 6, N = 10, I = 2;
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(4);
        float[] x = new float[T * N * I], y = new float[T * N];
        for (int t = 0; t < T; t++) {
            for (int n = 0; n < N; n++) {
                x[(t * N + n) * I] = (float) rnd.nextDouble();
                x[(t * N + n) * I + 1] = t % 2;
                y[t * N + n] = x[(t * N + n) * I] * (t % 2 == 0 ? 1 : -1);
            }
        }
        dev.recur.io.Npy.write(dir.resolve("x.npy"), NpyArray.of(x, T, N, I));
        dev.recur.io.Npy.write(dir.resolve("y.npy"), NpyArray.of(y, T, N, 1));
        String[] common = {"train", "--master", "local[2]", "--partitions", "3", "--inputs", dir.resolve("x.npy").toString(),
                "--targets", dir.resolve("y.npy").toString(), "--hidden", "8", "--batch", "5", "--iters", "4",
                "--progress", "none", "--json"};
        TestSpark.Result r = TestSpark.run(common);
        assertEquals(0, r.code(), r::toString);
        Map<String, Object> m = lastJson(r);
        assertEquals("1/2 squared error per step", m.get("loss_unit"));
        assertEquals((long) T, ((Map<?, ?>) m.get("config")).get("seq_len"));
        assertEquals(4L * 5 * T, m.get("tokens"));
        assertEquals("overlapped", m.get("jobs"), "3 partitions on 2 slots: a job per iteration, overlapped");

        List<String> serial = new ArrayList<>(List.of(common));
        serial.add("--no-overlap");
        TestSpark.Result s = TestSpark.run(serial.toArray(String[]::new));
        assertEquals(0, s.code(), s::toString);
        Map<String, Object> ms = lastJson(s);
        assertEquals("per-iteration", ms.get("jobs"));
        assertEquals(m.get("loss_last"), ms.get("loss_last"), "--no-overlap trains the same bits");

        List<String> wrongT = new ArrayList<>(List.of(common));
        wrongT.addAll(List.of("--seq-len", "5"));
        oneLineError(TestSpark.run(wrongT.toArray(String[]::new)), 2, "--seq-len = 5", "have 6 steps");
    }

    private static void oneLineError(TestSpark.Result r, int code, String... fragments) {
        assertEquals(code, r.code(), r::toString);
        String[] lines = r.errLines();
        assertEquals(1, lines.length, "one line: " + r.err());
        assertTrue(lines[0].startsWith("recur spark train: "), lines[0]);
        for (String f : fragments) assertTrue(lines[0].contains(f), "'" + f + "' in: " + lines[0]);
    }

    @Test
    void badInputGivesOneLineAndTheExitStatus() {
        oneLineError(TestSpark.run("train", "--data", dir.resolve("missing.txt").toString(), "--iters", "1"), 1,
                "--data", "missing.txt", "no such file or folder");
        oneLineError(TestSpark.run("train", "--partitions", "0"), 2, "--partitions = 0", "expected a whole number >= 1");
        oneLineError(TestSpark.run("train", "--master", "local[two]"), 2, "--master = 'local[two]'", "expected local");
        oneLineError(TestSpark.run("train", "--master", "nonsense://host", "--iters", "1"), 2,
                "--master = 'nonsense://host'", "Spark cannot parse it");
        oneLineError(TestSpark.run("train", "--partitions", "20", "--batch", "16"), 2, "--partitions = 20 > --batch = 16");
        oneLineError(TestSpark.run("train", "--threads", "2"), 2, "spark.task.cpus");
        oneLineError(TestSpark.run("train", "--task", "copy"), 2, "--task copy", "expected grammar or --data");
    }
}
