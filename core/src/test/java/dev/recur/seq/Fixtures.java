package dev.recur.seq;

import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.kernel.KernelChoice;

import java.util.SplittableRandom;

/** Random sequences in arrays, and the store-all gradient computed with Rnn directly. */
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
        double loss = seg.forward(rnn, p, ws, h0);
        Grads g = Grads.zeros(rnn.shape());
        float[] dh0 = new float[s.batch() * rnn.shape().hidden()];
        rnn.backward(p, ws, g, dhT, dh0);
        float[] hT = ws.finalState(new float[dh0.length]);
        return new StoreAll(g, dh0, hT, loss);
    }

    static RefRnn.Out reference(Params p, InputSource s, int k1, int k2) {
        Segment seg = all(s);
        return new RefRnn(p, s.batch()).run((int) s.steps(), seg.denseInputs(), seg.classInputs(), seg.classTargets(),
                seg.denseTargets(), k1, k2);
    }
}
