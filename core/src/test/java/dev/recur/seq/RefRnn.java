package dev.recur.seq;

import dev.recur.Params;
import dev.recur.Shape;

/**
 * An independent double-precision reference for the seq tests: straight loops over the formulas
 * of DESIGN.md (tanh), sharing no code with main. Computes full BPTT and truncated BPTT(k1, k2)
 * (Williams & Peng: at every k1-th step t, the losses of [t-k1, t) back-propagated through
 * [max(0, t-k2), t)). Full BPTT is the case k1 = k2 = T.
 */
final class RefRnn {
    final int I, H, O, B;
    final double[] U, W, b, V, c;

    RefRnn(Params p, int batch) {
        Shape s = p.shape();
        I = s.input();
        H = s.hidden();
        O = s.output();
        B = batch;
        float[] d = p.data();
        U = slice(d, s.uOffset(), H * I);
        W = slice(d, s.wOffset(), H * H);
        b = slice(d, s.bOffset(), H);
        V = slice(d, s.vOffset(), O * H);
        c = slice(d, s.cOffset(), O);
    }

    private static double[] slice(float[] d, int off, int n) {
        double[] r = new double[n];
        for (int k = 0; k < n; k++) r[k] = d[off + k];
        return r;
    }

    /** Result: loss and gradients in the Params layout (U|W|b|V|c), in double. */
    record Out(double loss, double[] grad, double[] hT) {}

    /**
     * @param x  dense inputs (T*B*I) or null
     * @param xi class inputs (T*B) or null
     * @param yi class targets or null
     * @param yf float targets or null
     */
    Out run(int T, float[] x, int[] xi, int[] yi, float[] yf, int k1, int k2) {
        double[] hs = new double[(T + 1) * B * H];
        double[] dy = new double[T * B * O];
        double loss = 0;
        for (int t = 0; t < T; t++) {
            for (int r = 0; r < B; r++) {
                int prev = (t * B + r) * H, cur = ((t + 1) * B + r) * H;
                for (int i = 0; i < H; i++) {
                    double a = b[i];
                    if (x != null) for (int j = 0; j < I; j++) a += U[i * I + j] * x[(t * B + r) * I + j];
                    else a += U[i * I + xi[t * B + r]];
                    for (int j = 0; j < H; j++) a += W[i * H + j] * hs[prev + j];
                    hs[cur + i] = Math.tanh(a);
                }
                double[] o = new double[O];
                for (int q = 0; q < O; q++) {
                    double s = c[q];
                    for (int j = 0; j < H; j++) s += V[q * H + j] * hs[cur + j];
                    o[q] = s;
                }
                int d = (t * B + r) * O;
                if (yi != null) {
                    double m = Double.NEGATIVE_INFINITY;
                    for (double v : o) m = Math.max(m, v);
                    double z = 0;
                    for (double v : o) z += Math.exp(v - m);
                    int y = yi[t * B + r];
                    loss += Math.log(z) + m - o[y];
                    for (int q = 0; q < O; q++) dy[d + q] = Math.exp(o[q] - m) / z - (q == y ? 1 : 0);
                } else {
                    for (int q = 0; q < O; q++) {
                        double diff = o[q] - yf[d + q];
                        loss += 0.5 * diff * diff;
                        dy[d + q] = diff;
                    }
                }
            }
        }
        int uo = 0, wo = H * I, bo = wo + H * H, vo = bo + H, co = vo + O * H;
        double[] g = new double[co + O];
        double[] delta = new double[B * H], next = new double[B * H];
        for (int end = k1; end <= T; end += k1) {
            // the output layer for the window's own steps
            for (int t = end - k1; t < end; t++) {
                for (int r = 0; r < B; r++) {
                    int cur = ((t + 1) * B + r) * H, d = (t * B + r) * O;
                    for (int q = 0; q < O; q++) {
                        g[co + q] += dy[d + q];
                        for (int j = 0; j < H; j++) g[vo + q * H + j] += dy[d + q] * hs[cur + j];
                    }
                }
            }
            java.util.Arrays.fill(next, 0);
            for (int t = end - 1; t >= Math.max(0, end - k2); t--) {
                for (int r = 0; r < B; r++) {
                    int cur = ((t + 1) * B + r) * H, d = (t * B + r) * O;
                    for (int i = 0; i < H; i++) {
                        double gi = 0;
                        if (t >= end - k1) for (int q = 0; q < O; q++) gi += V[q * H + i] * dy[d + q];
                        for (int j = 0; j < H; j++) gi += W[j * H + i] * next[r * H + j];
                        double h = hs[cur + i];
                        delta[r * H + i] = (1 - h * h) * gi;
                    }
                }
                for (int r = 0; r < B; r++) {
                    int prev = (t * B + r) * H;
                    for (int i = 0; i < H; i++) {
                        double di = delta[r * H + i];
                        g[bo + i] += di;
                        for (int j = 0; j < H; j++) g[wo + i * H + j] += di * hs[prev + j];
                        if (x != null) for (int j = 0; j < I; j++) g[uo + i * I + j] += di * x[(t * B + r) * I + j];
                        else g[uo + i * I + xi[t * B + r]] += di;
                    }
                }
                double[] tmp = next;
                next = delta;
                delta = tmp;
            }
        }
        double[] hT = new double[B * H];
        System.arraycopy(hs, T * B * H, hT, 0, B * H);
        return new Out(loss, g, hT);
    }

    /** Norm-wise relative error ||a - ref|| / ||ref|| over [off, off+n). */
    static double relErr(float[] a, double[] ref, int off, int n) {
        double num = 0, den = 0;
        for (int k = off; k < off + n; k++) {
            double d = a[k] - ref[k];
            num += d * d;
            den += ref[k] * ref[k];
        }
        return Math.sqrt(num / den);
    }

    static double relErr(float[] a, double[] ref) { return relErr(a, ref, 0, ref.length); }

    /** Norm-wise relative difference of two float arrays. */
    static double relDiff(float[] a, float[] ref) {
        double num = 0, den = 0;
        for (int k = 0; k < ref.length; k++) {
            double d = (double) a[k] - ref[k];
            num += d * d;
            den += (double) ref[k] * ref[k];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }
}
