package dev.recur.cli;

import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing, help, exit codes and one-line errors of every command. */
class CommandLineTest {

    @TempDir Path dir;

    @Test
    void helpAndVersion() {
        Cli.Result r = Cli.run("--help");
        assertEquals(0, r.code(), r::toString);
        for (String c : List.of("train", "sample", "grad", "gradcheck", "bench", "info")) {
            assertTrue(r.out().contains("  " + c + " "), "help lists " + c);
        }
        assertTrue(r.out().contains("Examples:"));
        for (String c : List.of("train", "sample", "grad", "gradcheck", "bench", "info")) {
            Cli.Result h = Cli.run(c, "--help");
            assertEquals(0, h.code(), h::toString);
            assertTrue(h.out().contains("Usage: recur " + c), h::toString);
            assertTrue(h.out().contains("Examples:"), c + " --help has examples");
        }
        Cli.Result v = Cli.run("--version");
        assertEquals(0, v.code());
        assertTrue(v.out().startsWith("recur "), v.out());
    }

    /**
     * Every command's help renders as written: picocli reports a description it cannot format
     * (a lone '%') on System.err and prints the raw text, so that stream is watched here.
     */
    @Test
    void everyHelpFormats() {
        java.io.PrintStream saved = System.err;
        java.io.ByteArrayOutputStream caught = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(caught, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            var commands = Main.newCommandLine(new java.io.PrintWriter(java.io.Writer.nullWriter()),
                    new java.io.PrintWriter(java.io.Writer.nullWriter())).getSubcommands().keySet();
            assertTrue(commands.size() >= 8, commands::toString);
            for (String c : commands) {
                Cli.Result h = Cli.run(c, "--help");
                assertEquals(0, h.code(), h::toString);
                assertFalse(h.out().contains("%n"), c + " --help shows a raw format string");
            }
        } finally {
            System.setErr(saved);
        }
        String warnings = caught.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertFalse(warnings.contains("picocli WARN"), warnings);
    }

