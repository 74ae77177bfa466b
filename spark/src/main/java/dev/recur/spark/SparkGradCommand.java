package dev.recur.spark;

import dev.recur.Cell;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Shape;
import dev.recur.cli.CliException;
import dev.recur.cli.GradOptions;
import dev.recur.cli.GradProblem;
import dev.recur.cli.Main;
import dev.recur.io.Npz;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.IOException;
import java.util.List;
import java.util.Locale;

/** {@code recur spark grad}: {@code recur grad}'s contract, the batch split over P partitions. */
@Command(name = "grad",
        header = "Loss and all gradients for given weights and data, the batch split over Spark partitions.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "The contract of recur grad (see recur grad --help), read and written by the same code: --model (a "
                        + "state_dict of any cell, layers and directions, or recur's U, W, b, V, c), --inputs, --targets, "
                        + "--lengths, --h0 and --c0 in PyTorch's (L*D,B,H) layout, --reduction sum|mean, and --out with "
                        + "the loss, every parameter's gradient, dh0 (and dc0) under recur grad's names and shapes.",
                "The B sequences are split into P contiguous runs, one per partition, each summed on its task; the sums "
                        + "come back in partition order and dh0/dc0 in batch order (a mean divides the sums by the total "
                        + "count of scored positions), so the output is the same bits on every run and equals recur grad's "
                        + "to float rounding (bit for bit with one partition).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  recur spark grad --master local[2] --partitions 4 --model m.npz \\",
                "      --inputs X.npy --targets Y.npy --lengths L.npy --h0 H0.npy --out g.npz"})
final class SparkGradCommand extends SparkCommand {

    @Mixin GradOptions grad;

    @Override
    int execute() {
        int asked = partitions();
        String k = kernels();
        GradProblem pr = grad.load();
        Shape s = pr.shape;
        int B = pr.batch, K = s.stateBlocks(), H = s.hidden();
        // the default (2) adapts to a batch of one sequence; a P given is checked against the batch
        int P = given("--partitions") ? asked : Math.min(asked, B);
        if (P > B) {
            throw CliException.usage("--partitions = " + P + " > the batch's " + B + " sequences, expected at most "
                    + "one partition per sequence");
        }
        boolean mean = pr.loss.reduction() == Loss.Reduction.MEAN;
        // one partition computes recur grad's call itself; more sum on their tasks and the mean is taken here
        boolean taskMean = mean && P == 1;
        SparkConf sparkConf = SparkContexts.conf(master, "recur spark grad", conf);
        Partial sum;
        GradProblem.Result result;
        try (JavaSparkContext sc = SparkContexts.start(sparkConf)) {
            ModelSpec spec = ModelSpec.of(s, pr.activation.id(), pr.loss.id(), k, SparkContexts.taskCpus(sparkConf));
            List<Windows> parts = SparkGrad.split(B, pr.steps, P, pr.xi, pr.xf, s.input(), pr.yi, pr.yf, s.output(),
                    pr.lengths, pr.h0, pr.c0, K, H);
            float[] params = pr.model.params().data();
            sum = Jobs.run(() -> SparkGrad.compute(sc, spec, params, parts, taskMean, IndexOrderedSum.DEFAULT_FANOUT));
            result = result(sum, s, B, P, mean && !taskMean);
            try {
                Npz.write(grad.out(), pr.outputs(result), false);
            } catch (IOException e) {
                throw CliException.runtime("--out " + grad.out() + ": cannot write it (" + e.getMessage() + ")", e);
            }
        }
        err().printf(Locale.ROOT, "loss %.9g (%s over %d steps x %d sequences; %s%s); %d partition%s, kernels %s; "
                        + "gradients written to %s%n", result.loss(), mean ? "mean" : "summed", pr.steps, B, s,
                s.cell() == Cell.ELMAN ? ", " + pr.activation.id() : "", P, P == 1 ? "" : "s", Reports.kernels(sum.kernels()),
                grad.out());
        Reports.warnScalar(err(), sum.kernels(), k);
        return Main.EXIT_OK;
    }

    /**
     * The partitions' sum as recur grad's result: dh0 (dc0) back in (K, B, H) batch order, and with
     * {@code divide} the loss, the gradients and dh0 (dc0) divided by the counted positions (the
     * core's mean: no counted position gives a NaN loss and zero gradients).
     */
    static GradProblem.Result result(Partial sum, Shape s, int B, int P, boolean divide) {
        int K = s.stateBlocks(), H = s.hidden();
        float[] grad = sum.grad();
        float[] dh0 = SparkGrad.joinStates(sum.dh0(), B, P, K, H);
        float[] dc0 = SparkGrad.joinStates(sum.dc0(), B, P, K, H);
        double loss = sum.loss();
        if (divide) {
            long count = sum.tokens();
            if (count == 0) {
                loss = Double.NaN;
            } else {
                loss /= count;
                divide(grad, count);
                divide(dh0, count);
                divide(dc0, count);
            }
        }
        return new GradProblem.Result(loss, Grads.wrap(s, grad), dh0, dc0);
    }

    private static void divide(float[] a, long count) {
        if (a == null) return;
        for (int i = 0; i < a.length; i++) a[i] = (float) (a[i] / (double) count);
    }
}
