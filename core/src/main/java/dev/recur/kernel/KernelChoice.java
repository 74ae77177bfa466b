package dev.recur.kernel;

/** Which kernel path to use: the best available, or one forced. */
public enum KernelChoice {
    /** Vector kernels where the Vector API can run well here, else scalar (with a stated reason). */
    AUTO,
    /** The plain-loop baseline. */
    SCALAR,
    /** The Vector API kernels; an error if they cannot run in this JVM. */
    VECTOR;

    /** Parses {@code auto|scalar|vector} (any case); the error names the value and the choices. */
    public static KernelChoice parse(String name) {
        if (name != null) {
            for (KernelChoice k : values()) {
                if (k.name().equalsIgnoreCase(name.trim())) return k;
            }
        }
        throw new IllegalArgumentException("kernels = '" + name + "', expected one of auto, scalar, vector");
    }
}
