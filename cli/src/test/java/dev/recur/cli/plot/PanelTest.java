package dev.recur.cli.plot;

import org.junit.jupiter.api.Test;

import java.awt.Color;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class PanelTest {

    @Test
    void logTicksAreWholeDecadesWithSuperscriptExponents() {
        assertEquals("10\u2070", Panel.decade(0));
        assertEquals("10\u00b9\u2070", Panel.decade(10.0000000001));
        assertEquals("10\u207b\u00b3\u2075", Panel.decade(-35));
        assertEquals("", Panel.decade(-0.5), "no label between decades");
    }

    @Test
    void aFigureWithBrokenAndEmptyCurvesStillDraws() throws Exception {
        double[] x = {0, 1, 2, 3};
        Panel p = new Panel("t", "x", "y", true)
                .line("zeros and NaN", x, new double[] {0, Double.NaN, 1e-3, Double.POSITIVE_INFINITY}, Color.RED, false)
                .line("nothing drawable", x, new double[] {0, 0, -1, Double.NaN}, Color.BLUE, true)
                .ref(1e-2, "ref", Color.GRAY);
        Figure f = new Figure("title & <more>", null, 600, 300, List.of(p));
        assertEquals(900, f.png().getWidth());
        String svg = f.svg();
        assertTrue(svg.contains("<title>title &amp; &lt;more&gt;</title>"), svg.substring(0, 400));
        assertThrows(IllegalArgumentException.class, () -> p.line("bad", x, new double[] {1}, Color.RED, false));
        assertThrows(IllegalArgumentException.class, () -> new Figure("t", null, 10, 10, List.of()));
    }
}
