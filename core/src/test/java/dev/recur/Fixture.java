package dev.recur;

import java.util.SplittableRandom;

/**
 * One seeded test problem, in the engine's flat float arrays and, exactly converted, in the
 * reference's double arrays (the reference sees the same float-rounded numbers, so any
 * difference is the engine's float arithmetic). Layout offsets are computed here, not taken
 * from {@link Shape}.
 */
final class Fixture {
    final int nIn, nHid, nOut, steps, batch;
    final Activation activation;
    final boolean dense, classTargets;
    final float[] params;
    final float[] xDense;    // T*B*I or null
    final int[] xClass;      // T*B or null
    final int[] yClass;      // T*B or null
    final float[] yFloat;    // T*B*O or null
    final float[] h0;        // B*H or null (zeros)
    float[] dH;              // T*B*H, layer mode, or null
    float[] dhT;             // B*H, or null

    Fixture(int nIn, int nHid, int nOut, int steps, int batch, Activation activation, boolean dense,
            boolean classTargets, boolean givenH0, long seed) {
        this.nIn = nIn;
        this.nHid = nHid;
        this.nOut = nOut;
        this.steps = steps;
        this.batch = batch;
        this.activation = activation;
        this.dense = dense;
        this.classTargets = classTargets;
        SplittableRandom rnd = new SplittableRandom(seed);
        // U, W, V uniform in +-1/sqrt(fan-in) (the engine's own initialisation scale: W's
        // spectral radius is then about 1/sqrt(3), so the recurrence is contractive); b and c
        // small but non-zero.
        this.params = new float[cOff() + nOut];
        for (int k = uOff(); k < wOff(); k++) params[k] = uniform(rnd, 1 / Math.sqrt(nIn));
        for (int k = wOff(); k < bOff(); k++) params[k] = uniform(rnd, 1 / Math.sqrt(nHid));
        for (int k = bOff(); k < vOff(); k++) params[k] = uniform(rnd, 0.2);
        for (int k = vOff(); k < cOff(); k++) params[k] = uniform(rnd, 1 / Math.sqrt(nHid));
        for (int k = cOff(); k < cOff() + nOut; k++) params[k] = uniform(rnd, 0.2);
        int rows = steps * batch;
        if (dense) {
            xDense = new float[rows * nIn];
            for (int k = 0; k < xDense.length; k++) xDense[k] = uniform(rnd, 1.0);
            xClass = null;
        } else {
            xDense = null;
            xClass = new int[rows];
            for (int k = 0; k < rows; k++) xClass[k] = rnd.nextInt(nIn);
        }
        if (classTargets) {
            yClass = new int[rows];
            for (int k = 0; k < rows; k++) yClass[k] = rnd.nextInt(nOut);
            yFloat = null;
        } else {
            yClass = null;
            yFloat = new float[rows * nOut];
            for (int k = 0; k < yFloat.length; k++) yFloat[k] = uniform(rnd, 1.0);
        }
        if (givenH0) {
            h0 = new float[batch * nHid];
            for (int k = 0; k < h0.length; k++) h0[k] = uniform(rnd, 0.5);
        } else {
            h0 = null;
        }
    }

    @Override public String toString() {
        return "I=" + nIn + " H=" + nHid + " O=" + nOut + " T=" + steps + " B=" + batch + " " + activation
                + (dense ? " dense" : " class-in") + (classTargets ? " xent" : " sqerr") + (h0 != null ? " h0" : "")
                + (dH != null ? " layer" : "");
    }

    /** Adds a caller dL/dh_t (T*B*H) and dL/dh_T (B*H), for layer mode. */
    Fixture withLayerGradients(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        dH = new float[steps * batch * nHid];
        for (int k = 0; k < dH.length; k++) dH[k] = uniform(rnd, 1.0);
        dhT = new float[batch * nHid];
        for (int k = 0; k < dhT.length; k++) dhT[k] = uniform(rnd, 1.0);
        return this;
    }

    static float uniform(SplittableRandom rnd, double bound) { return (float) ((2 * rnd.nextDouble() - 1) * bound); }

    Shape shape() { return new Shape(nIn, nHid, nOut); }

    int uOff() { return 0; }
    int wOff() { return nHid * nIn; }
    int bOff() { return wOff() + nHid * nHid; }
    int vOff() { return bOff() + nHid; }
    int cOff() { return vOff() + nOut * nHid; }

    ReferenceRnn reference() {
        return ReferenceRnn.fromFlat(ReferenceRnn.Act.of(activation), nIn, nHid, nOut, params);
    }

