package dev.recur.bench;

import dev.recur.io.Json;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Turns JMH JSON result files (one per round) and, where present, the peer script's JSON files
 * into the Markdown tables of BENCHMARKS.md: medians over rounds, vector/scalar, 2 threads/1,
 * GFLOP/s by the peers' convention, % of the machine's sgemm peak, recur/peer.
 *
 * <pre>
 *   java -cp bench/target/benchmarks.jar dev.recur.bench.Report [--peak1 G] [--peak2 G] FILE.json...
 * </pre>
 *
 * A file is read as a peer file when it is a JSON object with "meta" and "results" (the format
 * of ../shared/peers/torch_rnn_bench.py), else as a JMH result array.
 */
public final class Report {

    private Report() {}

    public static void main(String[] args) throws IOException {
        double peak1 = 88, peak2 = 170;
        List<Path> files = new ArrayList<>();
        for (int a = 0; a < args.length; a++) {
            switch (args[a]) {
                case "--peak1" -> peak1 = Double.parseDouble(args[++a]);
                case "--peak2" -> peak2 = Double.parseDouble(args[++a]);
                default -> files.add(Path.of(args[a]));
            }
        }
        if (files.isEmpty()) {
            System.err.println("usage: Report [--peak1 GFLOPS] [--peak2 GFLOPS] result.json...");
            System.exit(2);
        }
        // key -> list of per-round values
        Map<String, List<Double>> bptt = new TreeMap<>();    // "config|kernels|threads" -> ms/op
        Map<String, List<Double>> kernel = new TreeMap<>();  // "method|size|kernels" -> ns/op
        Map<String, List<Double>> peer = new TreeMap<>();    // "config|threads" -> steps/s
        for (Path f : files) {
            Object root = Json.parse(Files.readString(f));
            if (root instanceof Map<?, ?> m && m.containsKey("results")) {
                readPeer(obj(root), peer);
            } else {
                readJmh(arr(root), bptt, kernel);
            }
        }
        StringBuilder out = new StringBuilder();
        if (!bptt.isEmpty()) out.append(bpttTable(bptt, peer, peak1, peak2));
        if (!kernel.isEmpty()) out.append(kernelTable(kernel));
        System.out.print(out);
    }

    private static void readJmh(List<Object> runs, Map<String, List<Double>> bptt, Map<String, List<Double>> kernel) {
        for (Object o : runs) {
            Map<String, Object> run = obj(o);
            String bench = (String) run.get("benchmark");
            Map<String, Object> params = obj(run.get("params"));
            double score = ((Number) obj(run.get("primaryMetric")).get("score")).doubleValue();
            String unit = (String) obj(run.get("primaryMetric")).get("scoreUnit");
            if (bench.endsWith("BpttBench.sequence")) {
                if (!unit.equals("ms/op")) throw new IllegalArgumentException("BpttBench unit " + unit + ", expected ms/op");
                String key = params.get("config") + "|" + params.get("kernels") + "|" + params.get("threads");
                bptt.computeIfAbsent(key, k -> new ArrayList<>()).add(score);
            } else if (bench.contains("KernelBench.")) {
                if (!unit.equals("ns/op")) throw new IllegalArgumentException("KernelBench unit " + unit + ", expected ns/op");
                String method = bench.substring(bench.lastIndexOf('.') + 1);
                String key = method + "|" + params.get("size") + "|" + params.get("kernels");
                kernel.computeIfAbsent(key, k -> new ArrayList<>()).add(score);
            }
        }
    }

    private static void readPeer(Map<String, Object> root, Map<String, List<Double>> peer) {
        int threads = ((Number) obj(root.get("meta")).get("threads")).intValue();
        for (Object o : arr(root.get("results"))) {
            Map<String, Object> r = obj(o);
            int h = ((Number) r.get("H")).intValue(), b = ((Number) r.get("B")).intValue();
            int t = ((Number) r.get("T")).intValue();
            String act = (String) r.get("act");
            for (PeerConfigs c : PeerConfigs.ALL) {
                if (c.hidden() == h && c.batch() == b && c.steps() == t && c.activation().equals(act)) {
                    peer.computeIfAbsent(c.index() + "|" + threads, k -> new ArrayList<>()).add(((Number) r.get("steps_per_s")).doubleValue());
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> obj(Object o) { return (Map<String, Object>) o; }

    @SuppressWarnings("unchecked")
    private static List<Object> arr(Object o) { return (List<Object>) o; }

    static double median(List<Double> v) {
        double[] a = v.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        int n = a.length;
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2;
    }

    private static String bpttTable(Map<String, List<Double>> bptt, Map<String, List<Double>> peer,
                                    double peak1, double peak2) {
        StringBuilder b = new StringBuilder();
        b.append("| # | H | B | T | act | threads | scalar steps/s | vector steps/s | vector/scalar | vector GFLOP/s "
                + "| % sgemm peak | vector 2thr/1thr | peer steps/s | recur/peer | rounds |\n");
        b.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (PeerConfigs c : PeerConfigs.ALL) {
            for (int threads = 1; threads <= 2; threads++) {
                List<Double> s = bptt.get(c.index() + "|scalar|" + threads);
                List<Double> v = bptt.get(c.index() + "|vector|" + threads);
                if (s == null && v == null) continue;
                double sRate = s == null ? Double.NaN : stepsPerSecond(c, "scalar", median(s));
                double vRate = v == null ? Double.NaN : stepsPerSecond(c, "vector", median(v));
                double gflops = vRate * c.flops(1) / c.batch() / 1e9;
                double peak = threads == 1 ? peak1 : peak2;
                List<Double> v1 = bptt.get(c.index() + "|vector|1");
                String scaling = threads == 2 && v1 != null && v != null
                        ? fmt(vRate / stepsPerSecond(c, "vector", median(v1)), 2) + "x" : "";
                List<Double> p = peer.get(c.index() + "|" + threads);
                double peerRate = p != null ? median(p) : threads == 1 ? c.peer1() : c.peer2();
                String peerCell = fmt(peerRate, 0) + (p != null ? " (beside, " + p.size() + ")" : " (CONFIGS.md)");
                int rounds = Math.max(s == null ? 0 : s.size(), v == null ? 0 : v.size());
                b.append(String.format(Locale.ROOT, "| %d | %d | %d | %d | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %d |%n",
                        c.index(), c.hidden(), c.batch(), c.steps(), c.activation(), threads,
                        fmt(sRate, 0), fmt(vRate, 0), fmt(vRate / sRate, 1) + "x", fmt(gflops, 1),
                        fmt(100 * gflops / peak, 0) + "%", scaling, peerCell, fmt(vRate / peerRate, 2) + "x", rounds));
            }
        }
        b.append(String.format(Locale.ROOT, "%nsteps/s = B*T per second (median over rounds); GFLOP/s = steps/s * (6H^2 + 6HI + 6HO) "
                + "(the peers' convention, which counts dL/dx that a loss-headed run does not compute); sgemm peak %.0f GFLOP/s "
                + "on 1 thread, %.0f on 2 (../shared/peers/RESULTS.md).%n%n", peak1, peak2));
        return b.toString();
    }

    private static double stepsPerSecond(PeerConfigs c, String kernels, double msPerOp) {
        return c.batch() * (double) c.stepsFor(kernels) / (msPerOp / 1e3);
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

    private static String fmt(double v, int digits) {
        if (Double.isNaN(v)) return "-";
        return digits == 0 ? String.format(Locale.ROOT, "%,.0f", v) : String.format(Locale.ROOT, "%." + digits + "f", v);
    }

}
