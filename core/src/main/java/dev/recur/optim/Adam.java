package dev.recur.optim;

import dev.recur.Grads;
import dev.recur.Params;

/**
 * Adam (Kingma and Ba 2015) with bias correction:
 * {@code m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; P -= lr * mhat / (sqrt(vhat) + eps)},
 * {@code mhat = m / (1 - b1^t)}, {@code vhat = v / (1 - b2^t)}; defaults b1 = 0.9, b2 = 0.999,
 * eps = 1e-8.
 */
public final class Adam implements Optimizer {
    private final float lr, beta1, beta2, eps;
    private final float[] m, v;
    private long steps;

    /**
     * Adam with the defaults {@code beta1 = 0.9}, {@code beta2 = 0.999}, {@code eps = 1e-8}.
     *
     * @param size         the parameter count ({@code Shape.size()}), the length of m and v
     * @param learningRate the step size, finite and &gt; 0
     * @throws IllegalArgumentException if {@code size <= 0} or the rate is not finite and positive
     */
    public Adam(int size, float learningRate) { this(size, learningRate, 0.9f, 0.999f, 1e-8f); }

    /**
     * Adam with every setting given.
     *
     * @param size         the parameter count ({@code Shape.size()}), the length of m and v
     * @param learningRate the step size, finite and &gt; 0
     * @param beta1        decay of the first moment, in [0, 1)
     * @param beta2        decay of the second moment, in [0, 1)
     * @param eps          added to {@code sqrt(vhat)}, &gt; 0
     * @throws IllegalArgumentException if a setting is outside its range
     */
    public Adam(int size, float learningRate, float beta1, float beta2, float eps) {
        if (size <= 0) throw new IllegalArgumentException("size = " + size + ", expected > 0 (the parameter count)");
        if (!(beta1 >= 0f && beta1 < 1f)) throw new IllegalArgumentException("beta1 = " + beta1 + ", expected 0 <= beta1 < 1");
        if (!(beta2 >= 0f && beta2 < 1f)) throw new IllegalArgumentException("beta2 = " + beta2 + ", expected 0 <= beta2 < 1");
        if (!(eps > 0f)) throw new IllegalArgumentException("eps = " + eps + ", expected > 0");
        this.lr = Optimizer.checkRate(learningRate);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.m = new float[size];
        this.v = new float[size];
    }

    @Override
    public void step(Params params, Grads grads) {
        Optimizer.checkShapes(params, grads);
        float[] p = params.data(), g = grads.data();
        if (p.length != m.length) {
            throw new IllegalArgumentException("params has " + p.length + " entries, expected " + m.length
                    + " (the size this optimiser was made for)");
        }
        steps++;
        double c1 = 1 - Math.pow(beta1, steps), c2 = 1 - Math.pow(beta2, steps);
        float stepSize = (float) (lr / c1);
        float vScale = (float) (1 / Math.sqrt(c2));
        for (int k = 0; k < p.length; k++) {
            m[k] = beta1 * m[k] + (1 - beta1) * g[k];
            v[k] = beta2 * v[k] + (1 - beta2) * g[k] * g[k];
            p[k] -= stepSize * m[k] / ((float) Math.sqrt(v[k]) * vScale + eps);
        }
    }

    @Override public String name() { return "adam"; }
    @Override public float learningRate() { return lr; }
    @Override public float[][] state() { return new float[][] {m, v}; }
    @Override public long steps() { return steps; }
    @Override public void setSteps(long s) { steps = s; }
}
