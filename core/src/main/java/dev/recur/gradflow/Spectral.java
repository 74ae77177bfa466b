package dev.recur.gradflow;

import java.util.SplittableRandom;

/**
 * Power-iteration estimates for small dense matrices (row-major, in double): the spectral norm
 * ||A||_2 (largest singular value) and the spectral radius rho(A) (largest |eigenvalue|).
 *
 * <p>Both are deterministic: the start vector comes from a fixed seed.
 */
public final class Spectral {
    private Spectral() {}

    /** Default iteration cap for {@link #norm}; it stops earlier once the estimate settles. */
    public static final int NORM_ITERATIONS = 2000;
    /** Iterations for {@link #radius}. */
    public static final int RADIUS_ITERATIONS = 1000;

    /**
     * ||A||_2 of the m x n matrix A at {@code a[off..]} (row-major, leading dimension n), by power
     * iteration on A^T A. The estimate approaches the true norm from below; it stops when two
     * successive estimates agree to 1e-12 (relative) or after {@code maxIterations}.
     */
    public static double norm(int m, int n, double[] a, int off, int maxIterations) {
        double[] v = start(n, 0x5eedL);
        double[] u = new double[m];
        double sigma = 0;
        for (int it = 0; it < maxIterations; it++) {
            // u = A v
            for (int i = 0; i < m; i++) {
                double s = 0;
                int row = off + i * n;
                for (int j = 0; j < n; j++) s += a[row + j] * v[j];
                u[i] = s;
            }
            // v = A^T u
            java.util.Arrays.fill(v, 0);
            for (int i = 0; i < m; i++) {
                double ui = u[i];
                if (ui == 0) continue;
                int row = off + i * n;
                for (int j = 0; j < n; j++) v[j] += a[row + j] * ui;
            }
            double vn = norm2(v);
            // ||A^T A v|| for unit v: approaches sigma_max^2
            double next = Math.sqrt(vn);
            if (vn == 0) return 0;
            for (int j = 0; j < n; j++) v[j] /= vn;
            if (it > 2 && Math.abs(next - sigma) <= 1e-12 * next) return next;
            sigma = next;
        }
        return sigma;
    }

    /** {@link #norm(int, int, double[], int, int)} with {@link #NORM_ITERATIONS}. */
    public static double norm(int m, int n, double[] a) { return norm(m, n, a, 0, NORM_ITERATIONS); }

    /** ||A||_2 of an n x n float matrix at {@code a[off..]} (row-major). */
    public static double norm(int n, float[] a, int off) {
        return norm(n, n, toDouble(a, off, n * n), 0, NORM_ITERATIONS);
    }

    /**
     * rho(A) of the n x n matrix at {@code a[off..]}: power iteration x_{k+1} = A x_k / ||A x_k||,
     * rho estimated from the growth of ||A^k x|| over the second half of the iterations,
     * (log ||A^K x|| - log ||A^{K/2} x||) / (K/2). Unlike the Rayleigh quotient this also holds when
     * the dominant eigenvalues are a complex pair (a rotation), as they often are for a random
     * non-symmetric W; the constant of the transient cancels.
     */
    public static double radius(int n, double[] a, int off, int iterations) {
        if (iterations < 2) throw new IllegalArgumentException("iterations = " + iterations + ", expected >= 2");
        double[] x = start(n, 0x7a11L);
        double[] y = new double[n];
        double logSecondHalf = 0;
        int half = iterations / 2;
        for (int it = 0; it < iterations; it++) {
            for (int i = 0; i < n; i++) {
                double s = 0;
                int row = off + i * n;
                for (int j = 0; j < n; j++) s += a[row + j] * x[j];
                y[i] = s;
            }
            double g = norm2(y);
            if (g == 0) return 0;      // nilpotent on this start vector
            if (it >= half) logSecondHalf += Math.log(g);
            for (int i = 0; i < n; i++) x[i] = y[i] / g;
        }
        return Math.exp(logSecondHalf / (iterations - half));
    }

    /** rho of an n x n float matrix at {@code a[off..]}. */
    public static double radius(int n, float[] a, int off) {
        return radius(n, toDouble(a, off, n * n), 0, RADIUS_ITERATIONS);
    }

    static double[] toDouble(float[] a, int off, int len) {
        double[] d = new double[len];
        for (int k = 0; k < len; k++) d[k] = a[off + k];
        return d;
    }

    static double norm2(double[] v) {
        double s = 0;
        for (double x : v) s += x * x;
        return Math.sqrt(s);
    }

    private static double[] start(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        double[] v = new double[n];
        for (int j = 0; j < n; j++) v[j] = 1.0 + 0.5 * r.nextDouble();
        double nv = norm2(v);
        for (int j = 0; j < n; j++) v[j] /= nv;
        return v;
    }
}
