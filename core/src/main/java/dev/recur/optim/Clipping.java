package dev.recur.optim;

import dev.recur.Grads;

/** Gradient clipping over the whole flat gradient array. */
public final class Clipping {
    private Clipping() {}

    /**
     * Scales all gradients by {@code maxNorm / norm} when their global L2 norm exceeds
     * {@code maxNorm} (Pascanu et al. 2013); returns the norm before clipping. A non-finite norm
     * is left alone and returned, so the caller can see it and stop.
     */
    public static double byGlobalNorm(Grads grads, double maxNorm) {
        if (grads == null) throw new IllegalArgumentException("grads is null");
        if (!(maxNorm > 0) || !Double.isFinite(maxNorm)) {
            throw new IllegalArgumentException("maxNorm = " + maxNorm + ", expected a finite number > 0");
        }
        double norm = grads.l2Norm();
        if (norm > maxNorm && Double.isFinite(norm)) grads.scale((float) (maxNorm / norm));
        return norm;
    }

    /** Clamps every gradient entry into [-maxAbs, maxAbs] (min-char-rnn's clip); returns how many were clamped. */
    public static int byValue(Grads grads, float maxAbs) {
        if (grads == null) throw new IllegalArgumentException("grads is null");
        if (!(maxAbs > 0f) || !Float.isFinite(maxAbs)) {
            throw new IllegalArgumentException("maxAbs = " + maxAbs + ", expected a finite number > 0");
        }
        float[] g = grads.data();
        int clamped = 0;
        for (int k = 0; k < g.length; k++) {
            if (g[k] > maxAbs) { g[k] = maxAbs; clamped++; }
            else if (g[k] < -maxAbs) { g[k] = -maxAbs; clamped++; }
        }
        return clamped;
    }
}
