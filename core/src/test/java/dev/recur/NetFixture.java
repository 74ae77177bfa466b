package dev.recur;

import dev.recur.reference.ReferenceNetwork;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * One seeded test problem for a network: parameters, inputs, lengths, targets, initial states
 * and outside gradients, in the engine's flat float arrays and, exactly converted, in the
 * reference's double arrays (the reference sees the same float-rounded numbers, so any difference
 * is the engine's float arithmetic). Parameters reach the reference by block name, so the
 * engine's offsets are tested by {@code ShapeLayoutTest} on their own.
 */
final class NetFixture {
    final Shape shape;
    final Activation act;
    final int steps, batch;
    final boolean dense;
    /** "xent", "mse" or "none". */
    final String loss;
    final boolean mean;
    final float[] params;
    final float[] x;        // T*B*I or null
    final int[] xi;         // T*B or null
    final int[] lengths;    // B or null
    final int[] yi;         // T*B or null
    final float[] yf;       // T*B*O or null
    float[] h0, c0;         // L*D*B*H or null
    float[] dY;             // T*B*D*H or null (layer mode)
    float[] dhT, dcT;       // L*D*B*H or null

    /** Options beyond the sizes. */
    record Options(boolean dense, String loss, boolean mean, boolean varLengths, boolean h0, boolean layerMode, int ignoreEvery) {
        static Options of(boolean dense, String loss) { return new Options(dense, loss, false, false, false, false, 0); }
        Options lengths(boolean on) { return new Options(dense, loss, mean, on, h0, layerMode, ignoreEvery); }
        Options withH0(boolean on) { return new Options(dense, loss, mean, varLengths, on, layerMode, ignoreEvery); }
        Options layer(boolean on) { return new Options(dense, loss, mean, varLengths, h0, on, ignoreEvery); }
        Options mean(boolean on) { return new Options(dense, loss, on, varLengths, h0, layerMode, ignoreEvery); }
        Options ignore(int every) { return new Options(dense, loss, mean, varLengths, h0, layerMode, every); }
    }

    final Options opt;

    NetFixture(Shape shape, Activation act, int steps, int batch, Options opt, long seed) {
        this.shape = shape;
        this.act = act;
        this.steps = steps;
        this.batch = batch;
        this.opt = opt;
        this.dense = opt.dense();
        this.loss = opt.loss();
        this.mean = opt.mean();
        SplittableRandom rnd = new SplittableRandom(seed);
        int H = shape.hidden(), I = shape.input(), O = shape.output(), K = shape.stateBlocks();
        // weights uniform in +-1/sqrt(fan-in) (the engine's own scale: every W_hh is then
        // contractive), biases small but non-zero
        this.params = new float[shape.size()];
        for (Shape.Block b : shape.blocks()) {
            double bound = b.dims().length == 1 ? 0.2 : 1 / Math.sqrt(b.cols());
            for (int k = 0; k < b.length(); k++) params[b.offset() + k] = uniform(rnd, bound);
        }
        int rows = steps * batch;
        if (dense) {
            x = new float[rows * I];
            for (int k = 0; k < x.length; k++) x[k] = uniform(rnd, 1.0);
            xi = null;
        } else {
            x = null;
            xi = new int[rows];
            for (int k = 0; k < rows; k++) xi[k] = rnd.nextInt(I);
        }
        if (opt.varLengths()) {
            // unsorted, with 1 and T among them when there is room
            lengths = new int[batch];
            for (int b = 0; b < batch; b++) lengths[b] = 1 + rnd.nextInt(steps);
            if (batch >= 2) lengths[batch / 2] = steps;
            if (batch >= 3) lengths[0] = 1;
        } else {
            lengths = null;
        }
        if (loss.equals("xent")) {
            yi = new int[rows];
            for (int k = 0; k < rows; k++) yi[k] = opt.ignoreEvery() > 0 && k % opt.ignoreEvery() == 1 ? Loss.DEFAULT_IGNORE_INDEX : rnd.nextInt(O);
            yf = null;
        } else if (loss.equals("mse")) {
            yi = null;
            yf = new float[rows * O];
            for (int k = 0; k < yf.length; k++) yf[k] = uniform(rnd, 1.0);
        } else {
            yi = null;
            yf = null;
        }
        if (opt.h0()) {
            h0 = random(rnd, K * batch * H, 0.5);
            if (shape.cell().hasCellState()) c0 = random(rnd, K * batch * H, 0.5);
        }
        if (opt.layerMode()) {
            dY = random(rnd, rows * shape.outputWidth(), 1.0);
            dhT = random(rnd, K * batch * H, 1.0);
            if (shape.cell().hasCellState()) dcT = random(rnd, K * batch * H, 1.0);
        }
    }

    static float uniform(SplittableRandom rnd, double bound) { return (float) ((2 * rnd.nextDouble() - 1) * bound); }

