package dev.recur.cli;

import picocli.CommandLine.Option;

import java.nio.file.Path;

/**
 * The options of {@code recur grad}'s contract, shared by {@code recur grad} and
 * {@code recur spark grad} (a picocli mixin): the model, the data, the initial states, the loss
 * and where the gradients go. {@link #load()} reads and checks them all through
 * {@link GradProblem}.
 */
public final class GradOptions {

    @Option(names = "--model", required = true, paramLabel = "MODEL.npz", description = "Weights (state_dict names, or U, W, b, V, c) and optional meta.")
    Path model;

    @Option(names = "--inputs", required = true, paramLabel = "X.npy", description = "Inputs: float (T,B,I)/(T,I) or int (T,B)/(T,).")
    Path inputs;

    @Option(names = "--targets", required = true, paramLabel = "Y.npy", description = "Targets: int (T,B)/(T,) or float (T,B,O)/(T,O).")
    Path targets;

    @Option(names = "--lengths", paramLabel = "L.npy", description = "Sequence lengths, int (B,); all T if absent.")
    Path lengths;

    @Option(names = "--h0", paramLabel = "H0.npy", description = "Initial states (L*D,B,H), or (B,H)/(H,) for one layer; zeros if absent.")
    Path h0;

    @Option(names = "--c0", paramLabel = "C0.npy", description = "LSTM initial cell states, as --h0.")
    Path c0;

    @Option(names = "--cell", paramLabel = "rnn|gru|lstm", description = "Check that the model is this cell (else an error names the cell it fits).")
    String cell;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", description = "Overrides meta.activation (rnn cells).")
    String activation;

    @Option(names = "--loss", paramLabel = "xent|mse", description = "Overrides meta.loss.")
    String loss;

    @Option(names = "--reduction", paramLabel = "sum|mean", defaultValue = "sum",
            description = "Sum over the counted positions (default) or their mean.")
    String reduction;

    @Option(names = "--out", required = true, paramLabel = "GRADS.npz", description = "Where to write loss and gradients.")
    Path out;

    /** Reads and checks the model and the data; each error names the option, the file and what was expected. */
    public GradProblem load() {
        return GradProblem.load(model, inputs, targets, lengths, h0, c0, activation, loss, reduction, cell);
    }

    /** --out. */
    public Path out() { return out; }
}
