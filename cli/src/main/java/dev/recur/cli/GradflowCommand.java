package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Cell;
import dev.recur.gradflow.Derivatives;
import dev.recur.gradflow.GradientFlow;
import dev.recur.gradflow.RateFit;
import dev.recur.gradflow.Setup;
import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.KernelsLookup;
import dev.recur.cli.plot.Figure;
import dev.recur.cli.plot.Panel;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.awt.Color;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code recur gradflow}: the seed's vanishing/exploding-gradient argument, measured on exact BPTT
 * and plotted. For a seeded random model whose W is scaled to a spectral radius, and a seeded
 * input sequence, it measures ||dL_T/dh_t|| for every t (L_T: cross-entropy of the last step) and
 * the per-step factors ||W^T diag(act'(a_t))||, side by side for each activation; writes
 * gradflow.csv, derivatives.csv and their plots (SVG and PNG); prints the fitted rate per step,
 * the lag where the norm crosses 1e-6 (or 1e6) of its start, and global-norm clipping before/after.
 *
 * <p>Exit status: 0 on success, 2 for a bad argument (one line naming it), 1 for a runtime error.
 */
@Command(name = "gradflow", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
                "Measures how much of the last step's loss L_T reaches each earlier hidden state, ||dL_T/dh_t||, "
                        + "with the engine's exact BPTT, for sigmoid, tanh and relu on the same weights and inputs; "
                        + "writes gradflow.csv, derivatives.csv and plots (SVG and PNG) to --out, and prints the "
                        + "fitted decay/growth rate per step."},
        exitCodeListHeading = "%nExit status:%n",
        exitCodeList = {"0:done", "1:runtime error (I/O, kernels unavailable)", "2:bad argument"})
