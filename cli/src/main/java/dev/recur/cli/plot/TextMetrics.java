package dev.recur.cli.plot;

/** Approximate text widths for DejaVu Sans / Verdana-like fonts (SVG has no font metrics at write time). */
final class TextMetrics {
    private TextMetrics() {}

    static double approximateWidth(String s, double size, boolean bold) {
        double w = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            double e;
            if ("il.,:;'|!".indexOf(c) >= 0) e = 0.3;
            else if ("frtj()[]-".indexOf(c) >= 0) e = 0.4;
            else if (c == ' ') e = 0.32;
            else if ("mwMW".indexOf(c) >= 0) e = 0.9;
            else if (Character.isUpperCase(c)) e = 0.7;
            else e = 0.6;
            w += e;
        }
        return w * size * (bold ? 1.08 : 1.0);
    }
}
