package dev.recur.cli;

import dev.recur.Params;
import dev.recur.Rnn;

/**
 * A training task: where batches come from, what the loss is, and how a model is evaluated.
 * Every task is deterministic given its seed: batch {@code i} is a pure function of (seed, i),
 * so a resumed run sees exactly the data an uninterrupted one would.
 */
abstract class Task {

    /** One batch: B sequences of T steps, time-major; targets for the last L steps only. */
    static final class Batch {
        final int B, T, L, I, O;
        final int[] xi;
        final float[] xf;
        final int[] yi;
        final float[] yf;

        Batch(Task task, int B, int T) {
            this.B = B;
            this.T = T;
            this.L = task.lossSteps(T);
            this.I = task.input();
            this.O = task.output();
            this.xi = task.classInputs() ? new int[T * B] : null;
            this.xf = task.classInputs() ? null : new float[T * B * I];
            this.yi = task.classTargets() ? new int[L * B] : null;
            this.yf = task.classTargets() ? null : new float[L * B * O];
        }
    }

    /** An evaluation: the loss per scored step and, where it means something, one more figure. */
    record Eval(double loss, String metricName, double metric) {}

    /** Defaults a task suggests for the options the user did not give. */
    record Defaults(int hidden, int seqLen, int batch, String optimizer, double lr, int iters, int logEvery) {}

    abstract String name();

    /** Input size: vocabulary for class inputs, features for dense ones. */
    abstract int input();

    /** Output size: classes for cross-entropy, values for squared error. */
    abstract int output();

    abstract boolean classInputs();

    abstract boolean classTargets();

    /** How many of the last steps of a sequence of T steps carry a loss (T for most tasks). */
    int lossSteps(int T) { return T; }

    /** True if the hidden state carries over from one batch to the next (streams of text). */
    abstract boolean stateful();

    /** Fills batch {@code iter} (a pure function of the task's seed and iter). */
    abstract void fill(long iter, Batch b);

    /** Evaluates on held-out data (the validation split). */
    abstract Eval evaluate(Rnn rnn, Params params);

    abstract Defaults defaults();

    /** The characters of a character-level model, index order; null for other tasks. */
    String vocabulary() { return null; }

    /** The entropy rate of the source in bits per symbol, or NaN when not known. */
    double entropyBits() { return Double.NaN; }

    /** Updates per epoch at this batch shape, or -1 for tasks that generate data without end. */
    long itersPerEpoch(int B, int T) { return -1; }

    /** The loss a model without memory can reach (per scored step), or NaN; printed for reference. */
    double memorylessLoss(int T) { return Double.NaN; }

    /** One or two lines describing the data, printed before training. */
    abstract String describe(int T);

    /** True if loss per step is cross-entropy over symbols (bits per symbol are then reported). */
    boolean reportsBits() { return classTargets(); }
}
