package dev.recur.spark;

import dev.recur.cli.Main;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * {@code recur spark}: data-parallel training and gradients on Apache Spark. Runs from the
 * launcher ({@code ./recur spark ...}, local mode with Spark on the class path) or under
 * {@code spark-submit --class dev.recur.spark.SparkMain recur-spark.jar ...} on a cluster.
 * Errors, exit codes and {@code --json} behave as in the rest of {@code recur}.
 */
@Command(name = "recur spark",
        mixinStandardHelpOptions = true,
        versionProvider = SparkMain.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {"Synchronous data-parallel training and gradients on Apache Spark: the same bits on every run, "
                + "whatever the scheduling, the executors or task retries.", ""},
        subcommands = {SparkTrainCommand.class, SparkGradCommand.class, CommandLine.HelpCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur spark train --master local[2] --partitions 2     the default task",
                "  recur spark train --data book.txt --hidden 256 --save book.npz",
                "  recur spark grad --partitions 4 --model m.npz --inputs X.npy --targets Y.npy \\",
                "      --out g.npz",
                "  spark-submit --class dev.recur.spark.SparkMain spark/target/recur-spark.jar \\",
                "      train --data hdfs:///corpus/",
                "",
                "Exit status: 0 ok, 1 runtime error, 2 usage error."})
public final class SparkMain implements Runnable {

    static final String FALLBACK_VERSION = "0.1.0-SNAPSHOT";

    @Spec CommandSpec spec;

    @CommandLine.Option(names = "--verbose", description = "Show stack traces with errors.")
    boolean verbose;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command, expected one of train, grad");
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        int code = newCommandLine(out, err).execute(args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** The configured command line (tests run it in-process). */
    public static CommandLine newCommandLine(PrintWriter out, PrintWriter err) {
        return Main.configure(new CommandLine(new SparkMain()), out, err);
    }

    static String version() {
        String v = SparkMain.class.getPackage().getImplementationVersion();
        return v != null ? v : FALLBACK_VERSION;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"recur spark " + version(), "Spark " + org.apache.spark.package$.MODULE$.SPARK_VERSION(),
                    "JDK " + Runtime.version()};
        }
    }
}
