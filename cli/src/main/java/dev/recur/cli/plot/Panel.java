package dev.recur.cli.plot;

import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.AxesChartStyler;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.Styler.LegendPosition;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.font.FontRenderContext;
import java.awt.font.TextLayout;
import java.awt.geom.AffineTransform;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One panel of a {@link Figure}: an XChart {@link XYChart} of lines and labelled horizontal
 * reference lines, with a log10 or linear y axis. The series are kept here and the chart is built
 * when the panel is painted, so the axis ranges and the legend's corner see all of them.
 */
public final class Panel {
    static {   // no display needed (and none on a build machine); set before any AWT class starts
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private record Line(String label, double[] x, double[] y, Color color, boolean dashed) {}

    private record Ref(double y, String label, Color color) {}

    static final Font TITLE = font(Font.BOLD, 16), LABEL = font(Font.PLAIN, 14.5f), TICK = font(Font.PLAIN, 13),
            LEGEND = font(Font.PLAIN, 13.5f);
    static final Color GRID = new Color(225, 225, 225), GREY = new Color(110, 110, 110);

    private final String title, xLabel, yLabel;
    private final boolean logY;
    private final List<Line> lines = new ArrayList<>();
    private final List<Ref> refs = new ArrayList<>();
    private double yMin = Double.NaN, yMax = Double.NaN;

    public Panel(String title, String xLabel, String yLabel, boolean logY) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
        this.logY = logY;
    }

    /** A curve; points that cannot be drawn (not finite, or not positive on a log axis) break it. */
    public Panel line(String label, double[] x, double[] y, Color color, boolean dashed) {
        if (x.length != y.length) throw new IllegalArgumentException("'" + label + "': x and y lengths differ");
        lines.add(new Line(label, x.clone(), y.clone(), color, dashed));
        return this;
    }

    /** A dashed horizontal line at {@code y}, labelled at its right end in its colour. */
    public Panel ref(double y, String label, Color color) { refs.add(new Ref(y, label, color)); return this; }

    /** The y range (otherwise the data's, widened to whole decades on a log axis). */
    public Panel yRange(double lo, double hi) { yMin = lo; yMax = hi; return this; }

    static Font font(int style, float size) { return new Font(Font.SANS_SERIF, style, 1).deriveFont(size); }

    /** y as plotted: log10 on a log axis, NaN (a break in the line) where it cannot be placed. */
    private double plotY(double v) {
        if (!Double.isFinite(v)) return Double.NaN;
        if (!logY) return v;
        return v > 0 ? Math.log10(v) : Double.NaN;
    }

