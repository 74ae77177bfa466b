package dev.recur.cli.plot;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** A title, an optional subtitle, and one or more {@link Chart} panels side by side. */
public final class Figure {
    private final String title, subtitle;
    private final List<Chart> panels;
    private final int width, height;

    /** PNG pixels per logical pixel. */
    public static final double PNG_SCALE = 1.5;

    public Figure(String title, String subtitle, int width, int height, List<Chart> panels) {
        if (panels == null || panels.isEmpty()) throw new IllegalArgumentException("a figure needs at least one panel");
        this.title = title;
        this.subtitle = subtitle;
        this.width = width;
        this.height = height;
        this.panels = List.copyOf(panels);
    }

    public void draw(Canvas c) {
        double y = 8;
        if (title != null) {
            c.text(width / 2.0, y + 20, title, 19, Canvas.Anchor.MIDDLE, true, false, Rgb.BLACK);
            y += 28;
        }
        if (subtitle != null) {
            c.text(width / 2.0, y + 16, subtitle, 13.5, Canvas.Anchor.MIDDLE, false, false, Rgb.GREY);
            y += 22;
        }
        double pw = (double) width / panels.size();
        for (int i = 0; i < panels.size(); i++) panels.get(i).draw(c, i * pw + 6, y, pw - 12, height - y - 4);
    }

    public String svg() {
        SvgCanvas c = new SvgCanvas(width, height);
        draw(c);
        return c.finish();
    }

    public java.awt.image.BufferedImage png() {
        PngCanvas c = new PngCanvas(width, height, PNG_SCALE);
        draw(c);
        return c.finish();
    }

    public void writeSvg(Path p) throws IOException { Files.writeString(p, svg(), StandardCharsets.UTF_8); }

    public void writePng(Path p) throws IOException {
        if (!ImageIO.write(png(), "png", p.toFile())) throw new IOException("no PNG writer in this JVM for " + p);
    }
}
