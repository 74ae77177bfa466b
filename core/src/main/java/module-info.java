/**
 * recur's compute core: the Elman-RNN model, exact BPTT and its kernels.
 *
 * <p>Exported: {@code dev.recur} (shapes, parameters, the engine), {@code dev.recur.kernel}
 * (the kernel surface and its lookup), {@code dev.recur.optim} (optimisers and clipping),
 * {@code dev.recur.gradflow} (gradient-flow measurements), {@code dev.recur.seq} (very long
 * sequences: checkpointed and truncated BPTT, streamed inputs, compensated time sums) and
 * {@code dev.recur.io} (numpy .npy/.npz models and arrays) and {@code dev.recur.reference} (the
 * independent double-precision network every result is checked against).
 * {@code dev.recur.internal} (argument checks) is not exported.
 * The vector module is optional ({@code requires static}): without it the lookup falls back to
 * the scalar kernels, logging one warning per JVM.
 */
module dev.recur.core {
    requires static jdk.incubator.vector;
    requires java.management;

    exports dev.recur;
    exports dev.recur.kernel;
    exports dev.recur.optim;
    exports dev.recur.gradflow;
    exports dev.recur.seq;
    exports dev.recur.io;
    exports dev.recur.reference;
}
