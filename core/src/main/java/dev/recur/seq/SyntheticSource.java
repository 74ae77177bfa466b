package dev.recur.seq;

import dev.recur.Params;
import dev.recur.Shape;

/**
 * A seeded synthetic sequence of any length, with random access: every value is a pure function
 * of (seed, step, sequence, component), computed by a counter-based generator (the SplitMix64
 * finaliser of a per-element counter). This is the strongest form of "derive each segment's
 * random numbers from (seed, segment index)": any range of steps can be re-read, in any order
 * and at any granularity, and comes out bitwise the same, with nothing stored.
 *
 * <p>The task is a delay-1 recall, so the network has something to remember: inputs are uniform
 * in [-1, 1) (dense) or uniform classes (class inputs); the target at step t is derived from the
 * input at step t-1 (step 0: from a constant):
 * <ul>
 *   <li>class targets, dense inputs: the bucket of x_{t-1}[0] among O equal buckets of [-1, 1);</li>
 *   <li>class targets, class inputs: x_{t-1} mod O;</li>
 *   <li>float targets: y_t[o] = 0.5 x_{t-1}[o mod I] (dense), or 0.5 [x_{t-1} == o mod I] (class);</li>
 * </ul>
 * plus a constant offset {@link #targetOffset} on float targets (0 unless set), which makes every
 * step's gradient lean the same way (used to show the drift of naive float time sums).
 */
public final class SyntheticSource implements InputSource {
    private final long steps;
    private final int batch, input, output;
    private final Kind inKind, targetKind;
    private final long seed;
    private final float targetOffset;

    /**
     * A seeded random sequence, generated on demand (nothing is stored), the same for the same
     * arguments.
     *
     * @param targetOffset added to every float target (ignored for class targets)
     */
    public SyntheticSource(long steps, int batch, int input, int output, Kind inKind, Kind targetKind, long seed,
                           float targetOffset) {
        if (steps <= 0) throw new IllegalArgumentException("steps = " + steps + ", expected > 0");
        dev.recur.internal.Checks.positive("batch", batch);
        dev.recur.internal.Checks.positive("input", input);
        dev.recur.internal.Checks.positive("output", output);
        if (inKind == null || targetKind == null) throw new IllegalArgumentException("input and target kinds must not be null");
        this.steps = steps;
        this.batch = batch;
        this.input = input;
        this.output = output;
        this.inKind = inKind;
        this.targetKind = targetKind;
        this.seed = seed;
        this.targetOffset = targetOffset;
    }

    /** Dense inputs and class targets (the {@code recur stress} task). */
    public SyntheticSource(long steps, int batch, int input, int output, long seed) {
        this(steps, batch, input, output, Kind.DENSE, Kind.CLASS, seed, 0f);
    }

    @Override public long steps() { return steps; }
    @Override public int batch() { return batch; }
    @Override public int inputSize() { return input; }
    @Override public int outputSize() { return output; }
    @Override public Kind inputKind() { return inKind; }
    @Override public Kind targetKind() { return targetKind; }
    /** The constant added to float targets. */
    public float targetOffset() { return targetOffset; }

    /** Dense input x_t[r][i] (t >= 0). */
    public float denseInput(long t, int r, int i) {
        long idx = (t * batch + r) * input + i;
        return (float) (unit(mix(seed, 0x5EED_0001L, idx)) * 2 - 1);
    }

    /** Class input x_t[r] (t >= 0). */
    public int classInput(long t, int r) {
        return (int) Long.remainderUnsigned(mix(seed, 0x5EED_0002L, t * batch + r), input);
    }

