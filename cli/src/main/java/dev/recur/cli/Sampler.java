package dev.recur.cli;

import dev.recur.Params;
import dev.recur.Batch;
import dev.recur.Rnn;
import dev.recur.Workspace;

import java.util.SplittableRandom;

/** Generates text from a character model one step at a time, carrying the state (O(H) memory). */
final class Sampler {
    private final Rnn rnn;
    private final Params params;
    private final int[] vocab;           // index -> code point
    private final Workspace ws;
    private final float[] h, out;
    /** An LSTM's cell state, carried beside h; null for the other cells. */
    private final float[] c;
    private final int[] x = new int[1];
    private final Batch step;

    Sampler(Rnn rnn, Params params, int[] vocab) {
        if (vocab.length != rnn.shape().input() || vocab.length != rnn.shape().output()) {
            throw CliException.runtime("the model's vocabulary has " + vocab.length + " characters but its shape is "
                    + rnn.shape() + ", expected input = output = " + vocab.length);
        }
        this.rnn = rnn;
        this.params = params;
        this.vocab = vocab;
        this.ws = rnn.inferenceWorkspace(1);
        this.h = new float[rnn.shape().stateBlocks() * rnn.shape().hidden()];
        this.out = new float[rnn.shape().output()];
        this.step = new Batch(1, 1).input(x).initialState(h);
        this.c = rnn.shape().cell() == dev.recur.Cell.LSTM ? new float[h.length] : null;
        if (c != null) step.initialCell(c);
    }

    /** The outputs after the last symbol fed (the next symbol's logits); the sampler's own array. */
    float[] outputs() { return out; }

    /** Index of a character in the vocabulary, or -1. */
    int indexOf(int codePoint) { return java.util.Arrays.binarySearch(vocab, codePoint); }

    /** Feeds one symbol; the outputs for the next symbol are then in {@link #out}. */
    void feed(int symbol) {
        x[0] = symbol;
        rnn.predict(params, ws, step, out, 0);
        ws.finalState(h, 0);
        if (c != null) ws.finalCell(c, 0);
    }

    /**
     * Primes with {@code prime} (or a first symbol drawn from the model's output at the zero
     * state when empty) and returns {@code length} generated characters.
     */
    String sample(String prime, int length, double temperature, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        StringBuilder b = new StringBuilder();
        int next;
        if (prime != null && !prime.isEmpty()) {
            int[] cps = prime.codePoints().toArray();
            for (int k = 0; k < cps.length; k++) {
                int s = indexOf(cps[k]);
                if (s < 0) {
                    throw CliException.usage("--prime: character " + describe(cps[k]) + " at position " + k
                            + " is not in the model's vocabulary of " + vocab.length + " characters");
                }
                feed(s);
            }
        } else {
            // no prime: start from the zero state with the output bias alone deciding the first draw
            float[] p = params.data();
            System.arraycopy(p, rnn.shape().headBias(), out, 0, out.length);
            // plus V h_0 = 0: the first symbol is drawn from softmax(c)
        }
        for (int k = 0; k < length; k++) {
            next = draw(out, temperature, rnd);
            b.appendCodePoint(vocab[next]);
            if (k + 1 < length) feed(next);
        }
        return b.toString();
    }

    static int draw(float[] z, double temperature, SplittableRandom rnd) {
        int n = z.length;
        if (temperature <= 0) {
            int best = 0;
            for (int k = 1; k < n; k++) if (z[k] > z[best]) best = k;
            return best;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (float v : z) max = Math.max(max, v / temperature);
        double sum = 0;
        double[] p = new double[n];
        for (int k = 0; k < n; k++) {
            p[k] = Math.exp(z[k] / temperature - max);
            sum += p[k];
        }
        double u = rnd.nextDouble() * sum;
        for (int k = 0; k < n; k++) {
            u -= p[k];
            if (u < 0) return k;
        }
        return n - 1;
    }

    static String describe(int cp) {
        if (cp == '\n') return "'\\n'";
        if (cp < 0x20 || Character.isWhitespace(cp) && cp != ' ') return String.format("U+%04X", cp);
        return "'" + new String(Character.toChars(cp)) + "' (U+" + String.format("%04X", cp) + ")";
    }
}
