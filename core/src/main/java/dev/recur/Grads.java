package dev.recur;

/**
 * Gradients dL/dU, dL/dW, dL/db, dL/dV, dL/dc in the layout of {@link Params}. The engine
 * ADDS into a Grads ({@code +=}): zero it before a fresh sequence, or keep accumulating over
 * chunks or mini-batches.
 *
 * <p>Not thread-safe: one Grads per engine call in flight.
 */
public final class Grads extends ParameterArray {

    private Grads(Shape shape, float[] data) { super(shape, data); }

    /** A zeroed gradient for {@code shape}. */
    public static Grads zeros(Shape shape) {
        if (shape == null) throw new IllegalArgumentException("shape is null");
        return new Grads(shape, new float[shape.size()]);
    }

    /** Wraps an existing array (not copied) of length {@code shape.size()}. */
    public static Grads wrap(Shape shape, float[] data) { return new Grads(shape, data); }

    /** {@code this += other} (same shape). */
    public void add(Grads other) {
        if (!shape().equals(other.shape())) {
            throw new IllegalArgumentException("other.shape() = " + other.shape() + ", expected " + shape());
        }
        float[] a = data(), b = other.data();
        for (int k = 0; k < a.length; k++) a[k] += b[k];
    }

    /** {@code this *= s}. */
    public void scale(float s) {
        float[] a = data();
        for (int k = 0; k < a.length; k++) a[k] *= s;
    }
}
