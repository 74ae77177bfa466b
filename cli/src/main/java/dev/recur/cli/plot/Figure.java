package dev.recur.cli.plot;

import de.erichseifert.vectorgraphics2d.VectorGraphics2D;
import de.erichseifert.vectorgraphics2d.svg.SVGProcessor;
import de.erichseifert.vectorgraphics2d.util.PageSize;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A title, a subtitle and {@link Panel}s side by side, painted by XChart onto one Graphics2D:
 * a {@link BufferedImage} for the PNG, VectorGraphics2D (XChart's SVG back end) for the SVG.
 * XChart's own encoders write one chart per file, without a figure title.
 */
public final class Figure {
    private static final Pattern DIGITS = Pattern.compile("(\\d\\.\\d\\d)\\d+");

    /** PNG pixels per logical pixel. */
    public static final double PNG_SCALE = 1.5;

    private final String title, subtitle;
    private final int width, height;
    private final List<Panel> panels;

    public Figure(String title, String subtitle, int width, int height, List<Panel> panels) {
        if (panels == null || panels.isEmpty()) throw new IllegalArgumentException("a figure needs at least one panel");
        this.title = title;
        this.subtitle = subtitle;
        this.width = width;
        this.height = height;
        this.panels = List.copyOf(panels);
    }

    private void paint(Graphics2D g) {
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_STROKE_CONTROL, RenderingHints.VALUE_STROKE_PURE);
        g.setRenderingHint(RenderingHints.KEY_FRACTIONALMETRICS, RenderingHints.VALUE_FRACTIONALMETRICS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, width, height);
        int y = 8;
        if (title != null) {
            Panel.text(g, title, Panel.font(Font.BOLD, 19), Color.BLACK, width / 2.0, y + 20, 0.5);
            y += 28;
        }
        if (subtitle != null) {
            Panel.text(g, subtitle, Panel.font(Font.PLAIN, 13.5f), Panel.GREY, width / 2.0, y + 16, 0.5);
            y += 22;
        }
        int pw = width / panels.size();
        for (int i = 0; i < panels.size(); i++) {
            Graphics2D pg = (Graphics2D) g.create();
            pg.translate(i * pw, y);
            panels.get(i).paint(pg, pw, height - y);
            pg.dispose();
        }
    }

    public BufferedImage png() {
        BufferedImage image = new BufferedImage((int) Math.round(width * PNG_SCALE), (int) Math.round(height * PNG_SCALE),
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.scale(PNG_SCALE, PNG_SCALE);
        paint(g);
        g.dispose();
        return image;
    }

    public String svg() throws IOException {
        VectorGraphics2D g = new VectorGraphics2D();
        paint(g);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new SVGProcessor().getDocument(g.getCommands(), new PageSize(0, 0, width, height)).writeTo(out);
        // coordinates to 1/100 pixel: VectorGraphics2D writes every double in full, and XChart's
        // text is glyph outlines, so this halves the file
        String svg = DIGITS.matcher(out.toString(StandardCharsets.UTF_8)).replaceAll("$1");
        // the text is outlines, so the figure's title and subtitle also go in as <title> and <desc>
        int root = svg.indexOf('>', svg.indexOf("<svg")) + 1;
        return svg.substring(0, root) + "\n  <title>" + escape(title) + "</title>\n  <desc>" + escape(subtitle)
                + "</desc>" + svg.substring(root);
    }

    private static String escape(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    public void writeSvg(Path p) throws IOException { Files.writeString(p, svg(), StandardCharsets.UTF_8); }

    public void writePng(Path p) throws IOException {
        if (!ImageIO.write(png(), "png", p.toFile())) throw new IOException("no PNG writer in this JVM for " + p);
    }
}
