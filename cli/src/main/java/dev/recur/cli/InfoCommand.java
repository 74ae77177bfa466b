package dev.recur.cli;

import dev.recur.io.Json;
import dev.recur.kernel.KernelsLookup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** {@code recur info}: what this JVM and CPU offer, and which kernels recur picks and why. */
@Command(name = "info",
        header = "JDK, vector species and lanes, CPU features, and the kernels chosen and why.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {"Show the JDK, the Vector API's preferred species and lanes, the CPU features seen, and "
                + "which kernels recur chooses and why. With --model: describe that model instead (cell, layers, "
                + "directions, sizes, every parameter block and what its meta says).", ""},
        footerHeading = "%nExamples:%n",
        footer = {"  recur info", "  recur info --json", "  recur info --model rnn.npz"})
final class InfoCommand extends BaseCommand {

    /** CPU flags that matter for the Vector API, in the order printed. */
    static final List<String> FLAGS = List.of("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw",
            "avx512vl", "avx512_fp16", "amx_tile", "asimd", "sve", "sve2");

    @Option(names = "--json", description = "Print one JSON object on stdout.")
    boolean json;

    @Option(names = "--model", paramLabel = "MODEL.npz", description = "Describe this model file.")
    Path model;

    @Override
    int execute() {
        if (model != null) return describeModel();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("recur", Main.version());
        r.put("jdk", Runtime.version().toString());
        r.put("vm", System.getProperty("java.vm.name") + " (" + System.getProperty("java.vm.vendor") + ")");
        r.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"));
        r.put("cores", Runtime.getRuntime().availableProcessors());
        r.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        String cpu = cpuModel();
        r.put("cpu", cpu);
        Set<String> flags = cpuFlags();
        List<String> seen = new ArrayList<>();
        for (String f : FLAGS) if (flags.contains(f)) seen.add(f);
        r.put("cpu_features", seen);
        boolean vectorModule = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
        r.put("vector_module", vectorModule);
        if (vectorModule) {
            r.putAll(VectorProbe.describe());
        }
        List<String> jvmFlags = new ArrayList<>();
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("-XX:UseAVX") || a.startsWith("-XX:MaxVectorSize") || a.startsWith("-Xint")
                    || a.startsWith("-XX:TieredStopAtLevel") || a.startsWith("-Xmx") || a.startsWith("--add-modules")
                    || a.startsWith("-Drecur.")) jvmFlags.add(a);
        }
        r.put("jvm_flags", jvmFlags);
        String prop = System.getProperty(KernelsLookup.PROPERTY);
        r.put("kernels_property", prop);
        String reason = KernelsLookup.reason();
        r.put("kernels_auto", reason.startsWith("vector") ? "vector" : "scalar");
        r.put("kernels_reason", reason);
        String forced = null;
        try {
            forced = KernelsLookup.get().name();
        } catch (RuntimeException e) {
            forced = "error: " + e.getMessage();
        }
        r.put("kernels_default", forced);
        r.put("threads_in_engine", Engines.threadsSupported());

        if (json) {
            out().println(Json.write(r));
            return Main.EXIT_OK;
        }
        var o = out();
        o.printf("recur       %s%n", r.get("recur"));
        o.printf("JDK         %s, %s%n", r.get("jdk"), r.get("vm"));
        o.printf("OS          %s, %d cores, max heap %d MiB%n", r.get("os"), (Integer) r.get("cores"),
                Runtime.getRuntime().maxMemory() >> 20);
        o.printf("CPU         %s%n", cpu == null ? "(unknown: no /proc/cpuinfo)" : cpu);
        o.printf("features    %s%n", seen.isEmpty() ? (flags.isEmpty() ? "(unknown)" : "none of " + FLAGS) : String.join(" ", seen));
        if (vectorModule) {
            o.printf("vector      %s: %s float lanes (%s bits), %s double lanes%n", r.get("vector_species"),
                    r.get("float_lanes"), r.get("vector_bits"), r.get("double_lanes"));
        } else {
            o.printf("vector      jdk.incubator.vector is not loaded (start java with --add-modules jdk.incubator.vector)%n");
        }
        if (!jvmFlags.isEmpty()) o.printf("JVM flags   %s%n", String.join(" ", jvmFlags));
        o.printf("kernels     auto picks %s%n", reason);
        if (prop != null) o.printf("            -D%s=%s makes the default %s%n", KernelsLookup.PROPERTY, prop, forced);
        o.printf("threads     %s%n", Engines.threadsSupported() ? "engines can use several threads (--threads N)"
                : "this core runs one thread per engine (--threads is accepted, runs 1)");
        return Main.EXIT_OK;
    }

    static String cpuModel() {
        for (String line : cpuinfo()) {
            if (line.startsWith("model name") || line.startsWith("Model") || line.startsWith("Hardware")) {
                int c = line.indexOf(':');
                if (c > 0) return line.substring(c + 1).strip();
            }
        }
        return null;
    }

    static Set<String> cpuFlags() {
        Set<String> s = new TreeSet<>();
        for (String line : cpuinfo()) {
            String l = line.toLowerCase(Locale.ROOT);
            if (l.startsWith("flags") || l.startsWith("features")) {
                int c = l.indexOf(':');
                if (c > 0) for (String f : l.substring(c + 1).trim().split("\\s+")) s.add(f);
                break;
            }
        }
        return s;
    }

    /** The model's network, blocks and meta. */
    private int describeModel() {
        dev.recur.io.ModelFile.Model m = ModelOptions.load("--model", model);
        dev.recur.Shape s = m.shape();
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("model", model.toString());
        r.put("format", s.isNativeModel() ? "recur single-layer (U, W, b, V, c)" : "PyTorch state_dict names (+ V, c)");
        r.put("cell", s.cell().id());
        r.put("layers", s.layers());
        r.put("directions", s.directions());
        r.put("input", s.input());
        r.put("hidden", s.hidden());
        r.put("output", s.output());
        r.put("biases", s.biases());
        r.put("parameters", s.size());
        List<Map<String, Object>> blocks = new ArrayList<>();
        for (dev.recur.Shape.Block b : s.blocks()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", b.name());
            e.put("shape", java.util.Arrays.stream(b.dims()).boxed().toList());
            e.put("norm", m.params().l2Norm(b.name()));
            blocks.add(e);
        }
        r.put("blocks", blocks);
        for (String k : List.of("activation", "loss", "step")) if (m.meta().containsKey(k)) r.put(k, m.meta().get(k));
        Object v = m.meta().get("vocabulary");
        if (v instanceof String voc) r.put("vocabulary_size", voc.codePointCount(0, voc.length()));
        r.put("extra_arrays", new ArrayList<>(m.extra().keySet()));
        if (json) {
            out().println(Json.write(r));
            return Main.EXIT_OK;
        }
        var o = out();
        o.printf("model       %s (%s)%n", model, r.get("format"));
        o.printf(Locale.ROOT, "network     %d layer%s x %s%s, input %d, hidden %d, output %s, %s%n", s.layers(),
                s.layers() == 1 ? "" : "s", s.bidirectional() ? "bidirectional " : "", s.cell().id() + (s.cell() == dev.recur.Cell.ELMAN
                        && m.meta().containsKey("activation") ? " (" + m.meta().get("activation") + ")" : ""),
                s.input(), s.hidden(), s.hasHead() ? Integer.toString(s.output()) : "none (no head)",
                s.biases() == 0 ? "no biases" : s.biases() == 1 ? "one bias per layer" : "bias_ih and bias_hh");
        for (int l = 0; l < s.layers(); l++) {
            o.printf(Locale.ROOT, "  layer %d   reads %d features (%s), %s%n", l, s.layerInput(l),
                    l == 0 ? "the input" : "layer " + (l - 1) + "'s " + (s.bidirectional() ? "forward then reverse states" : "states"),
                    s.bidirectional() ? "forward and reverse directions" : "forward direction");
        }
        o.printf(Locale.ROOT, "parameters  %,d floats%n", s.size());
        int w = 4;
        for (dev.recur.Shape.Block b : s.blocks()) w = Math.max(w, b.name().length());
        for (Map<String, Object> b : blocks) {
            o.printf(Locale.ROOT, "  %-" + w + "s %-14s norm %.4g%n", b.get("name"), b.get("shape"), (Double) b.get("norm"));
        }
        for (String k : List.of("loss", "step", "vocabulary_size")) if (r.containsKey(k)) o.printf("%-11s %s%n", k.replace('_', ' '), r.get(k));
        if (!m.extra().isEmpty()) o.printf("extras      %s%n", String.join(", ", m.extra().keySet()));
        return Main.EXIT_OK;
    }

    private static List<String> cpuinfo() {
        try {
            Path p = Path.of("/proc/cpuinfo");
            if (!Files.isReadable(p)) return List.of();
            List<String> lines = new ArrayList<>();
            for (String l : Files.readAllLines(p)) {
                if (l.isBlank()) break; // the first processor is enough
                lines.add(l);
            }
            return lines;
        } catch (IOException | RuntimeException e) {
            return List.of();
        }
    }
}
