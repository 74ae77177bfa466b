package dev.recur.gradflow;

import dev.recur.Activation;

/**
 * The seed's "function graph and derivative graph": {@code act(a)} and {@code act'(a)} over a
 * range of pre-activations, with the derivative computed exactly as the engine's backward does,
 * from the output ({@link Activation#derivativeFromOutput}).
 */
public final class Derivatives {
    private Derivatives() {}

    /** One activation sampled at {@code a[k]}. */
    public record Curve(Activation activation, double[] a, double[] value, double[] derivative) {
        /** Largest derivative over the samples. */
        public double maxDerivative() {
            double m = Double.NEGATIVE_INFINITY;
            for (double d : derivative) m = Math.max(m, d);
            return m;
        }
    }

    /** {@code points} evenly spaced samples over [lo, hi] (both included). */
    public static Curve sample(Activation act, double lo, double hi, int points) {
        if (act == null) throw new IllegalArgumentException("activation is null, expected tanh, sigmoid or relu");
        if (!Double.isFinite(lo) || !Double.isFinite(hi) || !(lo < hi)) {
            throw new IllegalArgumentException("range = [" + lo + ", " + hi + "], expected finite lo < hi");
        }
        if (points < 2) throw new IllegalArgumentException("points = " + points + ", expected >= 2");
        double[] a = new double[points], v = new double[points], d = new double[points];
        for (int k = 0; k < points; k++) {
            double x = lo + (hi - lo) * k / (points - 1);
            if (Math.abs(x) < 1e-12) x = 0;          // put 0 exactly on the grid when it is there
            float h = act.apply((float) x);
            a[k] = x;
            v[k] = h;
            d[k] = act.derivativeFromOutput(h);
        }
        return new Curve(act, a, v, d);
    }

    /** The supremum of act' over the reals: 1/4 for sigmoid, 1 for tanh and relu. */
    public static double supremum(Activation act) {
        return switch (act) {
            case SIGMOID -> 0.25;
            case TANH, RELU -> 1.0;
        };
    }
}