    static float[] random(SplittableRandom rnd, int n, double bound) {
        float[] a = new float[n];
        for (int k = 0; k < n; k++) a[k] = uniform(rnd, bound);
        return a;
    }

    Loss engineLoss() {
        Loss l = switch (loss) {
            case "xent" -> Loss.CROSS_ENTROPY;
            case "mse" -> Loss.SQUARED_ERROR;
            default -> Loss.NONE;
        };
        return mean ? l.mean() : l;
    }

    /** The engine's arguments for this problem. */
    Batch batch() {
        Batch b = new Batch(batch, steps).lengths(lengths).initialState(h0).initialCell(c0).loss(engineLoss());
        if (dense) b.input(x);
        else b.input(xi);
        if (yi != null) b.targets(yi);
        if (yf != null) b.targets(yf);
        return b;
    }

    int length(int b) { return lengths == null ? steps : lengths[b]; }

    /** The reference network with this fixture's parameters, by block name. */
    ReferenceNetwork reference() {
        ReferenceNetwork r = new ReferenceNetwork(shape.cell().id(), act.id(), shape.input(), shape.hidden(), shape.output(),
                shape.layers(), shape.bidirectional(), shape.biases());
        for (Shape.Block b : shape.blocks()) r.set(b.name(), Arrays.copyOfRange(params, b.offset(), b.offset() + b.length()));
        return r;
    }

    /** The reference's view of the problem. */
    ReferenceNetwork.Problem problem() {
        ReferenceNetwork.Problem p = new ReferenceNetwork.Problem();
        p.steps = steps;
        p.batch = batch;
        p.lengths = lengths == null ? null : lengths.clone();
        p.loss = loss;
        p.mean = mean;
        int I = shape.input(), O = shape.output(), H = shape.hidden(), K = shape.stateBlocks();
        if (dense) p.x = unflat(x, steps, batch, I);
        else p.xi = unflat(xi, steps, batch);
        if (yi != null) p.yi = unflat(yi, steps, batch);
        if (yf != null) p.yf = unflat(yf, steps, batch, O);
        if (h0 != null) p.h0 = unflat(h0, K, batch, H);
        if (c0 != null) p.c0 = unflat(c0, K, batch, H);
        if (dY != null) p.dY = unflat(dY, steps, batch, shape.outputWidth());
        if (dhT != null) p.dhT = unflat(dhT, K, batch, H);
        if (dcT != null) p.dcT = unflat(dcT, K, batch, H);
        return p;
    }

    /** The backward arguments of layer mode, or null. */
    Backprop backprop(float[] dX, float[] dh0, float[] dc0) {
        Backprop bp = new Backprop().outputGradient(dY, 0).finalStateGradient(dhT, 0).finalCellGradient(dcT, 0);
        return bp.inputGradient(dX, 0).initialStateGradient(dh0, 0).initialCellGradient(dc0, 0);
    }

    @Override public String toString() {
        return shape + " " + (shape.cell() == Cell.ELMAN ? act.id() + " " : "") + "T=" + steps + " B=" + batch
                + (dense ? " dense" : " class-in") + " " + loss + (mean ? "-mean" : "") + (lengths != null ? " lengths" : "")
                + (h0 != null ? " h0" : "") + (dY != null ? " layer" : "") + (opt.ignoreEvery() > 0 ? " ignore" : "");
    }

    static double[][][] unflat(float[] a, int n0, int n1, int n2) {
        double[][][] r = new double[n0][n1][n2];
        int k = 0;
        for (int i = 0; i < n0; i++) for (int j = 0; j < n1; j++) for (int l = 0; l < n2; l++) r[i][j][l] = a[k++];
        return r;
    }

    static int[][] unflat(int[] a, int n0, int n1) {
        int[][] r = new int[n0][n1];
        int k = 0;
        for (int i = 0; i < n0; i++) for (int j = 0; j < n1; j++) r[i][j] = a[k++];
        return r;
    }

    static double[] flat(double[][][] a) {
        int n = 0;
        for (double[][] m : a) for (double[] r : m) n += r.length;
        double[] f = new double[n];
        int k = 0;
        for (double[][] m : a) for (double[] r : m) for (double v : r) f[k++] = v;
        return f;
    }

    static double[] toDouble(float[] a, int off, int len) {
        double[] r = new double[len];
        for (int k = 0; k < len; k++) r[k] = a[off + k];
        return r;
    }

    static double[] toDouble(float[] a) { return toDouble(a, 0, a.length); }

    static double norm(double[] a) {
        double s = 0;
        for (double v : a) s += v * v;
        return Math.sqrt(s);
    }

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

    /** Unit roundoff of float, 2^-24. */
    static final double U_FLOAT = Math.ulp(1.0f) / 2;
}
