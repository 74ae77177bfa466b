package dev.recur.io;

import dev.recur.Params;
import dev.recur.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpyNpzTest {

    @TempDir Path dir;

    @Test
    void npyRoundTripsEveryDtype() throws IOException {
        NpyArray[] arrays = {
                NpyArray.of(new float[] {1.5f, -2f, Float.MIN_VALUE, 3e38f, 0f, -0f}, 2, 3),
                NpyArray.of(new double[] {Math.PI, -1e300}, 2),
                NpyArray.of(new int[] {Integer.MIN_VALUE, 0, 7, Integer.MAX_VALUE}, 2, 1, 2),
                NpyArray.of(new long[] {Long.MIN_VALUE, 42}, 2),
                NpyArray.of(new float[] {9f}),                        // 0-d
                NpyArray.of(new float[0], 0, 5),                      // empty
                NpyArray.ofString("{\"a\": \"h\u00e9llo \ud83d\ude00\"}")};
        for (NpyArray a : arrays) {
            byte[] bytes = Npy.encode(a);
            int headerEnd = 10 + ((bytes[8] & 0xff) | (bytes[9] & 0xff) << 8);
            assertEquals(0, headerEnd % 64, "the data starts 64-byte aligned, as numpy writes it");
            NpyArray b = Npy.decode(bytes, "test");
            assertEquals(a.dtype(), b.dtype());
            assertArrayEquals(a.shape(), b.shape());
            switch (a.dtype()) {
                case FLOAT32 -> assertArrayEquals((float[]) a.data(), (float[]) b.data());
                case FLOAT64 -> assertArrayEquals((double[]) a.data(), (double[]) b.data());
                case INT32 -> assertArrayEquals((int[]) a.data(), (int[]) b.data());
                case INT64 -> assertArrayEquals((long[]) a.data(), (long[]) b.data());
                case UNICODE -> assertEquals(a.string(), b.string());
            }
        }
    }

    @Test
    void headerIsWhatNumpyWrites() {
        byte[] bytes = Npy.encode(NpyArray.of(new float[12], 3, 4));
        String header = new String(bytes, 10, bytes[8] & 0xff, StandardCharsets.US_ASCII);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }", header.strip());
        assertEquals(128, 10 + (bytes[8] & 0xff), "numpy pads this header to 128 bytes too");
        assertEquals("(5,)", NpyArray.shapeString(new int[] {5}));
    }

    @Test
    void readsVersion2BigEndianAndPython2Headers() throws IOException {
        // version 2.0 header, big-endian float64, Python 2 style long dims
        String dict = "{'descr': '>f8', 'fortran_order': False, 'shape': (2L,), }";
        byte[] h = dict.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(12 + h.length + 1 + 16).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Npy.MAGIC).put((byte) 2).put((byte) 0).putInt(h.length + 1).put(h).put((byte) '\n');
        b.order(ByteOrder.BIG_ENDIAN).putDouble(1.25).putDouble(-3);
        NpyArray a = Npy.decode(b.array(), "v2");
        assertArrayEquals(new double[] {1.25, -3}, a.toDoubles());
        assertArrayEquals(new int[] {2}, a.shape());
    }

    @Test
    void rejectsWhatItCannotRepresentWithClearMessages() {
        assertMessage(header("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16), "fortran_order is True");
        assertMessage(header("{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }", 16), "dtype '<c16' is not supported");
        assertMessage(header("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 8), "12 bytes of data, but 8");
        assertMessage(header("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }", 8), "larger than");
        assertMessage(header("{'descr': '<f4', 'fortran_order': False, 'shape': (2000000000, 2000000000), }", 8),
                "more than");
        assertMessage(header("{'descr': '<f4', 'shape': (1,), }", 4), "lacks 'fortran_order'");
        assertMessage(header("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4), "unknown key 'x'");
        assertMessage(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, "does not start with \\x93NUMPY");
        assertMessage(new byte[] {1, 2}, "too short");
    }

    private static byte[] header(String dict, int dataBytes) {
        byte[] h = dict.getBytes(StandardCharsets.US_ASCII);
        ByteBuffer b = ByteBuffer.allocate(10 + h.length + 1 + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(Npy.MAGIC).put((byte) 1).put((byte) 0).putShort((short) (h.length + 1)).put(h).put((byte) '\n');
        return b.array();
    }

    private static void assertMessage(byte[] bytes, String part) {
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npy.decode(bytes, "x.npy"));
        assertTrue(e.getMessage().contains(part), () -> "message '" + e.getMessage() + "' lacks '" + part + "'");
        assertTrue(e.getMessage().startsWith("x.npy"), e.getMessage());
    }

    @Test
    void npzRoundTripsStoredAndDeflated() throws IOException {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("a", NpyArray.of(new float[] {1, 2, 3}, 3));
        m.put("b", NpyArray.of(new long[] {5}, 1, 1));
        m.put("meta", NpyArray.ofString("{}"));
        for (boolean compress : new boolean[] {false, true}) {
            Path f = dir.resolve("x" + compress + ".npz");
            Npz.write(f, m, compress);
            Map<String, NpyArray> r = Npz.read(f);
            assertEquals(List.of("a", "b", "meta"), List.copyOf(r.keySet()));
            assertArrayEquals(new float[] {1, 2, 3}, r.get("a").toFloats());
            assertEquals("{}", r.get("meta").string());
        }
        // no temporary files left behind
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }

    @Test
    void modelRoundTripKeepsParamsMetaAndExtras() throws IOException {
        Shape s = new Shape(3, 5, 2);
        Params p = Params.random(s, 7);
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("activation", "relu");
        meta.put("vocabulary", "ab\u00e9\n");
        Path f = dir.resolve("m.npz");
        ModelFile.write(f, p, meta, Map.of("train_h", NpyArray.of(new float[] {1, 2}, 2)));
        ModelFile.Model m = ModelFile.read(f);
        assertEquals(s, m.shape());
        assertArrayEquals(p.data(), m.params().data());
        assertEquals("relu", m.meta().get("activation"));
        assertEquals("ab\u00e9\n", m.meta().get("vocabulary"));
        assertEquals((long) ModelFile.FORMAT_VERSION, m.meta().get("format_version"));
        assertArrayEquals(new float[] {1, 2}, m.extra().get("train_h").toFloats());
    }

    @Test
    void modelChecksShapesVersionAndValues() throws IOException {
        Map<String, NpyArray> ok = fiveBlocks(4, 3, 2);
        assertModelError(without(ok, "V"), "has no array 'V'");
        Map<String, NpyArray> bad = new LinkedHashMap<>(ok);
        bad.put("W", NpyArray.of(new float[12], 4, 3));
        assertModelError(bad, "W has shape (4, 3), expected (H, H)");
        bad = new LinkedHashMap<>(ok);
        bad.put("b", NpyArray.of(new float[3], 3));
        assertModelError(bad, "b has shape (3,), expected (4,)");
        bad = new LinkedHashMap<>(ok);
        bad.put("c", NpyArray.of(new int[2], 2));
        assertModelError(bad, "c is int32, expected float32 or float64");
        bad = new LinkedHashMap<>(ok);
        bad.put("b", NpyArray.of(new float[] {0, Float.NaN, 0, 0}, 4));
        assertModelError(bad, "b holds NaN at flat index 1");
        bad = new LinkedHashMap<>(ok);
        bad.put("meta", NpyArray.ofString("{\"format_version\": 9}"));
        assertModelError(bad, "meta.format_version = 9");
        bad = new LinkedHashMap<>(ok);
        bad.put("meta", NpyArray.ofString("{\"shape\": {\"hidden\": 5}}"));
        assertModelError(bad, "meta.shape.hidden = 5, but the arrays give hidden = 4");
        bad = new LinkedHashMap<>(ok);
        bad.put("meta", NpyArray.ofString("not json"));
        assertModelError(bad, "meta is not a JSON object");
        // float64 parameters (numpy's default) are accepted
        Map<String, NpyArray> f64 = new LinkedHashMap<>(ok);
        f64.put("U", NpyArray.of(new double[] {1, 2, 3, 4, 5, 6, 7, 8}, 4, 2));
        assertEquals(new Shape(2, 4, 3), ModelFile.fromArrays(f64, "f").shape());
    }

    private static Map<String, NpyArray> without(Map<String, NpyArray> m, String k) {
        Map<String, NpyArray> r = new LinkedHashMap<>(m);
        r.remove(k);
        return r;
    }

    static Map<String, NpyArray> fiveBlocks(int H, int O, int I) {
        Map<String, NpyArray> m = new LinkedHashMap<>();
        m.put("U", NpyArray.of(new float[H * I], H, I));
        m.put("W", NpyArray.of(new float[H * H], H, H));
        m.put("b", NpyArray.of(new float[H], H));
        m.put("V", NpyArray.of(new float[O * H], O, H));
        m.put("c", NpyArray.of(new float[O], O));
        return m;
    }

    private static void assertModelError(Map<String, NpyArray> arrays, String part) {
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> ModelFile.fromArrays(arrays, "m.npz"));
        assertTrue(e.getMessage().contains(part), () -> "message '" + e.getMessage() + "' lacks '" + part + "'");
    }

    @Test
    void detectsCorruptionByCrc() throws IOException {
        Path f = dir.resolve("c.npz");
        Npz.write(f, Map.of("a", NpyArray.of(new float[64], 64)), false);
        byte[] bytes = Files.readAllBytes(f);
        // flip one bit inside the stored data (after the local header and the npy header)
        bytes[30 + "a.npy".length() + 100] ^= 0x10;
        Files.write(f, bytes);
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npz.read(f));
        assertTrue(e.getMessage().contains("CRC-32"), e.getMessage());
    }

    @Test
    void rejectsHugeDeclaredSizesBeforeAllocating() throws IOException {
        // a zip whose entry claims 2^40 bytes: written by hand with a lying central directory
        Path f = dir.resolve("huge.npz");
        Npz.write(f, Map.of("a", NpyArray.of(new float[4], 4)), false);
        byte[] bytes = Files.readAllBytes(f);
        int cen = lastIndexOf(bytes, new byte[] {0x50, 0x4b, 0x01, 0x02});
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(cen + 24, 0x7fffffff); // uncompressed size in the central directory
        Files.write(f, bytes);
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> Npz.read(f));
        assertTrue(e.getMessage().contains("declares"), e.getMessage());
    }

    private static int lastIndexOf(byte[] a, byte[] pat) {
        outer:
        for (int i = a.length - pat.length; i >= 0; i--) {
            for (int j = 0; j < pat.length; j++) if (a[i + j] != pat[j]) continue outer;
            return i;
        }
        return -1;
    }

    @Test
    void readsAnNpzWrittenByOtherZipWriters() throws IOException {
        // DEFLATED entries with sizes in a trailing data descriptor, as numpy.savez_compressed writes
        Path f = dir.resolve("z.npz");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            z.putNextEntry(new ZipEntry("x.npy"));
            z.write(Npy.encode(NpyArray.of(new int[] {1, 2, 3}, 3)));
            z.closeEntry();
            z.putNextEntry(new ZipEntry("notes.txt"));
            z.write("ignored".getBytes(StandardCharsets.UTF_8));
            z.closeEntry();
        }
        Map<String, NpyArray> r = Npz.read(f);
        assertEquals(List.of("x"), List.copyOf(r.keySet()));
        assertArrayEquals(new int[] {1, 2, 3}, r.get("x").toInts("x"));
    }

    /**
     * A file written by numpy 2.x itself: {@code numpy_savez.npz}, made by
     * {@code src/test/resources/dev/recur/io/make_numpy_fixture.py} (see there). Checks recur
     * reads what numpy writes on a machine without numpy.
     */
    @Test
    void readsTheCommittedNumpyFixture() throws IOException {
        Path f = dir.resolve("numpy_savez.npz");
        try (InputStream in = NpyNpzTest.class.getResourceAsStream("numpy_savez.npz")) {
            if (in == null) throw new IllegalStateException("test resource numpy_savez.npz is missing");
            Files.copy(in, f);
        }
        ModelFile.Model m = ModelFile.read(f);
        assertEquals(new Shape(3, 4, 2), m.shape());
        // U = arange(12).reshape(4, 3) / 10 as float64 in the fixture
        assertEquals(0.5f, m.params().get("U", 1, 2));
        assertEquals("tanh", m.meta().get("activation"));
        NpyArray ints = m.extra().get("x");
        assertArrayEquals(new long[] {0, 1, 2, 3, 4, 5}, (long[]) ints.data());
        assertArrayEquals(new int[] {3, 2}, ints.shape());
        Path z = dir.resolve("numpy_savez_compressed.npz");
        try (InputStream in = NpyNpzTest.class.getResourceAsStream("numpy_savez_compressed.npz")) {
            Files.copy(in, z);
        }
        Map<String, NpyArray> c = Npz.read(z);
        assertArrayEquals(new float[] {1f, 2f, 3f}, c.get("y").toFloats());
    }
}