    @Override
    public void read(long t0, Segment into) {
        int n = into.steps();
        InputSource.checkRange(this, t0, n);
        if (inKind == Kind.DENSE) {
            float[] x = into.denseInputs();
            int k = 0;
            for (int s = 0; s < n; s++) {
                for (int r = 0; r < batch; r++) {
                    for (int i = 0; i < input; i++) x[k++] = denseInput(t0 + s, r, i);
                }
            }
        } else {
            int[] x = into.classInputs();
            int k = 0;
            for (int s = 0; s < n; s++) {
                for (int r = 0; r < batch; r++) x[k++] = classInput(t0 + s, r);
            }
        }
        if (targetKind == Kind.CLASS) {
            int[] y = into.classTargets();
            int k = 0;
            for (int s = 0; s < n; s++) {
                long t = t0 + s;
                for (int r = 0; r < batch; r++) {
                    int c;
                    if (t == 0) c = 0;
                    else if (inKind == Kind.DENSE) c = Math.min(output - 1, (int) ((denseInput(t - 1, r, 0) + 1f) * 0.5f * output));
                    else c = classInput(t - 1, r) % output;
                    y[k++] = c;
                }
            }
        } else {
            float[] y = into.denseTargets();
            int k = 0;
            for (int s = 0; s < n; s++) {
                long t = t0 + s;
                for (int r = 0; r < batch; r++) {
                    int prevClass = t == 0 || inKind == Kind.DENSE ? -1 : classInput(t - 1, r);
                    for (int o = 0; o < output; o++) {
                        float v;
                        if (t == 0) v = 0f;
                        else if (inKind == Kind.DENSE) v = 0.5f * denseInput(t - 1, r, o % input);
                        else v = prevClass == o % input ? 0.5f : 0f;
                        y[k++] = v + targetOffset;
                    }
                }
            }
        }
    }

    /**
     * Seeded parameters ({@link Params#random}) with every W_hh rescaled so that its spectral norm
     * ||W||_2 (largest singular value, by power iteration in double) equals {@code norm}. With
     * {@code norm < 1} the recurrence is a contraction for tanh ({@code |tanh'| <= 1}): states forget
     * their start and float and double runs stay comparable over any length.
     */
    public static Params contractingParams(Shape shape, long seed, double norm) {
        if (!(norm > 0) || !Double.isFinite(norm)) throw new IllegalArgumentException("norm = " + norm + ", expected > 0");
        Params p = Params.random(shape, seed);
        int h = shape.hidden(), rows = shape.gates() * h;
        float[] d = p.data();
        for (int l = 0; l < shape.layers(); l++) {
            for (int dir = 0; dir < shape.directions(); dir++) {
                int w = shape.recurrentWeights(l, dir);
                double s = spectralNorm(d, w, rows, h);
                if (s > 0) {
                    double f = norm / s;
                    for (int k = 0; k < rows * h; k++) d[w + k] = (float) (d[w + k] * f);
                }
            }
        }
        return p;
    }

    /** Largest singular value of the rows x h matrix at {@code off}, by power iteration on W^T W. */
    static double spectralNorm(float[] a, int off, int rows, int h) {
        double[] v = new double[h], u = new double[rows];
        for (int i = 0; i < h; i++) v[i] = 1.0 / Math.sqrt(h) * (1 + 0.01 * i);
        double sigma = 0;
        for (int it = 0; it < 300; it++) {
            for (int i = 0; i < rows; i++) {
                double s = 0;
                for (int j = 0; j < h; j++) s += a[off + i * h + j] * v[j];
                u[i] = s;
            }
            for (int j = 0; j < h; j++) v[j] = 0;
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < h; j++) v[j] += a[off + i * h + j] * u[i];
            }
            double nv = 0;
            for (double x : v) nv += x * x;
            nv = Math.sqrt(nv);
            if (nv == 0) return 0;
            double next = Math.sqrt(nv);
            for (int j = 0; j < h; j++) v[j] /= nv;
            if (Math.abs(next - sigma) <= 1e-12 * next) return next;
            sigma = next;
        }
        return sigma;
    }

    /** SplitMix64 finaliser of a counter keyed by (seed, stream). */
    private static long mix(long seed, long stream, long idx) {
        long z = seed * 0x9E3779B97F4A7C15L + stream * 0xD1B54A32D192ED03L + idx * 0x9E3779B97F4A7C15L + idx;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1) from the top 53 bits. */
    private static double unit(long z) { return (z >>> 11) * 0x1.0p-53; }
}
