package dev.recur.cli;

import dev.recur.Rnn;
import dev.recur.io.Npz;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.io.IOException;
import java.util.Locale;

/** {@code recur grad}: loss and all gradients for given weights and data, as .npy/.npz (numpy and PyTorch interop). */
@Command(name = "grad",
        header = "Loss and all gradients for given weights and data (numpy .npy/.npz in and out; PyTorch state_dict names).",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Compute the loss and the gradient of every parameter, of h0 (and an LSTM's c0) for the weights in --model",
                "and the data in --inputs/--targets, by exact BPTT through every layer and direction; write them to --out.",
                "",
                "Model: an .npz with PyTorch's nn.RNN/nn.GRU/nn.LSTM state_dict names (weight_ih_l{k}, weight_hh_l{k}, "
                        + "bias_ih_l{k}, bias_hh_l{k}, _reverse for a second direction) plus the head V (O, D*H) and c (O,): "
                        + "layers, directions, cell and sizes come from the keys and shapes. Or recur's own single-layer model "
                        + "U (H,I), W (H,H), b (H,), V (O,H), c (O,). An optional 'meta' (0-d str of JSON) may name the "
                        + "activation and the loss, which the options override.",
                "Inputs: float (T,B,I) or (T,I), or int class indices (T,B) or (T,). Targets: int (T,B)/(T,) for --loss "
                        + "xent (softmax cross-entropy; -100 is ignored, as PyTorch's ignore_index), float (T,B,O)/(T,O) for "
                        + "--loss mse (1/2 squared error). --lengths: int (B,), each in [1, T]: packed-sequence semantics, "
                        + "targets past a sequence's length are ignored. h0 (and c0): (L*D, B, H), PyTorch's h_0 layout "
                        + "(index layer*D + direction), or (B,H)/(H,) for one layer and direction; zeros if absent.",
                "Output (.npz): loss (0-d float64, SUMMED over the counted positions unless --reduction mean), the gradient "
                        + "of each parameter (a state_dict model: under the parameter's own name; recur's model: dU dW db dV "
                        + "dc), dh0 (and dc0) in h0's layout ((L*D,B,H) for a state_dict model).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur grad --model rnn.npz --inputs X.npy --targets Y.npy --lengths L.npy --activation tanh --loss xent --out g.npz",
                "  recur grad --model params.npz --inputs X.npy --targets Y.npy --activation tanh --loss xent --out g.npz",
                "  python3 -c \"import numpy as np; g = np.load('g.npz'); print(g['loss'], g['weight_hh_l0'].shape)\""})
final class GradCommand extends BaseCommand {

    @Mixin GradOptions grad;

    @Mixin ComputeOptions compute;

    @Override
    int execute() throws IOException {
        GradProblem pr = grad.load();
        GradProblem.Result r;
        try (Rnn rnn = compute.engine(pr.shape, pr.activation)) {
            r = pr.compute(rnn);
        }
        try {
            Npz.write(grad.out(), pr.outputs(r), false);
        } catch (IOException e) {
            throw CliException.runtime("--out " + grad.out() + ": cannot write it (" + e.getMessage() + ")", e);
        }
        err().printf(Locale.ROOT, "loss %.9g (%s over %d steps x %d sequences; %s%s); gradients written to %s%n", r.loss(),
                pr.loss.reduction() == dev.recur.Loss.Reduction.MEAN ? "mean" : "summed", pr.steps, pr.batch, pr.shape,
                pr.shape.cell() == dev.recur.Cell.ELMAN ? ", " + pr.activation.id() : "", grad.out());
        return Main.EXIT_OK;
    }
}
