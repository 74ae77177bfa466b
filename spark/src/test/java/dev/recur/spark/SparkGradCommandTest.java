package dev.recur.spark;

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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** recur spark grad: recur grad's output within 1e-5 (norm-wise, per array), the same bytes on every run. */
class SparkGradCommandTest {

    @TempDir Path dir;

    static final int T = 9, B = 5, I = 4, H = 12, O = 6;

    /** A model, dense inputs, class targets and an h0, written as recur grad reads them. */
    private void writeProblem() throws Exception {
        SplittableRandom r = new SplittableRandom(42);
        ModelFile.write(dir.resolve("m.npz"), Params.random(new Shape(I, H, O), 9), Map.of("activation", "tanh"), null);
        float[] x = new float[T * B * I], h0 = new float[B * H];
        int[] y = new int[T * B];
        for (int k = 0; k < x.length; k++) x[k] = (float) r.nextGaussian();
        for (int k = 0; k < y.length; k++) y[k] = r.nextInt(O);
        for (int k = 0; k < h0.length; k++) h0[k] = (float) (0.5 * r.nextGaussian());
        Npy.write(dir.resolve("x.npy"), NpyArray.of(x, T, B, I));
        Npy.write(dir.resolve("y.npy"), NpyArray.of(y, T, B));
        Npy.write(dir.resolve("h0.npy"), NpyArray.of(h0, B, H));
    }

    private String[] gradArgs(String out) {
        return new String[] {"--model", dir.resolve("m.npz").toString(), "--inputs", dir.resolve("x.npy").toString(),
                "--targets", dir.resolve("y.npy").toString(), "--h0", dir.resolve("h0.npy").toString(), "--loss", "xent",
                "--out", dir.resolve(out).toString()};
    }

    private TestSpark.Result spark(int P, String out) {
        String[] g = gradArgs(out);
        String[] a = new String[g.length + 5];
        a[0] = "grad";
        a[1] = "--master";
        a[2] = "local[2]";
        a[3] = "--partitions";
        a[4] = Integer.toString(P);
        System.arraycopy(g, 0, a, 5, g.length);
        return TestSpark.run(a);
    }

    @Test
    void equalsRecurGradWithinRoundingAndRepeatsBitForBit() throws Exception {
        writeProblem();
        String[] g = gradArgs("ref.npz");
        String[] a = new String[g.length + 1];
        a[0] = "grad";
        System.arraycopy(g, 0, a, 1, g.length);
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.newCommandLine(new PrintWriter(o, true), new PrintWriter(e, true)).execute(a);
        assertEquals(0, code, e::toString);
        Map<String, NpyArray> ref = Npz.read(dir.resolve("ref.npz"));

        for (int P : new int[] {1, 2, 5}) {
            TestSpark.Result r = spark(P, "p" + P + ".npz");
            assertEquals(0, r.code(), r::toString);
            assertTrue(r.err().contains("; " + P + (P == 1 ? " partition," : " partitions,")), r.err());
            Map<String, NpyArray> got = Npz.read(dir.resolve("p" + P + ".npz"));
            assertEquals(ref.keySet(), got.keySet());
            for (String k : ref.keySet()) {
                assertArrayEquals(ref.get(k).shape(), got.get(k).shape(), k);
                double err = k.equals("loss")
                        ? Math.abs(got.get(k).toDoubles()[0] - ref.get(k).toDoubles()[0]) / Math.abs(ref.get(k).toDoubles()[0])
                        : TestSpark.relativeError(got.get(k).toFloats(), ref.get(k).toFloats());
                assertTrue(err <= 1e-5, k + " with " + P + " partitions: relative error " + err);
                System.out.printf("spark grad P=%d %s: relative error %.3g%n", P, k, err);
            }
        }
        TestSpark.Result again = spark(5, "p5-again.npz");
        assertEquals(0, again.code(), again::toString);
        assertArrayEquals(Files.readAllBytes(dir.resolve("p5.npz")), Files.readAllBytes(dir.resolve("p5-again.npz")),
                "the same bytes on every run");
    }

    @Test
    void unbatchedInputsRunOnOnePartitionByDefault() throws Exception {
        writeProblem();
        float[] x = new float[T * I];
        int[] y = new int[T];
        for (int k = 0; k < x.length; k++) x[k] = 0.1f * (k % 7) - 0.3f;
        for (int k = 0; k < y.length; k++) y[k] = k % O;
        Npy.write(dir.resolve("x1.npy"), NpyArray.of(x, T, I));
        Npy.write(dir.resolve("y1.npy"), NpyArray.of(y, T));
        TestSpark.Result r = TestSpark.run("grad", "--model", dir.resolve("m.npz").toString(), "--inputs",
                dir.resolve("x1.npy").toString(), "--targets", dir.resolve("y1.npy").toString(), "--loss", "xent", "--out",
                dir.resolve("g1.npz").toString());
        assertEquals(0, r.code(), r::toString);
        Map<String, NpyArray> g = Npz.read(dir.resolve("g1.npz"));
        assertArrayEquals(new int[] {H}, g.get("dh0").shape(), "(H,) for unbatched inputs, as recur grad");
        assertTrue(r.err().contains("; 1 partition,"), r.err());
    }

    @Test
    void morePartitionsThanSequencesIsAUsageError() throws Exception {
        writeProblem();
        TestSpark.Result r = spark(6, "g.npz");
        assertEquals(2, r.code(), r::toString);
        String[] lines = r.errLines();
        assertEquals(1, lines.length, r.err());
        assertTrue(lines[0].contains("--partitions = 6 > the batch's 5 sequences"), lines[0]);
    }
}
