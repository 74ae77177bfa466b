package dev.recur.bench;

import dev.recur.io.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One benchmark case of {@code bench/peers/cases.json} (defined in {@code bench/peers/CASES.md}):
 * the network (cell, layers, directions, H), the batch (B sequences of up to T steps, with
 * per-sequence lengths for packed cases) and the two numbers every implementation reports by:
 * steps per iteration and flops per step.
 *
 * <p>The bench jar carries the same {@code cases.json} as a resource (the pom copies it), so
 * recur's benchmarks, the report and the peer programs read one definition.
 */
public record BenchCase(String id, String cell, int layers, boolean bidirectional, int hidden, int batch,
                        int steps, List<Integer> lengths, long stepsPerIteration, long flopsPerStep) {

    /** Input and output size of every case. */
    public static final int INPUT = 64, OUTPUT = 64;

    private static final String RESOURCE = "/dev/recur/bench/cases.json";
    private static volatile Map<String, BenchCase> bundled;

    /** Gate blocks of the cell: the multiplier of the H^2 and HI flop terms. */
    public int gates() {
        return switch (cell) {
            case "rnn_tanh", "rnn_relu" -> 1;
            case "gru" -> 3;
            case "lstm" -> 4;
            default -> throw new IllegalStateException("case " + id + ": unknown cell " + cell);
        };
    }

    public int directions() { return bidirectional ? 2 : 1; }

    /** Elman activation ("tanh", "relu"), or null for gated cells. */
    public String activation() {
        return cell.startsWith("rnn_") ? cell.substring(4) : null;
    }

    /** The flop convention of CASES.md, computed from the shape (cases.json stores the result). */
    public long conventionFlopsPerStep() {
        long h = hidden, d = directions(), f = 0;
        for (int l = 0; l < layers; l++) {
            long in = l == 0 ? INPUT : d * h;
            f += d * gates() * (6 * h * h + 6 * h * in);
        }
        return f + 6L * OUTPUT * d * h;
    }

    /** A short label for tables and charts, e.g. "H=512 B=64 T=200 tanh" or "LSTM H=256 B=1 T=2000". */
    public String label() {
        String net = switch (cell) {
            case "lstm" -> "LSTM ";
            case "gru" -> "GRU ";
            default -> "";
        };
        if (layers > 1 || bidirectional) net += layers + "-layer " + (bidirectional ? "bi " : "");
        String act = activation() == null ? "" : " " + activation();
        String len = lengths == null ? "" : " (packed)";
        return net + "H=" + hidden + " B=" + batch + " T=" + steps + act + len;
    }

    /** The cases bundled in the bench jar, in file order. */
    public static List<BenchCase> all() {
        return List.copyOf(bundled().values());
    }

    /** The bundled case with this id; an unknown id is an IllegalArgumentException listing the known ones. */
    public static BenchCase byId(String id) {
        BenchCase c = bundled().get(id);
        if (c == null) {
            throw new IllegalArgumentException("case id '" + id + "': unknown, expected one of " + bundled().keySet());
        }
        return c;
    }

    /** Whether the bundled cases have this id. */
    public static boolean exists(String id) { return bundled().containsKey(id); }

    /** Reads a cases.json file (for tools run against a checkout rather than the jar). */
    public static List<BenchCase> load(Path file) throws IOException {
        try {
            return List.copyOf(parse(Files.readString(file), file.toString()).values());
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("cases file '" + file + "': not found, expected bench/peers/cases.json");
        }
    }

    private static Map<String, BenchCase> bundled() {
        Map<String, BenchCase> b = bundled;
        if (b == null) {
            try (InputStream in = BenchCase.class.getResourceAsStream(RESOURCE)) {
                if (in == null) throw new IllegalStateException("resource " + RESOURCE + " missing from the bench jar (rebuild it)");
                b = parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), RESOURCE);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            bundled = b;
        }
        return b;
    }

    static Map<String, BenchCase> parse(String text, String source) {
        Map<String, Object> root = Json.parseObject(text);
        if (!Long.valueOf(1).equals(root.get("format"))) {
            throw new IllegalArgumentException(source + ": format " + root.get("format") + ", expected 1");
        }
        if (num(root, "input", source) != INPUT || num(root, "output", source) != OUTPUT) {
            throw new IllegalArgumentException(source + ": input/output must be " + INPUT + "/" + OUTPUT);
        }
        Map<String, BenchCase> out = new LinkedHashMap<>();
        for (Object o : (List<?>) root.get("cases")) {
            @SuppressWarnings("unchecked")
            Map<String, Object> m = (Map<String, Object>) o;
            String id = (String) m.get("id");
            List<Integer> lengths = null;
            if (m.get("lengths") instanceof List<?> l) {
                List<Integer> v = new ArrayList<>();
                for (Object x : l) v.add(((Number) x).intValue());
                lengths = Collections.unmodifiableList(v);
            }
            BenchCase c = new BenchCase(id, (String) m.get("cell"), (int) num(m, "layers", source),
                    Boolean.TRUE.equals(m.get("bidirectional")), (int) num(m, "hidden", source),
                    (int) num(m, "batch", source), (int) num(m, "steps", source), lengths,
                    num(m, "steps_per_iteration", source), num(m, "flops_per_step", source));
            c.gates(); // rejects an unknown cell now rather than at the first use
            if (out.put(id, c) != null) throw new IllegalArgumentException(source + ": case id '" + id + "' twice");
        }
        return out;
    }

    private static long num(Map<String, Object> m, String key, String source) {
        if (!(m.get(key) instanceof Number n)) {
            throw new IllegalArgumentException(source + ": field '" + key + "' missing or not a number in " + m.get("id"));
        }
        return n.longValue();
    }
}
