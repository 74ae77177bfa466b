package dev.recur.bench;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
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

import java.util.concurrent.TimeUnit;

/**
 * Question: how fast can one core read a W of a given size once per pass, the bound of a B = 1
 * recurrence step, and what does alternating the direction of successive passes gain?
 *
 * <p>One pass reads {@code mib} MiB of floats as the vector row pass reads packed W: chunks of
 * 128 KiB (four panels through one K block, with AVX-512), each sequentially, the chunks first
 * to last, or on every other pass last to first. Eight FMA chains consume the loads, so the
 * loop is bound by the reads, not by its arithmetic. GB/s = mib * 1.048576 / (us per pass).
 *
 * <p>Traps avoided: the sums are returned (not dead code); the array is filled at set-up, in
 * its own fork per size; the direction flips inside the benchmark state, so the JIT sees both
 * orders from the start in the alternating variant.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class WeightSweepBench {

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Floats per chunk: 8L columns x 256 steps, one group of the row pass through one K block. */
    private static final int CHUNK = 8 * L * 256;

    @Param({"1", "2", "4"})
    public int mib;

    @Param({"ascending", "alternating"})
    public String order;

    private float[] w;
    private boolean alternate;
    private boolean down;
    private final FloatVector h = FloatVector.broadcast(S, 0.5f);

    @Setup
    public void setUp() {
        w = new float[mib << 18];
        for (int i = 0; i < w.length; i++) w[i] = i % 7;
        alternate = order.equals("alternating");
    }

    @Benchmark
    public float pass() {
        boolean d = alternate && (down = !down);
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        int chunks = w.length / CHUNK;
        for (int ci = 0; ci < chunks; ci++) {
            int c = (d ? chunks - 1 - ci : ci) * CHUNK;
            for (int i = c; i < c + CHUNK; i += 8 * L) {
                a0 = h.fma(FloatVector.fromArray(S, w, i), a0);
                a1 = h.fma(FloatVector.fromArray(S, w, i + L), a1);
                a2 = h.fma(FloatVector.fromArray(S, w, i + 2 * L), a2);
                a3 = h.fma(FloatVector.fromArray(S, w, i + 3 * L), a3);
                a4 = h.fma(FloatVector.fromArray(S, w, i + 4 * L), a4);
                a5 = h.fma(FloatVector.fromArray(S, w, i + 5 * L), a5);
                a6 = h.fma(FloatVector.fromArray(S, w, i + 6 * L), a6);
                a7 = h.fma(FloatVector.fromArray(S, w, i + 7 * L), a7);
            }
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).reduceLanes(VectorOperators.ADD);
    }
}
