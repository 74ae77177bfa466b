package dev.recur.bench;

import dev.recur.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Turns the result files of a profile run into the Markdown tables of BENCHMARKS.md and a chart:
 * recur (JMH {@code BpttBench}, vector and scalar) beside the peers (PyTorch, oneDNN,
 * Deeplearning4j), joined by case id and thread count, medians over rounds, recur/best peer.
 *
 * <pre>
 *   java -cp bench/target/benchmarks.jar dev.recur.bench.Report [--chart PREFIX] [--peak1 G --peak2 G] FILE...
 * </pre>
 *
 * Files, recognised by content: JMH result arrays (BpttBench, KernelBench, the DL4J module's
 * Dl4jBench), torch_peer.py's JSON object, onednn_peer's JSON lines, Dl4jInfo's object (the DL4J
 * versions), and the earlier PyTorch script's object ({@code meta} + {@code results} by shape).
 * A case that one side lacks gets "-" there; a result for a case id not in cases.json is skipped
 * with a warning. {@code --chart PREFIX} writes PREFIX.png and PREFIX.svg (see {@link ReportChart}).
 */
public final class Report {

    static final String VECTOR = "recur vector", SCALAR = "recur scalar";
    static final String TORCH = "PyTorch", ONEDNN = "oneDNN", DL4J = "DL4J";
    static final List<String> PEERS = List.of(TORCH, ONEDNN, DL4J);

    private Report() {}

    /** A table row: one case at one thread count. */
    record Key(String caseId, int threads) {}

    /** Everything read from the files. */
    static final class Data {
        /** row -> series (recur vector/scalar, a peer) -> steps/s, one value per round */
        final Map<Key, Map<String, List<Double>>> rates = new LinkedHashMap<>();
        /** row -> series -> a note shown beside the figure, e.g. oneDNN's full-length bi64 */
        final Map<Key, Map<String, String>> notes = new LinkedHashMap<>();
        /** peer -> the versions it reported, short form for the header, long form for the notes */
        final Map<String, Set<String>> versionsShort = new LinkedHashMap<>(), versionsLong = new LinkedHashMap<>();
        final Map<String, List<Double>> kernel = new TreeMap<>();  // "method|size|kernels" -> ns/op
        final Set<String> skipped = new LinkedHashSet<>();

        void add(String caseId, int threads, String series, double stepsPerSecond) {
            if (!BenchCase.exists(caseId)) {
                skipped.add(caseId);
                return;
            }
            rates.computeIfAbsent(new Key(caseId, threads), k -> new LinkedHashMap<>())
                    .computeIfAbsent(series, k -> new ArrayList<>()).add(stepsPerSecond);
        }

        void note(String caseId, int threads, String series, String note) {
            notes.computeIfAbsent(new Key(caseId, threads), k -> new LinkedHashMap<>()).put(series, note);
        }

        void version(String peer, String shortForm, String longForm) {
            versionsShort.computeIfAbsent(peer, k -> new LinkedHashSet<>()).add(shortForm);
            versionsLong.computeIfAbsent(peer, k -> new LinkedHashSet<>()).add(longForm);
        }

        List<Double> get(Key k, String series) {
            Map<String, List<Double>> m = rates.get(k);
            return m == null ? null : m.get(series);
        }
    }

    public static void main(String[] args) throws IOException {
        double peak1 = Double.NaN, peak2 = Double.NaN;
        Path chart = null;
        List<Path> files = new ArrayList<>();
        for (int a = 0; a < args.length; a++) {
            switch (args[a]) {
                case "--peak1" -> peak1 = number(args, ++a, "--peak1");
                case "--peak2" -> peak2 = number(args, ++a, "--peak2");
                case "--chart" -> {
                    if (a + 1 >= args.length) usage("--chart: missing its value, expected a file prefix");
                    chart = Path.of(args[++a]);
                }
                default -> {
                    if (args[a].startsWith("--")) usage("option '" + args[a] + "': unknown, expected --chart, --peak1 or --peak2");
                    files.add(Path.of(args[a]));
                }
            }
        }
        if (files.isEmpty()) usage("no result files given");
        Data d = new Data();
        for (Path f : files) {
            try {
                read(f, d);
            } catch (NoSuchFileException e) {
                usage("file '" + f + "': not found, expected a result file of bench/profile.sh");
            } catch (IllegalArgumentException | ClassCastException e) {
                System.err.println("Report: file '" + f + "': not a result file this report knows (" + e.getMessage() + ")");
                System.exit(2);
            }
        }
        if (!d.skipped.isEmpty()) {
            System.err.println("Report: skipped results for case ids not in cases.json: " + d.skipped);
        }
        StringBuilder out = new StringBuilder();
        if (!d.rates.isEmpty()) out.append(caseTable(d, peak1, peak2));
        if (!d.kernel.isEmpty()) out.append(kernelTable(d.kernel));
        System.out.print(out);
        if (chart != null && !d.rates.isEmpty()) {
            ReportChart.write(chart, d);
            System.err.println("Report: wrote " + chart + ".png and " + chart + ".svg");
        }
    }

