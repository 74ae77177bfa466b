package dev.recur.bench.dl4j;

import dev.recur.io.Json;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A case of bench/peers/cases.json (see CASES.md there), read from the copy this module's jar
 * carries. Its own small reader rather than recur-bench's BenchCase: depending on recur-bench
 * would put that jar's JMH benchmark list on this module's class path beside this one's.
 */
record Dl4jCase(String id, String cell, int layers, boolean bidirectional, int hidden, int batch, int steps,
                int[] lengths, long stepsPerIteration, long flopsPerStep) {

    static final int INPUT = 64, OUTPUT = 64;

    private static Map<String, Dl4jCase> all;

    static synchronized Map<String, Dl4jCase> all() {
        if (all == null) {
            try (InputStream in = Dl4jCase.class.getResourceAsStream("cases.json")) {
                if (in == null) throw new IllegalStateException("cases.json missing from the jar (rebuild bench-dl4j)");
                Map<String, Object> root = Json.parseObject(new String(in.readAllBytes(), StandardCharsets.UTF_8));
                Map<String, Dl4jCase> m = new LinkedHashMap<>();
                for (Object o : (List<?>) root.get("cases")) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> c = (Map<String, Object>) o;
                    int[] lengths = null;
                    if (c.get("lengths") instanceof List<?> l) {
                        lengths = l.stream().mapToInt(x -> ((Number) x).intValue()).toArray();
                    }
                    m.put((String) c.get("id"), new Dl4jCase((String) c.get("id"), (String) c.get("cell"),
                            n(c, "layers"), Boolean.TRUE.equals(c.get("bidirectional")), n(c, "hidden"),
                            n(c, "batch"), n(c, "steps"), lengths,
                            ((Number) c.get("steps_per_iteration")).longValue(),
                            ((Number) c.get("flops_per_step")).longValue()));
                }
                all = m;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return all;
    }

    private static int n(Map<String, Object> c, String k) { return ((Number) c.get(k)).intValue(); }

    /** The case with this id; an unknown id names the known ones. */
    static Dl4jCase byId(String id) {
        Dl4jCase c = all().get(id);
        if (c == null) {
            throw new IllegalArgumentException("case id '" + id + "': unknown, expected one of " + all().keySet());
        }
        return c;
    }

    /** The ids this peer can run (DL4J's nn API has no GRU layer). */
    static List<String> supported() {
        List<String> ids = new ArrayList<>();
        for (Dl4jCase c : all().values()) if (!c.cell.equals("gru")) ids.add(c.id);
        return ids;
    }
}
