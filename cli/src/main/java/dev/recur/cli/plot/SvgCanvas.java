package dev.recur.cli.plot;

import java.util.Locale;

/** Builds an SVG document (SVG 1.1, opens in any browser). */
public final class SvgCanvas implements Canvas {
    private final StringBuilder sb = new StringBuilder();
    private final int width, height;
    private int clips;
    private boolean clipOpen;

    public SvgCanvas(int width, int height) {
        this.width = width;
        this.height = height;
        sb.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sb.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width).append("\" height=\"").append(height)
                .append("\" viewBox=\"0 0 ").append(width).append(' ').append(height)
                .append("\" font-family=\"DejaVu Sans, Verdana, Arial, Helvetica, sans-serif\">\n");
        sb.append("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
    }

    private static String n(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) return Long.toString((long) v);
        return String.format(Locale.ROOT, "%.2f", v);
    }

    private static String stroke(Rgb c, double w, boolean dashed) {
        return " fill=\"none\" stroke=\"" + c.hex() + "\" stroke-width=\"" + n(w) + "\""
                + (dashed ? " stroke-dasharray=\"" + n(3 * w + 3) + "," + n(2 * w + 3) + "\"" : "")
                + " stroke-linejoin=\"round\" stroke-linecap=\"round\"";
    }

    @Override public void line(double x1, double y1, double x2, double y2, Rgb c, double w, boolean dashed) {
        sb.append("<line x1=\"").append(n(x1)).append("\" y1=\"").append(n(y1)).append("\" x2=\"").append(n(x2))
                .append("\" y2=\"").append(n(y2)).append('"').append(stroke(c, w, dashed)).append("/>\n");
    }

    @Override public void polyline(double[] xs, double[] ys, int count, Rgb c, double w, boolean dashed) {
        if (count < 2) return;
        sb.append("<polyline points=\"");
        for (int k = 0; k < count; k++) {
            if (k > 0) sb.append(' ');
            sb.append(n(xs[k])).append(',').append(n(ys[k]));
        }
        sb.append('"').append(stroke(c, w, dashed)).append("/>\n");
    }

    @Override public void rect(double x, double y, double w, double h, Rgb fill, Rgb stroke) {
        sb.append("<rect x=\"").append(n(x)).append("\" y=\"").append(n(y)).append("\" width=\"").append(n(w))
                .append("\" height=\"").append(n(h)).append("\" fill=\"").append(fill == null ? "none" : fill.hex())
                .append('"');
        if (stroke != null) sb.append(" stroke=\"").append(stroke.hex()).append("\" stroke-width=\"1\"");
        sb.append("/>\n");
    }

    @Override public void text(double x, double y, String s, double size, Anchor anchor, boolean bold, boolean vertical,
                               Rgb c) {
        sb.append("<text x=\"").append(n(x)).append("\" y=\"").append(n(y)).append("\" font-size=\"").append(n(size))
                .append("\" fill=\"").append(c.hex()).append('"');
        if (anchor != Anchor.START) sb.append(" text-anchor=\"").append(anchor == Anchor.MIDDLE ? "middle" : "end").append('"');
        if (bold) sb.append(" font-weight=\"bold\"");
        if (vertical) sb.append(" transform=\"rotate(-90 ").append(n(x)).append(' ').append(n(y)).append(")\"");
        sb.append('>').append(escape(s)).append("</text>\n");
    }

    @Override public double textWidth(String s, double size, boolean bold) {
        return TextMetrics.approximateWidth(s, size, bold);
    }

    @Override public void beginClip(double x, double y, double w, double h) {
        endClip();
        String id = "clip" + (++clips);
        sb.append("<clipPath id=\"").append(id).append("\"><rect x=\"").append(n(x)).append("\" y=\"").append(n(y))
                .append("\" width=\"").append(n(w)).append("\" height=\"").append(n(h)).append("\"/></clipPath>\n");
        sb.append("<g clip-path=\"url(#").append(id).append(")\">\n");
        clipOpen = true;
    }

    @Override public void endClip() {
        if (clipOpen) sb.append("</g>\n");
        clipOpen = false;
    }

    /** The finished document. */
    public String finish() {
        endClip();
        return sb + "</svg>\n";
    }

    public int width() { return width; }
    public int height() { return height; }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char ch = s.charAt(i);
            switch (ch) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '"' -> b.append("&quot;");
                default -> b.append(ch);
            }
        }
        return b.toString();
    }
}
