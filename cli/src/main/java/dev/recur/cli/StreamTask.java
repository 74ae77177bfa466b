package dev.recur.cli;

import dev.recur.Params;

import dev.recur.Rnn;
import dev.recur.Workspace;

/**
 * Next-symbol prediction on a stream of symbols (characters of a text file, or the output of a
 * generated grammar): class-index inputs and targets, softmax cross-entropy. Row r of every
 * batch reads the training stream from offset {@code r*N/B + iter*T}, so consecutive batches
 * continue each row where it stopped and the hidden state carries over (stateful training).
 */
final class StreamTask extends Task {
    private final String name;
    private final String vocabulary;     // symbol index -> code point, as a string of code points
    private final int[] codePoints;
    private final int[] train;
    private final int[] val;
    private final double entropy;
    private final String description;
    private final Defaults defaults;

    StreamTask(String name, int[] codePoints, int[] train, int[] val, double entropyBits, String description,
               Defaults defaults) {
        this.name = name;
        this.codePoints = codePoints;
        this.vocabulary = new String(codePoints, 0, codePoints.length);
        this.train = train;
        this.val = val;
        this.entropy = entropyBits;
        this.description = description;
        this.defaults = defaults;
    }

    @Override String name() { return name; }
    @Override int input() { return codePoints.length; }
    @Override int output() { return codePoints.length; }
    @Override boolean classInputs() { return true; }
    @Override boolean classTargets() { return true; }
    @Override boolean stateful() { return true; }
    @Override String vocabulary() { return vocabulary; }
    @Override double entropyBits() { return entropy; }
    @Override Defaults defaults() { return defaults; }
    @Override String describe(int T) { return description; }

    int[] codePoints() { return codePoints; }
    /** The training stream itself (symbol indices; not a copy). */
    int[] train() { return train; }
    int trainLength() { return train.length; }
    int valLength() { return val.length; }

    @Override
    long itersPerEpoch(int B, int T) { return Math.max(1, (train.length - 1) / ((long) B * T)); }

    @Override
    double memorylessLoss(int T) { return unigramEntropyNats(); }

    /** Entropy of the symbol frequencies in the training stream (what a model without context reaches). */
    double unigramEntropyNats() {
        long[] n = new long[codePoints.length];
        for (int s : train) n[s]++;
        double h = 0;
        for (long c : n) {
            if (c == 0) continue;
            double p = (double) c / train.length;
            h -= p * Math.log(p);
        }
        return h;
    }

    @Override
    void fill(long iter, Batch b) {
        final int N = train.length;
        for (int r = 0; r < b.B; r++) {
            long start = (long) r * N / b.B + iter * b.T;
            for (int t = 0; t < b.T; t++) {
                b.xi[t * b.B + r] = train[(int) ((start + t) % N)];
                b.yi[t * b.B + r] = train[(int) ((start + t + 1) % N)];
            }
        }
    }

    @Override
    Eval evaluate(Rnn rnn, Params params) {
        if (val.length < 2) return new Eval(Double.NaN, null, Double.NaN);
        return new Eval(streamLoss(rnn, params, val), null, Double.NaN);
    }

    /** Mean cross-entropy (nats per symbol) of predicting s[t+1] from s[0..t], in parallel rows. */
    static double streamLoss(Rnn rnn, Params params, int[] s) {
        int rows = (int) Math.max(1, Math.min(32, (s.length - 1) / 64));
        int len = (s.length - 1) / rows;
        int O = rnn.shape().output(), H = rnn.shape().hidden();
        Workspace ws = rnn.inferenceWorkspace(rows);
        float[] h = new float[rnn.shape().stateBlocks() * rows * H];
        dev.recur.Batch batch = new dev.recur.Batch(rows, 1).initialState(h);
        double total = 0;
        long count = 0;
        final int chunk = 256;
        for (int t0 = 0; t0 < len; t0 += chunk) {
            int n = Math.min(chunk, len - t0);
            int[] x = new int[n * rows];
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < rows; r++) x[t * rows + r] = s[r * len + t0 + t];
            }
            float[] out = new float[n * rows * O];
            rnn.predict(params, ws, batch.size(rows, n).input(x), out, 0);
            ws.finalState(h, 0);
            for (int t = 0; t < n; t++) {
                for (int r = 0; r < rows; r++) {
                    int target = s[r * len + t0 + t + 1];
                    total += crossEntropy(out, (t * rows + r) * O, O, target);
                    count++;
                }
            }
        }
        return total / count;
    }

    /** logsumexp(z) - z[target], in double. */
    static double crossEntropy(float[] z, int off, int n, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < n; k++) max = Math.max(max, z[off + k]);
        double sum = 0;
        for (int k = 0; k < n; k++) sum += Math.exp(z[off + k] - max);
        return max + Math.log(sum) - z[off + target];
    }
}
