package dev.recur.gradflow;

/**
 * The per-step rate of a gradient-norm curve: a least-squares line through
 * {@code (lag, ln ||dL_T/dh_{T-lag}||)} over the points that are finite and non-zero, and the lag
 * at which the curve crosses {@link #FACTOR} times its start (growth) or {@code 1/FACTOR} of it
 * (decay).
 *
 * @param ratePerStep   {@code exp(slope)}: the factor the norm is multiplied by per step back
 *                      (below 1: vanishing; above 1: exploding); NaN with fewer than 2 points
 * @param slope         fitted d ln(norm) / d lag
 * @param intercept     fitted ln(norm) at lag 0
 * @param points        how many points the fit used (finite and non-zero)
 * @param crossingLag   first lag whose norm is below start/FACTOR or above start*FACTOR (an
 *                      underflow to 0 counts as below, an overflow to infinity as above); -1 when
 *                      the measured curve never crosses
 * @param growing       true when that crossing (or, with none, the fitted slope) is upward
 * @param extrapolatedLag where the fitted line crosses (from the measured start), whether or not
 *                      the measured curve got there; NaN for a flat or empty fit
 */
public record RateFit(double ratePerStep, double slope, double intercept, int points, int crossingLag,
                      boolean growing, double extrapolatedLag) {

    /** Crossing threshold: 1e6 times the start, or 1e-6 of it. */
    public static final double FACTOR = 1e6;

    /** Fits {@code norms[0..count)} indexed by lag. */
    public static RateFit of(double[] norms, int count) {
        if (norms == null) throw new IllegalArgumentException("norms is null");
        if (count < 0 || count > norms.length) {
            throw new IllegalArgumentException("count = " + count + ", expected 0 <= count <= norms.length = " + norms.length);
        }
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int n = 0;
        for (int k = 0; k < count; k++) {
            double v = norms[k];
            if (!(v > 0) || !Double.isFinite(v)) continue;
            double y = Math.log(v);
            sx += k; sy += y; sxx += (double) k * k; sxy += k * y;
            n++;
        }
        double slope = Double.NaN, intercept = Double.NaN;
        if (n >= 2) {
            double den = n * sxx - sx * sx;
            slope = (n * sxy - sx * sy) / den;
            intercept = (sy - slope * sx) / n;
        } else if (n == 1) {
            intercept = sy;
        }

        int crossing = -1;
        boolean growing = slope > 0;
        double start = count > 0 ? norms[0] : Double.NaN;
        if (start > 0 && Double.isFinite(start)) {
            for (int k = 1; k < count; k++) {
                double v = norms[k];
                if (v < start / FACTOR) { crossing = k; growing = false; break; }     // includes 0
                if (v > start * FACTOR) { crossing = k; growing = true; break; }      // includes +inf
            }
        }
        double extrapolated = Double.NaN;
        if (slope != 0 && Double.isFinite(slope)) extrapolated = Math.log(FACTOR) / Math.abs(slope);
        return new RateFit(Math.exp(slope), slope, intercept, n, crossing, growing, extrapolated);
    }

    /** "vanishing", "exploding" or "flat" (rate within 1% of 1), "n/a" without a fit. */
    public String regime() {
        if (Double.isNaN(ratePerStep)) return "n/a";
        if (Math.abs(ratePerStep - 1) < 0.01) return "flat";
        return ratePerStep < 1 ? "vanishing" : "exploding";
    }
}
