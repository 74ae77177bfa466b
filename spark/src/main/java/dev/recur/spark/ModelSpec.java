package dev.recur.spark;

import java.io.Serializable;
import java.util.List;

/**
 * What a task needs to build its engine: the sizes, the activation, the loss, the kernel choice
 * and the threads per task. Plain values, so that it travels in a task's closure.
 *
 * @param input    I: vocabulary size for class inputs, features for dense ones
 * @param hidden   H
 * @param output   O: classes for cross-entropy, values for squared error
 * @param activation tanh, sigmoid or relu
 * @param loss     xent (softmax cross-entropy, class targets) or mse (1/2 squared error, dense targets)
 * @param kernels  auto, scalar or vector, resolved by each executor
 * @param threads  engine threads per task ({@code spark.task.cpus})
 */
public record ModelSpec(int input, int hidden, int output, String activation, String loss, String kernels, int threads)
        implements Serializable {

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
    }

    /** True for softmax cross-entropy over class targets. */
    public boolean classTargets() { return loss.equals("xent"); }

    /** Parameters in the flat layout (U, W, b, V, c). */
    public int parameterCount() { return PartitionGradient.parameterCount(this); }

    private static void positive(String name, int v) {
        if (v < 1) throw new IllegalArgumentException(name + " = " + v + ", expected a whole number >= 1");
    }

    private static void oneOf(String name, String v, List<String> allowed) {
        if (!allowed.contains(v)) {
            throw new IllegalArgumentException(name + " = '" + v + "', expected one of " + String.join(", ", allowed));
        }
    }
}
