package dev.recur.spark;

import dev.recur.Cell;
import dev.recur.Params;
import dev.recur.Shape;
import dev.recur.cli.Main;
import dev.recur.io.ModelFile;
import dev.recur.io.Npy;
import dev.recur.io.NpyArray;
import dev.recur.io.Npz;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * recur spark grad on networks, against recur grad run in-process on the same files: state_dict
 * models (a 2-layer bidirectional GRU, a 2-layer LSTM), lengths, ignored targets, h0 and c0 in
 * PyTorch's (L*D, B, H), both reductions; within 1e-5 (norm-wise, per array) over several
 * partitions, the same bits with one.
 */
class SparkGradNetworkTest {

    @TempDir Path dir;

    static final int T = 7, B = 5, I = 3, H = 4, O = 4;
    static final int[] LENGTHS = {7, 2, 5, 7, 1};

    /**
     * Writes a state_dict model of {@code s} (numpy.savez's form, no meta) and its data: dense
     * inputs, lengths, h0 (and c0), class targets with some -100 (or float targets for mse).
     */
    private void writeProblem(Shape s, boolean classTargets) throws Exception {
        Params p = Params.random(s, 5);
        SplittableRandom rnd = new SplittableRandom(8);
        for (Shape.Block b : s.blocks()) {
            if (b.dims().length == 1) for (int k = 0; k < b.length(); k++) p.data()[b.offset() + k] = (float) (rnd.nextDouble() - 0.5);
        }
        Map<String, NpyArray> arrays = new LinkedHashMap<>(ModelFile.toArrays(p, null, null));
        arrays.remove("meta");
        Npz.write(dir.resolve("m.npz"), arrays, false);
        float[] x = new float[T * B * I];
        for (int k = 0; k < x.length; k++) x[k] = (float) (rnd.nextDouble() * 2 - 1);
        Npy.write(dir.resolve("x.npy"), NpyArray.of(x, T, B, I));
        if (classTargets) {
            long[] y = new long[T * B];
            for (int t = 0; t < T; t++) {
                for (int b = 0; b < B; b++) y[t * B + b] = t >= LENGTHS[b] ? -7 : (t + b) % 4 == 1 ? -100 : rnd.nextInt(O);
            }
            Npy.write(dir.resolve("y.npy"), NpyArray.of(y, T, B));
        } else {
            float[] y = new float[T * B * O];
            for (int k = 0; k < y.length; k++) y[k] = (float) rnd.nextGaussian();
            Npy.write(dir.resolve("y.npy"), NpyArray.of(y, T, B, O));
        }
        long[] len = new long[B];
        for (int b = 0; b < B; b++) len[b] = LENGTHS[b];
        Npy.write(dir.resolve("len.npy"), NpyArray.of(len, B));
        int K = s.stateBlocks();
        float[] h0 = new float[K * B * H], c0 = new float[K * B * H];
        for (int k = 0; k < h0.length; k++) h0[k] = (float) (rnd.nextDouble() - 0.5);
        for (int k = 0; k < c0.length; k++) c0[k] = (float) (rnd.nextDouble() - 0.5);
        Npy.write(dir.resolve("h0.npy"), NpyArray.of(h0, K, B, H));
        if (s.cell().hasCellState()) Npy.write(dir.resolve("c0.npy"), NpyArray.of(c0, K, B, H));
    }

    /** recur grad's arguments for the problem written, with this loss and reduction. */
    private List<String> gradArgs(Shape s, String loss, String reduction, String out) {
        List<String> a = new ArrayList<>(List.of("grad", "--model", path("m.npz"), "--inputs", path("x.npy"), "--targets",
                path("y.npy"), "--lengths", path("len.npy"), "--h0", path("h0.npy"), "--loss", loss, "--reduction", reduction,
                "--cell", s.cell().id(), "--out", path(out)));
        if (s.cell().hasCellState()) a.addAll(List.of("--c0", path("c0.npy")));
        return a;
    }

    private String path(String name) { return dir.resolve(name).toString(); }

