package dev.recur.optim;

import dev.recur.Grads;
import dev.recur.Params;

/**
 * Updates parameters in place from gradients, one pass over the flat arrays. Implementations
 * that keep state (moments, step count) expose it through {@link #state()} so that a run can be
 * saved and resumed exactly.
 */
public interface Optimizer {

    /** One update: {@code params} changes in place; {@code grads} is only read. */
    void step(Params params, Grads grads);

    /** Short name: sgd, adagrad, adam. */
    String name();

    /** The learning rate. */
    float learningRate();

    /** Mutable state arrays (empty for SGD), in a fixed order; restore by writing into them. */
    float[][] state();

    /** Updates taken so far. */
    long steps();

    /** Sets the update count (when restoring a saved run). */
    void setSteps(long steps);

    /** Checks that gradients and parameters have the same shape; the message names both. */
    static void checkShapes(Params params, Grads grads) {
        if (params == null) throw new IllegalArgumentException("params is null");
        if (grads == null) throw new IllegalArgumentException("grads is null");
        if (!params.shape().equals(grads.shape())) {
            throw new IllegalArgumentException("grads.shape() = " + grads.shape() + ", expected params.shape() = " + params.shape());
        }
    }

    /**
     * Checks a learning rate, for implementations.
     *
     * @param lr the learning rate
     * @return {@code lr}
     * @throws IllegalArgumentException if {@code lr} is NaN, infinite or not &gt; 0
     */
    static float checkRate(float lr) {
        if (!(lr > 0f) || !Float.isFinite(lr)) {
            throw new IllegalArgumentException("learning rate = " + lr + ", expected a finite number > 0");
        }
        return lr;
    }
}