    /** The reference's view of the problem; withHead = false drops the targets (layer mode). */
    ReferenceRnn.Problem problem(boolean withHead) {
        ReferenceRnn.Problem p = new ReferenceRnn.Problem();
        p.steps = steps;
        p.batch = batch;
        if (dense) p.x = unflat(xDense, steps, batch, nIn);
        else p.xi = unflat(xClass, steps, batch);
        if (withHead) {
            if (classTargets) p.yi = unflat(yClass, steps, batch);
            else p.yf = unflat(yFloat, steps, batch, nOut);
        }
        if (h0 != null) p.h0 = unflat(h0, batch, nHid);
        if (dH != null) p.dH = unflat(dH, steps, batch, nHid);
        if (dhT != null) p.dhT = unflat(dhT, batch, nHid);
        return p;
    }

    static double[][][] unflat(float[] a, int n0, int n1, int n2) {
        double[][][] r = new double[n0][n1][n2];
        int k = 0;
        for (int i = 0; i < n0; i++) for (int j = 0; j < n1; j++) for (int l = 0; l < n2; l++) r[i][j][l] = a[k++];
        return r;
    }

    static double[][] unflat(float[] a, int n0, int n1) {
        double[][] r = new double[n0][n1];
        int k = 0;
        for (int i = 0; i < n0; i++) for (int j = 0; j < n1; j++) r[i][j] = a[k++];
        return r;
    }

    static int[][] unflat(int[] a, int n0, int n1) {
        int[][] r = new int[n0][n1];
        int k = 0;
        for (int i = 0; i < n0; i++) for (int j = 0; j < n1; j++) r[i][j] = a[k++];
        return r;
    }

    static double[] flat(double[][] a) {
        int n = 0;
        for (double[] r : a) n += r.length;
        double[] f = new double[n];
        int k = 0;
        for (double[] r : a) for (double v : r) f[k++] = v;
        return f;
    }

    static double[] flat(double[][][] a) {
        int n = 0;
        for (double[][] m : a) for (double[] r : m) n += r.length;
        double[] f = new double[n];
        int k = 0;
        for (double[][] m : a) for (double[] r : m) for (double v : r) f[k++] = v;
        return f;
    }

    static double[] slice(float[] a, int off, int len) {
        double[] r = new double[len];
        for (int k = 0; k < len; k++) r[k] = a[off + k];
        return r;
    }

    static double[] toDouble(float[] a) { return slice(a, 0, a.length); }

    /** Norm-wise relative error ||got - ref|| / ||ref|| (absolute ||got|| when ref is zero). */
    static double relErr(double[] got, double[] ref) {
        if (got.length != ref.length) throw new AssertionError("lengths " + got.length + " vs " + ref.length);
        double num = 0, den = 0;
        for (int k = 0; k < got.length; k++) {
            double d = got[k] - ref[k];
            num += d * d;
            den += ref[k] * ref[k];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    static double norm(double[] a) {
        double s = 0;
        for (double v : a) s += v * v;
        return Math.sqrt(s);
    }

    /**
     * The tests' float-vs-double criterion (BpttAgainstReferenceTest explains it):
     * ||got - ref|| &lt;= tol * ||magnitude||, magnitude being the reference's time sums taken
     * over absolute values. Returns null when it holds, else a message.
     */
    static String compare(String name, double[] got, double[] ref, double[] magnitude, double tol) {
        double[] diff = got.clone();
        for (int j = 0; j < diff.length; j++) diff[j] -= ref[j];
        double dn = norm(diff), m = norm(magnitude);
        double scaled = m > 0 ? dn / m : dn == 0 ? 0 : Double.POSITIVE_INFINITY;
        if (scaled <= tol) return null;
        return String.format(java.util.Locale.ROOT, "%s: error/magnitude %.3g > tolerance %.3g (relative error %.3g)",
                name, scaled, tol, relErr(got, ref));
    }

    /** Unit roundoff of float, 2^-24. */
    static final double U_FLOAT = Math.ulp(1.0f) / 2;

    /** The engine on a forced kernel path. */
    static Rnn engine(Shape shape, Activation act, dev.recur.kernel.KernelChoice path) {
        return Rnn.builder(shape).activation(act).kernels(path).build();
    }

    /** Engine forward with targets, as the fixture's input and target kinds say. */
    double forward(Rnn rnn, Params p, Workspace ws) {
        if (dense && classTargets) return rnn.forward(p, ws, steps, xDense, yClass, h0);
        if (dense) return rnn.forward(p, ws, steps, xDense, yFloat, h0);
        if (classTargets) return rnn.forward(p, ws, steps, xClass, yClass, h0);
        return rnn.forward(p, ws, steps, xClass, yFloat, h0);
    }
}
