package dev.recur.bench;

import dev.recur.Batch;
import dev.recur.Cell;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Shape;
import dev.recur.Workspace;
import dev.recur.kernel.KernelChoice;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Question: what does padding cost? The same batch (B = 64, H = 512, T = 200, I = O = 64, tanh,
 * forward + summed cross-entropy + full BPTT) with every sequence T long ("full") and with
 * lengths drawn uniformly over [T/2, T] ("spread", seeded; their sum is the valid steps). With
 * packed sequences the work shrinks with the lengths, so spread / full should take about
 * (sum of lengths) / (B*T) of the time; the goal is at most 1.1 times that.
 *
 * <p>Both variants alternate in one JMH run (compare their ratio, never one absolute time); one
 * fork each, as the kernels' profiles must not mix with other benchmarks'. The layers parameter
 * runs the same question through a 2-layer bidirectional network.
 *
 * <p>Run: {@code java -jar bench/target/benchmarks.jar PackedBench -p threads=1}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class PackedBench {

    static final int B = 64, H = 512, T = 200;

    @Param({"full", "spread"})
    public String lengths;

    @Param({"1"})
    public int layers;

    @Param({"false"})
    public boolean bidirectional;

    @Param({"1"})
    public int threads;

    private Rnn rnn;
    private Params params;
    private Workspace ws;
    private Grads grads;
    private Batch batch;

    /** The spread lengths: uniform over [T/2, T], seeded. */
    public static int[] spread() {
        SplittableRandom rnd = new SplittableRandom(2026);
        int[] l = new int[B];
        for (int b = 0; b < B; b++) l[b] = T / 2 + rnd.nextInt(T - T / 2 + 1);
        return l;
    }

    /** (sum of the spread lengths) / (B*T): the share of the full work a packed run should take. */
    public static double validShare() {
        long s = 0;
        for (int l : spread()) s += l;
        return (double) s / ((double) B * T);
    }

    @Setup
    public void setup() {
        Shape shape = layers == 1 && !bidirectional ? new Shape(BenchCase.INPUT, H, BenchCase.OUTPUT)
                : Shape.network(BenchCase.INPUT, H, BenchCase.OUTPUT, layers, bidirectional, Cell.ELMAN);
        rnn = Rnn.builder(shape).kernels(KernelChoice.VECTOR).threads(threads).build();
        params = Params.random(shape, 7);
        ws = rnn.trainingWorkspace(B, T);
        grads = Grads.zeros(shape);
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[T * B * BenchCase.INPUT];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        int[] y = new int[T * B];
        for (int i = 0; i < y.length; i++) y[i] = rnd.nextInt(BenchCase.OUTPUT);
        batch = new Batch(B, T).input(x).targets(y).lengths(lengths.equals("spread") ? spread() : null).loss(Loss.CROSS_ENTROPY);
    }

    @TearDown(Level.Trial)
    public void tearDown() { rnn.close(); }

    @Benchmark
    public double batch() {
        grads.zero();
        double loss = rnn.forward(params, ws, batch);
        rnn.backward(params, ws, grads);
        return loss;
    }

    /** Prints the share the packed run should take, for reading the JMH table. */
    public static void main(String[] args) {
        System.out.printf("valid steps / (B*T) = %.4f; goal: spread/full <= %.4f%n", validShare(), 1.1 * validShare());
    }
}
