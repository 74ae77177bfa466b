package dev.recur.bench;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The report joins recur and every peer's files by case id and threads, and tolerates gaps. */
class ReportTest {

    @TempDir
    Path dir;

    private Path write(String name, String text) throws IOException {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p;
    }

    private static String jmh(String bench, String params, double msPerOp) {
        return "{\"benchmark\": \"" + bench + "\", \"params\": {" + params + "}, \"primaryMetric\": {\"score\": "
                + msPerOp + ", \"scoreUnit\": \"ms/op\"}}";
    }

    private Report.Data readAll() throws IOException {
        Report.Data d = new Report.Data();
        d.skipped.clear();
        Path[] files = {
            write("recur-vector-r1.json", "[" + jmh("dev.recur.bench.BpttBench.sequence",
                    "\"config\": \"5\", \"kernels\": \"vector\", \"threads\": \"1\"", 500) + ", "
                    + jmh("dev.recur.bench.BpttBench.sequence", "\"config\": \"5\", \"kernels\": \"vector\", \"threads\": \"2\"", 250)
                    + "]"),
            write("torch-t1-r1.json", "{\"peer\": \"pytorch\", \"threads\": 1, \"versions\": {\"torch\": \"1.13.0a0\", "
                    + "\"debian_python3_torch\": \"1.13.1+dfsg-4\", \"openblas\": \"OpenBLAS 0.3.21 DYNAMIC_ARCH\", "
                    + "\"openblas_core\": \"Haswell\", \"python\": \"3.11.2\"}, \"results\": ["
                    + "{\"case\": \"5\", \"threads\": 1, \"steps_per_s\": 20000, \"lengths\": \"equal\"}, "
                    + "{\"case\": \"bi64\", \"threads\": 1, \"steps_per_s\": 3000, \"lengths\": \"packed\"}, "
                    + "{\"case\": \"nope\", \"threads\": 1, \"steps_per_s\": 1, \"lengths\": \"equal\"}]}"),
            write("onednn-t1-r1.jsonl", "{\"peer\": \"onednn\", \"case\": \"5\", \"threads\": 1, \"steps_per_s\": 50000, "
                    + "\"lengths\": \"equal\", \"versions\": {\"onednn\": \"2.6.3\", \"isa\": \"avx2\"}}\n"
                    + "{\"peer\": \"onednn\", \"case\": \"bi64\", \"threads\": 1, \"steps_per_s\": 9000, \"lengths\": \"full\", "
                    + "\"versions\": {\"onednn\": \"2.6.3\", \"isa\": \"avx2\"}}\n"),
            write("dl4j-r1.json", "[" + jmh("dev.recur.bench.dl4j.Dl4jBench.iteration", "\"caseId\": \"5\", \"threads\": \"1\"", 2000) + "]"),
            write("dl4j-info.json", "{\"peer\": \"dl4j\", \"kind\": \"info\", \"versions\": {\"deeplearning4j_nn\": "
                    + "\"deeplearning4j-nn-1.0.0-M2.1.jar\", \"openblas\": \"OpenBLAS 0.3.21 DYNAMIC_ARCH\"}}"),
        };
        for (Path f : files) Report.read(f, d);
        return d;
    }

    @Test
    void joinsByCaseAndThreads() throws IOException {
        Report.Data d = readAll();
        assertEquals(12_800 / 0.5, Report.median(d.get(new Report.Key("5", 1), Report.VECTOR)), 1e-9);
        assertEquals(12_800 / 2.0, Report.median(d.get(new Report.Key("5", 1), Report.DL4J)), 1e-9);
        assertTrue(d.skipped.contains("nope"));
        String table = Report.caseTable(d, Double.NaN, Double.NaN);
        // case 5, 1 thread: oneDNN is the best peer, recur/best = 25,600 / 50,000
        assertTrue(table.contains("| 5 | H=512 B=64 T=200 tanh | 1 | 25,600 |"), table);
        assertTrue(table.contains("| oneDNN | 0.51x |"), table);
        // bi64: recur has no result; oneDNN's full-length run is shown but is not the best peer
        assertTrue(table.contains("9,000 (full T)"), table);
        assertTrue(table.contains("3,000 (packed)"), table);
        assertTrue(table.contains("| PyTorch | - |"), table);
        // versions in the headers, 2 threads/1 thread for recur
        assertTrue(table.contains("PyTorch 1.13.1 + OpenBLAS 0.3.21 steps/s"), table);
        assertTrue(table.contains("DL4J 1.0.0-M2.1 + OpenBLAS 0.3.21 steps/s"), table);
        assertTrue(table.contains("| 2.00x |"), table);
    }

    @Test
    void writesBothChartFormats() throws IOException {
        Report.Data d = readAll();
        Path prefix = dir.resolve("charts/profile");
        ReportChart.write(prefix, d);
        byte[] png = Files.readAllBytes(Path.of(prefix + ".png"));
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
        String svg = Files.readString(Path.of(prefix + ".svg"));
        assertTrue(svg.startsWith("<?xml") && svg.contains("y=\"" + ReportChart.PANEL_HEIGHT + "\""), svg.substring(0, 300));
    }
}
