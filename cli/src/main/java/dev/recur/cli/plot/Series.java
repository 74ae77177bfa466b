package dev.recur.cli.plot;

/**
 * One curve: points (x[k], y[k]); points that cannot be drawn (NaN, infinite, or not positive on
 * a log axis) break the line rather than end it.
 */
public record Series(String label, double[] x, double[] y, Rgb color, boolean dashed, double width) {
    public Series {
        if (x == null || y == null || x.length != y.length) {
            throw new IllegalArgumentException("series '" + label + "': x and y must have the same length");
        }
        if (color == null) throw new IllegalArgumentException("series '" + label + "': colour is null");
    }

    public Series(String label, double[] x, double[] y, Rgb color) { this(label, x, y, color, false, 2.2); }

    public Series asDashed() { return new Series(label, x, y, color, true, width); }
}
