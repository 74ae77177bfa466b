package dev.recur.cli;

import dev.recur.Params;

import dev.recur.Rnn;
import dev.recur.Workspace;

import java.util.SplittableRandom;

/**
 * The adding problem (Hochreiter and Schmidhuber 1997): each step brings a value in [0, 1) and
 * a marker bit; exactly two steps are marked, one in each half of the sequence, and the target
 * at the last step is the sum of the two marked values. Dense inputs (I = 2), one output, squared
 * error 1/2 (o - y)^2 scored at the last step only. Predicting 1 always gives 1/12 = 0.0833: a
 * model has learnt the task when it goes well below that.
 */
final class AddingTask extends Task {
    private static final int VAL_EPISODES = 512;
    private final long seed;
    int evalSeqLen = 20;

    AddingTask(long seed) { this.seed = seed; }

    @Override String name() { return "adding"; }
    @Override int input() { return 2; }
    @Override int output() { return 1; }
    @Override boolean classInputs() { return false; }
    @Override boolean classTargets() { return false; }
    @Override int lossSteps(int T) { return 1; }
    @Override boolean stateful() { return false; }
    @Override Defaults defaults() { return new Defaults(64, 20, 32, "adam", 3e-3, 3000, 250); }
    @Override double memorylessLoss(int T) { return 1.0 / 12; }

    @Override
    String describe(int T) {
        return "adding problem: sum the 2 marked values among " + T + " (squared error at the last step; always "
                + "answering 1 scores 0.0833)";
    }

    @Override
    void fill(long iter, Batch b) {
        episodes(new SplittableRandom(Seeds.mix(seed, iter)), b.B, b.T, b.xf, b.yf);
    }

    static void episodes(SplittableRandom rnd, int B, int T, float[] x, float[] y) {
        for (int r = 0; r < B; r++) {
            for (int t = 0; t < T; t++) {
                x[(t * B + r) * 2] = (float) rnd.nextDouble();
                x[(t * B + r) * 2 + 1] = 0f;
            }
            int half = T / 2;
            int a = rnd.nextInt(half), c = half + rnd.nextInt(T - half);
            x[(a * B + r) * 2 + 1] = 1f;
            x[(c * B + r) * 2 + 1] = 1f;
            y[r] = x[(a * B + r) * 2] + x[(c * B + r) * 2];
        }
    }

    @Override
    Eval evaluate(Rnn rnn, Params params) {
        int T = evalSeqLen, B = VAL_EPISODES;
        float[] x = new float[T * B * 2], y = new float[B];
        episodes(new SplittableRandom(Seeds.mix(seed, -1)), B, T, x, y);
        Workspace ws = rnn.inferenceWorkspace(B);
        float[] out = new float[T * B];
        rnn.predict(params, ws, new dev.recur.Batch(B, T).input(x), out, 0);
        double loss = 0;
        long close = 0;
        for (int r = 0; r < B; r++) {
            double e = out[(T - 1) * B + r] - y[r];
            loss += 0.5 * e * e;
            if (Math.abs(e) < 0.04) close++;
        }
        return new Eval(loss / B, "|error| < 0.04", (double) close / B);
    }
}
