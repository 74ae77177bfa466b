package dev.recur;

import java.util.SplittableRandom;

/**
 * Model parameters of every layer, direction and the head in one flat array (layout and
 * names in {@link Shape}).
 *
 * <p>Read-only sharing across threads is safe (the engines never write parameters); updates
 * (an optimiser step) must not run concurrently with a forward or backward pass that reads them.
 */
public final class Params extends ParameterArray {

    private Params(Shape shape, float[] data) { super(shape, data); }

    /** All zeros. */
    public static Params zeros(Shape shape) {
        if (shape == null) throw new IllegalArgumentException("shape is null");
        return new Params(shape, new float[shape.size()]);
    }

    /** Wraps an existing array (not copied) of length {@code shape.size()}. */
    public static Params wrap(Shape shape, float[] data) { return new Params(shape, data); }

    /**
     * Seeded initialisation: each W_ih uniform in +-1/sqrt(its fan-in I_l), each W_hh and V in
     * +-1/sqrt(H) and +-1/sqrt(D*H) (the fan-in scale PyTorch's nn.Linear uses); biases zero.
     * Blocks are filled in layout order, so the same seed gives the same parameters on every
     * machine (and recur's single-layer model its long-standing U, W, V sequence).
     */
    public static Params random(Shape shape, long seed) {
        Params p = zeros(shape);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = p.data();
        int g = shape.gates() * shape.hidden();
        for (int l = 0; l < shape.layers(); l++) {
            for (int dir = 0; dir < shape.directions(); dir++) {
                int in = shape.layerInput(l);
                fillUniform(d, shape.inputWeights(l, dir), g * in, 1.0 / Math.sqrt(in), rnd);
                fillUniform(d, shape.recurrentWeights(l, dir), g * shape.hidden(), 1.0 / Math.sqrt(shape.hidden()), rnd);
            }
        }
        int width = shape.outputWidth();
        fillUniform(d, shape.headWeights(), shape.output() * width, 1.0 / Math.sqrt(width), rnd);
        return p;
    }

    private static void fillUniform(float[] d, int off, int n, double bound, SplittableRandom rnd) {
        for (int k = 0; k < n; k++) d[off + k] = (float) ((2 * rnd.nextDouble() - 1) * bound);
    }

    /** A deep copy. */
    public Params copy() { return new Params(shape(), data().clone()); }
}
