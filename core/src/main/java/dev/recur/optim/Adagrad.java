package dev.recur.optim;

import dev.recur.Grads;
import dev.recur.Params;

/**
 * Adagrad (Duchi et al. 2011): {@code G += g^2; P -= lr * g / (sqrt(G) + eps)}, as in
 * min-char-rnn (eps = 1e-8).
 */
public final class Adagrad implements Optimizer {
    private final float lr, eps;
    private final float[] sumSquares;
    private long steps;

    /**
     * Adagrad with {@code eps = 1e-8}.
     *
     * @param size         the parameter count ({@code Shape.size()}), the length of the state
     * @param learningRate the step size, finite and &gt; 0
     * @throws IllegalArgumentException if {@code size <= 0} or the rate is not finite and positive
     */
    public Adagrad(int size, float learningRate) { this(size, learningRate, 1e-8f); }

    /**
     * Adagrad with every setting given.
     *
     * @param size         the parameter count ({@code Shape.size()}), the length of the state
     * @param learningRate the step size, finite and &gt; 0
     * @param eps          added to the root of the squared-gradient sum, &gt; 0
     * @throws IllegalArgumentException if {@code size <= 0}, {@code eps <= 0} or the rate is not
     *         finite and positive
     */
    public Adagrad(int size, float learningRate, float eps) {
        if (size <= 0) throw new IllegalArgumentException("size = " + size + ", expected > 0 (the parameter count)");
        if (!(eps > 0f)) throw new IllegalArgumentException("eps = " + eps + ", expected > 0");
        this.lr = Optimizer.checkRate(learningRate);
        this.eps = eps;
        this.sumSquares = new float[size];
    }

    @Override
    public void step(Params params, Grads grads) {
        Optimizer.checkShapes(params, grads);
        float[] p = params.data(), g = grads.data();
        if (p.length != sumSquares.length) {
            throw new IllegalArgumentException("params has " + p.length + " entries, expected " + sumSquares.length
                    + " (the size this optimiser was made for)");
        }
        for (int k = 0; k < p.length; k++) {
            sumSquares[k] += g[k] * g[k];
            p[k] -= lr * g[k] / ((float) Math.sqrt(sumSquares[k]) + eps);
        }
        steps++;
    }

    @Override public String name() { return "adagrad"; }
    @Override public float learningRate() { return lr; }
    @Override public float[][] state() { return new float[][] {sumSquares}; }
    @Override public long steps() { return steps; }
    @Override public void setSteps(long s) { steps = s; }
}
