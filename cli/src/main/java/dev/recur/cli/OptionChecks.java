package dev.recur.cli;

import dev.recur.Cell;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The checks that options of several commands share (`recur train` and `recur spark train`
 * among them), each failing with a usage error that names the option, the value and what was
 * expected.
 */
public final class OptionChecks {
    private OptionChecks() {}

    /** {@code v} when it is at least 1. */
    public static int positive(String option, int v) {
        if (v <= 0) throw CliException.usage(option + " = " + v + ", expected a whole number >= 1");
        return v;
    }

    /** {@code v} when it is at least 1. */
    public static long positive(String option, long v) {
        if (v <= 0) throw CliException.usage(option + " = " + v + ", expected a whole number >= 1");
        return v;
    }

    /** --cell: rnn (also when absent), gru or lstm. */
    public static Cell cell(String option) {
        return option == null ? Cell.ELMAN : ModelOptions.parseCell(option);
    }

    /** A --save target: a file name in an existing folder (checked before a run, not after it). */
    public static void savePath(Path p) {
        Path dir = p.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) {
            throw CliException.usage("--save " + p + ": the folder " + dir + " does not exist, expected an existing folder");
        }
        if (Files.isDirectory(p)) throw CliException.usage("--save " + p + ": is a folder, expected a file name");
    }

    /**
     * When resuming: an option given again must equal what the saved run used (numbers compared
     * by value); {@code given} null means the option was left out.
     */
    public static void sameAsSaved(String option, Object given, Object saved, Path file) {
        if (given == null) return;
        boolean same = given instanceof Number g && saved instanceof Number s
                ? g.doubleValue() == s.doubleValue() : given.equals(saved);
        if (!same) {
            throw CliException.usage(option + " = " + given + " differs from the saved run's " + saved + " (" + file
                    + "), expected the same value or the option left out when resuming");
        }
    }
}
