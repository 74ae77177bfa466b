package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Cell;
import dev.recur.Loss;
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

    /**
     * The activation: the option if given, else meta.activation, else an error naming both. A
     * gated cell's activations are fixed: the option may be omitted or be tanh.
     */
    static Activation activation(String option, ModelFile.Model m, Path file) {
        if (m.shape().cell() != Cell.ELMAN) {
            if (option != null && OptionChecks.parseActivation(option) != Activation.TANH) {
                throw CliException.usage("--activation " + option + " with a " + m.shape().cell().id() + " model, expected tanh "
                        + "or no --activation (a gated cell's activations are fixed)");
            }
            return Activation.TANH;
        }
        if (option != null) return OptionChecks.parseActivation(option);
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

    /** The loss (summed): the option if given, else meta.loss, else an error naming both. */
    static Loss loss(String option, ModelFile.Model m, Path file) {
        if (option != null) {
            String l = option.toLowerCase(Locale.ROOT);
            if (!l.equals("xent") && !l.equals("mse")) {
                throw CliException.usage("--loss = '" + option + "', expected xent (softmax cross-entropy, int targets) or "
                        + "mse (1/2 squared error, float targets)");
            }
            return Loss.parse(l);
        }
        Object l = m.meta().get("loss");
        if (l == null) {
            throw CliException.usage(file + " names no loss (no meta.loss), expected --loss xent|mse");
        }
        if (!l.equals("xent") && !l.equals("mse")) {
            throw CliException.runtime(file + ": meta.loss = '" + l + "', expected xent or mse");
        }
        return Loss.parse((String) l);
    }

    /**
     * With {@code --cell} given, the model's shapes must fit that cell: the error names the cell
     * they do fit (from the gate rows of weight_hh: 1, 3 or 4 per hidden unit).
     */
    static void checkCell(String option, ModelFile.Model m, Path file) {
        if (option == null) return;
        Cell want = parseCell(option);
        Cell have = m.shape().cell();
        if (want != have) {
            throw CliException.runtime("--model " + file + ": its shapes fit a " + have.id() + " network (weight_hh has "
                    + have.gates() + "H rows, H = " + m.shape().hidden() + "), not --cell " + want.id());
        }
    }

    /** Parses --cell; the error names the value and the choices. */
    static Cell parseCell(String option) {
        try {
            return Cell.parse(option);
        } catch (IllegalArgumentException e) {
            throw CliException.usage("--cell = '" + option + "', expected rnn, gru or lstm");
        }
    }
}
