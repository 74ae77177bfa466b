package dev.recur.cli.plot;

/**
 * What a chart draws on; two implementations, {@link SvgCanvas} and {@link PngCanvas}, so the
 * SVG and the PNG of a figure come from the same drawing code. Coordinates are in logical pixels,
 * y down.
 */
public interface Canvas {

    enum Anchor { START, MIDDLE, END }

    void line(double x1, double y1, double x2, double y2, Rgb color, double width, boolean dashed);

    /** An open polyline through {@code n} points. */
    void polyline(double[] xs, double[] ys, int n, Rgb color, double width, boolean dashed);

    /** A rectangle; {@code fill} or {@code stroke} may be null. */
    void rect(double x, double y, double w, double h, Rgb fill, Rgb stroke);

    /** Text with its baseline at y; {@code vertical} rotates it 90 degrees counter-clockwise about (x, y). */
    void text(double x, double y, String s, double size, Anchor anchor, boolean bold, boolean vertical, Rgb color);

    /** Width of {@code s} at {@code size} (for layout). */
    double textWidth(String s, double size, boolean bold);

    /** Restricts drawing to a rectangle until {@link #endClip()}. */
    void beginClip(double x, double y, double w, double h);

    void endClip();
}
