package dev.recur.bench;

import dev.recur.Activation;
import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.Kernels;
import dev.recur.kernel.KernelsLookup;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Question: how much faster is each vector kernel than its scalar twin, size by size?
 *
 * <p>Traps avoided: the kernels accumulate into arrays held in this {@code @State}, so the work
 * cannot be dead-code eliminated and the inputs cannot be constant-folded; no hand loop around
 * the measured call; the two paths are a {@code @Param} and every parameter combination runs in
 * its own fork, so the JIT profile of one implementation never pollutes the other's. The sizes
 * include odd ones (257) that exercise the masked/scalar tails.
 *
 * <p>GFLOP/s = {@link #flops(String, int)} / time; {@code Report} turns JMH's JSON into a table.
 *
 * <p>Run: {@code java -jar bench/target/benchmarks.jar KernelBench -p size=256}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KernelBench {

    /** Steps per block in the driver's hoisted products (the k of the time-sum GEMMs). */
    public static final int TAU = 64;

    @Param({"scalar", "vector"})
    public String kernels;

    @Param({"64", "128", "256", "512", "1024", "257"})
    public int size;

    private Kernels k;
    private float[] w, x, y, a, b, c, h, h2, logits, dy, wPacked;
    private int[] targets;

    @Setup
    public void setup() {
        k = KernelsLookup.resolve(KernelChoice.parse(kernels));
        SplittableRandom rnd = new SplittableRandom(42);
        w = fill(size * size, rnd, 1.0 / Math.sqrt(size));
        x = fill(size, rnd, 1);
        y = fill(size, rnd, 1);
        a = fill(TAU * size, rnd, 1);
        b = fill(TAU * size, rnd, 1);
        c = fill(Math.max(size * size, TAU * size), rnd, 1);
        h = fill(size, rnd, 0.9);
        logits = fill(TAU * size, rnd, 3);
        dy = new float[TAU * size];
        targets = new int[TAU];
        for (int i = 0; i < TAU; i++) targets[i] = rnd.nextInt(size);
        h2 = fill(TAU * size, rnd, 0.9);
        // one buffer serves both packed forms here: they have the same length, and the timing
        // does not depend on which of W or W^T the panels hold
        wPacked = new float[k.packedWeightsLength(size, size)];
        k.packTransposedWeights(size, size, w, 0, wPacked);
    }

    private static float[] fill(int n, SplittableRandom rnd, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) ((2 * rnd.nextDouble() - 1) * scale);
        return v;
    }

    /** Flops of one call of {@code kernel} at this size (the GFLOP/s column of the report). */
    public static double flops(String kernel, int size) {
        double n = size;
        return switch (kernel) {
            case "gemv", "gemvT", "recurrentForward", "recurrentForwardDot", "recurrentBackward", "recurrentBackwardInPlace" -> 2 * n * n;
            case "recurrentForwardBatch", "recurrentForwardBatchDot", "recurrentBackwardBatch" -> 2 * n * n * TAU;
            case "gemmTN", "gemmNT", "gemmNN" -> 2 * n * n * TAU;
            case "softmaxCrossEntropy" -> 4 * n * TAU;
            default -> Double.NaN;
        };
    }

    /** y += W x: the forward recurrence at B = 1. */
    @Benchmark
    public float[] gemv() {
        k.gemv(size, size, w, 0, size, x, 0, y, 0);
        return y;
    }

    /** y += W^T x: the backward recurrence at B = 1 (axpy form). */
    @Benchmark
    public float[] gemvT() {
        k.gemvT(size, size, w, 0, size, x, 0, y, 0);
        return y;
    }

    /** dW += Delta^T H over a block of TAU steps: the time sums. */
    @Benchmark
    public float[] gemmTN() {
        k.gemmTN(size, size, TAU, a, 0, size, b, 0, size, c, 0, size);
        return c;
    }

    /** Pre += X U^T over a block of TAU rows: the input and output projections. */
    @Benchmark
    public float[] gemmNT() {
        k.gemmNT(TAU, size, size, a, 0, size, w, 0, size, c, 0, size);
        return c;
    }

    /** G += dY V over a block of TAU rows: V^T dy and dL/dx. */
    @Benchmark
    public float[] gemmNN() {
        k.gemmNN(TAU, size, size, a, 0, size, w, 0, size, c, 0, size);
        return c;
    }

    /**
     * h_t = tanh(pre + W h_{t-1}), B = 1: the fused forward step as the engine runs it, over W^T
     * packed once (the vector kernels' one-row outer-product form; the scalar kernels ignore it).
     */
    @Benchmark
    public float[] recurrentForward() {
        k.recurrentForward(Activation.TANH, 1, size, size, w, 0, wPacked, h, 0, x, 0, y, 0, false);
        return y;
    }

    /** The same step in the dot-product form (W read in place): the GEMV of a row-split step, and the engine's B < 4 form before 2026-11-30. */
    @Benchmark
    public float[] recurrentForwardDot() {
        k.recurrentForward(Activation.TANH, 1, size, size, w, 0, null, h, 0, x, 0, y, 0, false);
        return y;
    }

    /** delta_t = tanh'(h) * (g + W^T delta_{t+1}), B = 1: the fused backward step over W packed once, as the engine runs it. */
    @Benchmark
    public float[] recurrentBackward() {
        k.recurrentBackward(Activation.TANH, 1, size, size, w, 0, wPacked, x, 0, h, 0, h, 0, y, 0, false);
        return y;
    }

    /** The same step reading W in place (the axpy form): the same bits as {@link #recurrentBackward}. */
    @Benchmark
    public float[] recurrentBackwardInPlace() {
        k.recurrentBackward(Activation.TANH, 1, size, size, w, 0, null, x, 0, h, 0, h, 0, y, 0, false);
        return y;
    }

    /** Loss and dy for TAU rows of {@code size} logits. */
    @Benchmark
    public double softmaxCrossEntropy() {
        return k.softmaxCrossEntropy(TAU, size, logits, 0, targets, 0, dy, 0);
    }

    /**
     * The forward step for a batch of {@link #TAU} rows as the engine runs it: with W^T packed
     * once (the vector kernels' outer-product form; the scalar kernels ignore it).
     */
    @Benchmark
    public float[] recurrentForwardBatch() {
        k.recurrentForward(Activation.TANH, TAU, size, size, w, 0, wPacked, a, 0, b, 0, c, 0, false);
        return c;
    }

    /** The same step in the dot-product form (W read in place), for comparison. */
    @Benchmark
    public float[] recurrentForwardBatchDot() {
        k.recurrentForward(Activation.TANH, TAU, size, size, w, 0, null, a, 0, b, 0, c, 0, false);
        return c;
    }

    /** The backward step for {@link #TAU} rows with W packed once, as the engine runs it. */
    @Benchmark
    public float[] recurrentBackwardBatch() {
        k.recurrentBackward(Activation.TANH, TAU, size, size, w, 0, wPacked, a, 0, b, 0, h2, 0, c, 0, false);
        return c;
    }
}
