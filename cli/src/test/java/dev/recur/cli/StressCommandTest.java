package dev.recur.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

class StressCommandTest {

    record Run(int code, String out, String err) {
        String lastLine() {
            String[] lines = out.strip().split("\n");
            return lines[lines.length - 1];
        }

        double num(String key) {
            Matcher m = Pattern.compile("\"" + key + "\":(-?[0-9.eE+-]+)").matcher(lastLine());
            assertTrue(m.find(), key + " in " + lastLine());
            return Double.parseDouble(m.group(1));
        }
    }

    /** The command standalone, as the brief asks: {@code new CommandLine(new StressCommand())}. */
    static Run run(String... args) {
        CommandLine cl = new CommandLine(new StressCommand());
        StringWriter o = new StringWriter(), e = new StringWriter();
        cl.setOut(new PrintWriter(o, true));
        cl.setErr(new PrintWriter(e, true));
        int code = cl.execute(args);
        return new Run(code, o.toString(), e.toString());
    }

    private static final String[] SMALL = {"--hidden", "16", "--input", "4", "--output", "5", "--kernels", "scalar",
            "--json", "--progress", "off"};

    /** SMALL plus {@code more}, with --steps 4096 unless {@code more} sets it. */
    private static String[] with(String... more) {
        if (!java.util.Arrays.asList(more).contains("--steps")) {
            String[] m = java.util.Arrays.copyOf(more, more.length + 2);
            m[more.length] = "--steps";
            m[more.length + 1] = "4096";
            more = m;
        }
        String[] a = java.util.Arrays.copyOf(SMALL, SMALL.length + more.length);
        System.arraycopy(more, 0, a, SMALL.length, more.length);
        return a;
    }

    @Test
    void checkpointRunEndsWithJsonSummary() {
        Run r = run(with("--mode", "checkpoint"));
        assertEquals(0, r.code(), r.err());
        String last = r.lastLine();
        assertTrue(last.startsWith("{") && last.endsWith("}"), last);
        assertTrue(last.contains("\"mode\":\"checkpoint\""), last);
        assertEquals(4096, r.num("steps"));
        assertEquals(16, r.num("hidden"));
        assertTrue(r.num("steps_per_s") > 0);
        assertTrue(r.num("peak_heap_bytes") > 0);
        assertEquals(64, r.num("checkpoints"), "sqrt(4096) = 64 steps per segment, 64 segments");
        assertEquals(64, r.num("segment"));
        assertTrue(r.num("grad_norm") > 0);
        assertTrue(r.out().contains("GFLOP/s"));
        assertTrue(r.out().contains("recompute"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"rnn", "gru", "lstm"})
    void allModesAgreeWhereTheyShould(String cell) {
        Run cp = run(with("--cell", cell, "--mode", "checkpoint", "--segment", "100"));
        Run sa = run(with("--cell", cell, "--mode", "store-all"));
        Run tb = run(with("--cell", cell, "--mode", "truncated", "--k1", "4096"));
        Run chunks = run(with("--cell", cell, "--mode", "truncated", "--k1", "64", "--k2", "64"));
        assertTrue(sa.lastLine().contains("\"cell\":\"" + cell + "\""), sa.lastLine());
        for (Run r : new Run[] {cp, sa, tb, chunks}) assertEquals(0, r.code(), r.err());
        assertEquals(0, sa.num("checkpoints"));
        assertEquals(0, tb.num("checkpoints"));
        assertEquals(sa.num("loss"), cp.num("loss"), 1e-5 * sa.num("loss"));
        assertEquals(sa.num("grad_norm"), cp.num("grad_norm"), 1e-5 * sa.num("grad_norm"), "exact modes agree");
        assertEquals(sa.num("grad_norm"), tb.num("grad_norm"), 1e-5 * sa.num("grad_norm"), "k1 = k2 = T is full BPTT");
        assertNotEquals(sa.num("grad_norm"), chunks.num("grad_norm"), 1e-4 * sa.num("grad_norm"), "truncation is approximate");
    }

    @Test
    void preflightRefusalExitsOneWithTheFix() {
        Run r = run(with("--mode", "store-all", "--steps", "1e6", "--memory", "8m"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("does not fit"), r.err());
        assertTrue(r.err().contains("needs ~"), r.err());
        assertTrue(r.err().contains("--mode checkpoint"), r.err());
        assertEquals("", r.out());
        Run c = run("--mode", "checkpoint", "--steps", "1e7", "--hidden", "64", "--memory", "1m", "--progress", "off");
        assertEquals(1, c.code());
        assertTrue(c.err().contains("--memory"), c.err());
        Run s = run(with("--mode", "checkpoint", "--steps", "1e6", "--segment", "500000", "--memory", "8m"));
        assertEquals(1, s.code());
        assertTrue(s.err().contains("--segment"), s.err());
    }

    @Test
    void badArgumentsExitTwo() {
        String[][] bad = {
                {"--mode", "bogus"}, {"--mode", "truncated"}, {"--mode", "truncated", "--k1", "64", "--k2", "32"},
                {"--mode", "truncated", "--k1", "100"}, {"--mode", "store-all", "--segment", "10"}, {"--k1", "8"},
                {"--steps", "1.5"}, {"--steps", "abc"}, {"--kernels", "gpu"}, {"--memory", "lots"}, {"--hidden", "0"},
                {"--mode", "truncated", "--k1", "64", "--k2", "10000"}, {"--no-such-option"}, {"--cell", "tree"},
        };
        for (String[] b : bad) {
            Run r = run(with(b));
            assertEquals(2, r.code(), String.join(" ", b) + " -> " + r.err());
            assertFalse(r.err().isBlank(), String.join(" ", b));
            assertEquals("", r.out(), "nothing on stdout for a bad argument");
        }
    }

    @Test
    void progressGoesToStderr() {
        Run lines = run("--steps", "4096", "--hidden", "8", "--input", "2", "--output", "3", "--kernels", "scalar",
                "--progress", "lines", "--progress-every", "0.000001");
        assertEquals(0, lines.code());
        assertTrue(lines.err().contains("steps/s") && lines.err().contains("ETA") && lines.err().contains("heap"), lines.err());
        assertFalse(lines.out().contains("ETA"));
        Run bar = run("--steps", "4096", "--hidden", "8", "--input", "2", "--output", "3", "--kernels", "scalar", "--progress", "bar");
        assertEquals(0, bar.code());
        assertTrue(bar.err().contains("\r["), bar.err());
    }

    @Test
    void standaloneCommandLineGivesOneLineErrors() {
        CommandLine cl = StressCommand.newCommandLine();
        StringWriter e = new StringWriter();
        cl.setErr(new PrintWriter(e, true));
        assertEquals(2, cl.execute("--steps", "x"));
        assertTrue(e.toString().startsWith("recur stress:") && e.toString().strip().split("\n").length == 1, e.toString());
    }

    @Test
    void helpAndCounts() {
        assertEquals(0, run("--help").code());
        StressCommand.CountConverter c = new StressCommand.CountConverter();
        assertEquals(10_000_000L, c.convert("1e7"));
        assertEquals(10_000_000L, c.convert("10_000_000"));
        assertEquals(10_000_000L, c.convert("10M"));
        assertEquals(2_000L, c.convert("2k"));
        assertThrows(CommandLine.TypeConversionException.class, () -> c.convert("1e-3"));
    }
}
