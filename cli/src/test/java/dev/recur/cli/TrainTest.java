package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import dev.recur.io.NpyArray;
import dev.recur.kernel.KernelChoice;
import dev.recur.reference.ReferenceNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** recur train: learning, the BPTT modes, saving and exact resumption. */
class TrainTest {

    @TempDir Path dir;

    private static String[] args(String fixed, String... more) {
        List<String> a = new ArrayList<>(List.of(fixed.split(" ")));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void defaultTaskLearnsVisibly() {
        Cli.Result r = Cli.run("train", "--iters", "250", "--progress", "lines", "--json");
        assertEquals(0, r.code(), r::toString);
        String[] outLines = r.out().strip().split("\n");
        assertEquals(1, outLines.length, "--json prints one object on stdout and nothing else");
        Map<String, Object> m = Json.parseObject(outLines[0]);
        double first = ((Number) m.get("loss_first")).doubleValue();
        double val = ((Number) m.get("val_bits_per_symbol")).doubleValue();
        double floor = ((Number) m.get("entropy_floor_bits")).doubleValue();
        assertTrue(first > 2.5, "starts near ln(vocabulary): " + first);
        assertTrue(val < 1.0 && val > floor, "validation bits/symbol " + val + " falls towards the floor " + floor);
        assertTrue(((Number) m.get("tokens_per_s")).doubleValue() > 0);
        assertTrue(r.err().contains("iter 250/250"), "log lines on stderr when not a terminal");
        assertTrue(r.err().contains("entropy floor of the source"), r.err());
    }

    @Test
    void humanSummaryShowsLossThroughputAndSample() {
        Cli.Result r = Cli.run("train", "--iters", "40", "--progress", "none");
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.out().contains("tokens/s"), r.out());
        assertTrue(r.out().contains("bits/symbol"), r.out());
        assertTrue(r.out().contains("sample (temperature 0.7): "), r.out());
        assertEquals(0, r.errLines().length, "--progress none: nothing on stderr");
    }

    /** The same seed gives the same parameters, whatever splits the run into pieces. */
    @Test
    void resumeReachesBitwiseTheSameParameters() throws Exception {
        String[][] runs = {
                {"--hidden 12 --seq-len 10 --batch 3 --optimizer adam"},
                {"--task copy --hidden 10 --seq-len 12 --batch 4 --optimizer adagrad --lr 0.05 --bptt truncated --k1 3 --k2 7"},
                {"--task adding --hidden 8 --seq-len 9 --batch 2 --optimizer sgd --lr 0.01 --clip-value 0.5"},
        };
        for (String[] run : runs) {
            String base = "train " + run[0] + " --progress none --sample 0 --val-every 1000 --seed 5";
            Path whole = dir.resolve("whole.npz"), parts = dir.resolve("parts.npz");
            assertEquals(0, Cli.run(args(base, "--iters", "24", "--save", whole.toString())).code());
            assertEquals(0, Cli.run(args(base, "--iters", "10", "--save", parts.toString())).code());
            Cli.Result mid = Cli.run(args("train --progress none --sample 0 --val-every 1000", "--iters", "17", "--save",
                    parts.toString(), "--resume"));
            assertEquals(0, mid.code(), mid::toString);
            Cli.Result end = Cli.run(args("train --progress none --sample 0 --val-every 1000", "--iters", "24", "--resume",
                    parts.toString(), "--save", parts.toString()));
            assertEquals(0, end.code(), end::toString);
            ModelFile.Model a = ModelFile.read(whole), b = ModelFile.read(parts);
            assertArrayEquals(a.params().data(), b.params().data(), run[0]);
            assertEquals(a.extra().keySet(), b.extra().keySet());
            for (String k : a.extra().keySet()) {
                assertArrayEquals((float[]) a.extra().get(k).data(), (float[]) b.extra().get(k).data(), run[0] + " " + k);
            }
            assertEquals(24L, b.meta().get("step"));
        }
    }

    @Test
    void resumeRefusesConflictingOptionsAndFinishedRuns() {
        Path f = dir.resolve("r.npz");
        assertEquals(0, Cli.run("train", "--iters", "5", "--hidden", "8", "--save", f.toString(), "--progress", "none",
                "--sample", "0").code());
        Cli.Result c = Cli.run("train", "--resume", f.toString(), "--hidden", "16", "--iters", "10");
        assertEquals(2, c.code(), c::toString);
        assertTrue(c.errLines()[0].contains("--hidden = 16 differs from the saved run's 8"), c::toString);
        Cli.Result done = Cli.run("train", "--resume", f.toString(), "--iters", "5");
        assertEquals(2, done.code(), done::toString);
        assertTrue(done.errLines()[0].contains("already at iteration 5"), done::toString);
        Cli.Result ok = Cli.run("train", "--resume", f.toString(), "--hidden", "8", "--iters", "7", "--progress", "none");
        assertEquals(0, ok.code(), ok::toString);
    }

