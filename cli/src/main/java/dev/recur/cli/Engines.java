package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.kernel.KernelChoice;

/** Builds engines for the commands, turning the core's refusals into one-line CLI errors. */
final class Engines {
    private Engines() {}

    /** True if the core's engine can use several threads. */
    static boolean threadsSupported() { return true; }

    /** The threads an engine will really use when asked for {@code requested}. */
    static int effectiveThreads(int requested) { return requested; }

    static Rnn build(Shape shape, Activation act, KernelChoice kernels, int threads) {
        Rnn.Builder b = Rnn.builder(shape).activation(act);
        try {
            b.kernels(kernels);
            b.threads(threads);
            return b.build();
        } catch (UnsupportedOperationException e) {
            throw CliException.runtime("--kernels " + kernels.name().toLowerCase(java.util.Locale.ROOT) + ": "
                    + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--threads " + threads + ": " + e.getMessage());
        }
    }
}
