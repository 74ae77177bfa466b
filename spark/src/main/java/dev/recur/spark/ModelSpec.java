package dev.recur.spark;

import dev.recur.Cell;
import dev.recur.Shape;

import java.io.Serializable;
import java.util.List;

/**
 * What a task needs to build its engine: the network's shape (sizes, layers, directions, cell,
 * biases), the activation, the loss, the kernel choice and the threads per task. Plain values,
 * so that it travels in a task's closure.
 *
 * @param input      I: vocabulary size for class inputs, features for dense ones
 * @param hidden     H
 * @param output     O: classes for cross-entropy, values for squared error
 * @param layers     stacked layers
 * @param directions 1, or 2 for bidirectional layers
 * @param cell       rnn, gru or lstm ({@link Cell#id()})
 * @param biases     bias vectors per layer and direction (1: recur's single-layer model U, W, b, V, c; 2: PyTorch's)
 * @param activation tanh, sigmoid or relu (a gated cell's is tanh)
 * @param loss       xent (softmax cross-entropy, class targets) or mse (1/2 squared error, dense targets)
 * @param kernels    auto, scalar or vector, resolved by each executor
 * @param threads    engine threads per task ({@code spark.task.cpus})
 */
public record ModelSpec(int input, int hidden, int output, int layers, int directions, String cell, int biases,
                        String activation, String loss, String kernels, int threads) implements Serializable {

    static final List<String> ACTIVATIONS = List.of("tanh", "sigmoid", "relu");
    static final List<String> LOSSES = List.of("xent", "mse");
    static final List<String> KERNELS = List.of("auto", "scalar", "vector");

    public ModelSpec {
        positive("input", input);
        positive("hidden", hidden);
        positive("output", output);
        positive("threads", threads);
        oneOf("activation", activation, ACTIVATIONS);
        oneOf("loss", loss, LOSSES);
        oneOf("kernels", kernels, KERNELS);
        // the core checks layers, directions, cell and biases
        new Shape(input, hidden, output, layers, directions, Cell.parse(cell), biases);
    }

    /** recur's single-layer Elman model (U, W, b, V, c). */
    public ModelSpec(int input, int hidden, int output, String activation, String loss, String kernels, int threads) {
        this(input, hidden, output, 1, 1, Cell.ELMAN.id(), 1, activation, loss, kernels, threads);
    }

    /** The spec of a core shape. */
    public static ModelSpec of(Shape s, String activation, String loss, String kernels, int threads) {
        return new ModelSpec(s.input(), s.hidden(), s.output(), s.layers(), s.directions(), s.cell().id(), s.biases(),
                activation, loss, kernels, threads);
    }

    /** The core's shape (the layout of the flat parameter and gradient arrays). */
    public Shape shape() {
        return new Shape(input, hidden, output, layers, directions, Cell.parse(cell), biases);
    }

    /** True for softmax cross-entropy over class targets. */
    public boolean classTargets() { return loss.equals("xent"); }

    /** Parameters in the flat layout of {@link #shape()}. */
    public int parameterCount() { return shape().size(); }

    private static void positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + " = " + v + ", expected a whole number >= 1");
    }

    private static void oneOf(String name, String v, List<String> allowed) {
        if (!allowed.contains(v)) {
            throw new IllegalArgumentException(name + " = '" + v + "', expected one of " + String.join(", ", allowed));
        }
    }
}
