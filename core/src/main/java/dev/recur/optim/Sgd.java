package dev.recur.optim;

import dev.recur.Grads;
import dev.recur.Params;

/** Plain gradient descent exactly as the seed notes write it: {@code P = P - lr * dL/dP} for every parameter. */
public final class Sgd implements Optimizer {
    private final float lr;
    private long steps;

    /**
     * Plain gradient descent, {@code P -= lr * g}.
     *
     * @param learningRate the step size, finite and &gt; 0
     * @throws IllegalArgumentException if the rate is not finite and positive
     */
    public Sgd(float learningRate) { this.lr = Optimizer.checkRate(learningRate); }

    @Override
    public void step(Params params, Grads grads) {
        Optimizer.checkShapes(params, grads);
        float[] p = params.data(), g = grads.data();
        for (int k = 0; k < p.length; k++) p[k] -= lr * g[k];
        steps++;
    }

    @Override public String name() { return "sgd"; }
    @Override public float learningRate() { return lr; }
    @Override public float[][] state() { return new float[0][]; }
    @Override public long steps() { return steps; }
    @Override public void setSteps(long s) { steps = s; }
}