    @Test
    void usageErrorsAreOneLineWithExitTwo() {
        String[][] cases = {
                {"", "missing command"},
                {"frobnicate", "frobnicate"},
                {"train --hidden 0", "--hidden = 0, expected a whole number >= 1"},
                {"train --hidden abc", "'abc' is not an int"},
                {"train --activation swish", "--activation = 'swish', expected one of tanh, sigmoid, relu"},
                {"train --kernels gpu", "--kernels = 'gpu', expected one of scalar, vector, auto"},
                {"train --threads 0", "--threads = 0, expected a whole number >= 1 or 'all'"},
                {"train --threads many", "--threads = 'many'"},
                {"train --task nope", "--task = 'nope', expected one of grammar, copy, adding, text, list"},
                {"train --bptt checkpointed", "--bptt checkpointed is not available"},
                {"train --bptt sideways", "--bptt = 'sideways', expected full or truncated"},
                {"train --k1 4", "--k1 is for --bptt truncated"},
                {"train --bptt truncated --k1 9 --k2 4", "--k1 = 9 > --k2 = 4, expected k1 <= k2"},
                {"train --optimizer lbfgs", "--optimizer = 'lbfgs', expected one of sgd, adagrad, adam"},
                {"train --lr -1", "--lr = -1.0, expected a number > 0"},
                {"train --val-fraction 0.9", "--val-fraction = 0.9, expected a number in [0, 0.5]"},
                {"train --iters 5 --epochs 1", "--iters and --epochs both given"},
                {"train --task copy --epochs 1", "--epochs is for tasks with a fixed text"},
                {"train --task copy --seq-len 5", "--seq-len = 5, expected >= 11 for the copy task"},
                {"train --resume", "--resume needs a file"},
                {"train --save-every 5", "--save-every needs --save"},
                {"train --progress loud", "--progress = 'loud', expected one of auto, bar, lines, none"},
                {"grad --model m.npz", "Missing required options"},
                {"sample --model m.npz --temperature -1", "--temperature = -1.0, expected a number >= 0"},
                {"bench --repeats 2", "--repeats = 2, expected >= 3"},
                {"gradcheck --steps 0", "--steps = 0, expected a whole number >= 1"},
        };
        for (String[] c : cases) {
            String[] args = c[0].isEmpty() ? new String[0] : c[0].split(" ");
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.code(), () -> c[0] + " -> " + r);
            String[] lines = r.errLines();
            assertEquals(1, lines.length, () -> c[0] + ": expected one line, got " + r);
            assertTrue(lines[0].contains(c[1]), () -> c[0] + ": '" + lines[0] + "' lacks '" + c[1] + "'");
            assertFalse(lines[0].contains("Exception"), lines[0]);
            assertEquals("", r.out(), "usage errors print nothing on stdout");
        }
    }

    @Test
    void runtimeErrorsAreOneLineWithExitOne() throws Exception {
        Path garbage = dir.resolve("garbage.npz");
        Files.writeString(garbage, "this is not a zip file at all, just text");
        Path notUtf8 = dir.resolve("latin1.txt");
        Files.write(notUtf8, new byte[] {'a', 'b', (byte) 0xe9, 'c'});
        String[][] cases = {
                {"train --data " + dir.resolve("missing.txt"), "no such file"},
                {"train --data " + notUtf8, "is not UTF-8 text (invalid bytes at offset 2)"},
                {"sample --model " + dir.resolve("none.npz"), "no such file"},
                {"sample --model " + garbage, "is not a valid .npz (zip) archive"},
                {"gradcheck --model " + garbage, "is not a valid .npz (zip) archive"},
        };
        for (String[] c : cases) {
            Cli.Result r = Cli.run(c[0].split(" "));
            assertEquals(1, r.code(), () -> c[0] + " -> " + r);
            String[] lines = r.errLines();
            assertEquals(1, lines.length, () -> c[0] + ": expected one line, got " + r);
            assertTrue(lines[0].contains(c[1]), () -> c[0] + ": '" + lines[0] + "' lacks '" + c[1] + "'");
        }
        // --verbose adds the stack trace
        Cli.Result v = Cli.run("sample", "--verbose", "--model", garbage.toString());
        assertEquals(1, v.code());
        assertTrue(v.errLines().length > 1 && v.err().contains("at dev.recur"), v::toString);
    }

    @Test
    void taskListAndInfo() {
        Cli.Result r = Cli.run("train", "--task", "list");
        assertEquals(0, r.code());
        for (String t : List.of("grammar", "copy", "adding", "text")) assertTrue(r.out().contains(t));
        Cli.Result i = Cli.run("info", "--json");
        assertEquals(0, i.code(), i::toString);
        Map<String, Object> m = Json.parseObject(i.out().strip());
        for (String k : List.of("jdk", "cores", "cpu_features", "vector_module", "kernels_auto", "kernels_reason")) {
            assertTrue(m.containsKey(k), "info --json has " + k);
        }
        Cli.Result t = Cli.run("info");
        assertEquals(0, t.code());
        assertTrue(t.out().contains("kernels     auto picks"), t.out());
    }

    @Test
    void gradcheckPassesForEveryActivationLossAndInputKind() {
        String[][] cases = {
                {"--activation", "tanh", "--loss", "xent"},
                {"--activation", "sigmoid", "--loss", "mse", "--class-inputs"},
                {"--activation", "relu", "--loss", "xent", "--hidden", "9", "--batch", "3", "--kernels", "scalar"},
                {"--activation", "tanh", "--loss", "mse", "--hidden", "17", "--kernels", "vector", "--threads", "2"},
        };
        for (String[] c : cases) {
            String[] args = new String[c.length + 2];
            args[0] = "gradcheck";
            args[1] = "--json";
            System.arraycopy(c, 0, args, 2, c.length);
            Cli.Result r = Cli.run(args);
            assertEquals(0, r.code(), r::toString);
            Map<String, Object> m = Json.parseObject(r.out().strip());
            assertEquals(Boolean.TRUE, m.get("ok"), r::toString);
            for (Object b : (List<?>) m.get("blocks")) {
                double rel = ((Number) ((Map<?, ?>) b).get("rel_error")).doubleValue();
                assertTrue(rel < 1e-5, () -> "block " + b);
            }
        }
    }

    @Test
    void benchOneCasePrintsJsonWithTheAgreedKeys() {
        Cli.Result r = Cli.run("bench", "--hidden", "16", "--input", "8", "--output", "5", "--batch", "2", "--steps", "40",
                "--kernels", "scalar", "--threads", "1", "--repeats", "3", "--warmup", "0", "--json");
        assertEquals(0, r.code(), r::toString);
        String[] lines = r.out().strip().split("\n");
        assertEquals(1, lines.length, r::toString);
        Map<String, Object> m = Json.parseObject(lines[0]);
        for (String k : List.of("kernels", "threads", "I", "H", "O", "B", "T", "activation", "steps_per_s", "gflops")) {
            assertTrue(m.containsKey(k), "bench json has " + k);
        }
        assertEquals("scalar", m.get("kernels"));
        assertEquals(1L, m.get("threads"));
        assertEquals(16L, m.get("H"));
        assertEquals(40L, m.get("T"));
        assertTrue(((Number) m.get("steps_per_s")).doubleValue() > 0);
        assertTrue(r.err().contains("steps/s"), "the table goes to stderr");
    }

    @Test
    void benchOneThreadTooTimesBothEnginesSideBySide() {
        Cli.Result r = Cli.run("bench", "--hidden", "16", "--input", "8", "--output", "5", "--steps", "40", "--kernels", "scalar",
                "--threads", "2", "--one-thread-too", "--repeats", "3", "--warmup", "0", "--json");
        assertEquals(0, r.code(), r::toString);
        String[] lines = r.out().strip().split("\n");
        assertEquals(2, lines.length, r::toString);
        assertEquals(1L, Json.parseObject(lines[0]).get("threads"));
        assertEquals(2L, Json.parseObject(lines[1]).get("threads"));
        assertTrue(r.err().matches("(?s).*\\d\\.\\d\\dx.*"), "the table shows thr/1: " + r.err());
        // the FMA loop on both threads at once against one: the ceiling of thr/1, beside it
        assertNull(Json.parseObject(lines[0]).get("threads_peak_ratio"));
        double together = ((Number) Json.parseObject(lines[1]).get("threads_peak_ratio")).doubleValue();
        assertTrue(together > 0 && together < 2.5, "threads_peak_ratio " + together);
        assertTrue(r.err().contains("peak on 2 threads together: "), r.err());
        Cli.Result bad = Cli.run("bench", "--hidden", "16", "--threads", "1", "--one-thread-too");
        assertEquals(2, bad.code(), bad::toString);
        assertTrue(bad.err().contains("--one-thread-too with --threads = 1, expected 2 or more threads"), bad::toString);
    }

    @Test
    void sampleNeedsACharacterModelAndKnownPrimeCharacters() throws Exception {
        Path text = dir.resolve("t.txt");
        Files.writeString(text, "abcabcabd\n".repeat(60));
        Path model = dir.resolve("t.npz");
        Cli.Result t = Cli.run("train", "--data", text.toString(), "--iters", "30", "--hidden", "16", "--seq-len", "16",
                "--batch", "4", "--save", model.toString(), "--progress", "none", "--sample", "0");
        assertEquals(0, t.code(), t::toString);
        Cli.Result s = Cli.run("sample", "--model", model.toString(), "--length", "50", "--prime", "ab", "--seed", "3");
        assertEquals(0, s.code(), s::toString);
        String out = s.out().substring(0, s.out().length() - System.lineSeparator().length());
        assertTrue(out.startsWith("ab"));
        assertEquals(52, out.codePointCount(0, out.length()), () -> "prime + 50 characters: " + out);
        assertEquals(s.out(), Cli.run("sample", "--model", model.toString(), "--length", "50", "--prime", "ab", "--seed", "3")
                .out(), "seeded sampling repeats");
        Cli.Result bad = Cli.run("sample", "--model", model.toString(), "--prime", "xyz");
        assertEquals(2, bad.code(), bad::toString);
        assertTrue(bad.errLines()[0].contains("'x' (U+0078) at position 0 is not in the model's vocabulary"), bad::toString);
        ModelFile.Model m = ModelFile.read(model);
        assertEquals("\nabcd", m.meta().get("vocabulary"));
        // a model without a vocabulary
        Path plain = dir.resolve("plain.npz");
        ModelFile.write(plain, m.params(), Map.of(), Map.of());
        Cli.Result np = Cli.run("sample", "--model", plain.toString());
        assertEquals(1, np.code());
        assertTrue(np.errLines()[0].contains("has no meta.vocabulary"), np::toString);
        assertArrayEquals(m.params().data(), ModelFile.read(plain).params().data());
    }
}
