package dev.recur;

import dev.recur.internal.Checks;
import java.util.Arrays;

/**
 * One flat {@code float[]} in the layout of a {@link Shape}: every layer's and direction's
 * W_ih | W_hh | biases, then the head V | c. The base of {@link Params} and {@link Grads}, which
 * share the layout so that an optimiser step is one loop over two arrays of the same length.
 *
 * <p>Not thread-safe for writes; any number of threads may read concurrently.
 */
public abstract sealed class ParameterArray permits Params, Grads {
    private final Shape shape;
    private final float[] data;

    ParameterArray(Shape shape, float[] data) {
        if (shape == null) throw new IllegalArgumentException("shape is null");
        Checks.length("data", data, shape.size(), "shape.size() for " + shape);
        this.shape = shape;
        this.data = data;
    }

    /** The sizes and layout. */
    public final Shape shape() { return shape; }

    /** The backing array itself (not a copy): offsets in {@link Shape}, names in {@link Shape#blocks()}. */
    public final float[] data() { return data; }

    /** Element (i, j) of the named block (a vector's element i is (i, 0)). */
    public final float get(String block, int i, int j) {
        Shape.Block b = shape.block(block);
        if (i < 0 || i >= b.rows() || j < 0 || j >= b.cols()) {
            throw new IndexOutOfBoundsException("index (" + i + ", " + j + ") outside " + b);
        }
        return data[b.offset() + i * b.cols() + j];
    }

    /** A copy of the named block, row-major. */
    public final float[] copyOf(String block) {
        Shape.Block b = shape.block(block);
        return Arrays.copyOfRange(data, b.offset(), b.offset() + b.length());
    }

    /** Euclidean norm of the whole array, accumulated in double. */
    public final double l2Norm() {
        double s = 0;
        for (float x : data) s += (double) x * x;
        return Math.sqrt(s);
    }

    /** Euclidean norm of one named block, accumulated in double. */
    public final double l2Norm(String block) {
        Shape.Block b = shape.block(block);
        double s = 0;
        for (int k = b.offset(), end = k + b.length(); k < end; k++) s += (double) data[k] * data[k];
        return Math.sqrt(s);
    }

    /** True if every entry is finite. */
    public final boolean isFinite() {
        for (float x : data) if (!Float.isFinite(x)) return false;
        return true;
    }

    /** Sets every entry to zero. */
    public final void zero() { Arrays.fill(data, 0f); }
}
