package dev.recur;

/**
 * Argument checks shared by the public API. Every message names the argument, the value it had
 * and what was expected, so a caller can fix the call from the message alone.
 */
public final class Checks {
    private Checks() {}

    public static int positive(String name, int value) {
        if (value <= 0) throw new IllegalArgumentException(name + " = " + value + ", expected > 0");
        return value;
    }

    public static void length(String name, float[] a, long expected, String expectedFormula) {
        if (a == null) throw new IllegalArgumentException(name + " is null, expected float[" + expectedFormula + " = " + expected + "]");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + ".length = " + a.length + ", expected " + expectedFormula + " = " + expected);
        }
    }

    public static void length(String name, int[] a, long expected, String expectedFormula) {
        if (a == null) throw new IllegalArgumentException(name + " is null, expected int[" + expectedFormula + " = " + expected + "]");
        if (a.length != expected) {
            throw new IllegalArgumentException(name + ".length = " + a.length + ", expected " + expectedFormula + " = " + expected);
        }
    }

    /** Throws if some entry is NaN or infinite, naming the first such index. */
    public static void finite(String name, float[] a) {
        for (int i = 0; i < a.length; i++) {
            if (!Float.isFinite(a[i])) {
                throw new IllegalArgumentException(name + "[" + i + "] = " + a[i] + ", expected a finite number");
            }
        }
    }

    /** Throws if some index lies outside [0, bound), naming the first such index. */
    public static void indices(String name, int[] a, int bound, String boundName) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] < 0 || a[i] >= bound) {
                throw new IllegalArgumentException(name + "[" + i + "] = " + a[i] + ", expected a class index in [0, "
                        + boundName + " = " + bound + ")");
            }
        }
    }
}
