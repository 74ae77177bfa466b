package dev.recur.kernel;

import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Chooses the kernels once. {@link #resolve(KernelChoice)} honours a forced choice; the system
 * property {@code recur.kernels=scalar|vector|auto} sets the default for {@link #defaultChoice()}.
 *
 * <p>Auto picks the vector kernels when the {@code jdk.incubator.vector} module is in the boot
 * layer (the JVM was started with {@code --add-modules jdk.incubator.vector}), the JIT is C2
 * (the Vector API is only intrinsified there; interpreted it is far slower than plain loops),
 * and the preferred float species has at least 4 lanes. Otherwise it falls back to the scalar
 * kernels and {@link #reason()} says why. The vector class is loaded reflectively, so a JVM
 * without the module never links it.
 *
 * <p>The fallback is loud: the first time auto resolves to scalar in a JVM, one
 * {@link System.Logger.Level#WARNING WARNING} goes to the {@link System.Logger} named
 * {@code dev.recur.kernel.KernelsLookup}, with the reason; later engines stay silent. To fail
 * fast instead of falling back, ask for {@link KernelChoice#VECTOR} (for an engine,
 * {@code Rnn.builder(shape).kernels(KernelChoice.VECTOR)}, or {@code -Drecur.kernels=vector}):
 * it throws {@link UnsupportedOperationException} with the same reason when the vector kernels
 * cannot run.
 */
public final class KernelsLookup {

    /** The system property that forces a choice for {@link #defaultChoice()}. */
    public static final String PROPERTY = "recur.kernels";

    /**
     * The system property that sets the vector kernels' width in bits: 256 or 512, at most
     * the CPU's widest (unset: the widest, e.g. 512 with AVX-512, 256 with AVX2). On an AVX-512
     * CPU, 256 may be faster where 512-bit instructions lower the clock or the sizes are small.
     */
    public static final String WIDTH_PROPERTY = "recur.vector.bits";

    private static final String VECTOR_CLASS = "dev.recur.kernel.VectorKernels";

    /** Set by the first fallback warning: one per JVM, however many engines resolve auto. */
    private static final AtomicBoolean WARNED = new AtomicBoolean();

    /** How many fallback warnings were logged in this JVM (0 or 1); a test hook. */
    static final AtomicInteger FALLBACK_WARNINGS = new AtomicInteger();

    private KernelsLookup() {}

    /** Reads {@code recur.kernels} (auto when unset); a bad value is an error naming it. */
    public static KernelChoice defaultChoice() {
        String p = System.getProperty(PROPERTY);
        if (p == null || p.isBlank()) return KernelChoice.AUTO;
        try {
            return KernelChoice.parse(p);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("system property " + PROPERTY + " = '" + p
                    + "', expected one of auto, scalar, vector");
        }
    }

    /**
     * Reads {@code recur.vector.bits}: 0 when unset (the CPU's widest), else 256 or 512.
     *
     * @return the width asked for, in bits, or 0
     * @throws IllegalArgumentException naming the property and the value when it is not one of those
     */
    public static int requestedVectorBits() {
        String p = System.getProperty(WIDTH_PROPERTY);
        if (p == null || p.isBlank()) return 0;
        switch (p.trim()) {
            case "256": return 256;
            case "512": return 512;
            default:
                throw new IllegalArgumentException("system property " + WIDTH_PROPERTY + " = '" + p
                        + "', expected 256 or 512 (bits per vector; unset: the CPU's widest)");
        }
    }

    /** The kernels for {@link #defaultChoice()}. */
    public static Kernels get() { return resolve(defaultChoice()); }

    /**
     * The kernels for {@code choice}. AUTO falls back to the scalar kernels when the vector
     * kernels cannot run here, logging one warning per JVM with the reason (see the class
     * comment).
     *
     * @param choice auto, scalar or vector
     * @return the kernels to run; the same instance for every call with the same answer
     * @throws IllegalArgumentException if {@code choice} is null, or not scalar while
     *         {@code recur.vector.bits} asks for a width this CPU does not have (or no width)
     * @throws UnsupportedOperationException if {@code choice} is {@link KernelChoice#VECTOR} and
     *         the vector kernels cannot run in this JVM; the message gives the reason
     */
    public static Kernels resolve(KernelChoice choice) {
        if (choice == null) throw new IllegalArgumentException("kernels choice is null, expected auto, scalar or vector");
        // a width asked for and not available is the user's error, never a silent fallback
        if (choice != KernelChoice.SCALAR && Probe.WIDTH_ERROR != null) throw new IllegalArgumentException(Probe.WIDTH_ERROR);
        return resolve(choice, vectorUnavailableReason());
    }

    /** {@link #resolve(KernelChoice)} with the probe's answer given: {@code why} null means the vector kernels can run. */
    static Kernels resolve(KernelChoice choice, String why) {
        return switch (choice) {
            case SCALAR -> ScalarKernels.INSTANCE;
            case VECTOR -> {
                if (why != null) throw new UnsupportedOperationException("kernels = vector cannot run here: " + why);
                yield Holder.VECTOR;
            }
            case AUTO -> {
                if (why == null) yield Holder.VECTOR;
                warnFallbackOnce(why);
                yield ScalarKernels.INSTANCE;
            }
        };
    }

    private static void warnFallbackOnce(String why) {
        if (!WARNED.compareAndSet(false, true)) return;
        FALLBACK_WARNINGS.incrementAndGet();
        System.getLogger(KernelsLookup.class.getName()).log(System.Logger.Level.WARNING,
                "recur: kernels = auto fell back to the scalar kernels (several times slower): " + why
                        + ". Use kernels = vector (-D" + PROPERTY + "=vector) to fail instead of falling back.");
    }

    /** One line: which kernels auto picks and why. */
    public static String reason() {
        String why = vectorUnavailableReason();
        return why == null
                ? "vector: jdk.incubator.vector present, C2 JIT, " + Probe.lanes + " float lanes per vector ("
                        + Probe.lanes * 32 + "-bit" + (Probe.bits == 0 ? ", the CPU's widest" : ", " + WIDTH_PROPERTY) + ")"
                : "scalar: " + why;
    }

    /** Null when the vector kernels can run well in this JVM, else why not. */
    public static String vectorUnavailableReason() { return Probe.REASON; }

    /** Probed once: the answer cannot change during a JVM's life. */
    private static final class Probe {
        static int lanes, bits;
        /** Set when recur.vector.bits is malformed or wider than the CPU's widest vector. */
        static String WIDTH_ERROR;
        static final String REASON = probe();

        private static String probe() {
            if (ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty()) {
                return "module jdk.incubator.vector is not in this JVM (start java with --add-modules jdk.incubator.vector)";
            }
            List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
            for (String a : args) {
                if (a.equals("-Xint") || a.startsWith("-XX:TieredStopAtLevel=") && !a.endsWith("=4")) {
                    return "the C2 JIT is off (" + a + "), and the Vector API is only fast under C2";
                }
            }
            try {
                bits = requestedVectorBits();
            } catch (IllegalArgumentException e) {
                WIDTH_ERROR = e.getMessage();
                return e.getMessage();
            }
            try {
                Class<?> c = Class.forName(VECTOR_CLASS);
                int widest = (int) c.getMethod("widestBits").invoke(null);
                if (bits > widest) {
                    WIDTH_ERROR = "system property " + WIDTH_PROPERTY + " = " + bits + ", but this CPU's widest float vector "
                            + "is " + widest + " bits" + (bits == 512 ? " (no AVX-512)" : "") + ", expected at most " + widest;
                    return WIDTH_ERROR;
                }
                lanes = (int) c.getMethod("lanes").invoke(null);
                if (lanes < 4) return "the preferred float vector has " + lanes + " lanes here (< 4): no gain over scalar";
            } catch (ReflectiveOperationException | LinkageError e) {
                return "the vector kernels failed to load: " + e;
            }
            return null;
        }
    }

    /** Loaded only when the probe said yes. */
    private static final class Holder {
        static final Kernels VECTOR = load();

        private static Kernels load() {
            try {
                return (Kernels) Class.forName(VECTOR_CLASS).getField("INSTANCE").get(null);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("vector kernels failed to load", e);
            }
        }
    }
}
