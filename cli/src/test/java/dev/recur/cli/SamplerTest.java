package dev.recur.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import dev.recur.Activation;
import dev.recur.Batch;
import dev.recur.Cell;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.kernel.KernelChoice;

import java.util.Arrays;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The sampler feeds one symbol per call and carries the state between calls: its outputs after
 * each symbol must be those of one forward pass over the whole sequence, for every cell (an
 * LSTM's cell state is carried beside h) and for stacks.
 */
class SamplerTest {

    @ParameterizedTest
    @EnumSource(Cell.class)
    void steppingOneSymbolAtATimeIsTheWholeSequence(Cell cell) {
        int V = 7, H = 9, T = 12;
        Shape shape = Shape.network(V, H, V, 2, false, cell);
        Params p = Params.random(shape, 5);
        int[] vocab = new int[V];
        for (int k = 0; k < V; k++) vocab[k] = 'a' + k;
        int[] seq = new int[T];
        for (int t = 0; t < T; t++) seq[t] = (t * 5 + 3) % V;
        try (Rnn rnn = Rnn.builder(shape).activation(Activation.TANH).kernels(KernelChoice.SCALAR).build()) {
            float[] whole = new float[T * V];
            rnn.predict(p, rnn.inferenceWorkspace(1), new Batch(1, T).input(seq), whole, 0);
            Sampler s = new Sampler(rnn, p, vocab);
            for (int t = 0; t < T; t++) {
                s.feed(seq[t]);
                assertArrayEquals(Arrays.copyOfRange(whole, t * V, (t + 1) * V), s.outputs(), 1e-6f, cell + " step " + t);
            }
        }
    }
}
