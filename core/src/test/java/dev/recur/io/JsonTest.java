package dev.recur.io;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class JsonTest {

    @Test
    void roundTrips() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("s", "a\"b\\c\n\u00e9\ud83d\ude00\u0001");
        m.put("i", 42L);
        m.put("d", 0.1);
        m.put("whole", 2.0);
        m.put("neg", -1e-300);
        m.put("b", true);
        m.put("n", null);
        m.put("l", List.of(1L, "x", List.of()));
        m.put("o", Map.of());
        String text = Json.write(m);
        assertEquals(m, Json.parse(text));
        assertEquals("{\"a\": null}", Json.write(Map.of("a", Double.NaN)));
    }

    @Test
    void rejectsWhatIsNotJson() {
        for (String bad : new String[] {"", "{", "{\"a\" 1}", "[1,]", "01", "{\"a\": 1} x", "\"\\x\"", "tru", "1.",
                "{\"a\": 1, \"a\": 2}", "[".repeat(300) + "]".repeat(300)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
            assertTrue(e.getMessage().startsWith("invalid JSON at character"), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> Json.parseObject("[1]"));
    }
}
