package dev.recur.gradflow;

import dev.recur.Activation;
import dev.recur.Cell;
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

    /**
     * Checks the sizes and the radius.
     *
     * @throws IllegalArgumentException if a size is not positive, {@code output < 2}, or the
     *         radius is not finite and positive
     */
    public Setup {
        dev.recur.internal.Checks.positive("input", input);
        dev.recur.internal.Checks.positive("hidden", hidden);
        if (output < 2) throw new IllegalArgumentException("output = " + output + ", expected >= 2 classes");
        dev.recur.internal.Checks.positive("steps", steps);
        if (!(radius > 0) || !Double.isFinite(radius)) {
            throw new IllegalArgumentException("radius = " + radius + ", expected a finite number > 0");
        }
    }

    /** {@return the one-layer Elman shape {@code (input, hidden, output)}} */
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

    /** The gated cell's shape at these sizes (one layer, PyTorch's two bias vectors). */
    public Shape shape(Cell cell) {
        return cell == Cell.ELMAN ? shape() : Shape.network(input, hidden, output, 1, false, cell);
    }

    /**
     * A gated cell's model for the keep-gate experiment: {@link Params#random} (PyTorch's
     * uniform +-1/sqrt(H)), then W_ih and W_hh scaled by {@code weightScale} (small weights keep
     * every gate near its bias's value), every bias zero except the keep gate's rows of b_ih, set
     * to {@code keepBias}: the LSTM's forget gate f (the usual "forget-gate bias" b_f), the GRU's
     * update gate z. Then the keep gate sits near sigmoid(keepBias) at every step.
     */
    public Params gatedParams(Cell cell, double weightScale, double keepBias) {
        if (cell == null || cell == Cell.ELMAN) {
            throw new IllegalArgumentException("cell = " + cell + ", expected gru or lstm (the Elman cell uses params())");
        }
        if (!(weightScale >= 0) || !Double.isFinite(weightScale)) {
            throw new IllegalArgumentException("weightScale = " + weightScale + ", expected a finite number >= 0");
        }
        if (!Double.isFinite(keepBias)) throw new IllegalArgumentException("keepBias = " + keepBias + ", expected a finite number");
        Shape s = shape(cell);
        Params p = Params.random(s, seed);
        float[] d = p.data();
        int GH = s.gates() * hidden;
        int wih = s.inputWeights(0, 0), whh = s.recurrentWeights(0, 0), bih = s.inputBias(0, 0), bhh = s.recurrentBias(0, 0);
        for (int k = 0; k < GH * input; k++) d[wih + k] *= (float) weightScale;
        for (int k = 0; k < GH * hidden; k++) d[whh + k] *= (float) weightScale;
        java.util.Arrays.fill(d, bih, bih + GH, 0f);
        java.util.Arrays.fill(d, bhh, bhh + GH, 0f);
        // rows H..2H: f of (i, f, g, o), z of (r, z, n)
        java.util.Arrays.fill(d, bih + hidden, bih + 2 * hidden, (float) keepBias);
        return p;
    }

    /** The gated cell's flow on {@link #gatedParams}, the same inputs and target as {@link #run}; h_0 = c_0 = 0. */
    public GradientFlow.Flow runGated(Cell cell, double weightScale, double keepBias, KernelChoice kernels) {
        Params p = gatedParams(cell, weightScale, keepBias);
        try (Rnn engine = Rnn.builder(shape(cell)).kernels(kernels).build()) {
            return GradientFlow.measure(engine, p, inputs(), steps, null, target());
        }
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
