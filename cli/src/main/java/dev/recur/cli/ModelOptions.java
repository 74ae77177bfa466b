package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.io.ModelFile;
import dev.recur.io.NpyFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/** Loading a model file for a command, with the errors phrased for the command line. */
final class ModelOptions {
    private ModelOptions() {}

    static ModelFile.Model load(String option, Path file) {
        if (!Files.exists(file)) throw CliException.runtime(option + " " + file + ": no such file");
        if (Files.isDirectory(file)) throw CliException.runtime(option + " " + file + ": is a folder, expected an .npz file");
        try {
            return ModelFile.read(file);
        } catch (NpyFormatException e) {
            throw CliException.runtime(option + " " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw CliException.runtime(option + " " + file + ": no such file", e);
        } catch (IOException e) {
            throw CliException.runtime(option + " " + file + ": cannot read it (" + e + ")", e);
        }
    }

    /** The activation: the option if given, else meta.activation, else an error naming both. */
    static Activation activation(String option, ModelFile.Model m, Path file) {
        if (option != null) return TrainCommand.parseActivation(option);
        Object a = m.meta().get("activation");
        if (a == null) {
            throw CliException.usage(file + " names no activation (no meta.activation), expected --activation "
                    + "tanh|sigmoid|relu");
        }
        try {
            return Activation.parse(String.valueOf(a));
        } catch (IllegalArgumentException e) {
            throw CliException.runtime(file + ": meta.activation = '" + a + "', expected one of tanh, sigmoid, relu");
        }
    }

    /** The loss: the option if given, else meta.loss, else an error naming both. Returns "xent" or "mse". */
    static String loss(String option, ModelFile.Model m, Path file) {
        if (option != null) {
            String l = option.toLowerCase(Locale.ROOT);
            if (!l.equals("xent") && !l.equals("mse")) {
                throw CliException.usage("--loss = '" + option + "', expected xent (softmax cross-entropy, int targets) or "
                        + "mse (1/2 squared error, float targets)");
            }
            return l;
        }
        Object l = m.meta().get("loss");
        if (l == null) {
            throw CliException.usage(file + " names no loss (no meta.loss), expected --loss xent|mse");
        }
        if (!l.equals("xent") && !l.equals("mse")) {
            throw CliException.runtime(file + ": meta.loss = '" + l + "', expected xent or mse");
        }
        return (String) l;
    }
}
