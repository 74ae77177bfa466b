package dev.recur.cli;

import dev.recur.Params;

import dev.recur.Rnn;
import dev.recur.Workspace;

import java.util.SplittableRandom;

/**
 * The copy task (Hochreiter and Schmidhuber 1997; Arjovsky et al. 2016): K random symbols from
 * an alphabet of 8, then blanks, then a marker; after the marker the model must output the K
 * symbols in order. With sequence length T the symbols must be remembered for T - K steps.
 * Classes: 0 blank, 1..8 symbols, 9 marker. Every step is scored (blanks are targets too), so a
 * model without memory reaches K ln(8) / T nats per step and no better.
 */
final class CopyTask extends Task {
    static final int K = 5, ALPHABET = 8, BLANK = 0, MARKER = ALPHABET + 1, CLASSES = ALPHABET + 2;
    private static final int VAL_EPISODES = 512;
    private final long seed;

    CopyTask(long seed) { this.seed = seed; }

    @Override String name() { return "copy"; }
    @Override int input() { return CLASSES; }
    @Override int output() { return CLASSES; }
    @Override boolean classInputs() { return true; }
    @Override boolean classTargets() { return true; }
    @Override boolean stateful() { return false; }
    @Override Defaults defaults() { return new Defaults(64, 15, 32, "adam", 3e-3, 3000, 250); }

    static int minSeqLen() { return 2 * K + 1; }

    @Override
    String describe(int T) {
        return "copy task: remember " + K + " symbols (of " + ALPHABET + ") for " + (T - K) + " steps, recall after the marker"
                + String.format("; memoryless floor %.4f nats/step", memorylessLoss(T));
    }

    @Override double memorylessLoss(int T) { return K * Math.log(ALPHABET) / T; }

    @Override
    void fill(long iter, Batch b) {
        episodes(new SplittableRandom(Seeds.mix(seed, iter)), b.B, b.T, b.xi, b.yi);
    }

    /** Fills B episodes of length T: x[t*B + r], y[t*B + r]. */
    static void episodes(SplittableRandom rnd, int B, int T, int[] x, int[] y) {
        for (int r = 0; r < B; r++) {
            for (int t = 0; t < T; t++) {
                x[t * B + r] = BLANK;
                y[t * B + r] = BLANK;
            }
            x[(T - K - 1) * B + r] = MARKER;
            for (int k = 0; k < K; k++) {
                int s = 1 + rnd.nextInt(ALPHABET);
                x[k * B + r] = s;
                y[(T - K + k) * B + r] = s;
            }
        }
    }

    @Override
    Eval evaluate(Rnn rnn, Params params) {
        int T = evalSeqLen;
        int B = VAL_EPISODES, O = CLASSES;
        int[] x = new int[T * B], y = new int[T * B];
        episodes(new SplittableRandom(Seeds.mix(seed, -1)), B, T, x, y);
        Workspace ws = rnn.inferenceWorkspace(B);
        float[] out = new float[T * B * O];
        rnn.predict(params, ws, new dev.recur.Batch(B, T).input(x), out, 0);
        double loss = 0;
        long right = 0;
        for (int t = 0; t < T; t++) {
            for (int r = 0; r < B; r++) {
                int row = t * B + r;
                loss += StreamTask.crossEntropy(out, row * O, O, y[row]);
                if (t >= T - K) {
                    int best = 0;
                    for (int k = 1; k < O; k++) if (out[row * O + k] > out[row * O + best]) best = k;
                    if (best == y[row]) right++;
                }
            }
        }
        return new Eval(loss / ((double) T * B), "recall accuracy", (double) right / ((long) K * B));
    }

    /** The sequence length evaluation uses (the training one). */
    int evalSeqLen = 15;
}
