package dev.recur.kernel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * recur.vector.bits: the kernels run at the width asked for (this class also runs in the
 * surefire execution that sets 256), at the CPU's widest when unset, and a malformed value is
 * an error naming the property.
 */
class VectorWidthTest {

    @Test
    void theKernelsRunAtTheWidthAskedFor() {
        int asked = KernelsLookup.requestedVectorBits();
        int want = asked == 0 ? VectorKernels.widestBits() : asked;
        assertEquals(want / 32, VectorKernels.lanes(), "lanes at " + (asked == 0 ? "the widest" : asked + " bits"));
        assertTrue(KernelsLookup.reason().contains(want + "-bit"), KernelsLookup.reason());
        assertEquals("vector", KernelsLookup.resolve(KernelChoice.VECTOR).name());
    }

    @Test
    void aMalformedWidthNamesTheProperty() {
        String old = System.getProperty(KernelsLookup.WIDTH_PROPERTY);
        try {
            System.setProperty(KernelsLookup.WIDTH_PROPERTY, "384");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, KernelsLookup::requestedVectorBits);
            assertTrue(e.getMessage().contains("recur.vector.bits = '384'") && e.getMessage().contains("256 or 512"),
                    e.getMessage());
            System.setProperty(KernelsLookup.WIDTH_PROPERTY, "256");
            assertEquals(256, KernelsLookup.requestedVectorBits());
        } finally {
            if (old == null) System.clearProperty(KernelsLookup.WIDTH_PROPERTY);
            else System.setProperty(KernelsLookup.WIDTH_PROPERTY, old);
        }
    }
}
