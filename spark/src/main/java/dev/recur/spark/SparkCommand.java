package dev.recur.spark;

import dev.recur.cli.CliException;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** What {@code recur spark train} and {@code grad} share: Spark's master, partitions, settings and kernels. */
abstract class SparkCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--master", paramLabel = "URL", description = "Spark master: local[N] (default local[2] from the "
            + "launcher), local[N,MAX_FAILURES], spark://HOST:PORT, yarn, k8s://...; under spark-submit its --master.")
    String master;

    @Option(names = "--partitions", paramLabel = "P", defaultValue = "2", description = "Partitions (tasks) the batch is "
            + "split over (default: ${DEFAULT-VALUE}). Part of a training run's definition: the same P gives the same bits.")
    int partitions;

    @Option(names = "--conf", paramLabel = "KEY=VALUE", description = "A Spark setting, e.g. spark.task.cpus=2 "
            + "(engine threads per task); repeatable.")
    Map<String, String> conf = new LinkedHashMap<>();

    @Option(names = "--kernels", paramLabel = "scalar|vector|auto", defaultValue = "auto", description = "Kernel path on "
            + "the executors (default: ${DEFAULT-VALUE}: vector where the executor JVM has jdk.incubator.vector).")
    String kernels;

    @Option(names = "--verbose", description = "Show stack traces with errors.")
    boolean verbose;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    PrintWriter out() { return spec.commandLine().getOut(); }

    PrintWriter err() { return spec.commandLine().getErr(); }

    boolean given(String option) {
        var pr = spec.commandLine().getParseResult();
        return pr != null && pr.hasMatchedOption(option);
    }

    /** --partitions, checked before Spark starts. */
    int partitions() {
        if (partitions < 1) throw CliException.usage("--partitions = " + partitions + ", expected a whole number >= 1");
        return partitions;
    }

    /** --kernels as the executors resolve it. */
    String kernels() {
        String k = kernels.toLowerCase(Locale.ROOT);
        if (!ModelSpec.KERNELS.contains(k)) throw CliException.usage("--kernels = '" + kernels + "', expected one of scalar, vector, auto");
        return k;
    }

    @Override
    public final Integer call() throws Exception {
        int code = execute();
        out().flush();
        err().flush();
        return code;
    }

    abstract int execute() throws Exception;
}
