package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Workspace;
import dev.recur.gradflow.GradientFlow;
import dev.recur.gradflow.Setup;
import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.KernelsLookup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GradflowCommandTest {

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = GradflowCommand.newCommandLine();
        StringWriter o = new StringWriter(), e = new StringWriter();
        cl.setOut(new PrintWriter(o, true));
        cl.setErr(new PrintWriter(e, true));
        int code = cl.execute(args);
        return new Run(code, o.toString(), e.toString());
    }

    /** Plain picocli, as a parent command would register it, without this class's handler. */
    static Run runPlain(String... args) {
        CommandLine cl = new CommandLine(new GradflowCommand());
        StringWriter o = new StringWriter(), e = new StringWriter();
        cl.setOut(new PrintWriter(o, true));
        cl.setErr(new PrintWriter(e, true));
        return new Run(cl.execute(args), o.toString(), e.toString());
    }

    static List<String[]> rows(Path csv) throws Exception {
        List<String> lines = Files.readAllLines(csv);
        List<String[]> r = new ArrayList<>();
        for (String l : lines.subList(1, lines.size())) r.add(l.split(","));
        return r;
    }

    @Test
    void writesCsvsAndPlotsThatMatchTheEngine(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("new/sub");
        Run r = runPlain("--steps", "20", "--hidden", "16", "--input", "4", "--classes", "5", "--scale", "1.3",
                "--seed", "3", "--kernels", "scalar", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        for (String f : List.of("gradflow.csv", "derivatives.csv", "gradflow.svg", "gradflow.png", "derivatives.svg",
                "derivatives.png")) {
            assertTrue(Files.size(out.resolve(f)) > 100, f);
        }
        List<String> lines = Files.readAllLines(out.resolve("gradflow.csv"));
        assertTrue(lines.get(0).startsWith("activation,lag,grad_norm"), lines.get(0));
        assertEquals(1 + 3 * 20, lines.size());

        // the same case through the API, and through one full backward of the engine
        Setup s = new Setup(4, 16, 5, 20, 1.3, false, 3);
        List<String[]> rows = rows(out.resolve("gradflow.csv"));
        List<Activation> order = List.of(Activation.SIGMOID, Activation.TANH, Activation.RELU);
        int H = 16, T = 20;
        for (int a = 0; a < 3; a++) {
            Activation act = order.get(a);
            GradientFlow.Flow f = s.run(List.of(act), KernelChoice.SCALAR).get(0);
            for (int k = 0; k < T; k++) {
                String[] row = rows.get(a * T + k);
                assertEquals(act.id(), row[0]);
                assertEquals(k, Integer.parseInt(row[1]));
                double g = Double.parseDouble(row[2]);
                assertEquals(f.gradNorm(k), g, 1e-8 * g, act + " lag " + k);
                assertEquals(f.factorNorm()[k], Double.parseDouble(row[3]), 1e-8 * f.factorNorm()[k] + 1e-300);
            }
            // engine: forward all T steps, then a full backward from h_1 over steps 2..T with
            // dL_T/dh_T on its last row: the dh0 it returns is dL_T/dh_1, the CSV's lag T-1
            Params p = s.params();
            float[] x = s.inputs();
            Rnn rnn = Rnn.builder(s.shape()).activation(act).kernels(KernelChoice.SCALAR).build();
            Workspace ws = rnn.trainingWorkspace(1, T);
            rnn.forward(p, ws, new dev.recur.Batch(1, T).input(x));
            float[] h1 = ws.stateAt(1, new float[H], 0);
            Workspace w2 = rnn.trainingWorkspace(1, T - 1);
            rnn.forward(p, w2, new dev.recur.Batch(1, T - 1).input(x, 4).initialState(h1));
            float[] dH = new float[(T - 1) * H];
            System.arraycopy(f.dLdh(), T * H, dH, (T - 2) * H, H);
            float[] dh = new float[H];
            rnn.backward(p, w2, Grads.zeros(s.shape()), new dev.recur.Backprop().outputGradient(dH, 0).initialStateGradient(dh, 0));
            double n = 0;
            for (float v : dh) n += (double) v * v;
            n = Math.sqrt(n);
            double csv = Double.parseDouble(rows.get(a * T + T - 1)[2]);
            assertEquals(n, csv, 1e-5 * n, act + ": engine dL_T/dh_1 vs CSV lag T-1");
        }

        List<String> d = Files.readAllLines(out.resolve("derivatives.csv"));
        assertEquals("activation,a,value,derivative", d.get(0));
        assertEquals(1 + 3 * 241, d.size());
        assertTrue(d.contains("sigmoid,0,0.5,0.25"), "sigmoid at 0");

        // the plots: well-formed PNG and SVG, with every activation's curve drawn in its colour
        for (String fig : List.of("gradflow", "derivatives")) {
            BufferedImage png = png(out.resolve(fig + ".png"));
            assertTrue(png.getWidth() >= 1400 && png.getHeight() >= 600, fig + " " + png.getWidth() + "x" + png.getHeight());
            String svg = svg(out.resolve(fig + ".svg"));
            for (Activation act : order) {
                // more than a legend swatch: the curves' pixels, and one SVG stroke per segment
                assertTrue(pixels(png, GradflowCommand.color(act)) > 1000, fig + ": " + act + " pixels");
                assertTrue(strokes(svg, GradflowCommand.color(act)) >= T - 1, fig + ": " + act + " strokes");
            }
        }
        assertTrue(svg(out.resolve("gradflow.svg")).contains("<title>Vanishing and exploding gradients"));

        // the table: one row per activation, with a rate
        assertTrue(r.out().contains("rate/step"), r.out());
        for (Activation act : order) assertTrue(r.out().lines().anyMatch(l -> l.startsWith(act.id() + " ")), act.id());
        assertTrue(r.err().contains("wrote"), r.err());

        // --name renames the gradient files only
        Run named = runPlain("--steps", "5", "--hidden", "4", "--name", "gf-2", "--out", out.toString());
        assertEquals(0, named.code(), named.err());
        for (String f : List.of("gf-2.csv", "gf-2.svg", "gf-2.png")) assertTrue(Files.exists(out.resolve(f)), f);
    }

    @Test
    void explodingReluIsTamedByClipping(@TempDir Path dir) throws Exception {
        Run r = run("--activations", "relu,tanh", "--steps", "40", "--hidden", "24", "--scale", "1.5", "--nonneg",
                "--clip", "2.5", "--seed", "2", "--kernels", "scalar", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        String relu = r.out().lines().filter(l -> l.startsWith("relu ")).findFirst().orElseThrow();
        assertTrue(relu.contains("exploding"), relu);
        assertTrue(relu.contains("above 1e6 at"), relu);
        String[] f = relu.trim().split("\\s+");
        double before = Double.parseDouble(f[f.length - 2]), after = Double.parseDouble(f[f.length - 1]);
        assertTrue(before > 1e3, relu);
        assertEquals(2.5, after, 1e-3);
        // order follows --activations; the clipped column is grad_norm scaled by 2.5 / ||g||
        List<String[]> rows = rows(dir.resolve("gradflow.csv"));
        assertEquals("relu", rows.get(0)[0]);
        assertEquals("tanh", rows.get(40)[0]);
        double g0 = Double.parseDouble(rows.get(0)[2]), c0 = Double.parseDouble(rows.get(0)[5]);
        assertEquals(g0 * 2.5 / before, c0, 1e-3 * c0);
        // growth: the last lag is far above the first
        assertTrue(Double.parseDouble(rows.get(39)[2]) > 1e6 * g0);
        assertFalse(r.err().contains("warning"), r.err());
        // the clipped relu curve is one dashed path in relu's colour (and the legend's dashed swatch)
        String svg = svg(dir.resolve("gradflow.svg"));
        Color green = GradflowCommand.color(Activation.RELU);
        String dashed = "stroke:rgb(" + green.getRed() + "," + green.getGreen() + "," + green.getBlue() + ");";
        long paths = svg.lines().filter(l -> l.contains("<path") && l.contains(dashed) && l.contains("stroke-dasharray"))
                .filter(l -> l.split(" L").length >= 39).count();
        assertEquals(1, paths, "one dashed path through the 40 lags of the clipped curve");
    }

    /** Reads a PNG: the file starts with the PNG signature and decodes. */
    static BufferedImage png(Path p) throws Exception {
        byte[] b = Files.readAllBytes(p);
        byte[] signature = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
        assertArrayEquals(signature, java.util.Arrays.copyOf(b, 8), p + ": PNG signature");
        BufferedImage img = ImageIO.read(p.toFile());
        assertNotNull(img, p.toString());
        return img;
    }

    /** Reads an SVG: it parses as XML (without fetching its DTD) with an svg root element. */
    static String svg(Path p) throws Exception {
        var f = DocumentBuilderFactory.newInstance();
        f.setFeature("http://apache.org/xml/features/nonvalidating/load-external-dtd", false);
        var doc = f.newDocumentBuilder().parse(p.toFile());
        assertEquals("svg", doc.getDocumentElement().getTagName(), p.toString());
        return Files.readString(p);
    }

    static long pixels(BufferedImage img, Color c) {
        long n = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) if ((img.getRGB(x, y) & 0xffffff) == (c.getRGB() & 0xffffff)) n++;
        }
        return n;
    }

    static long strokes(String svg, Color c) {
        String s = "stroke:rgb(" + c.getRed() + "," + c.getGreen() + "," + c.getBlue() + ");";
        return svg.lines().filter(l -> l.contains(s)).count();
    }

    @Test
    void aSaturatedLastStepIsReportedNotHidden(@TempDir Path dir) {
        // relu states explode forward; with this seed the target is the softmax's argmax, so
        // dL_T/dh_T is exactly 0 in double: the run says so instead of printing a silent zero
        Run r = run("--activations", "relu", "--steps", "30", "--hidden", "24", "--scale", "1.5", "--nonneg",
                "--seed", "1", "--kernels", "scalar", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warning: relu: dL_T/dh_T = 0"), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("relu ") && l.contains("n/a")), r.out());
    }

    /** --cell lstm: the LSTM's curve beside the Elman cells, in the same CSV, equal to the API's measurement. */
    @Test
    void gatedCellBesideTheElmanCells(@TempDir Path dir) throws Exception {
        Run r = runPlain("--cell", "lstm", "--activations", "tanh", "--steps", "30", "--hidden", "12", "--input", "4",
                "--classes", "5", "--scale", "1.0", "--forget-bias", "3", "--gate-weights", "0.1", "--seed", "2",
                "--kernels", "scalar", "--out", dir.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().lines().anyMatch(l -> l.startsWith("lstm ")), r.out());
        List<String> lines = Files.readAllLines(dir.resolve("gradflow.csv"));
        assertTrue(lines.get(0).endsWith(",cell_grad_norm"), lines.get(0));
        assertEquals(1 + 2 * 30, lines.size());
        GradientFlow.Flow f = new Setup(4, 12, 5, 30, 1.0, false, 2).runGated(dev.recur.Cell.LSTM, 0.1, 3, KernelChoice.SCALAR);
        List<String[]> rows = rows(dir.resolve("gradflow.csv"));
        for (int k = 0; k < 30; k++) {
            String[] row = rows.get(30 + k);
            assertEquals("lstm", row[0]);
            assertEquals(f.gradNorm(k), Double.parseDouble(row[2]), 1e-8 * f.gradNorm(k));
            assertEquals(f.factorNorm()[k], Double.parseDouble(row[3]), 1e-8);
            assertEquals("", row[4], "no Elman step bound for a gated cell");
            if (k > 0) assertEquals(f.cellGradNorm()[k], Double.parseDouble(row[6]), 1e-8 * f.cellGradNorm()[k]);
            assertEquals("", rows.get(k).length > 6 ? rows.get(k)[6] : "", "tanh has no cell state");
        }
    }

    @Test
    void badArgumentsGiveOneLineAndExitTwo(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("afile"), "x");
        String[][] cases = {
                {"--steps", "1"}, {"--steps = 1", "expected an integer in [2, "},
                {"--hidden", "0"}, {"--hidden = 0"},
                {"--input", "-3"}, {"--input = -3"},
                {"--classes", "1"}, {"--classes = 1"},
                {"--scale", "-1"}, {"--scale = -1.0", "spectral radius > 0"},
                {"--scale", "NaN"}, {"--scale = NaN"},
                {"--scale", "Infinity"}, {"--scale = Infinity"},
                {"--clip", "0"}, {"--clip = 0.0", "> 0"},
                {"--activations", "sigmoid,swish"}, {"--activations = 'sigmoid,swish'", "'swish'", "sigmoid, tanh, relu"},
                {"--activations", "tanh,TANH"}, {"'tanh' appears twice"},
                {"--activations", ""}, {"--activations = ''"},
                {"--kernels", "gpu"}, {"--kernels = 'gpu'", "auto, scalar, vector"},
                {"--cell", "tree"}, {"--cell = 'tree'", "rnn, gru or lstm"},
                {"--cell", "lstm", "--forget-bias", "NaN"}, {"--forget-bias = NaN"},
                {"--cell", "gru", "--gate-weights", "-1"}, {"--gate-weights = -1.0", ">= 0"},
                {"--out", file.toString()}, {"--out = '" + file + "' is a file", "expected a directory"},
                {"--name", "../x"}, {"--name = '../x'", "base name"},
                {"--name", ""}, {"--name = ''"},
        };
        for (int i = 0; i < cases.length; i += 2) {
            String[] args = cases[i];
            for (Run r : List.of(run(args), runPlain(args))) {
                assertEquals(2, r.code(), String.join(" ", args) + " -> " + r.err());
                assertEquals(1, r.err().lines().count(), "one line: " + r.err());
                for (String part : cases[i + 1]) {
                    assertTrue(r.err().contains(part), "'" + r.err().strip() + "' lacks '" + part + "'");
                }
                assertTrue(r.out().isEmpty());
            }
        }
        // picocli's own conversion errors: one line with this class's handler
        Run r = run("--steps", "abc");
        assertEquals(2, r.code());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("--steps") && r.err().contains("abc"), r.err());
        assertEquals(2, run("--no-such-option").code());
        // nothing was written for any of them
        assertFalse(Files.exists(dir.resolve("gradflow.csv")));
    }

    @Test
    void runtimeErrorsGiveOneLineAndExitOne(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("afile"), "x");
        Run r = run("--steps", "5", "--hidden", "4", "--out", file.resolve("sub").toString());
        assertEquals(1, r.code(), r.err());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().contains("--out"), r.err());

        Run v = run("--steps", "5", "--hidden", "4", "--kernels", "vector", "--out", dir.resolve("v").toString());
        if (KernelsLookup.vectorUnavailableReason() != null) {
            assertEquals(1, v.code(), v.err());
            assertEquals(1, v.err().lines().count(), v.err());
            assertTrue(v.err().contains("vector"), v.err());
        } else {
            assertEquals(0, v.code(), v.err());
            assertTrue(v.out().contains("kernels vector"), v.out());
        }
    }

    @Test
    void helpWorks() {
        Run r = run("--help");
        assertEquals(0, r.code());
        assertTrue(r.out().contains("--activations") && r.out().contains("--scale") && r.out().contains("--out"), r.out());
    }
}
