package dev.recur.gradflow;

import dev.recur.Activation;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A seeded experiment: a random model whose recurrent matrix W is scaled to a chosen spectral
 * radius (optionally with W >= 0 elementwise), a random input sequence and a fixed target, the
 * same for every activation so that the curves differ only by the non-linearity.
 *
 * @param input        I
 * @param hidden       H
 * @param output       O (classes of the last step's cross-entropy)
 * @param steps        T
 * @param radius       the spectral radius W is scaled to
 * @param nonNegativeW take |W| before scaling (then rho(W) is W's Perron root and a relu run grows)
 * @param seed         one seed for the weights, the inputs and the target
 */
public record Setup(int input, int hidden, int output, int steps, double radius, boolean nonNegativeW, long seed) {

    public Setup {
        dev.recur.Checks.positive("input", input);
        dev.recur.Checks.positive("hidden", hidden);
        if (output < 2) throw new IllegalArgumentException("output = " + output + ", expected >= 2 classes");
        dev.recur.Checks.positive("steps", steps);
        if (!(radius > 0) || !Double.isFinite(radius)) {
            throw new IllegalArgumentException("radius = " + radius + ", expected a finite number > 0");
        }
    }

    public Shape shape() { return new Shape(input, hidden, output); }

    /**
     * {@link Params#random} (U, W, V uniform in +-1/sqrt(fan-in), biases zero), then W replaced by
     * |W| if asked and scaled by {@code radius / rho(W)} (rho by {@link Spectral#radius}).
     */
    public Params params() {
        Shape s = shape();
        Params p = Params.random(s, seed);
        float[] d = p.data();
        int w = s.recurrentWeights(0, 0), n = hidden * hidden;
        if (nonNegativeW) for (int k = 0; k < n; k++) d[w + k] = Math.abs(d[w + k]);
        double rho = Spectral.radius(hidden, d, w);
        if (rho > 0) {
            float f = (float) (radius / rho);
            for (int k = 0; k < n; k++) d[w + k] *= f;
        }
        return p;
    }

    /** steps*input floats, uniform in [-1, 1), seeded. */
    public float[] inputs() {
        SplittableRandom r = new SplittableRandom(seed ^ 0x1D9E5A7C3B2F4E61L);
        float[] x = new float[steps * input];
        for (int k = 0; k < x.length; k++) x[k] = (float) (2 * r.nextDouble() - 1);
        return x;
    }

    /** The class L_T is measured against, seeded. */
    public int target() { return new SplittableRandom(seed ^ 0x6A09E667F3BCC909L).nextInt(output); }

    /** The flow for each activation, on the same weights, inputs and target; h_0 = 0. */
    public List<GradientFlow.Flow> run(List<Activation> activations, KernelChoice kernels) {
        if (activations == null || activations.isEmpty()) {
            throw new IllegalArgumentException("activations is empty, expected at least one of tanh, sigmoid, relu");
        }
        Params p = params();
        float[] x = inputs();
        int target = target();
        List<GradientFlow.Flow> out = new ArrayList<>();
        for (Activation a : activations) {
            try (Rnn engine = Rnn.builder(shape()).activation(a).kernels(kernels).build()) {
                out.add(GradientFlow.measure(engine, p, x, steps, null, target));
            }
        }
        return out;
    }
}
