package dev.recur.bench;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.CategorySeries;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.style.Styler;

import java.awt.Color;
import java.awt.Font;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The report's chart: steps/s per case for recur vector, recur scalar and each peer, on a log
 * scale (the figures span three decades: DL4J and scalar recur at B = 1 against batched
 * vector recur), one panel for 1 thread above one for 2 threads. PNG and SVG, same content.
 *
 * <p>Colours are fixed per series, so a series keeps its colour in both panels even when a panel
 * lacks another series. Cases a series did not run are gaps.
 */
final class ReportChart {

    static final int WIDTH = 1400, PANEL_HEIGHT = 520;

    private static final Map<String, Color> COLOURS = Map.of(
            Report.VECTOR, new Color(0x1f, 0x77, 0xb4),
            Report.SCALAR, new Color(0x9e, 0xc5, 0xe8),
            Report.TORCH, new Color(0xd6, 0x27, 0x28),
            Report.ONEDNN, new Color(0xff, 0x7f, 0x0e),
            Report.DL4J, new Color(0x2c, 0xa0, 0x2c));

    private ReportChart() {}

    static void write(Path prefix, Report.Data d) throws IOException {
        // rendering needs no display; without this a machine without X would fail to start AWT
        System.setProperty("java.awt.headless", "true");
        List<Report.Key> rows = Report.rows(d);
        List<String> cases = new ArrayList<>(new LinkedHashSet<>(rows.stream().map(Report.Key::caseId).toList()));
        List<String> labels = cases.stream().map(ReportChart::label).toList();
        List<String> series = new ArrayList<>(List.of(Report.VECTOR, Report.SCALAR));
        series.addAll(Report.peersPresent(d));
        // Both panels share whole decades as their range, so bars compare across panels; an
        // explicit minimum is also what lets XChart draw bars on a log axis at all (it otherwise
        // starts bars at 0 and rejects the axis).
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        for (Map<String, List<Double>> m : d.rates.values()) {
            for (List<Double> v : m.values()) {
                double x = Report.median(v);
                if (x > 0) {
                    lo = Math.min(lo, x);
                    hi = Math.max(hi, x);
                }
            }
        }
        if (hi == 0) return;
        double min = Math.pow(10, Math.floor(Math.log10(lo))), max = Math.pow(10, Math.ceil(Math.log10(hi * 1.0001)));
        List<CategoryChart> panels = new ArrayList<>();
        for (int threads = 1; threads <= 2; threads++) {
            CategoryChart p = panel(d, cases, labels, series, threads);
            p.getStyler().setYAxisMin(min).setYAxisMax(max);
            panels.add(p);
        }
        Path parent = prefix.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        BitmapEncoder.saveBitmap(panels, 2, 1, prefix + ".png", BitmapEncoder.BitmapFormat.PNG);
        Files.writeString(Path.of(prefix + ".svg"), stackedSvg(panels), StandardCharsets.UTF_8);
    }

    /** "5\nH=512 B=64" style: the id, then the shape, so a reader needs no lookup table. */
    private static String label(String id) {
        BenchCase c = BenchCase.byId(id);
        String cell = switch (c.cell()) {
            case "rnn_relu" -> " relu";
            case "lstm" -> " LSTM";
            case "gru" -> " GRU";
            default -> c.layers() > 1 ? " bi" : "";
        };
        return id + ": H" + c.hidden() + " B" + c.batch() + cell;
    }

    private static CategoryChart panel(Report.Data d, List<String> cases, List<String> labels, List<String> series,
                                       int threads) {
        CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(PANEL_HEIGHT)
                .title("Forward + loss + full BPTT, steps/s (log scale, higher is better), " + threads
                        + (threads == 1 ? " thread" : " threads"))
                .xAxisTitle("case (bench/peers/CASES.md)").yAxisTitle("steps/s").build();
        var st = chart.getStyler();
        st.setYAxisLogarithmic(true);
        st.setLegendPosition(Styler.LegendPosition.OutsideE);
        st.setDefaultSeriesRenderStyle(CategorySeries.CategorySeriesRenderStyle.Bar);
        st.setAvailableSpaceFill(0.85);
        st.setOverlapped(false);
        st.setXAxisLabelRotation(40);
        st.setChartBackgroundColor(Color.WHITE);
        st.setPlotBackgroundColor(Color.WHITE);
        st.setPlotGridLinesColor(new Color(0xdd, 0xdd, 0xdd));
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
        st.setAxisTickLabelsFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        st.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        st.setYAxisDecimalPattern("#,###");
        st.setYAxisLogarithmicDecadeOnly(true);
        st.setToolTipsEnabled(false);
        for (String s : series) {
            // every series in both panels, even one without values here: the legends then match
            // and the two plot areas line up case under case
            List<Double> y = new ArrayList<>();
            for (String id : cases) {
                double v = Report.medianOrNaN(d.get(new Report.Key(id, threads), s));
                String note = d.notes.getOrDefault(new Report.Key(id, threads), Map.of()).get(s);
                // oneDNN's full-length bi64 is another problem: leave it out of the picture
                y.add(Double.isNaN(v) || "full T".equals(note) ? null : v);
            }
            CategorySeries cs = chart.addSeries(legend(d, s), labels, y);
            cs.setFillColor(COLOURS.get(s));
        }
        return chart;
    }

    private static String legend(Report.Data d, String series) {
        Set<String> v = d.versionsShort.get(series);
        return v == null || v.isEmpty() ? series : String.join(" / ", v);
    }

    /** Both panels in one SVG: each XChart SVG nested as an inner svg element, one below the other. */
    private static String stackedSvg(List<CategoryChart> panels) throws IOException {
        StringBuilder b = new StringBuilder();
        b.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                + "xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"").append(WIDTH).append("\" height=\"")
                .append(PANEL_HEIGHT * panels.size()).append("\">\n");
        for (int i = 0; i < panels.size(); i++) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            VectorGraphicsEncoder.saveVectorGraphic(panels.get(i), out, VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
            String svg = out.toString(StandardCharsets.UTF_8);
            int start = svg.indexOf("<svg");
            if (start < 0) throw new IOException("XChart wrote no <svg> element");
            int end = svg.indexOf('>', start);
            // the inner element's own x/y place it in the outer one: replace XChart's 0px
            String open = svg.substring(start, end).replaceAll("\\s(x|y)=\"[^\"]*\"", "");
            svg = open + " x=\"0\" y=\"" + i * PANEL_HEIGHT + "\"" + svg.substring(end);
            b.append(svg).append('\n');
        }
        return b.append("</svg>\n").toString();
    }
}
