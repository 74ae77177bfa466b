package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Cell;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

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

    /** --layers: given or 1, at most 64. */
    public static int layers(Integer given) {
        int n = positive("--layers", given != null ? given : 1);
        if (n > 64) throw CliException.usage("--layers = " + n + ", expected at most 64");
        return n;
    }

    /** --activation (tanh when absent) for a cell: any of tanh, sigmoid, relu for rnn, tanh alone for the gated cells. */
    public static Activation activation(String given, Cell cell) {
        Activation a = given == null ? Activation.TANH : parseActivation(given);
        if (cell != Cell.ELMAN && a != Activation.TANH) {
            throw CliException.usage("--activation " + given + " with --cell " + cell.id() + ", expected tanh or no "
                    + "--activation (a gated cell's activations are fixed)");
        }
        return a;
    }

    /** --activation: tanh, sigmoid or relu (any case). */
    public static Activation parseActivation(String s) {
        try {
            return Activation.parse(s);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--activation = '" + s + "', expected one of tanh, sigmoid, relu");
        }
    }

    /** --optimizer, lower-cased (the default when absent): sgd, adagrad or adam. */
    public static String optimizer(String given, String fallback) {
        String opt = given == null ? fallback : given.toLowerCase(Locale.ROOT);
        if (!List.of("sgd", "adagrad", "adam").contains(opt)) {
            throw CliException.usage("--optimizer = '" + given + "', expected one of sgd, adagrad, adam");
        }
        return opt;
    }

    /** --lr: a finite number > 0. */
    public static double learningRate(double rate) {
        if (!(rate > 0) || !Double.isFinite(rate)) throw CliException.usage("--lr = " + rate + ", expected a number > 0");
        return rate;
    }

    /** A finite number >= 0 where 0 turns the option off (--clip, --clip-value). */
    public static double offOrPositive(String option, double v) {
        if (!(v >= 0) || !Double.isFinite(v)) throw CliException.usage(option + " = " + v + ", expected a number >= 0 (0 = off)");
        return v;
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
