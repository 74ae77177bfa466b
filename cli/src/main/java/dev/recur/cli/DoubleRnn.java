package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Shape;

/**
 * A double-precision forward pass and loss, written out from the formulas and sharing no code
 * with the engine, for finite differences: float rounding of the loss (about 1e-7 relative)
 * would swamp a centred difference; in double it is about 1e-16.
 */
final class DoubleRnn {
    private DoubleRnn() {}

    /** The loss summed over T steps and B sequences; parameters p in the layout of {@link Shape}. */
    static double loss(Shape s, Activation act, double[] p, int T, int B, int[] xi, double[] xf, int[] yi, double[] yf,
                       double[] h0) {
        return loss(s, act, p, T, B, xi, xf, yi, yf, h0, 0);
    }

    /**
     * As above, scoring only steps {@code t >= lossFrom}; targets then hold the scored steps only
     * ({@code (T - lossFrom) * B} rows).
     */
    static double loss(Shape s, Activation act, double[] p, int T, int B, int[] xi, double[] xf, int[] yi, double[] yf,
                       double[] h0, int lossFrom) {
        final int I = s.input(), H = s.hidden(), O = s.output();
        double[] h = new double[B * H], a = new double[H], o = new double[O];
        if (h0 != null) System.arraycopy(h0, 0, h, 0, B * H);
        double[] hn = new double[B * H];
        double L = 0;
        for (int t = 0; t < T; t++) {
            for (int r = 0; r < B; r++) {
                for (int i = 0; i < H; i++) {
                    double z = p[s.bOffset() + i];
                    if (xi != null) {
                        z += p[s.uOffset() + i * I + xi[t * B + r]];
                    } else {
                        for (int j = 0; j < I; j++) z += p[s.uOffset() + i * I + j] * xf[(t * B + r) * I + j];
                    }
                    for (int j = 0; j < H; j++) z += p[s.wOffset() + i * H + j] * h[r * H + j];
                    a[i] = z;
                }
                for (int i = 0; i < H; i++) hn[r * H + i] = apply(act, a[i]);
                for (int k = 0; k < O; k++) {
                    double z = p[s.cOffset() + k];
                    for (int j = 0; j < H; j++) z += p[s.vOffset() + k * H + j] * hn[r * H + j];
                    o[k] = z;
                }
                int row = (t - lossFrom) * B + r;
                if (t < lossFrom) {
                    continue;
                } else if (yi != null) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (double v : o) max = Math.max(max, v);
                    double sum = 0;
                    for (double v : o) sum += Math.exp(v - max);
                    L += max + Math.log(sum) - o[yi[row]];
                } else {
                    for (int k = 0; k < O; k++) {
                        double e = o[k] - yf[row * O + k];
                        L += 0.5 * e * e;
                    }
                }
            }
            double[] tmp = h;
            h = hn;
            hn = tmp;
        }
        return L;
    }

    static double apply(Activation act, double a) {
        return switch (act) {
            case TANH -> Math.tanh(a);
            case SIGMOID -> 1.0 / (1.0 + Math.exp(-a));
            case RELU -> a > 0 ? a : 0.0;
        };
    }
}
