package dev.recur.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.Cell;
import dev.recur.Params;
import dev.recur.Shape;
import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import dev.recur.io.Npy;
import dev.recur.io.NpyArray;
import dev.recur.io.Npz;
import dev.recur.reference.ReferenceNetwork;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The command line on networks: {@code recur grad} with PyTorch's state_dict names, lengths,
 * ignored targets and h0 in PyTorch's layout, against the double reference; {@code train
 * --layers}; {@code info --model}; {@code gradcheck --layers --bidirectional --lengths}; and
 * their one-line errors.
 */
class NetworkCommandsTest {

    @TempDir Path dir;

    static final int T = 9, B = 3, I = 4, H = 6, O = 5;

    /** Writes a 2-layer bidirectional state_dict model and its data; returns the arrays for the reference. */
    private Params writeProblem(Shape s, int[] len, int[] y, float[] x, float[] h0) throws Exception {
        Params p = Params.random(s, 5);
        SplittableRandom rnd = new SplittableRandom(8);
        for (Shape.Block b : s.blocks()) {
            if (b.dims().length == 1) for (int k = 0; k < b.length(); k++) p.data()[b.offset() + k] = (float) (rnd.nextDouble() - 0.5);
        }
        Map<String, NpyArray> arrays = new LinkedHashMap<>(ModelFile.toArrays(p, null, null));
        arrays.remove("meta");                       // a plain numpy.savez of a state_dict and V, c
        Npz.write(dir.resolve("m.npz"), arrays, false);
        for (int k = 0; k < x.length; k++) x[k] = (float) (rnd.nextDouble() * 2 - 1);
        for (int k = 0; k < h0.length; k++) h0[k] = (float) (rnd.nextDouble() - 0.5);
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                // past a length anything may stand there (here -7, out of range); -100 is ignored anywhere
                y[t * B + b] = t >= len[b] ? -7 : (t + b) % 4 == 1 ? -100 : rnd.nextInt(O);
            }
        }
        Npy.write(dir.resolve("x.npy"), NpyArray.of(x, T, B, I));
        Npy.write(dir.resolve("y.npy"), NpyArray.of(toLong(y), T, B));
        Npy.write(dir.resolve("len.npy"), NpyArray.of(toLong(len), B));
        Npy.write(dir.resolve("h0.npy"), NpyArray.of(h0, s.stateBlocks(), B, H));
        return p;
    }

    static long[] toLong(int[] a) {
        long[] r = new long[a.length];
        for (int k = 0; k < a.length; k++) r[k] = a[k];
        return r;
    }

    @Test
    void gradWithAStateDictNetworkMatchesTheReference() throws Exception {
        Shape s = Shape.network(I, H, O, 2, true, Cell.ELMAN);
        int[] len = {9, 2, 6}, y = new int[T * B];
        float[] x = new float[T * B * I], h0 = new float[4 * B * H];
        Params p = writeProblem(s, len, y, x, h0);
        Cli.Result r = Cli.run("grad", "--model", dir.resolve("m.npz").toString(), "--inputs", dir.resolve("x.npy").toString(),
                "--targets", dir.resolve("y.npy").toString(), "--lengths", dir.resolve("len.npy").toString(), "--h0",
                dir.resolve("h0.npy").toString(), "--activation", "tanh", "--loss", "xent", "--out", dir.resolve("g.npz").toString(),
                "--kernels", "scalar");
        assertEquals(0, r.code(), r::toString);
        Map<String, NpyArray> g = Npz.read(dir.resolve("g.npz"));

        ReferenceNetwork ref = new ReferenceNetwork("rnn", "tanh", I, H, O, 2, true, 2);
        for (Shape.Block b : s.blocks()) ref.set(b.name(), p.copyOf(b.name()));
        ReferenceNetwork.Problem pr = new ReferenceNetwork.Problem();
        pr.steps = T;
        pr.batch = B;
        pr.lengths = len;
        pr.loss = "xent";
        pr.x = new double[T][B][I];
        pr.yi = new int[T][B];
        pr.h0 = new double[4][B][H];
        for (int t = 0; t < T; t++) {
            for (int b = 0; b < B; b++) {
                for (int i = 0; i < I; i++) pr.x[t][b][i] = x[(t * B + b) * I + i];
                pr.yi[t][b] = y[t * B + b];
            }
        }
        for (int k = 0; k < 4; k++) for (int b = 0; b < B; b++) for (int j = 0; j < H; j++) pr.h0[k][b][j] = h0[(k * B + b) * H + j];
        ReferenceNetwork.Result want = ref.run(pr);
        assertEquals(want.loss, g.get("loss").toDoubles()[0], 1e-6 * want.loss, "loss");
        for (Shape.Block b : s.blocks()) {
            assertArrayEquals(b.dims(), g.get(b.name()).shape(), b.name() + " has the parameter's own name and shape");
            assertTrue(rel(g.get(b.name()).toFloats(), want.grads.get(b.name())) < 1e-5, b.name());
        }
        assertArrayEquals(new int[] {4, B, H}, g.get("dh0").shape(), "dh0 in PyTorch's (L*D, B, H)");
        double[] dh0 = new double[4 * B * H];
        for (int k = 0; k < 4; k++) for (int b = 0; b < B; b++) for (int j = 0; j < H; j++) dh0[(k * B + b) * H + j] = want.dh0[k][b][j];
        assertTrue(rel(g.get("dh0").toFloats(), dh0) < 1e-5, "dh0");
    }

    static double rel(float[] got, double[] want) {
        double n = 0, d = 0;
        for (int k = 0; k < want.length; k++) {
            n += (got[k] - want[k]) * (got[k] - want[k]);
            d += want[k] * want[k];
        }
        return Math.sqrt(n / d);
    }

    @Test
    void gradErrorsNameTheArgument() throws Exception {
        Shape s = Shape.network(I, H, O, 2, true, Cell.ELMAN);
        int[] len = {9, 2, 6}, y = new int[T * B];
        writeProblem(s, len, y, new float[T * B * I], new float[4 * B * H]);
        String m = dir.resolve("m.npz").toString(), xs = dir.resolve("x.npy").toString(), ys = dir.resolve("y.npy").toString();
        String out = dir.resolve("g.npz").toString(), ls = dir.resolve("len.npy").toString();
        Npy.write(dir.resolve("bad_len.npy"), NpyArray.of(new long[] {9, 0, 6}, 3));
        expect(1, "lengths[1] = 0, expected 1 <= length <= T = 9", "grad", "--model", m, "--inputs", xs, "--targets", ys, "--lengths",
                dir.resolve("bad_len.npy").toString(), "--activation", "tanh", "--loss", "xent", "--out", out);
        Npy.write(dir.resolve("bad_h0.npy"), NpyArray.of(new float[B * H], B, H));
        expect(1, "--h0", "shape (3, 6), expected (4, 3, 6)", "grad", "--model", m, "--inputs", xs, "--targets", ys, "--lengths", ls, "--h0",
                dir.resolve("bad_h0.npy").toString(), "--activation", "tanh", "--loss", "xent", "--out", out);
        expect(1, "its shapes fit a rnn network", "not --cell lstm", "grad", "--model", m, "--inputs", xs, "--targets", ys, "--cell",
                "lstm", "--activation", "tanh", "--loss", "xent", "--out", out);
        Map<String, NpyArray> arrays = new LinkedHashMap<>(Npz.read(dir.resolve("m.npz")));
        arrays.remove("bias_hh_l1_reverse");
        Npz.write(dir.resolve("missing.npz"), arrays, false);
        expect(1, "has no array 'bias_hh_l1_reverse'", "grad", "--model", dir.resolve("missing.npz").toString(), "--inputs", xs,
                "--targets", ys, "--activation", "tanh", "--loss", "xent", "--out", out);
        // in range past the lengths is not required, but at a valid step it is
        int[] yb = y.clone();
        yb[0] = O;
        Npy.write(dir.resolve("yb.npy"), NpyArray.of(toLong(yb), T, B));
        expect(1, "value 5 at flat index 0 (step 0, sequence 0)", "or -100 (ignored)", "grad", "--model", m, "--inputs", xs,
                "--targets", dir.resolve("yb.npy").toString(), "--lengths", dir.resolve("len.npy").toString(), "--activation",
                "tanh", "--loss", "xent", "--out", out);
        expect(2, "--reduction = 'median'", "grad", "--model", m, "--inputs", xs, "--targets", ys, "--lengths", ls, "--activation", "tanh",
                "--loss", "xent", "--reduction", "median", "--out", out);
    }

    static void expect(int code, String... fragmentsThenArgs) {
        int n = 0;
        while (n < fragmentsThenArgs.length && !fragmentsThenArgs[n].equals("grad") && !fragmentsThenArgs[n].equals("train")
                && !fragmentsThenArgs[n].equals("gradcheck") && !fragmentsThenArgs[n].equals("bench")) n++;
        String[] args = java.util.Arrays.copyOfRange(fragmentsThenArgs, n, fragmentsThenArgs.length);
        Cli.Result r = Cli.run(args);
        assertEquals(code, r.code(), r::toString);
        String[] lines = r.errLines();
        assertEquals(1, lines.length, "one line: " + r);
        for (int k = 0; k < n; k++) assertTrue(lines[0].contains(fragmentsThenArgs[k]), "'" + lines[0] + "' lacks '" + fragmentsThenArgs[k] + "'");
    }

    @Test
    void trainTwoLayersSavesAStateDictAndResumes() throws Exception {
        Path m = dir.resolve("deep.npz");
        String base = "train --layers 2 --hidden 16 --seq-len 12 --batch 4 --progress none --sample 0 --seed 3 --kernels scalar";
        Cli.Result a = Cli.run((base + " --iters 30 --save " + m).split(" "));
        assertEquals(0, a.code(), a::toString);
        ModelFile.Model model = ModelFile.read(m);
        assertEquals(2, model.shape().layers());
        assertTrue(Npz.read(m).containsKey("weight_hh_l1"), "PyTorch's names");
        Cli.Result b = Cli.run((base + " --iters 40 --save " + m + " --resume").split(" "));
        assertEquals(0, b.code(), b::toString);
        Path whole = dir.resolve("whole.npz");
        assertEquals(0, Cli.run((base + " --iters 40 --save " + whole).split(" ")).code());
        assertArrayEquals(ModelFile.read(whole).params().data(), ModelFile.read(m).params().data(), "resumed = uninterrupted");
        expect(2, "--bidirectional", "reverse direction", "train", "--bidirectional");
        expect(2, "--layers = 2 differs from the saved run's 1", "train", "--layers", "2", "--save",
                saveOneLayer().toString(), "--resume");

        Cli.Result info = Cli.run("info", "--model", m.toString(), "--json");
        assertEquals(0, info.code(), info::toString);
        Map<String, Object> j = Json.parseObject(info.out().trim());
        assertEquals(2L, j.get("layers"));
        assertEquals(1L, j.get("directions"));
        assertEquals("rnn", j.get("cell"));
        Cli.Result text = Cli.run("info", "--model", m.toString());
        assertTrue(text.out().contains("layer 1   reads 16 features (layer 0's states)"), text.out());
    }

    private Path saveOneLayer() {
        Path one = dir.resolve("one.npz");
        assertEquals(0, Cli.run("train --hidden 8 --seq-len 8 --batch 2 --iters 2 --progress none --sample 0 --kernels scalar --save"
                .concat(" ").concat(one.toString()).split(" ")).code());
        return one;
    }

    @Test
    void gradcheckOnABidirectionalStackWithLengths() {
        Cli.Result r = Cli.run("gradcheck", "--layers", "2", "--bidirectional", "--batch", "3", "--steps", "7", "--lengths", "7,2,5",
                "--hidden", "6", "--json", "--kernels", "scalar");
        assertEquals(0, r.code(), r::toString);
        Map<String, Object> j = Json.parseObject(r.out().trim());
        assertEquals(Boolean.TRUE, j.get("ok"));
        assertEquals(2L, j.get("directions"));
        assertEquals(java.util.List.of(7L, 2L, 5L), j.get("lengths"));
        expect(2, "--lengths = '7,2' has 2 values, expected B = 3", "gradcheck", "--batch", "3", "--steps", "7", "--lengths", "7,2");
        expect(2, "--lengths: value 2 = 9, expected 1 <= length <= T = 7", "gradcheck", "--batch", "3", "--steps", "7", "--lengths",
                "7,9,1");
    }
}
