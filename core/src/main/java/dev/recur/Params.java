package dev.recur;

import java.util.SplittableRandom;

/**
 * Model parameters U, W, b, V, c in one flat array (layout in {@link Shape}).
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
     * Seeded initialisation: U, W and V uniform in +-1/sqrt(fan-in) (fan-in I for U, H for W
     * and V, as PyTorch's nn.RNN and nn.Linear do); b and c zero. The same seed gives the same
     * parameters on every machine.
     */
    public static Params random(Shape shape, long seed) {
        Params p = zeros(shape);
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] d = p.data();
        fillUniform(d, shape.uOffset(), shape.hidden() * shape.input(), 1.0 / Math.sqrt(shape.input()), rnd);
        fillUniform(d, shape.wOffset(), shape.hidden() * shape.hidden(), 1.0 / Math.sqrt(shape.hidden()), rnd);
        fillUniform(d, shape.vOffset(), shape.output() * shape.hidden(), 1.0 / Math.sqrt(shape.hidden()), rnd);
        return p;
    }

    private static void fillUniform(float[] d, int off, int n, double bound, SplittableRandom rnd) {
        for (int k = 0; k < n; k++) d[off + k] = (float) ((2 * rnd.nextDouble() - 1) * bound);
    }

    /** A deep copy. */
    public Params copy() { return new Params(shape(), data().clone()); }
}
