package dev.recur.bench.dl4j;

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

import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * Question: how many steps per second does Deeplearning4j run forward + summed softmax
 * cross-entropy + full BPTT on the cases of bench/peers/cases.json, at 1 and 2 threads?
 *
 * <p>One op = one iteration of a case ({@link Dl4jNet#iteration()}); steps/s =
 * steps_per_iteration / (s/op), which the report computes from the JMH result. Each case and
 * thread count runs in its own fork, because ND4J's thread settings are per process and must be
 * made before its first operation. The loss is returned (no dead code); the network and data are
 * made once in setup.
 *
 * <p>Threads are verified, not assumed: each measurement iteration's process CPU time per wall
 * second is printed at the end of the fork with what ND4J reports ("dl4j threads: ..."), about 1
 * at one thread and about 2 when two threads really work.
 *
 * <p>Run: {@code java -jar bench-dl4j/target/benchmarks-dl4j.jar Dl4jBench -p caseId=5 -p threads=1,2}
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {
        // JDK 25: JavaCPP (ND4J's native bridge) and JMH use sun.misc.Unsafe and load native code
        "--sun-misc-unsafe-memory-access=allow", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class Dl4jBench {

    /** A case id of cases.json ("case" is a Java keyword): all but GRU, which DL4J's nn API lacks. */
    @Param({"0", "1", "2", "3", "4", "5", "6", "7", "8", "bi1", "bi64", "lstm1", "lstm3", "lstm5", "lstm6"})
    public String caseId;

    @Param({"1", "2"})
    public int threads;

    private Dl4jNet net;
    private long cpu0, wall0;
    private final StringBuilder cpuPerWall = new StringBuilder();

    @Setup(Level.Trial)
    public void setup() {
        Dl4jNet.useThreads(threads);
        net = new Dl4jNet(Dl4jCase.byId(caseId), Dl4jCase.INPUT, Dl4jCase.OUTPUT, 1234);
        double loss = net.iteration();
        if (!Double.isFinite(loss)) throw new IllegalStateException("case " + caseId + ": loss " + loss + " is not finite");
    }

    @Setup(Level.Iteration)
    public void startIteration() {
        cpu0 = processCpuNanos();
        wall0 = System.nanoTime();
    }

    @TearDown(Level.Iteration)
    public void endIteration() {
        double ratio = (processCpuNanos() - cpu0) / (double) (System.nanoTime() - wall0);
        cpuPerWall.append(cpuPerWall.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.2f", ratio));
    }

    @TearDown(Level.Trial)
    public void report() {
        System.out.println("dl4j threads: case " + caseId + ", requested " + threads + "; " + Dl4jNet.threadReport()
                + "; process CPU s per wall s, each iteration (warm-up first): " + cpuPerWall);
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    @Benchmark
    public double iteration() {
        return net.iteration();
    }
}
