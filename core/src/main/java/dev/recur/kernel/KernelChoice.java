package dev.recur.kernel;

/** Which kernel path to use: the best available, or one forced. */
public enum KernelChoice {
    /**
     * Vector kernels where the Vector API can run well here, else scalar; the first such
     * fallback in a JVM logs one {@link System.Logger.Level#WARNING WARNING} with the reason
     * (see {@link KernelsLookup}).
     */
    AUTO,
    /** The plain-loop baseline. */
    SCALAR,
    /**
     * The Vector API kernels, fail-fast: resolving it throws {@link UnsupportedOperationException}
     * with the reason when they cannot run in this JVM (no {@code jdk.incubator.vector} module,
     * no C2 JIT, or fewer than 4 float lanes), instead of falling back to scalar.
     */
    VECTOR;

    /**
     * Parses {@code auto|scalar|vector} (any case, surrounding blanks ignored).
     *
     * @param name the choice's name
     * @return the choice
     * @throws IllegalArgumentException if {@code name} is null or not one of the three; the
     *         message names the value and the choices
     */
    public static KernelChoice parse(String name) {
        if (name != null) {
            for (KernelChoice k : values()) {
                if (k.name().equalsIgnoreCase(name.trim())) return k;
            }
        }
        throw new IllegalArgumentException("kernels = '" + name + "', expected one of auto, scalar, vector");
    }
}