    @Test
    void textFileTrainingWithEpochsAndValidation() throws Exception {
        Path text = dir.resolve("poem.txt");
        Files.writeString(text, "the cat sat on the mat. \u00e9t\u00e9 \u2603\n".repeat(40));
        Path model = dir.resolve("poem.npz");
        Cli.Result r = Cli.run("train", "--data", text.toString(), "--epochs", "2", "--hidden", "24", "--seq-len", "20",
                "--batch", "4", "--save", model.toString(), "--json", "--progress", "none");
        assertEquals(0, r.code(), r::toString);
        Map<String, Object> m = Json.parseObject(r.out().strip());
        assertEquals("text", m.get("task"));
        assertTrue(m.get("val_loss") instanceof Double);
        ModelFile.Model saved = ModelFile.read(model);
        assertEquals("\n .acehmnost\u00e9\u2603", saved.meta().get("vocabulary"));
        assertEquals("xent", saved.meta().get("loss"));
    }

    /** Truncated BPTT with k1 = k2 = T is one update over the whole sequence: exactly full BPTT. */
    @Test
    void truncatedWithWholeWindowsEqualsFull() throws Exception {
        Path a = dir.resolve("a.npz"), b = dir.resolve("b.npz");
        String base = "train --hidden 10 --seq-len 8 --batch 3 --iters 12 --progress none --sample 0";
        assertEquals(0, Cli.run(args(base, "--save", a.toString())).code());
        assertEquals(0, Cli.run(args(base, "--save", b.toString(), "--bptt", "truncated", "--k1", "8", "--k2", "8")).code());
        assertArrayEquals(ModelFile.read(a).params().data(), ModelFile.read(b).params().data());
        Cli.Result t = Cli.run("train", "--bptt", "truncated", "--k1", "4", "--k2", "12", "--iters", "150", "--json",
                "--progress", "none");
        assertEquals(0, t.code(), t::toString);
        Map<String, Object> m = Json.parseObject(t.out().strip());
        assertEquals(150L * 8, m.get("updates"), "32 steps in windows of k1 = 4: 8 updates per batch");
        assertTrue(((Number) m.get("val_loss")).doubleValue() < 1.5, "truncated BPTT learns too: " + m.get("val_loss"));
    }

