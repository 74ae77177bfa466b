package dev.recur.cli.plot;

import java.util.ArrayList;
import java.util.List;

/**
 * One panel: title, labelled axes with ticks and grid, curves, horizontal reference lines and a
 * legend placed in the corner where it covers the fewest points.
 */
public final class Chart {
    private final String title, xLabel, yLabel;
    private final boolean logY;
    private final List<Series> series = new ArrayList<>();
    private final List<RefLine> refs = new ArrayList<>();
    private Double yMin, yMax, xMin, xMax;
    private String note;

    public Chart(String title, String xLabel, String yLabel, boolean logY) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.logY = logY;
    }

    public Chart add(Series s) { series.add(s); return this; }
    public Chart ref(RefLine r) { refs.add(r); return this; }
    public Chart yRange(double lo, double hi) { yMin = lo; yMax = hi; return this; }
    public Chart xRange(double lo, double hi) { xMin = lo; xMax = hi; return this; }
    /** A small line of text under the plot area's top edge, left. */
    public Chart note(String s) { note = s; return this; }

    public List<Series> series() { return series; }

    static final double TICK_FONT = 13, LABEL_FONT = 14.5, TITLE_FONT = 16, LEGEND_FONT = 13.5;

    /** Draws the panel into the box (x, y, w, h). */
    public void draw(Canvas c, double x, double y, double w, double h) {
        Axis ax = xAxis(), ay = yAxis();
        // the y tick labels' width decides the left margin
        double tickW = 0;
        for (Axis.Tick t : ay.ticks()) tickW = Math.max(tickW, tickLabelWidth(c, t));
        double left = x + 28 + tickW + 12, right = x + w - 14, top = y + 34, bottom = y + h - 52;
        double pw = right - left, ph = bottom - top;

        c.text(left + pw / 2, y + 20, title, TITLE_FONT, Canvas.Anchor.MIDDLE, true, false, Rgb.BLACK);

        // grid and ticks
        for (Axis.Tick t : ay.ticks()) {
            double py = bottom - ay.fraction(t.value()) * ph;
            if (py < top - 0.5 || py > bottom + 0.5) continue;
            c.line(left, py, right, py, Rgb.GRID, t.major() ? 1 : 0.6, false);
            if (t.major()) {
                c.line(left - 5, py, left, py, Rgb.BLACK, 1, false);
                drawTickLabel(c, t, left - 8, py + TICK_FONT * 0.35);
            } else {
                c.line(left - 3, py, left, py, Rgb.BLACK, 1, false);
            }
        }
        for (Axis.Tick t : ax.ticks()) {
            double px = left + ax.fraction(t.value()) * pw;
            if (px < left - 0.5 || px > right + 0.5) continue;
            c.line(px, top, px, bottom, Rgb.GRID, 1, false);
            c.line(px, bottom, px, bottom + 5, Rgb.BLACK, 1, false);
            c.text(px, bottom + 8 + TICK_FONT, t.label(), TICK_FONT, Canvas.Anchor.MIDDLE, false, false, Rgb.BLACK);
        }

        // reference lines
        c.beginClip(left, top, pw, ph);
        for (RefLine r : refs) {
            double f = ay.fraction(r.y());
            if (!(f >= 0 && f <= 1)) continue;
            double py = bottom - f * ph;
            c.line(left, py, right, py, r.color(), 1.4, true);
        }
        // curves, broken where a point cannot be placed
        for (Series s : series) {
            double[] px = new double[s.x().length], py = new double[s.x().length];
            int n = 0;
            for (int k = 0; k <= s.x().length; k++) {
                double fx = k < s.x().length ? ax.fraction(s.x()[k]) : Double.NaN;
                double fy = k < s.x().length ? ay.fraction(s.y()[k]) : Double.NaN;
                if (Double.isNaN(fx) || Double.isNaN(fy)) {
                    if (n == 1) c.rect(px[0] - 1.5, py[0] - 1.5, 3, 3, s.color(), null);
                    c.polyline(px, py, n, s.color(), s.width(), s.dashed());
                    n = 0;
                    continue;
                }
                px[n] = left + fx * pw;
                py[n] = bottom - fy * ph;
                n++;
            }
        }
        c.endClip();
        for (RefLine r : refs) {
            double f = ay.fraction(r.y());
            if (!(f >= 0 && f <= 1) || r.label() == null) continue;
            double py = bottom - f * ph;
            c.text(right - 4, py - 4, r.label(), TICK_FONT, Canvas.Anchor.END, false, false, r.color());
        }

        // frame and labels
        c.rect(left, top, pw, ph, null, Rgb.BLACK);
        c.text(left + pw / 2, bottom + 20 + TICK_FONT + LABEL_FONT, xLabel, LABEL_FONT, Canvas.Anchor.MIDDLE, false,
                false, Rgb.BLACK);
        c.text(x + 4 + LABEL_FONT, top + ph / 2, yLabel, LABEL_FONT, Canvas.Anchor.MIDDLE, false, true, Rgb.BLACK);
        if (note != null) c.text(left + 8, top + 18, note, TICK_FONT, Canvas.Anchor.START, false, false, Rgb.GREY);

        drawLegend(c, ax, ay, left, top, pw, ph);
    }

    private double tickLabelWidth(Canvas c, Axis.Tick t) {
        if (!t.major()) return 0;
        if (t.exponent() == null) return c.textWidth(t.label(), TICK_FONT, false);
        return c.textWidth("10", TICK_FONT, false) + c.textWidth(Integer.toString(t.exponent()), TICK_FONT * 0.75, false);
    }

    /** Right-aligned at (xr, baseline); log ticks as 10 with a raised exponent. */
    private static void drawTickLabel(Canvas c, Axis.Tick t, double xr, double baseline) {
        if (t.exponent() == null) {
            c.text(xr, baseline, t.label(), TICK_FONT, Canvas.Anchor.END, false, false, Rgb.BLACK);
            return;
        }
        String e = Integer.toString(t.exponent());
        double we = c.textWidth(e, TICK_FONT * 0.75, false);
        c.text(xr - we, baseline, "10", TICK_FONT, Canvas.Anchor.END, false, false, Rgb.BLACK);
        c.text(xr - we, baseline - TICK_FONT * 0.45, e, TICK_FONT * 0.75, Canvas.Anchor.START, false, false, Rgb.BLACK);
    }

    private void drawLegend(Canvas c, Axis ax, Axis ay, double left, double top, double pw, double ph) {
        List<Series> named = series.stream().filter(s -> s.label() != null && !s.label().isEmpty()).toList();
        if (named.isEmpty()) return;
        double row = LEGEND_FONT + 7, swatch = 28;
        double tw = 0;
        for (Series s : named) tw = Math.max(tw, c.textWidth(s.label(), LEGEND_FONT, false));
        double bw = swatch + 18 + tw + 10, bh = row * named.size() + 10;
        // the corner covering the fewest points
        double xr = left + pw - bw - 8, xl = left + 8, xm = left + (pw - bw) / 2;
        double yt = top + 8, yb = top + ph - bh - 8, ym = top + (ph - bh) / 2;
        // corners first (preferred on a tie), then the edges' middles
        double[][] corners = {
                {xr, yt}, {xl, yt}, {xr, yb}, {xl, yb}, {xl, ym}, {xr, ym}, {xm, yt}, {xm, yb}};
        if (note != null) corners[1][1] += 22;
        double[] best = corners[0];
        long fewest = Long.MAX_VALUE;
        for (double[] k : corners) {
            long hits = 0;
            for (Series s : series) {
                for (int i = 0; i < s.x().length; i++) {
                    double fx = ax.fraction(s.x()[i]), fy = ay.fraction(s.y()[i]);
                    if (Double.isNaN(fx) || Double.isNaN(fy)) continue;
                    double px = left + fx * pw, py = top + ph - fy * ph;
                    if (px >= k[0] - 6 && px <= k[0] + bw + 6 && py >= k[1] - 6 && py <= k[1] + bh + 6) hits++;
                }
            }
            for (RefLine r : refs) {
                double f = ay.fraction(r.y());
                double py = top + ph - f * ph;
                if (py >= k[1] - 16 && py <= k[1] + bh + 6) hits += 3;
            }
            if (hits < fewest) { fewest = hits; best = k; }
        }
        double bx = best[0], by = best[1];
        c.rect(bx, by, bw, bh, Rgb.WHITE, Rgb.GREY);
        for (int i = 0; i < named.size(); i++) {
            Series s = named.get(i);
            double cy = by + 5 + row * i + row / 2;
            c.line(bx + 8, cy, bx + 8 + swatch, cy, s.color(), s.width() + 0.6, s.dashed());
            c.text(bx + 8 + swatch + 8, cy + LEGEND_FONT * 0.35, s.label(), LEGEND_FONT, Canvas.Anchor.START, false,
                    false, Rgb.BLACK);
        }
    }

    private Axis xAxis() {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) for (double v : s.x()) if (Double.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        if (xMin != null) { lo = xMin; hi = xMax; }
        return Axis.linear(lo, hi, 8, xMin == null);
    }

    private Axis yAxis() {
        double lo = Double.POSITIVE_INFINITY, hi = Double.NEGATIVE_INFINITY;
        for (Series s : series) {
            for (double v : s.y()) {
                if (!Double.isFinite(v) || (logY && !(v > 0))) continue;
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
            }
        }
        for (RefLine r : refs) {
            if (Double.isFinite(r.y()) && (!logY || r.y() > 0)) { lo = Math.min(lo, r.y()); hi = Math.max(hi, r.y()); }
        }
        if (yMin != null) { lo = yMin; hi = yMax; }
        if (logY) return Axis.log(lo, hi);
        if (yMin == null) {
            double span = hi - lo;
            hi += span * 0.06;
            if (lo != 0) lo -= span * 0.06;
        }
        return Axis.linear(lo, hi, 6, yMin == null);
    }
}
