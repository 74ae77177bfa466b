package dev.recur.seq;

import dev.recur.Backprop;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.kernel.KernelChoice;
import dev.recur.reference.ReferenceNetwork;

import java.util.SplittableRandom;

/** Random sequences in arrays, the store-all gradient computed with Rnn directly, and the double reference. */
final class Fixtures {
    private Fixtures() {}

    static Rnn scalarRnn(Shape s) { return Rnn.builder(s).kernels(KernelChoice.SCALAR).build(); }

    /** A random sequence of the given kinds as an ArraySource. */
    static ArraySource randomSource(int T, int B, int I, int O, InputSource.Kind in, InputSource.Kind tg, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = null;
        int[] xi = null, yi = null;
        float[] yf = null;
        if (in == InputSource.Kind.DENSE) {
            x = new float[T * B * I];
            for (int k = 0; k < x.length; k++) x[k] = (float) (r.nextDouble() * 2 - 1);
        } else {
            xi = new int[T * B];
            for (int k = 0; k < xi.length; k++) xi[k] = r.nextInt(I);
        }
        if (tg == InputSource.Kind.CLASS) {
            yi = new int[T * B];
            for (int k = 0; k < yi.length; k++) yi[k] = r.nextInt(O);
        } else {
            yf = new float[T * B * O];
            for (int k = 0; k < yf.length; k++) yf[k] = (float) (r.nextDouble() * 2 - 1);
        }
        if (x != null) return yi != null ? ArraySource.of(B, I, O, x, yi) : ArraySource.of(B, I, O, x, yf);
        return yi != null ? ArraySource.of(B, I, O, xi, yi) : ArraySource.of(B, I, O, xi, yf);
    }

    /** The whole source as one segment (arrays). */
    static Segment all(InputSource s) {
        Segment seg = Segment.allocate(s, (int) s.steps());
        s.read(0, seg);
        return seg;
    }

    /** Store-all with one Rnn call: grads (added), dh0, final state, loss. */
    record StoreAll(Grads grads, float[] dh0, float[] hT, double loss) {}

    static StoreAll storeAll(Rnn rnn, Params p, InputSource s, float[] h0, float[] dhT) {
        Segment seg = all(s);
        Workspace ws = rnn.trainingWorkspace(s.batch(), (int) s.steps());
        double loss = seg.forward(rnn, p, ws, h0, null);
        Grads g = Grads.zeros(rnn.shape());
        float[] dh0 = new float[rnn.shape().stateBlocks() * s.batch() * rnn.shape().hidden()];
        rnn.backward(p, ws, g, new Backprop().finalStateGradient(dhT, 0).initialStateGradient(dh0, 0));
        return new StoreAll(g, dh0, ws.finalState(), loss);
    }

    /** The reference's loss and gradient (in the Params layout, in double) and final state. */
    record Out(double loss, double[] grad, double[] hT) {}

    /**
     * The double reference ({@link ReferenceNetwork}) for full BPTT (k1 = k2 = T) or truncated
     * BPTT(k1, k2) in Williams and Peng's sense: at every k1-th step t, the losses of
     * [t - k1, t) back-propagated through [max(0, t - k2), t) from the true state there. Each
     * window is one reference run over its look-back, scoring only its own steps.
     */
    static Out reference(Params p, InputSource s, int k1, int k2) {
        Shape shape = p.shape();
        Segment seg = all(s);
        int T = (int) s.steps(), B = s.batch(), I = shape.input(), O = shape.output(), H = shape.hidden();
        ReferenceNetwork ref = new ReferenceNetwork(shape.cell().id(), "tanh", I, H, O, shape.layers(), shape.bidirectional(),
                shape.biases());
        for (Shape.Block b : shape.blocks()) ref.set(b.name(), p.copyOf(b.name()));
        // the true states of the whole sequence
        ReferenceNetwork.Result full = ref.run(window(seg, B, I, O, 0, T, 0, null));
        double[] g = new double[shape.size()];
        double loss = 0;
        for (int end = k1; end <= T; end += k1) {
            int start = Math.max(0, end - k2);
            double[][][] h0 = start == 0 ? null : new double[][][] {full.outputs[start - 1]};
            ReferenceNetwork.Result r = k1 == T && k2 == T ? full : ref.run(window(seg, B, I, O, start, end, end - k1, h0));
            loss += r.loss;
            for (Shape.Block b : shape.blocks()) {
                double[] d = r.grads.get(b.name());
                for (int k = 0; k < d.length; k++) g[b.offset() + k] += d[k];
            }
        }
        double[] hT = new double[B * H];
        for (int b = 0; b < B; b++) System.arraycopy(full.finalH[0][b], 0, hT, b * H, H);
        return new Out(loss, g, hT);
    }

    /** Steps [start, end) of the segment as a reference problem scoring steps from {@code scoredFrom}. */
    static ReferenceNetwork.Problem window(Segment seg, int B, int I, int O, int start, int end, int scoredFrom, double[][][] h0) {
        ReferenceNetwork.Problem pr = new ReferenceNetwork.Problem();
        int n = end - start;
        pr.steps = n;
        pr.batch = B;
        pr.h0 = h0;
        if (seg.denseInputs() != null) {
            pr.x = new double[n][B][I];
            for (int t = 0; t < n; t++) for (int b = 0; b < B; b++) for (int j = 0; j < I; j++) pr.x[t][b][j] = seg.denseInputs()[((start + t) * B + b) * I + j];
        } else {
            pr.xi = new int[n][B];
            for (int t = 0; t < n; t++) for (int b = 0; b < B; b++) pr.xi[t][b] = seg.classInputs()[(start + t) * B + b];
        }
        if (seg.classTargets() != null) {
            pr.loss = "xent";
            pr.yi = new int[n][B];
            for (int t = 0; t < n; t++) for (int b = 0; b < B; b++) pr.yi[t][b] = seg.classTargets()[(start + t) * B + b];
        } else {
            pr.loss = "mse";
            pr.yf = new double[n][B][O];
            for (int t = 0; t < n; t++) for (int b = 0; b < B; b++) for (int j = 0; j < O; j++) pr.yf[t][b][j] = seg.denseTargets()[((start + t) * B + b) * O + j];
        }
        pr.scored = new boolean[n][B];
        for (int t = Math.max(0, scoredFrom - start); t < n; t++) java.util.Arrays.fill(pr.scored[t], true);
        return pr;
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
