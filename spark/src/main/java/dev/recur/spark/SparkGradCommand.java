package dev.recur.spark;

import dev.recur.cli.CliException;
import dev.recur.cli.Main;
import dev.recur.io.NpyArray;
import dev.recur.io.Npz;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** {@code recur spark grad}: {@code recur grad}'s contract, the batch split over P partitions. */
@Command(name = "grad",
        header = "Loss and all gradients for given weights and data, the batch split over Spark partitions.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "The contract of recur grad (see recur grad --help): --model, --inputs, --targets, optional --h0, and "
                        + "--out with loss (summed), dU dW db dV dc and dh0. The B sequences are split into P contiguous "
                        + "runs, one per partition; the sums come back in partition order and dh0 in batch order, so the "
                        + "output is the same bits on every run and equals recur grad's to float rounding.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {"  recur spark grad --master local[2] --partitions 4 --model m.npz \\",
                "      --inputs X.npy --targets Y.npy --out g.npz"})
final class SparkGradCommand extends SparkCommand {

    @Option(names = "--model", required = true, paramLabel = "PARAMS.npz", description = "Weights U, W, b, V, c (and optional meta).")
    Path model;

    @Option(names = "--inputs", required = true, paramLabel = "X.npy", description = "Inputs: float (T,B,I)/(T,I) or int (T,B)/(T,).")
    Path inputs;

    @Option(names = "--targets", required = true, paramLabel = "Y.npy", description = "Targets: int (T,B)/(T,) or float (T,B,O)/(T,O).")
    Path targets;

    @Option(names = "--h0", paramLabel = "H0.npy", description = "Initial state (B,H) or (H,); zeros if absent.")
    Path h0;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", description = "Overrides meta.activation.")
    String activation;

    @Option(names = "--loss", paramLabel = "xent|mse", description = "Overrides meta.loss.")
    String loss;

    @Option(names = "--out", required = true, paramLabel = "GRADS.npz", description = "Where to write loss and gradients.")
    Path outFile;

    @Override
    int execute() {
        int asked = partitions();
        String k = kernels();
        GradInputs in = GradInputs.read(model, inputs, targets, h0, activation, loss);
        // the default (2) adapts to a batch of one sequence; a P given is checked against the batch
        int P = given("--partitions") ? asked : Math.min(asked, in.batch());
        if (P > in.batch()) {
            throw CliException.usage("--partitions = " + P + " > the batch's " + in.batch() + " sequences, expected at most "
                    + "one partition per sequence");
        }
        SparkConf sparkConf = SparkContexts.conf(master, "recur spark grad", conf);
        Partial sum;
        try (JavaSparkContext sc = SparkContexts.start(sparkConf)) {
            ModelSpec spec = new ModelSpec(in.input(), in.hidden(), in.output(), in.activation(), in.loss(), k,
                    SparkContexts.taskCpus(sparkConf));
            List<Windows> parts = SparkGrad.split(in.batch(), in.steps(), P, in.xi(), in.xf(), in.input(), in.yi(), in.yf(),
                    in.output(), in.h0(), in.hidden());
            sum = Jobs.run(() -> SparkGrad.compute(sc, spec, in.params(), parts, IndexOrderedSum.DEFAULT_FANOUT));
            Map<String, NpyArray> arrays = new LinkedHashMap<>();
            arrays.put("loss", NpyArray.scalar(sum.loss()));
            arrays.putAll(PartitionGradient.gradientArrays(spec, sum.grad()));
            arrays.put("dh0", in.batched() ? NpyArray.of(sum.dh0(), in.batch(), in.hidden()) : NpyArray.of(sum.dh0(), in.hidden()));
            try {
                Npz.write(outFile, arrays, false);
            } catch (IOException e) {
                throw CliException.runtime("--out " + outFile + ": cannot write it (" + e.getMessage() + ")", e);
            }
        }
        err().printf(Locale.ROOT, "loss %.9g (summed over %d steps x %d sequences; %s, %s); %d partition%s, kernels %s; "
                        + "gradients written to %s%n", sum.loss(), in.steps(), in.batch(), in.activation(), in.loss(), P,
                P == 1 ? "" : "s", Reports.kernels(sum.kernels()), outFile);
        Reports.warnScalar(err(), sum.kernels(), k);
        return Main.EXIT_OK;
    }
}
