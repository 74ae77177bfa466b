package dev.recur;

/**
 * The hidden-state non-linearity {@code h = act(a)}, with its derivative expressed through the
 * output {@code h} (which is what backward has stored): tanh' = 1 - h^2, sigmoid' = h (1 - h),
 * relu' = [h > 0].
 *
 * <p>In float the derivative from the output becomes exactly 0 once {@code h} rounds to its
 * bound: for tanh when |a| is above about 9, for sigmoid when a is above about 17 (h rounds
 * to 1). That is the saturated end of the vanishing-gradient argument.
 */
public enum Activation {
    /** {@code tanh(a)}, output in (-1, 1); derivative {@code 1 - h^2}. */
    TANH {
        @Override public float apply(float a) { return (float) Math.tanh(a); }
        @Override public float derivativeFromOutput(float h) { return 1f - h * h; }
    },
    /** The logistic {@code 1 / (1 + e^-a)}, output in (0, 1); derivative {@code h (1 - h)}. */
    SIGMOID {
        @Override public float apply(float a) { return (float) (1.0 / (1.0 + Math.exp(-a))); }
        @Override public float derivativeFromOutput(float h) { return h * (1f - h); }
    },
    /** {@code max(a, 0)}; derivative 1 where the output is positive, else 0. */
    RELU {
        @Override public float apply(float a) { return a > 0f ? a : 0f; }
        @Override public float derivativeFromOutput(float h) { return h > 0f ? 1f : 0f; }
    };

    /** The activation's value at pre-activation {@code a}. */
    public abstract float apply(float a);

    /** The derivative d act / d a, computed from the output {@code h = act(a)}. */
    public abstract float derivativeFromOutput(float h);

    /** Parses {@code tanh|sigmoid|relu} (any case); the error names the value and the choices. */
    public static Activation parse(String name) {
        if (name != null) {
            for (Activation a : values()) {
                if (a.name().equalsIgnoreCase(name.trim())) return a;
            }
        }
        throw new IllegalArgumentException("activation = '" + name + "', expected one of tanh, sigmoid, relu");
    }

    /** Lower-case name as used on the command line and in model files. */
    public String id() { return name().toLowerCase(java.util.Locale.ROOT); }
}
