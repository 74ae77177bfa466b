package dev.recur.spark;

import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The loud warning when executors fell back to the scalar kernels, and only then. */
class ReportsTest {

    static final String FALLBACK = "scalar (module jdk.incubator.vector is not in this JVM (start java with --add-modules "
            + "jdk.incubator.vector))";

    @Test
    void warnsWhenAutoFellBackToScalar() {
        String w = Reports.scalarWarning(Map.of(FALLBACK, 3, "vector", 5), "auto");
        assertTrue(w != null && w.startsWith("3 of 8 tasks ran the SCALAR kernels"), w);
        assertTrue(w.contains("spark.executor.extraJavaOptions") && w.contains("--add-modules=jdk.incubator.vector"), w);
        assertTrue(w.contains("mixed kernels"), "some vector, some scalar: " + w);
        assertTrue(Reports.scalarWarning(Map.of(FALLBACK, 2), "auto").startsWith("2 of 2 tasks"));
    }

    @Test
    void quietWhenVectorOrWhenScalarWasAskedFor() {
        assertNull(Reports.scalarWarning(Map.of("vector", 4), "auto"));
        assertNull(Reports.scalarWarning(Map.of("scalar", 4), "scalar"));
    }
}
