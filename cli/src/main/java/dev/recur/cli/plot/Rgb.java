package dev.recur.cli.plot;

/** A colour, 0..255 per channel. */
public record Rgb(int r, int g, int b) {
    public Rgb {
        if ((r | g | b) < 0 || r > 255 || g > 255 || b > 255) {
            throw new IllegalArgumentException("colour (" + r + ", " + g + ", " + b + "), expected channels in 0..255");
        }
    }

    public static final Rgb BLACK = new Rgb(0, 0, 0);
    public static final Rgb WHITE = new Rgb(255, 255, 255);
    public static final Rgb GRID = new Rgb(225, 225, 225);
    public static final Rgb GREY = new Rgb(110, 110, 110);
    /** A colour-blind-safe cycle (Okabe-Ito). */
    public static final Rgb[] CYCLE = {
            new Rgb(0, 114, 178), new Rgb(213, 94, 0), new Rgb(0, 158, 115), new Rgb(204, 121, 167),
            new Rgb(230, 159, 0), new Rgb(86, 180, 233), new Rgb(0, 0, 0)};

    /** {@code #rrggbb}. */
    public String hex() { return String.format("#%02x%02x%02x", r, g, b); }
}
