package dev.recur.internal;

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

    /** Checks that {@code a[offset .. offset + count)} exists; the message names the argument, the sizes and the formula. */
    public static void range(String name, float[] a, int offset, long count, String formula) {
        if (a == null) throw new IllegalArgumentException(name + " is null, expected float[" + formula + " = " + count + "]");
        range(name, a.length, offset, count, formula);
    }

    /** As {@link #range(String, float[], int, long, String)} for ints. */
    public static void range(String name, int[] a, int offset, long count, String formula) {
        if (a == null) throw new IllegalArgumentException(name + " is null, expected int[" + formula + " = " + count + "]");
        range(name, a.length, offset, count, formula);
    }

    private static void range(String name, int length, int offset, long count, String formula) {
        if (offset < 0 || offset > length) {
            throw new IllegalArgumentException(name + " offset = " + offset + ", expected 0 <= offset <= " + name + ".length = " + length);
        }
        if (offset + count > length) {
            throw new IllegalArgumentException(name + ".length = " + length + (offset > 0 ? " from offset " + offset : "")
                    + ", expected at least " + formula + " = " + count + " elements" + (offset > 0 ? " after the offset" : ""));
        }
    }

    /** Throws if some entry of {@code a[offset .. offset + count)} is NaN or infinite, naming the first. */
    public static void finite(String name, float[] a, int offset, long count) {
        for (int i = 0; i < count; i++) {
            if (!Float.isFinite(a[offset + i])) {
                throw new IllegalArgumentException(name + "[" + i + "] = " + a[offset + i] + ", expected a finite number");
            }
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
