package dev.recur.seq;

import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.seq.InputSource.Kind;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class SourcesTest {

    @Test
    void syntheticSourceRereadsExactlyInAnyOrder() {
        for (Kind in : Kind.values()) {
            for (Kind tg : Kind.values()) {
                SyntheticSource s = new SyntheticSource(10_000, 3, 5, 4, in, tg, 42, 0.25f);
                Segment whole = Segment.allocate(s, 300), part = Segment.allocate(s, 100);
                s.read(1000, whole);
                for (int rep = 0; rep < 2; rep++) {
                    for (int k = 2; k >= 0; k--) {
                        s.read(1000 + 100L * k, part);
                        assertSub(whole, part, k * 100, in, tg);
                    }
                }
                Segment other = Segment.allocate(new SyntheticSource(10_000, 3, 5, 4, in, tg, 43, 0.25f), 300);
                new SyntheticSource(10_000, 3, 5, 4, in, tg, 43, 0.25f).read(1000, other);
                assertFalse(java.util.Arrays.equals(in == Kind.DENSE ? asBytes(whole.denseInputs()) : asBytes(whole.classInputs()),
                        in == Kind.DENSE ? asBytes(other.denseInputs()) : asBytes(other.classInputs())), "another seed differs");
            }
        }
        SyntheticSource s = new SyntheticSource(10, 1, 2, 2, 1);
        assertThrows(IllegalArgumentException.class, () -> s.read(5, Segment.allocate(s, 6)));
    }

    private static void assertSub(Segment whole, Segment part, int stepOff, Kind in, Kind tg) {
        int B = whole.batch(), n = part.steps();
        if (in == Kind.DENSE) {
            int w = part.denseInputs().length / n;
            assertArrayEquals(java.util.Arrays.copyOfRange(whole.denseInputs(), stepOff * w, (stepOff + n) * w), part.denseInputs());
        } else {
            assertArrayEquals(java.util.Arrays.copyOfRange(whole.classInputs(), stepOff * B, (stepOff + n) * B), part.classInputs());
        }
        if (tg == Kind.CLASS) {
            assertArrayEquals(java.util.Arrays.copyOfRange(whole.classTargets(), stepOff * B, (stepOff + n) * B), part.classTargets());
        } else {
            int w = part.denseTargets().length / n;
            assertArrayEquals(java.util.Arrays.copyOfRange(whole.denseTargets(), stepOff * w, (stepOff + n) * w), part.denseTargets());
        }
    }

    private static byte[] asBytes(float[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4);
        b.asFloatBuffer().put(a);
        return b.array();
    }

    private static byte[] asBytes(int[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4);
        b.asIntBuffer().put(a);
        return b.array();
    }

    static void writeRaw(Path p, float[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        Files.write(p, b.array());
    }

    static void writeRaw(Path p, int[] a) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(a);
        Files.write(p, b.array());
    }

    /** A .npy v1.0 file written by hand (as numpy.save does): magic, version, padded header, data. */
    static void writeNpy(Path p, String descr, String shape, byte[] data) throws IOException {
        String dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int len = dict.length() + 1;
        int pad = (64 - (10 + len) % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        ByteBuffer b = ByteBuffer.allocate(10 + header.length() + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put((byte) 0x93).put("NUMPY".getBytes(StandardCharsets.US_ASCII)).put((byte) 1).put((byte) 0);
        b.putShort((short) header.length()).put(header.getBytes(StandardCharsets.US_ASCII)).put(data);
        Files.write(p, b.array());
    }

    private static byte[] le(float[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(a);
        return b.array();
    }

    private static byte[] le(int[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asIntBuffer().put(a);
        return b.array();
    }

    /**
     * A sequence streamed from files (raw and .npy, larger than the 1 MiB read buffer, so reads
     * cross chunk boundaries) trains exactly like the same sequence from arrays.
     */
    @Test
    void fileSourcesStreamTheSameSequence(@TempDir Path dir) throws IOException {
        int T = 60_000, B = 2, I = 5, O = 4;
        SyntheticSource gen = new SyntheticSource(T, B, I, O, Kind.DENSE, Kind.CLASS, 7, 0f);
        Segment all = Fixtures.all(gen);
        ArraySource mem = ArraySource.of(B, I, O, all.denseInputs(), all.classTargets());
        writeRaw(dir.resolve("x.f32"), all.denseInputs());
        writeRaw(dir.resolve("y.i32"), all.classTargets());
        writeNpy(dir.resolve("x.npy"), "<f4", "(" + T + ", " + B + ", " + I + ")", le(all.denseInputs()));
        writeNpy(dir.resolve("y.npy"), "<i4", "(" + T + ", " + B + ")", le(all.classTargets()));

        Shape shape = new Shape(I, 16, O);
        Rnn rnn = Fixtures.scalarRnn(shape);
        Params p = SyntheticSource.contractingParams(shape, 2, 0.9);
        Grads gm = Grads.zeros(shape);
        SequenceResult rm = CheckpointedBptt.builder(rnn, mem).segment(1000).build().run(p, mem, gm);
        assertTrue(gm.l2Norm() > 0);
        for (String[] files : new String[][] {{"x.f32", "y.i32"}, {"x.npy", "y.npy"}, {"x.npy", "y.i32"}}) {
            try (FileSource fs = new FileSource(dir.resolve(files[0]), Kind.DENSE, dir.resolve(files[1]), Kind.CLASS, B, I, O)) {
                assertEquals(T, fs.steps());
                Segment seg = Segment.allocate(fs, 777);
                Segment ref = Segment.allocate(mem, 777);
                for (long t0 : new long[] {0, 12_345, T - 777}) {
                    fs.read(t0, seg);
                    mem.read(t0, ref);
                    assertArrayEquals(ref.denseInputs(), seg.denseInputs());
                    assertArrayEquals(ref.classTargets(), seg.classTargets());
                }
                Grads gf = Grads.zeros(shape);
                SequenceResult rf = CheckpointedBptt.builder(rnn, fs).segment(1000).build().run(p, fs, gf);
                assertEquals(rm.loss(), rf.loss());
                assertArrayEquals(gm.data(), gf.data(), "from file = from memory, bitwise");
            }
        }
        // float targets and class inputs from files too
        SyntheticSource gen2 = new SyntheticSource(1000, 1, 6, 3, Kind.CLASS, Kind.DENSE, 8, 0f);
        Segment a2 = Fixtures.all(gen2);
        writeRaw(dir.resolve("xi.i32"), a2.classInputs());
        writeNpy(dir.resolve("yf.npy"), "<f4", "(1000, 3)", le(a2.denseTargets()));
        try (FileSource fs = new FileSource(dir.resolve("xi.i32"), Kind.CLASS, dir.resolve("yf.npy"), Kind.DENSE, 1, 6, 3)) {
            Segment s = Segment.allocate(fs, 1000);
            fs.read(0, s);
            assertArrayEquals(a2.classInputs(), s.classInputs());
            assertArrayEquals(a2.denseTargets(), s.denseTargets());
        }
    }

    @Test
    void badFilesAreRefusedWithTheReason(@TempDir Path dir) throws IOException {
        Files.write(dir.resolve("odd.f32"), new byte[10]);
        writeRaw(dir.resolve("y.i32"), new int[] {0, 1, 2});
        IllegalArgumentException a = assertThrows(IllegalArgumentException.class,
                () -> new FileSource(dir.resolve("odd.f32"), Kind.DENSE, dir.resolve("y.i32"), Kind.CLASS, 1, 1, 3));
        assertTrue(a.getMessage().contains("multiple of 4"), a.getMessage());
        writeRaw(dir.resolve("x.f32"), new float[] {1, 2, 3, 4});
        IllegalArgumentException b = assertThrows(IllegalArgumentException.class,
                () -> new FileSource(dir.resolve("x.f32"), Kind.DENSE, dir.resolve("y.i32"), Kind.CLASS, 1, 1, 3));
        assertTrue(b.getMessage().contains("same number of steps"), b.getMessage());
        writeNpy(dir.resolve("x.npy"), "<f8", "(3,)", new byte[24]);
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class,
                () -> new FileSource(dir.resolve("x.npy"), Kind.DENSE, dir.resolve("y.i32"), Kind.CLASS, 1, 1, 3));
        assertTrue(c.getMessage().contains("dtype '<f8'"), c.getMessage());
        writeRaw(dir.resolve("x3.f32"), new float[] {1, 2, 3});
        writeRaw(dir.resolve("bad.i32"), new int[] {0, 7, 1});
        try (FileSource fs = new FileSource(dir.resolve("x3.f32"), Kind.DENSE, dir.resolve("bad.i32"), Kind.CLASS, 1, 1, 3)) {
            IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> fs.read(0, Segment.allocate(fs, 3)));
            assertTrue(d.getMessage().contains("value 7 at step 1"), d.getMessage());
        }
        assertThrows(java.io.UncheckedIOException.class,
                () -> new FileSource(dir.resolve("missing"), Kind.DENSE, dir.resolve("y.i32"), Kind.CLASS, 1, 1, 3));
    }

    @Test
    void arraySourceChecksLengths() {
        assertThrows(IllegalArgumentException.class, () -> ArraySource.of(2, 3, 4, new float[7], new int[1]));
        assertThrows(IllegalArgumentException.class, () -> ArraySource.of(1, 3, 4, new float[6], new int[3]));
        assertThrows(IllegalArgumentException.class, () -> ArraySource.of(1, 3, 4, new int[] {0, 3}, new int[2]));
    }
}
