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

    /** Sizes as the core's shape (the layout of the flat arrays). */
    static Shape shape(ModelSpec spec) { return new Shape(spec.input(), spec.hidden(), spec.output()); }

    /** Parameters in the flat layout U | W | b | V | c. */
    static int parameterCount(ModelSpec spec) { return shape(spec).size(); }

    /** The seeded initial parameters of {@code recur train} (the same seed gives the same values). */
    static float[] initialParameters(ModelSpec spec, long seed) { return Params.random(shape(spec), seed).data(); }

    /** The flat array as the core's parameters (not copied). */
    static Params params(ModelSpec spec, float[] flat) { return Params.wrap(shape(spec), flat); }

    /** The flat array as the core's gradients (not copied). */
    static Grads grads(ModelSpec spec, float[] flat) { return Grads.wrap(shape(spec), flat); }

    /** dU, dW, db, dV, dc of a flat gradient, float32 in the parameters' shapes ({@code recur grad}'s output names). */
    static Map<String, NpyArray> gradientArrays(ModelSpec spec, float[] grad) {
        Map<String, NpyArray> out = new LinkedHashMap<>();
        for (Shape.Block b : shape(spec).blocks()) {
            out.put("d" + b.name(), NpyArray.of(Arrays.copyOfRange(grad, b.offset(), b.offset() + b.length()), b.dims()));
        }
        return out;
    }

    /**
     * Loss, scored steps and the gradient of {@code w} at {@code params}, by exact BPTT over every
     * window from its h0; with {@code keepDh0} also dL/dh0 of each sequence.
     */
    static Partial compute(int index, ModelSpec spec, float[] params, Windows w, boolean keepDh0) {
        long t0 = System.nanoTime();
        Engine e = engine(spec);
        Workspace ws = e.workspace(w.batch(), w.steps());
        Params p = params(spec, params);
        Grads g = Grads.zeros(e.rnn.shape());
        float[] dh0 = keepDh0 ? new float[w.batch() * spec.hidden()] : null;
        Batch b = new Batch(w.batch(), w.steps()).initialState(w.h0());
        if (w.classInputs() != null) b.input(w.classInputs());
        else b.input(w.denseInputs());
        if (w.classTargets() != null) b.targets(w.classTargets()).loss(Loss.CROSS_ENTROPY);
        else b.targets(w.denseTargets()).loss(Loss.SQUARED_ERROR);
        double loss = e.rnn.forward(p, ws, b);
        e.rnn.backward(p, ws, g, keepDh0 ? new Backprop().initialStateGradient(dh0, 0) : null);
        return Partial.of(index, loss, w.tokens(), g.data(), dh0, e.kernels, System.nanoTime() - t0);
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
            this.rnn = Rnn.builder(shape(spec)).activation(Activation.parse(spec.activation()))
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
