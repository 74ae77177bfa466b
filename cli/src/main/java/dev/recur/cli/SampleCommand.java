package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Rnn;
import dev.recur.io.ModelFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** {@code recur sample}: text from a character model. */
@Command(name = "sample",
        header = "Generate text from a character model.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {"Generate text from a character model saved by 'recur train --save' (its meta holds the "
                + "vocabulary), one character at a time, carrying the hidden state. Prints the prime and the "
                + "generated text on stdout.", ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur sample --model book.npz --length 500",
                "  recur sample --model book.npz --length 300 --temperature 0.6 --prime \"The \"",
                "  recur sample --model book.npz --temperature 0        (greedy: always the likeliest character)"})
final class SampleCommand extends BaseCommand {

    @Option(names = "--model", required = true, paramLabel = "MODEL.npz", description = "A character model.")
    Path model;

    @Option(names = "--length", paramLabel = "N", defaultValue = "500", description = "Characters to generate (default: ${DEFAULT-VALUE}).")
    int length;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0",
            description = "Softmax temperature: 1 samples the model's distribution, lower is more conservative, 0 is "
                    + "greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--prime", paramLabel = "TEXT", description = "Text to run through the model first (each character "
            + "must be in its vocabulary).")
    String prime;

    @Option(names = "--activation", paramLabel = "tanh|sigmoid|relu", description = "Overrides meta.activation.")
    String activation;

    @Mixin ComputeOptions compute;

    @Override
    int execute() {
        if (length < 0) throw CliException.usage("--length = " + length + ", expected a whole number >= 0");
        if (!(temperature >= 0) || !Double.isFinite(temperature)) {
            throw CliException.usage("--temperature = " + temperature + ", expected a number >= 0 (0 = greedy)");
        }
        ModelFile.Model m = ModelOptions.load("--model", model);
        Object v = m.meta().get("vocabulary");
        if (!(v instanceof String vocab) || vocab.isEmpty()) {
            throw CliException.runtime("--model " + model + ": has no meta.vocabulary, expected a character model saved by "
                    + "recur train --data FILE --save (or the grammar task)");
        }
        int[] cps = vocab.codePoints().toArray();
        for (int k = 1; k < cps.length; k++) {
            if (cps[k] <= cps[k - 1]) {
                throw CliException.runtime("--model " + model + ": meta.vocabulary is not sorted and distinct at position "
                        + k + ", expected the vocabulary recur train writes");
            }
        }
        Activation act = ModelOptions.activation(activation, m, model);
        try (Rnn rnn = compute.engine(m.shape(), act)) {
            Sampler s = new Sampler(rnn, m.params(), cps);
            String text = s.sample(prime, length, temperature, compute.seed);
            var o = out();
            if (prime != null) o.print(prime);
            o.println(text);
        }
        return Main.EXIT_OK;
    }
}