    /**
     * The chunked gradient (unscored prefix in layer mode, scored suffix with the loss head,
     * truncated windows) against the independent double reference, for every cell: an LSTM's
     * cell state and its gradient must cross the chunk boundaries with the hidden state.
     */
    @ParameterizedTest
    @EnumSource(dev.recur.Cell.class)
    void chunkedGradientsMatchTheReference(dev.recur.Cell cell) {
        Shape s = cell == dev.recur.Cell.ELMAN ? new Shape(3, 6, 2) : Shape.network(3, 6, 2, 1, false, cell);
        boolean lstm = cell == dev.recur.Cell.LSTM;
        int B = 2, T = 9;
        SplittableRandom rnd = new SplittableRandom(4);
        for (int L : new int[] {T, 4, 1}) {
            Task task = new Task() {
                @Override String name() { return "t"; }
                @Override int input() { return 3; }
                @Override int output() { return 2; }
                @Override boolean classInputs() { return false; }
                @Override boolean classTargets() { return false; }
                @Override int lossSteps(int t) { return L; }
                @Override boolean stateful() { return false; }
                @Override void fill(long iter, Batch b) {}
                @Override Eval evaluate(Rnn rnn, Params params) { return null; }
                @Override Defaults defaults() { return null; }
                @Override String describe(int t) { return ""; }
            };
            Task.Batch b = new Task.Batch(task, B, T);
            for (int k = 0; k < b.xf.length; k++) b.xf[k] = (float) (rnd.nextDouble() * 2 - 1);
            for (int k = 0; k < b.yf.length; k++) b.yf[k] = (float) (rnd.nextDouble() * 2 - 1);
            Params p = Params.random(s, 9);
            float[] h0 = new float[B * 6], c0 = lstm ? new float[B * 6] : null;
            for (int k = 0; k < h0.length; k++) h0[k] = (float) (rnd.nextDouble() - 0.5);
            if (lstm) for (int k = 0; k < c0.length; k++) c0[k] = (float) (rnd.nextDouble() * 2 - 1);
            try (Rnn rnn = Rnn.builder(s).activation(Activation.TANH).kernels(KernelChoice.SCALAR).build()) {
                Grads total = Grads.zeros(s);
                float[] hT = new float[B * 6], cT = lstm ? new float[B * 6] : null;
                double loss = new SequenceGrad(rnn, B, T, L, false, 0, 0).run(p, b, h0, c0, hT, cT, total::add);
                // the double reference, scoring the last L steps: its loss and its exact gradient,
                // which its own finite-difference test vouches for
                ReferenceNetwork ref = new ReferenceNetwork(cell.id(), "tanh", 3, 6, 2, 1, false, s.biases());
                for (Shape.Block blk : s.blocks()) ref.set(blk.name(), p.copyOf(blk.name()));
                ReferenceNetwork.Problem pr = new ReferenceNetwork.Problem();
                pr.steps = T;
                pr.batch = B;
                pr.loss = "mse";
                pr.x = new double[T][B][3];
                pr.yf = new double[T][B][2];
                pr.h0 = new double[1][B][6];
                if (lstm) pr.c0 = new double[1][B][6];
                pr.scored = new boolean[T][B];
                for (int t = 0; t < T; t++) {
                    for (int r = 0; r < B; r++) {
                        for (int i = 0; i < 3; i++) pr.x[t][r][i] = b.xf[(t * B + r) * 3 + i];
                        if (t < T - L) continue;
                        pr.scored[t][r] = true;
                        for (int o = 0; o < 2; o++) pr.yf[t][r][o] = b.yf[((t - (T - L)) * B + r) * 2 + o];
                    }
                }
                for (int r = 0; r < B; r++) {
                    for (int i = 0; i < 6; i++) {
                        pr.h0[0][r][i] = h0[r * 6 + i];
                        if (lstm) pr.c0[0][r][i] = c0[r * 6 + i];
                    }
                }
                ReferenceNetwork.Result want = ref.run(pr);
                assertEquals(want.loss, loss, 1e-5 * Math.abs(want.loss), cell + " L = " + L);
                double num = 0, den = 0;
                for (Shape.Block blk : s.blocks()) {
                    double[] d = want.grads.get(blk.name());
                    for (int j = 0; j < d.length; j++) {
                        double e = d[j] - total.data()[blk.offset() + j];
                        num += e * e;
                        den += d[j] * d[j];
                    }
                }
                double rel = Math.sqrt(num / den);
                assertTrue(rel < 1e-5, cell + " L = " + L + ": relative error " + rel);
                for (int r = 0; r < B; r++) {
                    for (int i = 0; i < 6; i++) {
                        assertEquals(want.finalH[0][r][i], hT[r * 6 + i], 1e-5, "final h");
                        if (lstm) assertEquals(want.finalC[0][r][i], cT[r * 6 + i], 1e-5, "final c");
                    }
                }

                // truncated BPTT (k1 = 2, k2 = 5; T = 9 has a short last window): the windows' losses,
                // at fixed parameters, add up to the scored loss
                List<Double> norms = new ArrayList<>();
                double tl = new SequenceGrad(rnn, B, T, L, true, 2, 5).run(p, b, h0, c0, null, null, g -> norms.add(g.l2Norm()));
                assertEquals(loss, tl, 1e-5 * Math.abs(loss), "truncated windows score each step once");
                assertEquals(L == T ? 5 : L == 4 ? 3 : 1, norms.size(), "updates for L = " + L);
            }
        }
    }

    @Test
    void saveIsANumpyReadableModel() throws Exception {
        Path f = dir.resolve("m.npz");
        assertEquals(0, Cli.run("train", "--iters", "3", "--save", f.toString(), "--progress", "none").code());
        ModelFile.Model m = ModelFile.read(f);
        assertEquals(new Shape(19, 64, 19), m.shape());
        Map<?, ?> opt = (Map<?, ?>) m.meta().get("optimizer");
        assertEquals("adam", opt.get("name"));
        assertEquals(3L, opt.get("steps"));
        NpyArray h = m.extra().get("train_h");
        assertArrayEquals(new int[] {16, 64}, h.shape());
        assertTrue(m.meta().get("train") instanceof Map);
    }
}
