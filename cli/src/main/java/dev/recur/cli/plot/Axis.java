package dev.recur.cli.plot;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/** Axis ranges and tick positions, linear or log10. */
public final class Axis {
    /** A tick: its value and label; on a log axis {@code exponent} is set and the label reads 10^exponent. */
    public record Tick(double value, String label, Integer exponent, boolean major) {}

    final double lo, hi;
    final boolean log;
    final List<Tick> ticks;

    private Axis(double lo, double hi, boolean log, List<Tick> ticks) {
        this.lo = lo;
        this.hi = hi;
        this.log = log;
        this.ticks = ticks;
    }

    public double lo() { return lo; }
    public double hi() { return hi; }
    public boolean isLog() { return log; }
    public List<Tick> ticks() { return ticks; }

    /** Fraction 0..1 of the way from lo to hi (log axes in log space); NaN if v cannot be placed. */
    public double fraction(double v) {
        if (log) {
            if (!(v > 0) || !Double.isFinite(v)) return Double.NaN;
            return (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
        }
        if (!Double.isFinite(v)) return Double.NaN;
        return (v - lo) / (hi - lo);
    }

    /** A linear axis over [min, max] widened to round tick values; about {@code target} ticks. */
    public static Axis linear(double min, double max, int target, boolean pad) {
        if (!Double.isFinite(min) || !Double.isFinite(max)) { min = 0; max = 1; }
        if (min == max) { double d = min == 0 ? 1 : Math.abs(min) * 0.1; min -= d; max += d; }
        double step = nice((max - min) / Math.max(1, target));
        double lo = pad ? Math.floor(min / step) * step : min;
        double hi = pad ? Math.ceil(max / step) * step : max;
        List<Tick> ticks = new ArrayList<>();
        for (double v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
            double r = Math.abs(v) < step * 1e-9 ? 0 : v;
            ticks.add(new Tick(r, format(r, step), null, true));
        }
        return new Axis(lo, hi, false, ticks);
    }

    /**
     * A log10 axis over [min, max] (min > 0) widened to whole decades; every decade gets a grid
     * line, and at most about 9 of them a label.
     */
    public static Axis log(double min, double max) {
        if (!(min > 0) || !Double.isFinite(min) || !Double.isFinite(max) || max < min) { min = 0.1; max = 10; }
        int e0 = (int) Math.floor(Math.log10(min) + 1e-9);
        int e1 = (int) Math.ceil(Math.log10(max) - 1e-9);
        if (e1 <= e0) e1 = e0 + 1;
        int every = Math.max(1, (int) Math.ceil((e1 - e0) / 8.0));
        // keep 10^0 labelled when it is on the axis
        List<Tick> ticks = new ArrayList<>();
        for (int e = e0; e <= e1; e++) {
            boolean major = Math.floorMod(e, every) == 0;
            ticks.add(new Tick(Math.pow(10, e), major ? "1e" + e : "", e, major));
        }
        return new Axis(Math.pow(10, e0), Math.pow(10, e1), true, ticks);
    }

    /** 1, 2, 2.5, 5 times a power of ten, at least {@code raw}. */
    static double nice(double raw) {
        if (!(raw > 0)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(raw)));
        double f = raw / p;
        double n = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
        return n * p;
    }

    static String format(double v, double step) {
        if (v == 0) return "0";
        if (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-4) return String.format(java.util.Locale.ROOT, "%.3g", v);
        // as many decimals as the step needs, then trailing zeros stripped
        int decimals = Math.max(0, (int) Math.ceil(-Math.log10(step) - 1e-9) + 1);
        return new BigDecimal(v).setScale(decimals, java.math.RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
    }
}
