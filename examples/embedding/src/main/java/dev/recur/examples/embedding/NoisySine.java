package dev.recur.examples.embedding;

import dev.recur.Activation;
import dev.recur.Batch;
import dev.recur.Grads;
import dev.recur.InferenceStream;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.io.ModelFile;
import dev.recur.kernel.KernelChoice;
import dev.recur.optim.Adam;
import dev.recur.optim.Clipping;
import dev.recur.optim.Optimizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

/**
 * Embedding recur: an Elman RNN learns to predict the next value of a noisy sine, is saved to and
 * loaded from an .npz model file, then runs step by step as a streaming predictor.
 */
public final class NoisySine {
    static final int HIDDEN = 16, BATCH = 8, STEPS = 50;
    static final double OMEGA = 0.3, NOISE = 0.1;   // radians per step; noise standard deviation

    public static void main(String[] args) throws IOException {
        Shape shape = new Shape(1, HIDDEN, 1);                       // input 1, hidden 16, output 1
        Params params = Params.random(shape, 42);
        try (Rnn rnn = Rnn.builder(shape).activation(Activation.TANH).kernels(KernelChoice.AUTO).build()) {
            System.out.println(rnn);                                    // says which kernels run
            double[] losses = train(rnn, params, 300, 7);
            System.out.printf("loss %.4f -> %.4f%n", losses[0], losses[losses.length - 1]);

            Path file = Files.createTempFile("noisy-sine", ".npz");
            // the activation is not a parameter: meta keeps it (recur's commands read meta.activation)
            ModelFile.write(file, params, Map.of("activation", "tanh", "task", "noisy sine, next value"), Map.of());
            ModelFile.Model model = ModelFile.read(file);                 // shape and params, checked
            Files.delete(file);

            // weights prepared once, state kept inside, nothing allocated per step
            InferenceStream stream = rnn.stream(model.params(), 1);
            float[] in = new float[1];
            Random noise = new Random(99);
            double err = 0;
            int n = 200;
            for (int t = 0; t < n; t++) {
                in[0] = (float) (Math.sin(OMEGA * t) + NOISE * noise.nextGaussian());
                float x = in[0];
                float next = stream.step(in)[0];                           // o_t: the predicted next value
                err += Math.abs(next - Math.sin(OMEGA * (t + 1)));
                if (t % 40 == 0) System.out.printf("t=%3d x=%+.3f predicted next=%+.3f true=%+.3f%n",
                        t, x, next, Math.sin(OMEGA * (t + 1)));
            }
            System.out.printf("mean |error| over %d streamed steps: %.4f%n", n, err / n);
        }
    }

    /**
     * Trains on fresh noisy windows (random phase per sequence), Adam, mean squared error of the
     * next clean value. Returns the loss of every iteration.
     */
    static double[] train(Rnn rnn, Params params, int iterations, long seed) {
        Shape shape = params.shape();
        Workspace ws = rnn.trainingWorkspace(BATCH, STEPS);           // sized once, reused
        Grads grads = Grads.zeros(shape);
        Optimizer adam = new Adam(shape.size(), 1e-2f);
        float[] x = new float[STEPS * BATCH];                         // time-major x[t][b], input width 1
        float[] y = new float[STEPS * BATCH];                         // the next clean value per step
        Batch data = new Batch(BATCH, STEPS).input(x).targets(y).loss(Loss.SQUARED_ERROR.mean());
        Random rnd = new Random(seed);
        double[] losses = new double[iterations];
        for (int it = 0; it < iterations; it++) {
            for (int b = 0; b < BATCH; b++) {
                double phase = 2 * Math.PI * rnd.nextDouble();
                for (int t = 0; t < STEPS; t++) {
                    x[t * BATCH + b] = (float) (Math.sin(phase + OMEGA * t) + NOISE * rnd.nextGaussian());
                    y[t * BATCH + b] = (float) Math.sin(phase + OMEGA * (t + 1));
                }
            }
            grads.zero();
            losses[it] = rnn.forward(params, ws, data);
            rnn.backward(params, ws, grads);
            Clipping.byGlobalNorm(grads, 1.0);
            adam.step(params, grads);
            if (it % 50 == 0 || it == iterations - 1) System.out.printf("iteration %3d  loss %.4f%n", it, losses[it]);
        }
        return losses;
    }
}