    private static double number(String[] args, int a, String opt) {
        if (a >= args.length) usage(opt + ": missing its value, expected GFLOP/s");
        try {
            return Double.parseDouble(args[a]);
        } catch (NumberFormatException e) {
            usage(opt + " " + args[a] + ": expected a number (GFLOP/s)");
            return 0;
        }
    }

    private static void usage(String msg) {
        System.err.println("Report: " + msg);
        System.err.println("usage: Report [--chart PREFIX] [--peak1 GFLOPS --peak2 GFLOPS] result.json|result.jsonl...");
        System.exit(2);
    }

    // ---------------------------------------------------------------- reading

    static void read(Path f, Data d) throws IOException {
        String text = Files.readString(f).strip();
        if (text.startsWith("[")) {
            readJmh(arr(Json.parse(text)), d);
            return;
        }
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            // JSON lines (onednn_peer): one object per line
            for (String line : text.split("\n")) {
                if (!line.isBlank()) readPeerLine(obj(Json.parse(line)), d);
            }
            return;
        }
        Map<String, Object> m = obj(root);
        if ("dl4j".equals(m.get("peer")) && "info".equals(m.get("kind"))) {
            readDl4jInfo(m, d);
        } else if ("pytorch".equals(m.get("peer"))) {
            readTorch(m, d);
        } else if ("onednn".equals(m.get("peer"))) {
            readPeerLine(m, d);
        } else if (m.containsKey("meta") && m.containsKey("results")) {
            readLegacyTorch(m, d);
        } else {
            throw new IllegalArgumentException("no 'peer' field and not a JMH result array");
        }
    }

    private static void readJmh(List<Object> runs, Data d) {
        for (Object o : runs) {
            Map<String, Object> run = obj(o);
            String bench = (String) run.get("benchmark");
            Map<String, Object> params = run.get("params") == null ? Map.of() : obj(run.get("params"));
            Map<String, Object> metric = obj(run.get("primaryMetric"));
            double score = ((Number) metric.get("score")).doubleValue();
            String unit = (String) metric.get("scoreUnit");
            if (bench.endsWith("BpttBench.sequence")) {
                String id = caseParam(params);
                String kernels = (String) params.get("kernels");
                int threads = Integer.parseInt(String.valueOf(params.get("threads")));
                if (!BenchCase.exists(id)) {
                    d.skipped.add(id);
                    continue;
                }
                d.add(id, threads, kernels.equals("scalar") ? SCALAR : VECTOR,
                        recurStepsPerOp(id, kernels) / seconds(score, unit));
            } else if (bench.endsWith("Dl4jBench.iteration")) {
                String id = caseParam(params);
                int threads = Integer.parseInt(String.valueOf(params.get("threads")));
                if (!BenchCase.exists(id)) {
                    d.skipped.add(id);
                    continue;
                }
                d.add(id, threads, DL4J, BenchCase.byId(id).stepsPerIteration() / seconds(score, unit));
                if (BenchCase.byId(id).lengths() != null) d.note(id, threads, DL4J, "masked");
            } else if (bench.contains("KernelBench.")) {
                if (!unit.equals("ns/op")) throw new IllegalArgumentException("KernelBench unit " + unit + ", expected ns/op");
                String method = bench.substring(bench.lastIndexOf('.') + 1);
                d.kernel.computeIfAbsent(method + "|" + params.get("size") + "|" + params.get("kernels"),
                        k -> new ArrayList<>()).add(score);
            }
        }
    }

    /** The case id of a JMH run: BpttBench has "config" today; "case"-like names are accepted too. */
    private static String caseParam(Map<String, Object> params) {
        for (String k : List.of("case", "caseId", "id", "config")) {
            if (params.get(k) != null) return String.valueOf(params.get(k));
        }
        throw new IllegalArgumentException("JMH run without a case parameter (case, caseId, id or config): " + params.keySet());
    }

    private static double seconds(double score, String unit) {
        return switch (unit) {
            case "s/op" -> score;
            case "ms/op" -> score / 1e3;
            case "us/op" -> score / 1e6;
            case "ns/op" -> score / 1e9;
            default -> throw new IllegalArgumentException("JMH unit " + unit + ", expected a time per op");
        };
    }

    /**
     * Valid steps of one BpttBench op: BpttBench says (the scalar path runs a shorter T).
     */
    static long recurStepsPerOp(String id, String kernels) {
        return BpttBench.stepsPerOp(id, kernels);
    }

    private static void readTorch(Map<String, Object> m, Data d) {
        Map<String, Object> v = obj(m.get("versions"));
        String torch = v.get("debian_python3_torch") != null
                ? String.valueOf(v.get("debian_python3_torch")).replaceAll("\\+.*", "") : String.valueOf(v.get("torch"));
        String blas = v.get("openblas") != null ? openblasVersion((String) v.get("openblas")) : "no OpenBLAS";
        d.version(TORCH, "PyTorch " + torch + " + " + blas,
                "PyTorch " + v.get("torch") + (v.get("debian_python3_torch") != null ? " (Debian python3-torch "
                        + v.get("debian_python3_torch") + ")" : "") + ", " + (v.get("openblas") != null
                        ? v.get("openblas") + ", core " + v.get("openblas_core") : "BLAS " + v.get("loaded"))
                        + ", Python " + v.get("python"));
        for (Object o : arr(m.get("results"))) {
            Map<String, Object> r = obj(o);
            String id = (String) r.get("case");
            int threads = ((Number) r.get("threads")).intValue();
            d.add(id, threads, TORCH, ((Number) r.get("steps_per_s")).doubleValue());
            if ("packed".equals(r.get("lengths"))) d.note(id, threads, TORCH, "packed");
        }
    }

    private static void readPeerLine(Map<String, Object> r, Data d) {
        if (!"onednn".equals(r.get("peer"))) throw new IllegalArgumentException("JSON line of peer " + r.get("peer") + ", expected onednn");
        Map<String, Object> v = obj(r.get("versions"));
        d.version(ONEDNN, "oneDNN " + v.get("onednn"), "oneDNN " + v.get("onednn") + " (" + v.get("cpu_runtime")
                + ", ISA " + v.get("isa") + "), " + v.get("compiler") + " " + v.get("flags"));
        String id = (String) r.get("case");
        int threads = ((Number) r.get("threads")).intValue();
        d.add(id, threads, ONEDNN, ((Number) r.get("steps_per_s")).doubleValue());
        if ("full".equals(r.get("lengths"))) d.note(id, threads, ONEDNN, "full T");
    }

    private static void readDl4jInfo(Map<String, Object> m, Data d) {
        Map<String, Object> v = obj(m.get("versions"));
        String dl4j = String.valueOf(v.get("deeplearning4j_nn")).replace("deeplearning4j-nn-", "").replace(".jar", "");
        String blas = v.get("openblas") != null ? openblasVersion((String) v.get("openblas")) : "OpenBLAS ?";
        d.version(DL4J, "DL4J " + dl4j + " + " + blas, "Deeplearning4j " + dl4j + " (" + v.get("nd4j_backend") + ", "
                + v.get("nd4j_native") + "), " + v.get("openblas") + ", core " + v.get("openblas_core") + ", JDK " + v.get("jdk"));
    }

    /** The earlier PyTorch script: results by shape, threads in "meta". */
    private static void readLegacyTorch(Map<String, Object> root, Data d) {
        Map<String, Object> meta = obj(root.get("meta"));
        int threads = ((Number) meta.get("threads")).intValue();
        d.version(TORCH, "PyTorch " + meta.get("torch"), "PyTorch " + meta.get("torch") + " (earlier script)");
        for (Object o : arr(root.get("results"))) {
            Map<String, Object> r = obj(o);
            for (PeerConfigs c : PeerConfigs.ALL) {
                if (c.hidden() == ((Number) r.get("H")).intValue() && c.batch() == ((Number) r.get("B")).intValue()
                        && c.steps() == ((Number) r.get("T")).intValue() && c.activation().equals(r.get("act"))) {
                    d.add(Integer.toString(c.index()), threads, TORCH, ((Number) r.get("steps_per_s")).doubleValue());
                }
            }
        }
    }

    private static String openblasVersion(String config) {
        String[] w = config.split(" ");
        return w.length >= 2 ? w[0] + " " + w[1] : config;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> obj(Object o) {
        if (!(o instanceof Map)) throw new IllegalArgumentException("expected a JSON object");
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> arr(Object o) {
        if (!(o instanceof List)) throw new IllegalArgumentException("expected a JSON array");
        return (List<Object>) o;
    }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = a.length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    static double medianOrNaN(List<Double> v) { return v == null || v.isEmpty() ? Double.NaN : median(v); }

    /** Rows in the order of cases.json, then by threads. */
    static List<Key> rows(Data d) {
        List<String> order = BenchCase.all().stream().map(BenchCase::id).toList();
        List<Key> keys = new ArrayList<>(d.rates.keySet());
        keys.sort(Comparator.comparingInt((Key k) -> order.indexOf(k.caseId())).thenComparingInt(Key::threads));
        return keys;
    }

    /** Peers with at least one result, in the fixed order of {@link #PEERS}. */
    static List<String> peersPresent(Data d) {
        List<String> out = new ArrayList<>();
        for (String p : PEERS) {
            if (d.rates.values().stream().anyMatch(m -> m.containsKey(p))) out.add(p);
        }
        return out;
    }

    // ---------------------------------------------------------------- tables

    static String caseTable(Data d, double peak1, double peak2) {
        List<String> peers = peersPresent(d);
        boolean peak = !Double.isNaN(peak1) && !Double.isNaN(peak2);
        StringBuilder b = new StringBuilder();
        b.append("| case | network | threads | recur vector steps/s | recur scalar steps/s | vector/scalar | vector GFLOP/s | ");
        if (peak) b.append("% sgemm peak | ");
        b.append("vector 2thr/1thr | ");
        for (String p : peers) b.append(header(d, p)).append(" steps/s | ");
        if (peers.isEmpty()) b.append("reference best peer (CASES.md) | ");
        b.append("best peer | recur/best peer | rounds (recur");
        for (String p : peers) b.append('/').append(p);
        b.append(") |\n|");
        int cols = 11 + (peak ? 1 : 0) + Math.max(peers.size(), 1);
        b.append("---|".repeat(cols)).append('\n');
        for (Key k : rows(d)) {
            BenchCase c = BenchCase.byId(k.caseId());
            double v = medianOrNaN(d.get(k, VECTOR)), s = medianOrNaN(d.get(k, SCALAR));
            double gflops = v * c.flopsPerStep() / 1e9;
            double v1 = medianOrNaN(d.get(new Key(k.caseId(), 1), VECTOR));
            b.append("| ").append(k.caseId()).append(" | ").append(c.label()).append(" | ").append(k.threads()).append(" | ")
                    .append(fmt(v, 0)).append(" | ").append(fmt(s, 0)).append(" | ").append(ratio(v, s, 1)).append(" | ")
                    .append(fmt(gflops, 1)).append(" | ");
            if (peak) b.append(fmt(100 * gflops / (k.threads() == 1 ? peak1 : peak2), 0)).append("% | ");
            b.append(k.threads() > 1 ? ratio(v, v1, 2) : "").append(" | ");
            String best = null;
            double bestRate = Double.NaN;
            for (String p : peers) {
                double r = medianOrNaN(d.get(k, p));
                String note = d.notes.getOrDefault(k, Map.of()).get(p);
                b.append(fmt(r, 0)).append(note != null && !Double.isNaN(r) ? " (" + note + ")" : "").append(" | ");
                // oneDNN's bi64 ran a different (padded) problem: it cannot be the best peer of the case
                if (!Double.isNaN(r) && !"full T".equals(note) && (best == null || r > bestRate)) {
                    best = p;
                    bestRate = r;
                }
            }
            String ratioCell;
            if (best != null) {
                ratioCell = ratio(v, bestRate, 2);
            } else {
                double ref = reference(k);
                if (peers.isEmpty()) b.append(fmt(ref, 0)).append(" | ");
                ratioCell = Double.isNaN(ref) || Double.isNaN(v) ? "-" : ratio(v, ref, 2) + " (vs CASES.md)";
                best = Double.isNaN(ref) ? "-" : "CASES.md";
            }
            b.append(best).append(" | ").append(ratioCell).append(" | ");
            b.append(Math.max(count(d.get(k, VECTOR)), count(d.get(k, SCALAR))));
            for (String p : peers) b.append('/').append(count(d.get(k, p)));
            b.append(" |\n");
        }
        b.append('\n').append(footnotes(d, peers, peak, peak1, peak2));
        return b.toString();
    }

    /** The peer's column header: its name and the versions it reported. */
    static String header(Data d, String peer) {
        Set<String> v = d.versionsShort.get(peer);
        return v == null || v.isEmpty() ? peer : String.join(" / ", v);
    }

    private static double reference(Key k) {
        if (!k.caseId().matches("[0-8]") || k.threads() < 1 || k.threads() > 2) return Double.NaN;
        PeerConfigs c = PeerConfigs.ALL[Integer.parseInt(k.caseId())];
        return k.threads() == 1 ? c.peer1() : c.peer2();
    }

    private static String footnotes(Data d, List<String> peers, boolean peak, double peak1, double peak2) {
        StringBuilder b = new StringBuilder();
        b.append("steps/s = steps of one iteration (forward + summed softmax cross-entropy + full BPTT; the sum of the "
                + "sequence lengths) per second, median over rounds (each round a median of its repetitions); GFLOP/s = "
                + "steps/s * flops_per_step of bench/peers/CASES.md. recur/best peer divides recur vector by the fastest "
                + "peer run beside it; \"vs CASES.md\" marks rows without a peer, compared with CASES.md's reference "
                + "figures from another day.");
        if (peak) b.append(String.format(Locale.ROOT, " %% sgemm peak: of %.0f GFLOP/s on 1 thread, %.0f on 2.", peak1, peak2));
        b.append("\n\n");
        if (!peers.isEmpty()) {
            b.append("Peers:\n");
            for (String p : peers) {
                Set<String> v = d.versionsLong.get(p);
                b.append("- ").append(p).append(": ").append(v == null ? "versions not recorded" : String.join("; ", v)).append('\n');
            }
            boolean full = d.notes.values().stream().anyMatch(m -> "full T".equals(m.get(ONEDNN)));
            boolean packed = d.notes.values().stream().anyMatch(m -> "packed".equals(m.get(TORCH)));
            boolean masked = d.notes.values().stream().anyMatch(m -> "masked".equals(m.get(DL4J)));
            if (packed) b.append("- (packed): PyTorch PackedSequence, the loss over valid steps only.\n");
            if (full) b.append("- (full T): oneDNN has no variable lengths; it ran every sequence at the full T and its "
                    + "steps/s counts B*T steps, so it is not comparable and not taken as the best peer.\n");
            if (masked) b.append("- (masked): DL4J ran all T steps with feature and label masks; steps/s counts the valid steps.\n");
            b.append('\n');
        }
        return b.toString();
    }

    private static int count(List<Double> v) { return v == null ? 0 : v.size(); }

    private static String ratio(double a, double b, int digits) {
        return Double.isNaN(a) || Double.isNaN(b) ? "-" : fmt(a / b, digits) + "x";
    }

    private static String kernelTable(Map<String, List<Double>> kernel) {
        StringBuilder b = new StringBuilder();
        b.append("| kernel | size | scalar GFLOP/s | vector GFLOP/s | vector/scalar |\n|---|---|---|---|---|\n");
        TreeMap<String, double[]> rows = new TreeMap<>();
        for (var e : kernel.entrySet()) {
            String[] k = e.getKey().split("\\|");
            String key = k[0] + "|" + String.format(Locale.ROOT, "%05d", Integer.parseInt(k[1]));
            double[] r = rows.computeIfAbsent(key, x -> new double[] {Double.NaN, Double.NaN});
            double gflops = KernelBench.flops(k[0], Integer.parseInt(k[1])) / median(e.getValue());
            r[k[2].equals("scalar") ? 0 : 1] = gflops;
        }
        for (var e : rows.entrySet()) {
            String[] k = e.getKey().split("\\|");
            double[] r = e.getValue();
            b.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s |%n", k[0], Integer.parseInt(k[1]),
                    fmt(r[0], 2), fmt(r[1], 2), fmt(r[1] / r[0], 1) + "x"));
        }
        b.append("\n");
        return b.toString();
    }

    static String fmt(double v, int digits) {
        if (Double.isNaN(v)) return "-";
        return digits == 0 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
