package dev.recur.io;

import dev.recur.Params;
import dev.recur.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Fuzzes the model loader with seeded mutations of valid model files: truncation, bit flips,
 * byte overwrites, spliced sizes (huge declared sizes), deleted ranges. Every outcome must be
 * a successful read (the mutation hit nothing that matters) or an {@link java.io.IOException}
 * with a message naming the file: never another exception, an OutOfMemoryError or a hang (each
 * read runs under a time limit).
 *
 * <p>Bounded by default (a few thousand cases, seconds); {@code -Drecur.fuzz.cases=N} runs more.
 */
class LoaderFuzzTest {

    @TempDir Path dir;

    static final int CASES = Integer.getInteger("recur.fuzz.cases", 3000);

    @Test
    void mutatedModelFilesGiveOnlyClearErrors() throws Exception {
        SplittableRandom rnd = new SplittableRandom(0xF022L);
        byte[][] seeds = {model(false, new Shape(3, 4, 2)), model(true, new Shape(5, 7, 3)),
                model(false, new Shape(1, 1, 1))};
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-reader");
            t.setDaemon(true);
            return t;
        });
        int ok = 0, errors = 0;
        Map<String, Integer> kinds = new LinkedHashMap<>();
        try {
            for (int c = 0; c < CASES; c++) {
                byte[] seed = seeds[c % seeds.length];
                byte[] bytes = mutate(seed, rnd);
                Path f = dir.resolve("f" + (c % 8) + ".npz");
                Files.write(f, bytes);
                Future<ModelFile.Model> fut = ex.submit(() -> ModelFile.read(f));
                try {
                    ModelFile.Model m = fut.get(10, TimeUnit.SECONDS);
                    assertNotNull(m.params());
                    ok++;
                } catch (TimeoutException e) {
                    fut.cancel(true);
                    fail("case " + c + ": the loader hung for 10 s");
                } catch (java.util.concurrent.ExecutionException e) {
                    Throwable t = e.getCause();
                    if (!(t instanceof IOException)) {
                        throw new AssertionError("case " + c + ": expected an IOException with a clear message, got " + t, t);
                    }
                    String msg = t.getMessage();
                    if (msg == null) throw new AssertionError("case " + c + ": an error without a message: " + t, t);
                    assertTrue(msg.contains(f.toString()) || msg.contains(f.getFileName().toString()),
                            "case " + c + ": message does not name the file: " + msg);
                    errors++;
                    String kind = msg.replace(f.toString(), "").replaceAll("[0-9a-f]{6,}|\\d+", "#");
                    kind = kind.length() > 60 ? kind.substring(0, 60) : kind;
                    kinds.merge(kind, 1, Integer::sum);
                }
            }
        } finally {
            ex.shutdownNow();
        }
        assertEquals(CASES, ok + errors);
        assertTrue(errors > CASES / 2, "most mutations should be caught, got " + errors + " of " + CASES);
        if (Boolean.getBoolean("recur.fuzz.report")) {
            System.out.println("fuzz: " + CASES + " cases, " + ok + " read fine, " + errors + " clear errors");
            kinds.entrySet().stream().sorted((a, b) -> b.getValue() - a.getValue()).limit(25)
                    .forEach(e -> System.out.println("  " + e.getValue() + "  " + e.getKey()));
        }
    }

    private byte[] model(boolean compress, Shape s) throws IOException {
        Path f = dir.resolve("seed.npz");
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("activation", "tanh");
        meta.put("vocabulary", "abc");
        ModelFile.write(f, Params.random(s, 3), meta, Map.of("adam_m", NpyArray.of(new float[s.size()], s.size())));
        if (compress) Npz.write(f, Npz.read(f), true);
        return Files.readAllBytes(f);
    }

    static byte[] mutate(byte[] seed, SplittableRandom rnd) {
        byte[] b = seed.clone();
        switch (rnd.nextInt(6)) {
            case 0 -> { // truncate
                return java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
            }
            case 1 -> { // flip 1-4 bits
                for (int k = 1 + rnd.nextInt(4); k > 0; k--) b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 2 -> { // overwrite a 4-byte field with a large or extreme value (sizes, offsets, lengths)
                int at = rnd.nextInt(Math.max(1, b.length - 4));
                int v = switch (rnd.nextInt(4)) {
                    case 0 -> 0x7fffffff;
                    case 1 -> 0xffffffff;
                    case 2 -> 1 << rnd.nextInt(31);
                    default -> rnd.nextInt();
                };
                for (int k = 0; k < 4 && at + k < b.length; k++) b[at + k] = (byte) (v >>> (8 * k));
            }
            case 3 -> { // random bytes over a range
                int at = rnd.nextInt(b.length), n = 1 + rnd.nextInt(16);
                for (int k = 0; k < n && at + k < b.length; k++) b[at + k] = (byte) rnd.nextInt(256);
            }
            case 4 -> { // delete a range
                int at = rnd.nextInt(b.length), n = 1 + rnd.nextInt(Math.min(64, b.length - at));
                byte[] r = new byte[b.length - n];
                System.arraycopy(b, 0, r, 0, at);
                System.arraycopy(b, at + n, r, at, b.length - at - n);
                return r;
            }
            default -> { // change a digit in a text header (shapes, sizes) to a long number
                String s = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
                int at = s.indexOf("'shape': (", rnd.nextInt(b.length));
                if (at < 0) at = s.indexOf("'shape': (");
                if (at >= 0) {
                    byte[] big = "99999".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                    System.arraycopy(big, 0, b, at + 10, Math.min(big.length, b.length - at - 10));
                }
            }
        }
        return b;
    }
}
