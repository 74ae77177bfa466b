package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.KernelsLookup;
import picocli.CommandLine.Option;


/** Options shared by every compute command: {@code --kernels}, {@code --threads}, {@code --seed}. */
final class ComputeOptions {

    @Option(names = "--kernels", paramLabel = "scalar|vector|auto", defaultValue = "auto",
            description = "Kernel path: scalar loops, the Vector API, or the best for this CPU (default: ${DEFAULT-VALUE}).")
    String kernels;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "1",
            description = "Threads for one engine (default: ${DEFAULT-VALUE}; 'all' = every core).")
    String threads;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1",
            description = "Seed for data, initialisation and sampling (default: ${DEFAULT-VALUE}).")
    long seed;

    KernelChoice kernelChoice() {
        try {
            return KernelChoice.parse(kernels);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--kernels = '" + kernels + "', expected one of scalar, vector, auto");
        }
    }

    int threadCount() {
        return parseThreads(threads);
    }

    static int parseThreads(String s) {
        int cores = Runtime.getRuntime().availableProcessors();
        if (s != null && (s.equalsIgnoreCase("all") || s.equalsIgnoreCase("auto"))) return cores;
        int n;
        try {
            n = Integer.parseInt(s == null ? "" : s.trim());
        } catch (NumberFormatException e) {
            throw CliException.usage("--threads = '" + s + "', expected a whole number >= 1 or 'all'");
        }
        if (n < 1) throw CliException.usage("--threads = " + n + ", expected a whole number >= 1 or 'all'");
        if (n > 1024) throw CliException.usage("--threads = " + n + ", expected at most 1024");
        return n;
    }

    /** Builds an engine, or throws a runtime error saying why the requested kernels cannot run. */
    Rnn engine(Shape shape, Activation act) {
        return Engines.build(shape, act, kernelChoice(), threadCount());
    }
}
