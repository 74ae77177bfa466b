package dev.recur.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** What every subcommand shares: {@code --verbose}, {@code --help}, and its output streams. */
abstract class BaseCommand implements Callable<Integer> {

    @Spec CommandSpec spec;

    @Option(names = "--verbose", description = "Show stack traces with errors.")
    boolean verbose;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    /** Results and tables meant for the reader (stdout). */
    PrintWriter out() { return spec.commandLine().getOut(); }

    /** Progress, logs and warnings (stderr). */
    PrintWriter err() { return spec.commandLine().getErr(); }

    /** True if the user typed this option (as opposed to its default applying). */
    boolean given(String option) {
        var pr = spec.commandLine().getParseResult();
        return pr != null && pr.hasMatchedOption(option);
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
