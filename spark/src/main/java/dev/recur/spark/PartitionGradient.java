package dev.recur.spark;

import dev.recur.Activation;
import dev.recur.Backprop;
import dev.recur.Batch;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.io.NpyArray;
import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.KernelsLookup;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one place where the spark module calls the engine: building an {@link Rnn} and its
 * workspaces, forward and backward over a task's windows, and the flat parameter layout. The
 * rest of the module sees parameters and gradients only as flat {@code float[]}s of
 * {@link #parameterCount} values, so a change of the engine's API is ported here alone.
 *
 * <p>Each task thread keeps one engine and its workspaces between iterations (no engine or
 * workspace is built per iteration); the engine runs {@link ModelSpec#threads()} threads, so a
 * partition's result depends only on its windows, the parameters and that count, not on which
 * executor or thread ran it, nor on what the thread ran before.
 */
public final class PartitionGradient {
    private PartitionGradient() {}

    /** The core's shape (the layout of the flat arrays). */
    static Shape shape(ModelSpec spec) { return spec.shape(); }

    /** Parameters in the flat layout of the shape (recur's U | W | b | V | c, or the state_dict's blocks and the head). */
    static int parameterCount(ModelSpec spec) { return shape(spec).size(); }

    /** The seeded initial parameters of {@code recur train} (the same seed gives the same values). */
    static float[] initialParameters(ModelSpec spec, long seed) { return Params.random(shape(spec), seed).data(); }

    /** The flat array as the core's parameters (not copied). */
    static Params params(ModelSpec spec, float[] flat) { return Params.wrap(shape(spec), flat); }

    /** The flat array as the core's gradients (not copied). */
    static Grads grads(ModelSpec spec, float[] flat) { return Grads.wrap(shape(spec), flat); }

    /** The gradient arrays under recur grad's names (dU.. for recur's model, the state_dict's own names otherwise). */
    static Map<String, NpyArray> gradientArrays(ModelSpec spec, float[] grad) {
        Shape s = shape(spec);
        Map<String, NpyArray> out = new LinkedHashMap<>();
        for (Shape.Block b : s.blocks()) {
            String name = s.isNativeModel() ? "d" + b.name() : b.name();
            out.put(name, NpyArray.of(Arrays.copyOfRange(grad, b.offset(), b.offset() + b.length()), b.dims()));
        }
        return out;
    }

    /** {@link #compute(int, ModelSpec, float[], Windows, boolean, boolean)} with the loss summed. */
    static Partial compute(int index, ModelSpec spec, float[] params, Windows w, boolean keepStates) {
        return compute(index, spec, params, w, keepStates, false);
    }

    /**
     * Loss, counted positions (valid steps whose target is not ignored) and the gradient of
     * {@code w} at {@code params}, by exact BPTT through every layer and direction from the
     * windows' h0 (and c0); with {@code keepStates} also dL/dh0 (and an LSTM's dL/dc0), (K, n, H).
     * The loss is summed over the counted positions, or with {@code mean} their mean.
     */
    static Partial compute(int index, ModelSpec spec, float[] params, Windows w, boolean keepStates, boolean mean) {
        long t0 = System.nanoTime();
        Engine e = engine(spec);
        Workspace ws = e.workspace(w.batch(), w.steps());
        Shape s = e.rnn.shape();
        Params p = params(spec, params);
        Grads g = Grads.zeros(s);
        int n = s.stateBlocks() * w.batch() * s.hidden();
        float[] dh0 = keepStates ? new float[n] : null;
        float[] dc0 = keepStates && s.cell().hasCellState() ? new float[n] : null;
        Batch b = new Batch(w.batch(), w.steps()).lengths(w.lengths()).initialState(w.h0()).initialCell(w.c0());
        if (w.classInputs() != null) b.input(w.classInputs());
        else b.input(w.denseInputs());
        Loss loss = w.classTargets() != null ? Loss.CROSS_ENTROPY : Loss.SQUARED_ERROR;
        if (mean) loss = loss.mean();
        if (w.classTargets() != null) b.targets(w.classTargets()).loss(loss);
        else b.targets(w.denseTargets()).loss(loss);
        double L = e.rnn.forward(p, ws, b);
        e.rnn.backward(p, ws, g, keepStates ? new Backprop().initialStateGradient(dh0, 0).initialCellGradient(dc0, 0) : null);
        return Partial.of(index, L, ws.countedPositions(), g.data(), dh0, dc0, e.kernels, System.nanoTime() - t0);
    }

    // ---------------------------------------------------------------- per-thread engines

    private static final ThreadLocal<Engine> ENGINE = new ThreadLocal<>();

    private static Engine engine(ModelSpec spec) {
        Engine e = ENGINE.get();
        if (e != null && e.spec.equals(spec)) return e;
        if (e != null) e.rnn.close();
        e = new Engine(spec);
        ENGINE.set(e);
        return e;
    }

    /** An engine for one spec and its workspaces by (batch, steps). */
    private static final class Engine {
        final ModelSpec spec;
        final Rnn rnn;
        final String kernels;
        final Map<Long, Workspace> workspaces = new HashMap<>();

        Engine(ModelSpec spec) {
            this.spec = spec;
            this.rnn = Rnn.builder(spec.shape()).activation(Activation.parse(spec.activation()))
                    .kernels(KernelChoice.parse(spec.kernels())).threads(spec.threads()).build();
            String name = rnn.kernels().name();
            // a fallback says why, so the driver can tell the user what to fix
            this.kernels = name.equals("vector") || !spec.kernels().equals("auto") ? name
                    : name + " (" + KernelsLookup.reason().replaceFirst("^scalar: ", "") + ")";
        }

        Workspace workspace(int batch, int steps) {
            // a few shapes at most: the partitions' shares differ by one sequence
            if (workspaces.size() > 4) workspaces.clear();
            return workspaces.computeIfAbsent(((long) batch << 32) | steps, k -> rnn.trainingWorkspace(batch, steps));
        }
    }
}