    /** Paints the panel into (0, 0, w, h) of {@code g}. */
    void paint(Graphics2D g, int w, int h) {
        // x: the data's range widened to round ticks, as the hand-drawn axes did
        double xLo = Double.POSITIVE_INFINITY, xHi = Double.NEGATIVE_INFINITY;
        double yLo = Double.POSITIVE_INFINITY, yHi = Double.NEGATIVE_INFINITY;
        for (Line l : lines) {
            for (int k = 0; k < l.x().length; k++) {
                if (!Double.isFinite(l.x()[k])) continue;
                xLo = Math.min(xLo, l.x()[k]); xHi = Math.max(xHi, l.x()[k]);
                double py = plotY(l.y()[k]);
                if (!Double.isNaN(py)) { yLo = Math.min(yLo, py); yHi = Math.max(yHi, py); }
            }
        }
        for (Ref r : refs) {
            double py = plotY(r.y());
            if (!Double.isNaN(py)) { yLo = Math.min(yLo, py); yHi = Math.max(yHi, py); }
        }
        if (!(xLo < xHi)) { xLo = Double.isFinite(xLo) ? xLo - 1 : 0; xHi = xLo + 2; }
        if (!(yLo < yHi)) { yLo = Double.isFinite(yLo) ? yLo - 1 : 0; yHi = yLo + 2; }
        double step = nice((xHi - xLo) / 8);
        xLo = Math.floor(xLo / step) * step;
        xHi = Math.ceil(xHi / step) * step;
        if (!Double.isNaN(yMin)) { yLo = plotY(yMin); yHi = plotY(yMax); }
        else if (logY) { yLo = Math.floor(yLo); yHi = Math.ceil(yHi); }
        else { double pad = 0.06 * (yHi - yLo); yHi += pad; if (yLo != 0) yLo -= pad; }

        XYChart c = new XYChart(w, h);
        c.setTitle(title);
        c.setXAxisTitle(xLabel);
        c.setYAxisTitle(yLabel);
        style(c.getStyler(), xLo, xHi, yLo, yHi);
        // an invisible first series spanning x: XChart puts ticks only at the data's x values when
        // they are equally spaced (every lag here), far too many (knowm/XChart#731); this breaks that
        XYSeries span = c.addSeries(" ", new double[] {xLo, xHi}, new double[] {Double.NaN, Double.NaN});
        span.setShowInLegend(false);
        span.setMarker(SeriesMarkers.NONE);
        int n = 0;
        for (Ref r : refs) {   // drawn first, under the curves
            double py = plotY(r.y());
            XYSeries s = c.addSeries("ref " + n++, new double[] {xLo, xHi}, new double[] {py, py});
            s.setShowInLegend(false);
            style(s, r.color(), 1.4f, true);
        }
        for (Line l : lines) {
            double[] py = new double[l.y().length];
            // XChart strokes a line one segment at a time, restarting the dash pattern at every
            // point (a dashed line then looks solid): it draws only the legend entry of a dashed
            // line, and the line itself is one path drawn below
            for (int k = 0; k < py.length; k++) py[k] = l.dashed() ? Double.NaN : plotY(l.y()[k]);
            style(c.addSeries(l.label(), l.x(), py), l.color(), 2.2f, l.dashed());
        }
        LegendPosition corner = legendCorner(w, h, xLo, xHi, yLo, yHi);
        c.getStyler().setLegendPosition(corner);
        c.paint(g, w, h);

        double left = c.getScreenXFromChart(xLo), right = c.getScreenXFromChart(xHi);
        double top = c.getScreenYFromChart(yHi), bottom = c.getScreenYFromChart(yLo);
        double mx = (right - left) * 0.016, my = (bottom - top) * 0.016;   // to the frame (content size 0.97)
        Graphics2D clip = (Graphics2D) g.create();
        clip.clip(new Rectangle2D.Double(left - mx, top - my, right - left + 2 * mx, bottom - top + 2 * my));
        for (Line l : lines) {
            if (!l.dashed()) continue;
            Path2D.Double path = new Path2D.Double();
            boolean open = false;
            for (int k = 0; k < l.x().length; k++) {
                double py = plotY(l.y()[k]);
                if (Double.isNaN(py) || !Double.isFinite(l.x()[k])) { open = false; continue; }
                double sx = c.getScreenXFromChart(l.x()[k]), sy = c.getScreenYFromChart(py);
                if (open) path.lineTo(sx, sy); else path.moveTo(sx, sy);
                open = true;
            }
            clip.setColor(l.color());
            clip.setStroke(stroke(2.2f, true));
            clip.draw(path);
        }
        clip.dispose();

        // reference-line labels: XChart's AnnotationText has one colour per chart and centres its
        // text on the point; these are right-aligned above their line, in the line's colour
        for (Ref r : refs) {
            double py = plotY(r.y());
            if (!(py >= yLo && py <= yHi) || r.label() == null) continue;
            double sx = c.getScreenXFromChart(xHi), sy = c.getScreenYFromChart(py);
            text(g, r.label(), TICK, r.color(), sx - 4, sy - 4, 1.0);
        }
    }

    private void style(XYStyler s, double xLo, double xHi, double yLo, double yHi) {
        s.setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotBorderColor(Color.BLACK);
        s.setPlotGridLinesColor(GRID);
        s.setPlotGridLinesStroke(new BasicStroke(1f));
        s.setPlotContentSize(0.97);   // < 1 or XChart drops the tick labels at the axis ends
        s.setAxisTicksLineVisible(false);
        s.setAxisTicksMarksVisible(false);
        s.setPlotTicksMarksVisible(true);
        s.setYAxisLabelAlignment(AxesChartStyler.TextAlignment.Right);
        s.setChartTitleBoxVisible(false);
        s.setChartTitleFont(TITLE);
        s.setChartFontColor(Color.BLACK);
        s.setAxisTitleFont(LABEL);
        s.setAxisTickLabelsFont(TICK);
        s.setAxisTickLabelsColor(Color.BLACK);
        s.setAxisTickMarksColor(Color.BLACK);
        s.setAxisTickMarkLength(5);
        s.setLegendFont(LEGEND);
        s.setLegendBorderColor(GREY);
        s.setLegendBackgroundColor(Color.WHITE);
        s.setLegendSeriesLineLength(28);
        s.setChartPadding(8);
        s.setXAxisMin(xLo).setXAxisMax(xHi);
        s.setYAxisMin(yLo).setYAxisMax(yHi);
        s.setLocale(Locale.ROOT);
        // a log axis plots log10(y); its ticks are whole decades, labelled 10^k (XChart's own
        // log axis labels every decade, which overlap when the gradient spans 40 of them)
        if (logY) s.setyAxisTickLabelsFormattingFunction(Panel::decade);
    }

