package dev.recur.cli;

import dev.recur.Cell;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The network and optimiser options that `recur train` and `recur spark train` share (a picocli
 * mixin): each command resolves them with {@link OptionChecks} against its task's defaults.
 * Null fields were not given.
 */
public final class TrainModelOptions {

    @Option(names = "--hidden", paramLabel = "H", description = "Hidden units (task default: grammar 64, text 128).")
    public Integer hidden;

    @Option(names = "--layers", paramLabel = "L", description = "Stacked recurrent layers (default 1); a deeper model is saved "
            + "with PyTorch's state_dict names.")
    public Integer layers;

    @Option(names = "--cell", paramLabel = "rnn|gru|lstm", description = "Recurrent cell (default rnn).")
    public String cell;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", description = "Hidden activation of the rnn cell (default "
            + "tanh; the gated cells' are fixed).")
    public String activation;

    @Option(names = "--optimizer", paramLabel = "sgd|adagrad|adam", description = "Optimiser (default adam).")
    public String optimizer;

    @Option(names = "--clip", paramLabel = "NORM", description = "Clip the gradient of each update to this global L2 norm; "
            + "0 = off (default 5).")
    public Double clip;

    @Option(names = "--clip-value", paramLabel = "MAX", description = "Clamp every gradient entry to [-MAX, MAX]; "
            + "0 = off (default 0).")
    public Double clipValue;

    /** The options resolved: given values, else the task's defaults (hidden size, optimiser) or the fixed ones. */
    public record Resolved(int hidden, int layers, Cell cell, String activation, String optimizer, double clip,
                           double clipValue) {}

    /** Resolves and checks the options against a task's default hidden size and optimiser (usage errors name each). */
    public Resolved resolve(int defaultHidden, String defaultOptimizer) {
        Cell c = OptionChecks.cell(cell);
        return new Resolved(OptionChecks.positive("--hidden", hidden != null ? hidden : defaultHidden),
                OptionChecks.layers(layers), c, OptionChecks.activation(activation, c).id(),
                OptionChecks.optimizer(optimizer, defaultOptimizer),
                OptionChecks.offOrPositive("--clip", clip != null ? clip : 5.0),
                OptionChecks.offOrPositive("--clip-value", clipValue != null ? clipValue : 0.0));
    }

    /** When resuming from {@code file}: every option given again must equal the saved run's value. */
    public void sameAsSaved(int savedHidden, int savedLayers, String savedCell, String savedActivation, String savedOptimizer,
                            double savedClip, double savedClipValue, Path file) {
        Cell c = OptionChecks.cell(cell);
        OptionChecks.sameAsSaved("--hidden", hidden, savedHidden, file);
        OptionChecks.sameAsSaved("--layers", layers, savedLayers, file);
        OptionChecks.sameAsSaved("--cell", cell == null ? null : c.id(), savedCell, file);
        OptionChecks.sameAsSaved("--activation", activation == null ? null : OptionChecks.activation(activation, c).id(),
                savedActivation, file);
        OptionChecks.sameAsSaved("--optimizer", optimizer == null ? null : OptionChecks.optimizer(optimizer, null), savedOptimizer,
                file);
        OptionChecks.sameAsSaved("--clip", clip, savedClip, file);
        OptionChecks.sameAsSaved("--clip-value", clipValue, savedClipValue, file);
    }
}