    private Map<String, NpyArray> recurGrad(List<String> args) throws Exception {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.newCommandLine(new PrintWriter(o, true), new PrintWriter(e, true)).execute(args.toArray(String[]::new));
        assertEquals(0, code, e::toString);
        return Npz.read(Path.of(args.get(args.indexOf("--out") + 1)));
    }

    private Map<String, NpyArray> sparkGrad(List<String> args, int P) throws Exception {
        List<String> a = new ArrayList<>(args);
        a.addAll(1, List.of("--master", "local[2]", "--partitions", Integer.toString(P)));
        TestSpark.Result r = TestSpark.run(a.toArray(String[]::new));
        assertEquals(0, r.code(), r::toString);
        assertTrue(r.err().contains("; " + P + (P == 1 ? " partition," : " partitions,")), r.err());
        String reduction = args.get(args.indexOf("--reduction") + 1);
        assertTrue(r.err().contains(reduction.equals("mean") ? "(mean over" : "(summed over"), r.err());
        return Npz.read(Path.of(args.get(args.indexOf("--out") + 1)));
    }

    /** The same names and shapes; each array within 1e-5 (norm-wise), or the same bits. */
    private static void compare(Map<String, NpyArray> want, Map<String, NpyArray> got, boolean bitwise, String what) {
        assertEquals(List.copyOf(want.keySet()), List.copyOf(got.keySet()), what + ": the same arrays in the same order");
        for (String k : want.keySet()) {
            assertArrayEquals(want.get(k).shape(), got.get(k).shape(), what + " " + k);
            assertEquals(want.get(k).dtype(), got.get(k).dtype(), what + " " + k);
            if (k.equals("loss")) {
                double w = want.get(k).toDoubles()[0], g = got.get(k).toDoubles()[0];
                if (bitwise) assertEquals(Double.doubleToRawLongBits(w), Double.doubleToRawLongBits(g), what + " loss " + g + " vs " + w);
                else assertEquals(w, g, 1e-9 * Math.abs(w), what + " loss");
                continue;
            }
            float[] w = want.get(k).toFloats(), g = got.get(k).toFloats();
            if (bitwise) {
                assertTrue(TestSpark.sameBits(g, w), what + " " + k + ": the same bits");
            } else {
                double err = TestSpark.relativeError(g, w);
                assertTrue(err <= 1e-5, what + " " + k + ": relative error " + err);
            }
        }
    }

    @Test
    void bidirectionalGruWithLengthsAndH0() throws Exception {
        Shape s = Shape.network(I, H, O, 2, true, Cell.GRU);
        writeProblem(s, true);
        for (String reduction : List.of("sum", "mean")) {
            Map<String, NpyArray> want = recurGrad(gradArgs(s, "xent", reduction, "ref-" + reduction + ".npz"));
            assertArrayEquals(new int[] {4, B, H}, want.get("dh0").shape());
            assertTrue(want.containsKey("weight_hh_l1_reverse"), want.keySet().toString());
            compare(want, sparkGrad(gradArgs(s, "xent", reduction, "p1-" + reduction + ".npz"), 1), true,
                    "gru " + reduction + ", 1 partition");
            compare(want, sparkGrad(gradArgs(s, "xent", reduction, "p3-" + reduction + ".npz"), 3), false,
                    "gru " + reduction + ", 3 partitions");
        }
    }

    @Test
    void lstmWithH0AndC0() throws Exception {
        Shape s = Shape.network(I, H, O, 2, false, Cell.LSTM);
        writeProblem(s, false);
        for (String reduction : List.of("sum", "mean")) {
            Map<String, NpyArray> want = recurGrad(gradArgs(s, "mse", reduction, "ref-" + reduction + ".npz"));
            assertArrayEquals(new int[] {2, B, H}, want.get("dc0").shape());
            double norm = TestSpark.relativeError(new float[want.get("dc0").toFloats().length], want.get("dc0").toFloats());
            assertEquals(1.0, norm, 1e-12, "dc0 is not all zeros");
            compare(want, sparkGrad(gradArgs(s, "mse", reduction, "p5-" + reduction + ".npz"), 5), false,
                    "lstm " + reduction + ", 5 partitions");
        }
    }
}
