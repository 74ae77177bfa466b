package dev.recur.cli.plot;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.Shape;
import java.awt.geom.AffineTransform;
import java.awt.geom.Line2D;
import java.awt.geom.Path2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;

/**
 * Draws into a {@link BufferedImage} with Java2D (headless: no display needed). {@code scale}
 * pixels per logical pixel, for a sharper image.
 */
public final class PngCanvas implements Canvas {
    static {
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
    }

    private final BufferedImage image;
    private final Graphics2D g;
    private final Shape baseClip;

    public PngCanvas(int width, int height, double scale) {
        if (!(scale > 0)) throw new IllegalArgumentException("scale = " + scale + ", expected > 0");
        image = new BufferedImage((int) Math.round(width * scale), (int) Math.round(height * scale),
                BufferedImage.TYPE_INT_RGB);
        g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.scale(scale, scale);
        baseClip = g.getClip();
    }

    private static Color awt(Rgb c) { return new Color(c.r(), c.g(), c.b()); }

    private void stroke(Rgb c, double w, boolean dashed) {
        g.setColor(awt(c));
        g.setStroke(dashed
                ? new BasicStroke((float) w, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f,
                new float[] {(float) (3 * w + 3), (float) (2 * w + 3)}, 0f)
                : new BasicStroke((float) w, BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    }

    private static Font font(double size, boolean bold) {
        return new Font(Font.SANS_SERIF, bold ? Font.BOLD : Font.PLAIN, 1).deriveFont((float) size);
    }

    @Override public void line(double x1, double y1, double x2, double y2, Rgb c, double w, boolean dashed) {
        stroke(c, w, dashed);
        g.draw(new Line2D.Double(x1, y1, x2, y2));
    }

    @Override public void polyline(double[] xs, double[] ys, int n, Rgb c, double w, boolean dashed) {
        if (n < 2) return;
        stroke(c, w, dashed);
        Path2D.Double p = new Path2D.Double();
        p.moveTo(xs[0], ys[0]);
        for (int k = 1; k < n; k++) p.lineTo(xs[k], ys[k]);
        g.draw(p);
    }

    @Override public void rect(double x, double y, double w, double h, Rgb fill, Rgb stroke) {
        Rectangle2D.Double r = new Rectangle2D.Double(x, y, w, h);
        if (fill != null) {
            g.setColor(awt(fill));
            g.fill(r);
        }
        if (stroke != null) {
            stroke(stroke, 1, false);
            g.draw(r);
        }
    }

    @Override public void text(double x, double y, String s, double size, Anchor anchor, boolean bold, boolean vertical,
                               Rgb c) {
        Font f = font(size, bold);
        g.setFont(f);
        g.setColor(awt(c));
        double w = g.getFontMetrics(f).getStringBounds(s, g).getWidth();
        double dx = switch (anchor) {
            case START -> 0;
            case MIDDLE -> -w / 2;
            case END -> -w;
        };
        AffineTransform saved = g.getTransform();
        g.translate(x, y);
        if (vertical) g.rotate(-Math.PI / 2);
        g.drawString(s, (float) dx, 0f);
        g.setTransform(saved);
    }

    @Override public double textWidth(String s, double size, boolean bold) {
        Font f = font(size, bold);
        return g.getFontMetrics(f).getStringBounds(s, g).getWidth();
    }

    @Override public void beginClip(double x, double y, double w, double h) {
        g.setClip(baseClip);
        g.clip(new Rectangle2D.Double(x, y, w, h));
    }

    @Override public void endClip() { g.setClip(baseClip); }

    /** The finished image. */
    public BufferedImage finish() {
        g.dispose();
        return image;
    }
}