public final class GradflowCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--activations", defaultValue = "sigmoid,tanh,relu", paramLabel = "LIST",
            description = "Comma-separated activations, in plot order (default: ${DEFAULT-VALUE}).")
    String activations;

    @Option(names = "--cell", defaultValue = "rnn", paramLabel = "rnn|gru|lstm",
            description = "Cell: rnn (the Elman cells of --activations alone), or gru / lstm measured beside them on the "
                    + "same inputs, target and sizes (default: ${DEFAULT-VALUE}).")
    String cellOption;

    @Option(names = "--forget-bias", defaultValue = "3", paramLabel = "b",
            description = "Gated cells: the keep gate's bias, b_f of the LSTM's forget gate, b_z of the GRU's update gate "
                    + "(in b_ih; the other biases 0), so the gate sits near sigmoid(b) (default: ${DEFAULT-VALUE}).")
    double forgetBias;

    @Option(names = "--gate-weights", defaultValue = "0.1", paramLabel = "s",
            description = "Gated cells: W_ih and W_hh are PyTorch's uniform +-1/sqrt(H) times s; small s keeps every gate "
                    + "near its bias's value (default: ${DEFAULT-VALUE}).")
    double gateWeights;

    @Option(names = "--steps", defaultValue = "60", paramLabel = "T", description = "Sequence length T, >= 2 (default: ${DEFAULT-VALUE}).")
    int steps;

    @Option(names = "--hidden", defaultValue = "64", paramLabel = "H", description = "Hidden size H (default: ${DEFAULT-VALUE}).")
    int hidden;

    @Option(names = "--input", defaultValue = "10", paramLabel = "I", description = "Input size I (default: ${DEFAULT-VALUE}).")
    int input;

    @Option(names = "--classes", defaultValue = "10", paramLabel = "O",
            description = "Output classes of the last step's cross-entropy, >= 2 (default: ${DEFAULT-VALUE}).")
    int classes;

    @Option(names = "--scale", defaultValue = "1.5", paramLabel = "s",
            description = "Spectral radius W is scaled to, > 0 (default: ${DEFAULT-VALUE}).")
    double scale;

    @Option(names = "--nonneg", description = "Use |W| (W >= 0 elementwise) before scaling: relu then grows when s > 1.")
    boolean nonNegative;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "n", description = "Seed for weights, inputs and target (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--clip", defaultValue = "5", paramLabel = "c",
            description = "Max global norm for the clipping demonstration, > 0 (default: ${DEFAULT-VALUE}).")
    double clip;

    @Option(names = "--kernels", defaultValue = "auto", paramLabel = "K",
            description = "Kernel path: auto, scalar or vector (default: ${DEFAULT-VALUE}).")
    String kernels;

    @Option(names = "--out", defaultValue = "out/gradflow", paramLabel = "DIR",
            description = "Output directory, created if missing (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--name", defaultValue = "gradflow", paramLabel = "NAME",
            description = "Base name of the gradient files: NAME.csv, NAME.svg, NAME.png (default: ${DEFAULT-VALUE}).")
    String name;

    /** Largest T and H accepted (the computation is O(T H^2) per activation plus power iterations). */
    static final int MAX_STEPS = 100_000, MAX_HIDDEN = 2048, MAX_INPUT = 100_000, MAX_CLASSES = 100_000;

    /** Standalone entry point (until the command is registered under {@code recur}). */
    public static void main(String[] args) {
        System.exit(newCommandLine().execute(args));
    }

    /** A command line for this command alone, with one-line parse errors (exit 2). */
    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new GradflowCommand());
        cl.setParameterExceptionHandler((ex, args) -> {
            ex.getCommandLine().getErr().println("recur gradflow: " + ex.getMessage()
                    + " (see recur gradflow --help)");
            return 2;
        });
        return cl;
    }

    @Override
    public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        PrintWriter outw = spec.commandLine().getOut();
        try {
            List<Activation> acts = parseActivations(activations);
            KernelChoice kc = parseKernels(kernels);
            Cell cell = ModelOptions.parseCell(cellOption);
            validate();
            run(acts, cell, kc, outw, err);
            return 0;
        } catch (CliException e) {
            err.println("recur gradflow: " + e.getMessage());
            err.flush();
            return e.exitCode();
        } catch (IOException | UncheckedIOException e) {
            err.println("recur gradflow: cannot write to --out " + out + ": " + e.getMessage());
            err.flush();
            return 1;
        } catch (RuntimeException e) {
            err.println("recur gradflow: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            err.flush();
            return 1;
        }
    }

    static List<Activation> parseActivations(String list) {
        if (list == null || list.isBlank()) {
            throw CliException.usage("--activations = '" + list + "', expected a comma-separated list of sigmoid, tanh, relu");
        }
        LinkedHashSet<Activation> set = new LinkedHashSet<>();
        for (String part : list.split(",", -1)) {
            Activation a;
            try {
                a = Activation.parse(part);
            } catch (IllegalArgumentException e) {
                throw CliException.usage("--activations = '" + list + "': '" + part.trim()
                        + "' is not an activation, expected a comma-separated list of sigmoid, tanh, relu");
            }
            if (!set.add(a)) throw CliException.usage("--activations = '" + list + "': '" + a.id() + "' appears twice, expected each at most once");
        }
        return List.copyOf(set);
    }

    static KernelChoice parseKernels(String k) {
        try {
            return KernelChoice.parse(k);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--kernels = '" + k + "', expected one of auto, scalar, vector");
        }
    }

    private void validate() {
        range("--steps", steps, 2, MAX_STEPS);
        range("--hidden", hidden, 1, MAX_HIDDEN);
        range("--input", input, 1, MAX_INPUT);
        range("--classes", classes, 2, MAX_CLASSES);
        if (!(scale > 0) || !Double.isFinite(scale)) {
            throw CliException.usage("--scale = " + scale + ", expected a finite spectral radius > 0");
        }
        if (!(clip > 0) || !Double.isFinite(clip)) throw CliException.usage("--clip = " + clip + ", expected a finite norm > 0");
        if (!Double.isFinite(forgetBias) || Math.abs(forgetBias) > 50) {
            throw CliException.usage("--forget-bias = " + forgetBias + ", expected a finite bias in [-50, 50]");
        }
        if (!(gateWeights >= 0) || !Double.isFinite(gateWeights)) {
            throw CliException.usage("--gate-weights = " + gateWeights + ", expected a finite scale >= 0");
        }
        if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,99}")) {
            throw CliException.usage("--name = '" + name + "', expected a file base name of letters, digits, '.', '_', '-'");
        }
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw CliException.usage("--out = '" + out + "' is a file, expected a directory (it is created if missing)");
        }
    }

    private static void range(String name, int v, int lo, int hi) {
        if (v < lo || v > hi) throw CliException.usage(name + " = " + v + ", expected an integer in [" + lo + ", " + hi + "]");
    }

    /** Colour-blind-safe (Okabe-Ito) colours, one per activation, the same in every plot. */
    static Color color(Activation a) {
        return switch (a) {
            case SIGMOID -> new Color(0, 114, 178);
            case TANH -> new Color(213, 94, 0);
            case RELU -> new Color(0, 158, 115);
        };
    }

    /** A curve's colour: its activation's for the Elman cell, Okabe-Ito's purple (LSTM) and yellow-brown (GRU). */
    static Color color(GradientFlow.Flow f) {
        return switch (f.cell()) {
            case ELMAN -> color(f.activation());
            case LSTM -> new Color(204, 121, 167);
            case GRU -> new Color(176, 141, 0);
        };
    }

    private static final Color GREY = new Color(110, 110, 110);

    private void run(List<Activation> acts, Cell cell, KernelChoice kc, PrintWriter outw, PrintWriter err) throws IOException {
        String kernelName = KernelsLookup.resolve(kc).name();   // throws with the reason if vector cannot run
        Setup setup = new Setup(input, hidden, classes, steps, scale, nonNegative, seed);
        List<GradientFlow.Flow> flows = new ArrayList<>(setup.run(acts, kc));
        double wNorm = flows.get(0).wNorm();
        if (cell != Cell.ELMAN) flows.add(setup.runGated(cell, gateWeights, forgetBias, kc));

        Files.createDirectories(out);
        writeGradflowCsv(out.resolve(name + ".csv"), flows);
        List<Derivatives.Curve> curves = new ArrayList<>();
        for (Activation a : acts) curves.add(Derivatives.sample(a, -6, 6, 241));
        writeDerivativesCsv(out.resolve("derivatives.csv"), curves);
        Figure gf = gradflowFigure(flows, wNorm);
        gf.writeSvg(out.resolve(name + ".svg"));
        gf.writePng(out.resolve(name + ".png"));
        Figure df = derivativesFigure(curves);
        df.writeSvg(out.resolve("derivatives.svg"));
        df.writePng(out.resolve("derivatives.png"));

        // the table
        outw.printf(Locale.ROOT, "gradflow: T=%d H=%d I=%d classes=%d, W %s scaled to spectral radius %s (||W||_2 = %.4g), "
                        + "seed %d, kernels %s%n", steps, hidden, input, classes,
                nonNegative ? "= |uniform|" : "uniform +-1/sqrt(H)", fmt(scale), wNorm, seed, kernelName);
        if (cell != Cell.ELMAN) {
            outw.printf(Locale.ROOT, "%s: W_ih, W_hh uniform +-1/sqrt(H) times %s, keep-gate bias %s in b_ih (%s), "
                            + "sigmoid(%s) = %.4f%n", cell.id(), fmt(gateWeights), fmt(forgetBias),
                    cell == Cell.LSTM ? "forget gate f" : "update gate z", fmt(forgetBias), 1 / (1 + Math.exp(-forgetBias)));
        }
        outw.printf(Locale.ROOT, "%-9s %11s %-10s %-24s %11s %11s %12s %12s%n", "curve", "rate/step", "regime",
                "lag crossing 1e-6 / 1e6", "max factor", "step bound", "||g|| before", "after clip " + fmt(clip));
        for (GradientFlow.Flow f : flows) {
            RateFit r = f.cellFit() != null ? f.cellFit() : f.fit();
            GradientFlow.Clip c = f.clip(clip);
            double maxFactor = 0;
            for (double v : f.factorNorm()) if (v > maxFactor) maxFactor = v;
            outw.printf(Locale.ROOT, "%-9s %11s %-10s %-24s %11.4g %11s %12.4g %12.4g%n", f.label(),
                    Double.isNaN(r.ratePerStep()) ? "n/a" : String.format(Locale.ROOT, "%.4f", r.ratePerStep()),
                    r.regime(), crossing(r, steps), maxFactor,
                    Double.isNaN(f.stepBound()) ? "keep gate" : String.format(Locale.ROOT, "%.4g", f.stepBound()),
                    c.before(), c.after());
        }
        outw.println("rate/step: exp(slope) of a least-squares fit of ln ||dL_T/dh_t|| on lag T-t (lstm: of "
                + "||dL_T/dc_t||, the cell-state path); step bound: sup act' * ||W|| (0.25 ||W|| for sigmoid); the gated "
                + "cells' factor is their mean keep gate per step; clip: global norm of dL_T/dtheta.");
        for (GradientFlow.Flow f : flows) {
            if (steps > 100) {
                outw.printf(Locale.ROOT, "%s: ||dL_T/dh|| at lag 100 / lag 0 = %.3g%s%n", f.label(), f.gradNorm(100) / f.gradNorm(0),
                        f.cellGradNorm() != null ? String.format(Locale.ROOT, "; ||dL_T/dc|| at lag 100 / lag 1 = %.3g",
                                f.cellGradNorm()[100] / f.cellGradNorm()[1]) : "");
            }
        }
        outw.flush();
        for (GradientFlow.Flow f : flows) {
            if (f.gradNorm(0) == 0) {
                err.printf(Locale.ROOT, "recur gradflow: warning: %s: dL_T/dh_T = 0 (the last step's softmax is saturated "
                        + "on the target, L_T = %.3g), so nothing flows back: try another --seed or a smaller --scale%n",
                        f.label(), f.loss());
            }
            if (f.firstNonFiniteStep() >= 0) {
                err.printf(Locale.ROOT, "recur gradflow: warning: %s: the forward state h_%d is not finite in float "
                                + "(it overflowed); lags >= %d are not measurable: lower --steps or --scale%n",
                        f.label(), f.firstNonFiniteStep(), steps - f.firstNonFiniteStep());
            }
        }
        err.println("recur gradflow: wrote " + name + ".csv, " + name + ".svg, " + name + ".png, derivatives.csv, "
                + "derivatives.svg, derivatives.png in " + out);
        err.flush();
    }

    static String crossing(RateFit r, int steps) {
        if (r.crossingLag() >= 0) return (r.growing() ? "above 1e6 at " : "below 1e-6 at ") + r.crossingLag();
        if (Double.isNaN(r.extrapolatedLag())) return "none";
        return String.format(Locale.ROOT, "~%.0f (fit, %s)", r.extrapolatedLag(), r.slope() > 0 ? "1e6" : "1e-6");
    }

    static String fmt(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) return Long.toString((long) v);
        return trim(String.format(Locale.ROOT, "%.6g", v));
    }

    private static String num(double v) {
        if (!Double.isFinite(v)) return Double.toString(v);
        return trim(String.format(Locale.ROOT, "%.9g", v));
    }

    /** Strips trailing zeros of a %g mantissa: 1.50000 -> 1.5, 2.00000e-07 -> 2e-07. */
    static String trim(String s) {
        int e = s.indexOf('e');
        String mant = e < 0 ? s : s.substring(0, e), exp = e < 0 ? "" : s.substring(e);
        if (mant.indexOf('.') >= 0) mant = mant.replaceAll("0+$", "").replaceAll("\\.$", "");
        return mant + exp;
    }

    private void writeGradflowCsv(Path p, List<GradientFlow.Flow> flows) throws IOException {
        StringBuilder sb = new StringBuilder("activation,lag,grad_norm,factor_norm,step_bound,clipped_grad_norm,cell_grad_norm\n");
        for (GradientFlow.Flow f : flows) {
            double s = f.clip(clip).scale();
            for (int k = 0; k < f.steps(); k++) {
                sb.append(f.label()).append(',').append(k).append(',').append(num(f.gradNorm(k))).append(',')
                        .append(num(f.factorNorm()[k])).append(',').append(Double.isNaN(f.stepBound()) ? "" : num(f.stepBound()))
                        .append(',').append(num(f.gradNorm(k) * s)).append(',')
                        .append(f.cellGradNorm() != null ? num(f.cellGradNorm()[k]) : "").append('\n');
            }
        }
        Files.writeString(p, sb, StandardCharsets.UTF_8);
    }

    private static void writeDerivativesCsv(Path p, List<Derivatives.Curve> curves) throws IOException {
        StringBuilder sb = new StringBuilder("activation,a,value,derivative\n");
        for (Derivatives.Curve c : curves) {
            for (int k = 0; k < c.a().length; k++) {
                sb.append(c.activation().id()).append(',').append(num(c.a()[k])).append(',').append(num(c.value()[k]))
                        .append(',').append(num(c.derivative()[k])).append('\n');
            }
        }
        Files.writeString(p, sb, StandardCharsets.UTF_8);
    }

    private Figure gradflowFigure(List<GradientFlow.Flow> flows, double wNorm) {
        Panel g = new Panel("(a) gradient reaching h_t from the last step's loss",
                "lag T \u2212 t (steps back from the last step)", "||dL_T / dh_t||   (log scale)", true);
        boolean gated = flows.stream().anyMatch(f -> f.cell() != Cell.ELMAN);
        Panel fac = new Panel(gated ? "(b) per-step factor: ||W^T diag(act'(a_t))||; gated: mean keep gate"
                : "(b) per-step factor: spectral norm of W^T diag(act'(a_t))",
                "lag T \u2212 t", "||W^T diag(act'(a_t))||", false);
        double[] lags = new double[steps];
        for (int k = 0; k < steps; k++) lags[k] = k;
        for (GradientFlow.Flow f : flows) {
            double[] y = java.util.Arrays.copyOf(f.gradNorm(), steps);
            RateFit r = f.fit();
            String rate = Double.isNaN(r.ratePerStep()) ? "n/a" : String.format(Locale.ROOT, "%.3g", r.ratePerStep());
            g.line(f.label() + "  (\u00d7" + rate + " per step)", lags, y, color(f), false);
            if (f.cellGradNorm() != null) {
                // lag 0 of dL_T/dc is 0 by definition (c_T reaches L_T through h_T): from lag 1
                double[] cl = java.util.Arrays.copyOfRange(lags, 1, steps);
                double[] cy = java.util.Arrays.copyOfRange(f.cellGradNorm(), 1, steps);
                g.line(f.label() + " ||dL_T/dc_t||  (\u00d7" + String.format(Locale.ROOT, "%.3g", f.cellFit().ratePerStep())
                        + " per step)", cl, cy, color(f), true);
            }
        }
        for (GradientFlow.Flow f : flows) {
            GradientFlow.Clip c = f.clip(clip);
            // the seed's point: clipping tames the exploding case (the others are in the table)
            if (!c.clipped() || !Double.isFinite(c.before()) || !(f.fit().ratePerStep() > 1)) continue;
            double[] y = new double[steps];
            for (int k = 0; k < steps; k++) y[k] = f.gradNorm(k) * c.scale();
            g.line(f.label() + " after clipping to " + fmt(clip) + "  (\u00d7"
                    + String.format(Locale.ROOT, "%.2g", c.scale()) + ")", lags, y, color(f), true);
        }
        for (GradientFlow.Flow f : flows) {
            fac.line(f.cell() == Cell.ELMAN ? f.label() : f.label() + " mean keep gate", lags, f.factorNorm(), color(f), false);
        }
        fac.ref(wNorm, String.format(Locale.ROOT, "||W|| = %.3g (tanh, relu bound)", wNorm), GREY);
        if (flows.stream().anyMatch(f -> f.activation() == Activation.SIGMOID)) {
            fac.ref(0.25 * wNorm, String.format(Locale.ROOT, "0.25 ||W|| = %.3g (sigmoid bound)", 0.25 * wNorm),
                    color(Activation.SIGMOID));
        }
        fac.ref(1.0, "1", Color.BLACK);
        double lo = 0, hi = wNorm;
        for (GradientFlow.Flow f : flows) for (double v : f.factorNorm()) if (Double.isFinite(v)) hi = Math.max(hi, v);
        fac.yRange(lo, hi * 1.12);
        String sub = String.format(Locale.ROOT, "Elman RNN, H = %d, T = %d, I = %d, W%s scaled to spectral radius %s "
                        + "(||W|| = %.3g), seed %d; L_T = cross-entropy of step T; exact BPTT", hidden, steps, input,
                nonNegative ? " >= 0" : "", fmt(scale), wNorm, seed);
        String title = "Vanishing and exploding gradients: sigmoid vs tanh vs relu";
        if (gated) {
            Cell c = flows.get(flows.size() - 1).cell();
            sub += String.format(Locale.ROOT, "; %s: weights \u00d7%s, %s bias %s (sigmoid = %.3f)", c.id(), fmt(gateWeights),
                    c == Cell.LSTM ? "forget-gate" : "update-gate", fmt(forgetBias), 1 / (1 + Math.exp(-forgetBias)));
            title = "Gating carries the gradient: " + c.id() + " beside the Elman cells";
        }
        return new Figure(title, sub, 1400, 620, List.of(g, fac));
    }

    private static Figure derivativesFigure(List<Derivatives.Curve> curves) {
        Panel v = new Panel("activation  act(a)", "pre-activation a", "act(a)", false);
        Panel d = new Panel("derivative  act'(a)", "pre-activation a", "act'(a)", false);
        boolean sig = false;
        for (Derivatives.Curve c : curves) {
            v.line(c.activation().id(), c.a(), c.value(), color(c.activation()), false);
            String range = switch (c.activation()) {
                case SIGMOID -> "  in (0, 0.25]";
                case TANH -> "  in (0, 1]";
                case RELU -> "  0 or 1";
            };
            d.line(c.activation().id() + "'" + range, c.a(), c.derivative(), color(c.activation()), false);
            sig |= c.activation() == Activation.SIGMOID;
        }
        v.yRange(-1.2, 3.0);
        d.yRange(-0.05, 1.12);
        d.ref(1.0, "1", GREY);
        if (sig) d.ref(0.25, "0.25", color(Activation.SIGMOID));
        return new Figure("Activation functions and their derivatives (as backward computes them, from h)",
                "derivative from the output: sigmoid' = h(1 - h), tanh' = 1 - h^2, relu' = [h > 0]", 1200, 520,
                List.of(v, d));
    }
}
