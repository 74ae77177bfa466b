package dev.recur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.Kernels;
import dev.recur.kernel.KernelsLookup;
import dev.recur.kernel.ScalarKernels;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** The kernel lookup: forced choices, the default from the system property, and its errors. */
class KernelLookupTest {

    static final Shape S = new Shape(3, 5, 4);

    @Test
    void scalarGivesScalarKernels() {
        assertSame(ScalarKernels.INSTANCE, KernelsLookup.resolve(KernelChoice.SCALAR));
        assertSame(ScalarKernels.INSTANCE, Rnn.builder(S).kernels(KernelChoice.SCALAR).build().kernels());
        assertEquals("scalar", ScalarKernels.INSTANCE.name());
    }

    /** The build runs the tests with --add-modules jdk.incubator.vector and C2: vector must work. */
    @Test
    void vectorWorksInTheTestJvm() {
        assertNull(KernelsLookup.vectorUnavailableReason(), "vector kernels unavailable");
        Kernels k = KernelsLookup.resolve(KernelChoice.VECTOR);
        assertEquals("vector", k.name());
        assertEquals("dev.recur.kernel.VectorKernels", k.getClass().getName());
        assertSame(k, Rnn.builder(S).kernels(KernelChoice.VECTOR).build().kernels());
        assertSame(k, KernelsLookup.resolve(KernelChoice.AUTO), "auto picks vector where it can run");
        assertTrue(KernelsLookup.reason().startsWith("vector:"), KernelsLookup.reason());
    }

    @Test
    void systemPropertySetsTheDefault() {
        String key = KernelsLookup.PROPERTY;
        assertEquals("recur.kernels", key);
        String saved = System.getProperty(key);
        try {
            System.clearProperty(key);
            assertEquals(KernelChoice.AUTO, KernelsLookup.defaultChoice());
            System.setProperty(key, "  ");
            assertEquals(KernelChoice.AUTO, KernelsLookup.defaultChoice());
            System.setProperty(key, "Scalar");
            assertEquals(KernelChoice.SCALAR, KernelsLookup.defaultChoice());
            assertSame(ScalarKernels.INSTANCE, KernelsLookup.get());
            assertSame(ScalarKernels.INSTANCE, Rnn.create(S).kernels());
            System.setProperty(key, " vector ");
            assertEquals(KernelChoice.VECTOR, KernelsLookup.defaultChoice());
            assertEquals("vector", Rnn.create(S).kernels().name());
            System.setProperty(key, "fast");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, KernelsLookup::defaultChoice);
            assertTrue(e.getMessage().contains("recur.kernels"), e.getMessage());
            assertTrue(e.getMessage().contains("'fast'"), e.getMessage());
            assertTrue(e.getMessage().contains("auto, scalar, vector"), e.getMessage());
        } finally {
            if (saved == null) System.clearProperty(key);
            else System.setProperty(key, saved);
        }
    }

    /**
     * Without the incubator module: auto falls back to scalar and says why; forcing vector is an
     * error that says why. Runs a small JVM (no Maven) on the test class path without the module.
     */
    @Test
    void withoutTheModuleFallsBackAndSaysWhy() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        Process proc = new ProcessBuilder(List.of(java, "-Xshare:auto", "-cp", cp, LookupProbe.class.getName()))
                .redirectErrorStream(true).start();
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "probe JVM timed out");
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, proc.exitValue(), out);
        assertTrue(out.contains("auto=scalar"), out);
        assertTrue(out.contains("reason=scalar: module jdk.incubator.vector is not in this JVM"), out);
        assertTrue(out.contains("vector=UnsupportedOperationException: kernels = vector cannot run here"), out);
        assertTrue(out.contains("--add-modules jdk.incubator.vector"), out);
        assertTrue(cp.contains(File.pathSeparator) || cp.endsWith(".jar") || !cp.isEmpty());
    }
}
