package dev.recur.bench;

import dev.recur.Batch;
import dev.recur.InferenceStream;
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
import org.openjdk.jmh.annotations.OperationsPerInvocation;
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
 * Question: what does serving one step at a time cost beside the same steps inside one long
 * call? Per-step time (I = O = 64, H = 256, tanh, vector kernels, 1 thread) of
 * {@link InferenceStream#step} ("stream"), of {@link Rnn#predict} over {@value #T} steps divided
 * by T ("incall"), and of predict called with one step at a time carrying h ("predict1", what a
 * backend did before the stream: the weights are prepared again on every call). The goal:
 * stream within 1.3x of incall at B = 1 and B = 4. Compare ratios within one run.
 *
 * <p>Run: {@code java -jar bench/target/benchmarks.jar StreamBench}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class StreamBench {

    static final int I = 64, H = 256, O = 64, T = 256;

    @Param({"1", "4"})
    public int batch;

    @Param({"rnn"})
    public String cell;

    private Rnn rnn;
    private Params params;
    private InferenceStream stream;
    private Workspace whole, one;
    private Batch all, step;
    private float[] x, out, h;

    @Setup(Level.Trial)
    public void setUp() {
        dev.recur.Cell c = dev.recur.Cell.parse(cell);
        Shape shape = c == dev.recur.Cell.ELMAN ? new Shape(I, H, O) : Shape.network(I, H, O, 1, false, c);
        rnn = Rnn.builder(shape).kernels(KernelChoice.VECTOR).threads(1).build();
        params = Params.random(shape, 1);
        SplittableRandom r = new SplittableRandom(2);
        x = new float[T * batch * I];
        for (int k = 0; k < x.length; k++) x[k] = (float) (2 * r.nextDouble() - 1);
        out = new float[T * batch * O];
        h = new float[batch * H];
        stream = rnn.stream(params, batch);
        whole = rnn.inferenceWorkspace(batch);
        one = rnn.inferenceWorkspace(batch);
        all = new Batch(batch, T).input(x);
        step = new Batch(batch, 1).initialState(h);
    }

    @TearDown(Level.Trial)
    public void tearDown() { rnn.close(); }

    /** T steps of the stream (reported per step). */
    @Benchmark
    @OperationsPerInvocation(T)
    public float stream() {
        stream.reset();
        for (int t = 0; t < T; t++) stream.step(x, t * batch * I, out, t * batch * O);
        return out[0];
    }

    /** One predict call over T steps (reported per step). */
    @Benchmark
    @OperationsPerInvocation(T)
    public float incall() {
        rnn.predict(params, whole, all, out, 0);
        return out[0];
    }

    /** T predict calls of one step each, carrying h through finalState (reported per step). */
    @Benchmark
    @OperationsPerInvocation(T)
    public float predict1() {
        java.util.Arrays.fill(h, 0f);
        for (int t = 0; t < T; t++) {
            rnn.predict(params, one, step.input(x, t * batch * I), out, t * batch * O);
            one.finalState(h, 0);
        }
        return out[0];
    }
}
