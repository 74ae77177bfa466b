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
 * <p>Cases: {@code bench/peers/cases.json} (CASES.md): the nine classic configurations "0".."8" and
 * the 2-layer bidirectional networks "bi1" (B = 1) and "bi64" (B = 64, packed lengths), and the
 * LSTM and GRU cases "lstm1", "lstm3", "lstm5", "lstm6", "gru1", ... (configurations 1, 3, 5, 6).
 *
 * <p>Run: {@code java -jar bench/target/benchmarks.jar BpttBench -p caseId=1 -p threads=1}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class BpttBench {

    /** A classic case id of bench/peers/cases.json ("0".."8", PeerConfigs). */
    @Param({"0", "1", "2", "3", "4", "5", "6", "7", "8", "bi1", "bi64", "lstm1", "lstm3", "lstm5", "lstm6", "gru1", "gru3", "gru5", "gru6"})
    public String caseId;

    @Param({"scalar", "vector"})
    public String kernels;

    @Param({"1", "2"})
    public int threads;

    private Rnn rnn;
    private Params params;
    private Workspace ws;
    private Grads grads;
    private Batch batch;

    @Setup
    public void setup() {
        BenchCase c = BenchCase.byId(caseId);
        Shape shape = shape(c);
        int steps = steps(c, kernels);
        int[] lengths = lengths(c, steps);
        rnn = Rnn.builder(shape)
                .activation(c.activation() == null ? Activation.TANH : Activation.parse(c.activation()))
                .kernels(KernelChoice.parse(kernels))
                .threads(threads)
                .build();
        params = Params.random(shape, 7);
        ws = rnn.trainingWorkspace(c.batch(), steps);
        grads = Grads.zeros(shape);
        SplittableRandom rnd = new SplittableRandom(11);
        float[] x = new float[steps * c.batch() * BenchCase.INPUT];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        int[] y = new int[steps * c.batch()];
        for (int i = 0; i < y.length; i++) y[i] = rnd.nextInt(BenchCase.OUTPUT);
        batch = new Batch(c.batch(), steps).input(x).targets(y).lengths(lengths).loss(Loss.CROSS_ENTROPY);
    }

    /** recur's network for a case: its own single-layer model for the classic Elman cases, else PyTorch's. */
    static Shape shape(BenchCase c) {
        dev.recur.Cell cell = c.gates() == 1 ? dev.recur.Cell.ELMAN : dev.recur.Cell.parse(c.cell());
        if (c.layers() == 1 && !c.bidirectional() && cell == dev.recur.Cell.ELMAN) return new Shape(BenchCase.INPUT, c.hidden(), BenchCase.OUTPUT);
        return Shape.network(BenchCase.INPUT, c.hidden(), BenchCase.OUTPUT, c.layers(), c.bidirectional(), cell);
    }

    /**
     * Steps per measured op for a kernel path: the case's T for vector; for scalar a shorter T
     * (about 1 GFLOP per op, at least 16 steps) so that a scalar run of the big cases takes about
     * a second, not minutes. steps/s stays comparable: the work per step does not depend on T.
     */
    static int steps(BenchCase c, String kernels) {
        if (c.id().matches("[0-8]")) return PeerConfigs.ALL[Integer.parseInt(c.id())].stepsFor(kernels);
        if (!kernels.equals("scalar")) return c.steps();
        double perStep = (double) c.batch() * c.flopsPerStep();
        return (int) Math.max(16, Math.min(c.steps(), Math.floor(1e9 / perStep)));
    }

    /** The case's lengths, scaled to a shortened T (each at least 1); null for equal lengths. */
    static int[] lengths(BenchCase c, int steps) {
        if (c.lengths() == null) return null;
        int[] l = new int[c.batch()];
        for (int b = 0; b < l.length; b++) l[b] = (int) Math.max(1, Math.round((double) c.lengths().get(b) * steps / c.steps()));
        return l;
    }

    @TearDown(Level.Trial)
    public void tearDown() { rnn.close(); }

    /** Valid steps of one op (the sum of the lengths, or B*T), for the report's steps/s. */
    public static long stepsPerOp(String caseId, String kernels) {
        BenchCase c = BenchCase.byId(caseId);
        int steps = steps(c, kernels);
        int[] l = lengths(c, steps);
        if (l == null) return (long) c.batch() * steps;
        long s = 0;
        for (int v : l) s += v;
        return s;
    }

    @Benchmark
    public double sequence() {
        grads.zero();
        double loss = rnn.forward(params, ws, batch);
        rnn.backward(params, ws, grads);
        return loss;
    }
}
