package dev.recur.cli;

import picocli.CommandLine.Option;

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
}
