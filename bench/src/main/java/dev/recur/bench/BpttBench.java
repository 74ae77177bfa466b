package dev.recur.bench;

import dev.recur.Activation;
import dev.recur.Batch;
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
 * Question: how many steps per second does recur run forward + summed cross-entropy + full BPTT
 * on the peers' configurations, scalar vs vector, 1 vs 2 threads?
 *
 * <p>One op = one sequence: forward with the loss, then backward into zeroed gradients (the
 * peers time the same: nn.RNN + Linear + cross_entropy(sum) + backward). steps/s =
 * B*T / (s/op); GFLOP/s by the peers' convention B*T*(6H^2 + 6HI + 6HO), which counts dL/dx that
 * a loss-headed run does not compute. Scalar runs use a shorter T (PeerConfigs.stepsFor), so
 * compare steps/s, not s/op.
 *
 * <p>Traps avoided: the loss is returned (no dead code); inputs live in the state; each
 * parameter combination runs in its own fork (no profile pollution between kernel paths); the
 * engine and workspace are made once in setup, so steady state allocates nothing (check with
 * {@code -prof gc}: ~0 B/op).
 *
 * <p>Run: {@code java -jar bench/target/benchmarks.jar BpttBench -p config=1 -p threads=1}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class BpttBench {

    /** A classic case id of bench/peers/cases.json ("0".."8", PeerConfigs). */
    @Param({"0", "1", "2", "3", "4", "5", "6", "7", "8"})
    public int config;

    @Param({"scalar", "vector"})
    public String kernels;

    @Param({"1", "2"})
    public int threads;

    private Rnn rnn;
    private Params params;
    private Workspace ws;
    private Grads grads;
    private Batch batch;
    private int steps;

    @Setup
    public void setup() {
        PeerConfigs c = PeerConfigs.ALL[config];
        Shape shape = new Shape(PeerConfigs.INPUT, c.hidden(), PeerConfigs.OUTPUT);
        steps = c.stepsFor(kernels);
        rnn = Rnn.builder(shape)
                .activation(Activation.parse(c.activation()))
                .kernels(KernelChoice.parse(kernels))
                .threads(threads)
                .build();
        params = Params.random(shape, 7);
        ws = rnn.trainingWorkspace(c.batch(), steps);
        grads = Grads.zeros(shape);
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[steps * c.batch() * PeerConfigs.INPUT];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        int[] y = new int[steps * c.batch()];
        for (int i = 0; i < y.length; i++) y[i] = rnd.nextInt(PeerConfigs.OUTPUT);
        batch = new Batch(c.batch(), steps).input(x).targets(y).loss(Loss.CROSS_ENTROPY);
    }

    @TearDown(Level.Trial)
    public void tearDown() { rnn.close(); }

    /** Steps of one op (B*T), for the report's steps/s. */
    public static int stepsPerOp(int config, String kernels) {
        PeerConfigs c = PeerConfigs.ALL[config];
        return c.batch() * c.stepsFor(kernels);
    }

    @Benchmark
    public double sequence() {
        grads.zero();
        double loss = rnn.forward(params, ws, batch);
        rnn.backward(params, ws, grads);
        return loss;
    }
}
