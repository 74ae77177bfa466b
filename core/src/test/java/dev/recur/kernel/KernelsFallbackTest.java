package dev.recur.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * The kernel fallback is loud once and fail-fast on request: auto resolving to scalar logs one
 * warning per JVM however many engines ask, and vector throws with the reason. The probe's
 * answer is passed in, so the fallback is exercised even in a JVM that has the vector module.
 */
class KernelsFallbackTest {

    private static final String WHY = "simulated: module jdk.incubator.vector is not in this JVM";

    @Test
    void autoFallbackWarnsOncePerJvm() {
        for (int i = 0; i < 5; i++) {
            assertSame(ScalarKernels.INSTANCE, KernelsLookup.resolve(KernelChoice.AUTO, WHY));
        }
        // once per JVM: exactly one, whether this test or an earlier fallback logged it
        assertEquals(1, KernelsLookup.FALLBACK_WARNINGS.get());
        assertSame(ScalarKernels.INSTANCE, KernelsLookup.resolve(KernelChoice.AUTO, "another reason"));
        assertEquals(1, KernelsLookup.FALLBACK_WARNINGS.get());
    }

    @Test
    void forcedChoicesNeverWarnAndVectorFailsFast() {
        int before = KernelsLookup.FALLBACK_WARNINGS.get();
        assertSame(ScalarKernels.INSTANCE, KernelsLookup.resolve(KernelChoice.SCALAR, WHY));
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> KernelsLookup.resolve(KernelChoice.VECTOR, WHY));
        assertTrue(e.getMessage().contains(WHY), e.getMessage());
        assertEquals(before, KernelsLookup.FALLBACK_WARNINGS.get());
    }
}
