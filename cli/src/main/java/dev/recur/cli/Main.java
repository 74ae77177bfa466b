package dev.recur.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/**
 * The {@code recur} command: {@code train}, {@code sample}, {@code grad}, {@code gradcheck},
 * {@code bench}, {@code info}.
 *
 * <p>Exit codes: 0 success, 2 usage error (bad option or value), 1 runtime error (bad file,
 * failed save, diverged run). Errors are one line on stderr; {@code --verbose} adds the stack
 * trace. Machine-readable output ({@code --json}) goes to stdout alone; progress and tables go
 * to stderr.
 */
@Command(name = "recur",
        mixinStandardHelpOptions = true,
        versionProvider = Main.Version.class,
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {"A fast, exact Elman-RNN for the JVM: train, sample, gradients, benchmarks.", ""},
        subcommands = {
                TrainCommand.class,
                SampleCommand.class,
                GradCommand.class,
                GradCheckCommand.class,
                BenchCommand.class,
                InfoCommand.class,
                GradflowCommand.class,
                StressCommand.class,
                CommandLine.HelpCommand.class},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur train                          learn the built-in grammar task (under a minute)",
                "  recur train --task list              list the built-in tasks",
                "  recur train --data book.txt --save book.npz --iters 5000",
                "  recur sample --model book.npz --length 500 --temperature 0.8",
                "  recur grad --model m.npz --inputs X.npy --targets Y.npy --out g.npz",
                "  recur gradcheck --hidden 16 --activation sigmoid",
                "  recur bench                          scalar vs vector, 1 vs all threads",
                "  recur info                           JDK, vector lanes, CPU features, kernels",
                "  recur gradflow                       vanishing/exploding gradients, measured and plotted",
                "  recur stress --steps 10M             exact BPTT on a very long sequence in bounded memory",
                "",
                "Exit status: 0 ok, 1 runtime error, 2 usage error. 'recur COMMAND --help' for details."})
public final class Main implements Runnable {

    public static final int EXIT_OK = 0;
    public static final int EXIT_RUNTIME = 1;
    public static final int EXIT_USAGE = 2;

    /** Used when the jar's manifest carries no Implementation-Version (a build from the IDE). */
    static final String FALLBACK_VERSION = "0.1.0-SNAPSHOT";

    @Spec CommandSpec spec;

    @picocli.CommandLine.Option(names = "--verbose", description = "Show stack traces with errors.")
    boolean verbose;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(),
                "missing command, expected one of train, sample, grad, gradcheck, bench, info, gradflow, stress");
    }

    public static void main(String[] args) {
        PrintWriter out = new PrintWriter(System.out, true, StandardCharsets.UTF_8);
        PrintWriter err = new PrintWriter(System.err, true, StandardCharsets.UTF_8);
        int code = newCommandLine(out, err).execute(args);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** The configured command line, writing to {@code out} and {@code err} (tests capture them). */
    public static CommandLine newCommandLine(PrintWriter out, PrintWriter err) {
        return configure(new CommandLine(new Main()), out, err);
    }

    /**
     * Gives a command line recur's streams and error handling: one-line errors, exit 2 for usage
     * errors and 1 for runtime errors, stack traces under the command's {@code --verbose}. Other
     * entry points built on this one ({@code recur spark}) share it.
     */
    public static CommandLine configure(CommandLine cl, PrintWriter out, PrintWriter err) {
        cl.setOut(out);
        cl.setErr(err);
        cl.setUsageHelpAutoWidth(true);
        cl.setParameterExceptionHandler(Main::onUsageError);
        cl.setExecutionExceptionHandler(Main::onRuntimeError);
        return cl;
    }

    /** The command's path as typed: "recur train". */
    private static String path(CommandLine cl) {
        StringBuilder b = new StringBuilder();
        for (CommandLine c = cl; c != null; c = c.getParent()) {
            b.insert(0, b.isEmpty() ? c.getCommandName() : c.getCommandName() + " ");
        }
        return b.toString();
    }

    private static int onUsageError(ParameterException e, String[] args) {
        CommandLine cl = e.getCommandLine();
        PrintWriter err = cl.getErr();
        String msg = oneLine(e.getMessage());
        err.println(path(cl) + ": " + msg + " (see " + path(cl) + " --help)");
        if (verbose(cl)) e.printStackTrace(err);
        err.flush();
        return EXIT_USAGE;
    }

    private static int onRuntimeError(Exception e, CommandLine cl, CommandLine.ParseResult parsed) {
        PrintWriter err = cl.getErr();
        int code;
        String msg;
        if (e instanceof CliException ce) {
            code = ce.exitCode();
            msg = ce.getMessage();
            if (code == EXIT_USAGE) msg += " (see " + path(cl) + " --help)";
        } else if (e instanceof IllegalArgumentException) {
            // the core's argument checks name the argument, the value and what was expected
            code = EXIT_RUNTIME;
            msg = e.getMessage();
        } else if (e instanceof java.io.IOException io) {
            code = EXIT_RUNTIME;
            msg = io instanceof java.nio.file.NoSuchFileException ? "no such file: " + io.getMessage() : io.toString();
        } else {
            code = EXIT_RUNTIME;
            msg = "internal error: " + e;
        }
        err.println(path(cl) + ": error: " + oneLine(msg));
        if (verbose(cl)) e.printStackTrace(err);
        else if (!(e instanceof CliException) && !(e instanceof IllegalArgumentException)) {
            err.println("(run again with --verbose for the stack trace)");
        }
        err.flush();
        return code;
    }

    /** True if the failing command has a {@code --verbose} option and it was given. */
    private static boolean verbose(CommandLine cl) {
        CommandLine.Model.OptionSpec o = cl.getCommandSpec().findOption("--verbose");
        return o != null && Boolean.TRUE.equals(o.getValue());
    }

    static String oneLine(String s) {
        if (s == null) return "(no message)";
        return s.strip().replace("\r", "").replace("\n", "; ");
    }

    /** The version line: recur's version, the JDK and the kernels auto picks. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {
                    "recur " + version(),
                    "JDK " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
                    "kernels (auto): " + dev.recur.kernel.KernelsLookup.reason()};
        }
    }

    static String version() {
        String v = Main.class.getPackage().getImplementationVersion();
        return v != null ? v : FALLBACK_VERSION;
    }
}