    private static void style(XYSeries s, Color color, float width, boolean dashed) {
        s.setMarker(SeriesMarkers.NONE);
        s.setLineColor(color);
        s.setLineStyle(stroke(width, dashed));
    }

    private static BasicStroke stroke(float width, boolean dashed) {
        return dashed
                ? new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
                new float[] {3 * width + 3, 2 * width + 3}, 0f)
                : new BasicStroke(width, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND);
    }

    /** "10" and a superscript exponent for a whole decade; blank between (XChart then widens the step). */
    static String decade(double e) {
        long k = Math.round(e);
        if (Math.abs(e - k) > 1e-6) return "";
        String sup = "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079";
        StringBuilder b = new StringBuilder("10");
        if (k < 0) b.append('\u207b');
        for (char ch : Long.toString(Math.abs(k)).toCharArray()) b.append(sup.charAt(ch - '0'));
        return b.toString();
    }

    /**
     * The inside corner (or top/bottom middle) where the legend covers no point, else beside
     * the plot when the labels are short, else the inside place covering the fewest; reference
     * lines count three points each. The box's size is estimated from the labels.
     */
    private LegendPosition legendCorner(int w, int h, double xLo, double xHi, double yLo, double yHi) {
        FontRenderContext frc = new FontRenderContext(null, true, true);
        double tw = 0;
        for (Line l : lines) tw = Math.max(tw, LEGEND.getStringBounds(l.label(), frc).getWidth());
        double pw = w - 110, ph = h - 120;   // the plot area, roughly: the panel less axes and titles
        double bw = (28 + 30 + tw) / pw + 0.03, bh = (lines.size() * 21 + 12) / ph + 0.03;
        LegendPosition[] order = {LegendPosition.InsideNE, LegendPosition.InsideNW, LegendPosition.InsideSE,
                LegendPosition.InsideSW, LegendPosition.InsideN, LegendPosition.InsideS};
        LegendPosition best = order[0];
        long fewest = Long.MAX_VALUE;
        for (LegendPosition p : order) {
            double x0 = switch (p) {
                case InsideNE, InsideSE -> 1 - bw;
                case InsideN, InsideS -> 0.5 - bw / 2;
                default -> 0;
            };
            boolean top = p == LegendPosition.InsideNE || p == LegendPosition.InsideNW || p == LegendPosition.InsideN;
            double y0 = top ? 1 - bh : 0;
            long hits = 0;
            for (Line l : lines) {
                for (int k = 0; k < l.x().length; k++) {
                    double fx = (l.x()[k] - xLo) / (xHi - xLo), fy = (plotY(l.y()[k]) - yLo) / (yHi - yLo);
                    if (fx >= x0 && fx <= x0 + bw && fy >= y0 && fy <= y0 + bh) hits++;
                }
            }
            for (Ref r : refs) {
                double fy = (plotY(r.y()) - yLo) / (yHi - yLo);
                if (fy >= y0 - 0.03 && fy <= y0 + bh + 0.03) hits += 3;
            }
            if (hits < fewest) { fewest = hits; best = p; }
        }
        return fewest > 0 && bw < 0.3 ? LegendPosition.OutsideE : best;
    }

    /** 1, 2, 2.5, 5 times a power of ten, at least {@code raw}. */
    static double nice(double raw) {
        if (!(raw > 0) || !Double.isFinite(raw)) return 1;
        double p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
    }

    /**
     * Text as glyph outlines, as XChart draws all of its text (so an SVG looks the same without
     * the font); {@code anchor} 0 puts x at the left end, 0.5 the middle, 1 the right end.
     */
    static void text(Graphics2D g, String s, Font f, Color color, double x, double baseline, double anchor) {
        TextLayout tl = new TextLayout(s, f, g.getFontRenderContext());
        double dx = x - anchor * tl.getAdvance();
        g.setColor(color);
        g.fill(tl.getOutline(AffineTransform.getTranslateInstance(dx, baseline)));
    }
}
