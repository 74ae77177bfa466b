package dev.recur.cli;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * This core's float FMA peak as the Vector API reaches it: a register-only loop of twelve
 * independent FMA chains on the preferred species (enough to cover the FMA latency on two pipes:
 * 2 x 4 cycles needs 8), no loads or stores. What {@code recur bench} quotes GFLOP/s against.
 * Only loaded when jdk.incubator.vector is present.
 */
final class FmaPeak {
    private FmaPeak() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** GFLOP/s of one thread: the best of several timed runs after the loop is compiled. */
    static double gflops() {
        long n = 1 << 20;
        float sink = 0;
        // warm-up until C2 has compiled the loop (seconds, not one call)
        long until = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < until) sink += chains(n);
        double best = 0;
        for (int r = 0; r < 7; r++) {
            long t0 = System.nanoTime();
            sink += chains(n);
            double s = (System.nanoTime() - t0) / 1e9;
            best = Math.max(best, 2.0 * 12 * S.length() * n / s / 1e9);
        }
        if (sink == 42f) System.out.print("");   // keeps the result alive
        return best;
    }

    /**
     * How much of one thread's FMA rate {@code threads} threads reach together: the ratio of their
     * summed rate to one thread's, from alternated pairs of runs (one thread alone, then all of
     * them at once, ~50 ms each). On a machine whose cores are whole, it is the thread count; on
     * virtual CPUs that share a physical core, or a host that other guests load, it is less, and
     * it moves from second to second. It bounds the N threads / 1 thread speed-up of
     * compute-bound work measured at the same time, so callers interleave the pairs with what
     * they time.
     */
    static final class Together implements AutoCloseable {
        private static final long N = 1 << 21;
        private final int threads;
        private final ExecutorService pool;
        private final List<Double> ratios = new ArrayList<>();
        private float sink;

        /** Starts the threads and compiles the loop (about a second). */
        Together(int threads) {
            this.threads = threads;
            this.pool = Executors.newFixedThreadPool(threads, r -> {
                Thread t = new Thread(r, "recur-peak");
                t.setDaemon(true);
                return t;
            });
            long until = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < until) sink += chains(N / 8);
        }

        /** One alternated pair: returns (and keeps) threads x one thread's time / the threads' time together. */
        double pair() {
            long t0 = System.nanoTime();
            sink += chains(N);
            double one = System.nanoTime() - t0;
            List<Future<Float>> fs = new ArrayList<>();
            t0 = System.nanoTime();
            for (int i = 0; i < threads; i++) fs.add(pool.submit(() -> chains(N)));
            try {
                for (Future<Float> f : fs) sink += f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while measuring the FMA peak", e);
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
            double r = threads * one / (System.nanoTime() - t0);
            ratios.add(r);
            return r;
        }

        int threads() { return threads; }
        int pairs() { return ratios.size(); }
        double median() { return sorted()[ratios.size() / 2]; }
        double min() { return sorted()[0]; }
        double max() { return sorted()[ratios.size() - 1]; }

        private double[] sorted() {
            if (ratios.isEmpty()) throw new IllegalStateException("no pairs measured");
            double[] a = ratios.stream().mapToDouble(Double::doubleValue).toArray();
            Arrays.sort(a);
            return a;
        }

        @Override
        public void close() {
            pool.shutdownNow();
            if (sink == 42f) System.out.print("");   // keeps the results alive
        }
    }

    /** Bits of the vectors the loop runs on. */
    static int bits() { return S.vectorBitSize(); }

    private static float chains(long n) {
        FloatVector b = FloatVector.broadcast(S, 0.9999f), c = FloatVector.broadcast(S, 1e-4f);
        FloatVector a0 = FloatVector.broadcast(S, 0.1f), a1 = FloatVector.broadcast(S, 0.2f), a2 = FloatVector.broadcast(S, 0.3f);
        FloatVector a3 = FloatVector.broadcast(S, 0.4f), a4 = FloatVector.broadcast(S, 0.5f), a5 = FloatVector.broadcast(S, 0.6f);
        FloatVector a6 = FloatVector.broadcast(S, 0.7f), a7 = FloatVector.broadcast(S, 0.8f), a8 = FloatVector.broadcast(S, 0.9f);
        FloatVector a9 = FloatVector.broadcast(S, 1.0f), a10 = FloatVector.broadcast(S, 1.1f), a11 = FloatVector.broadcast(S, 1.2f);
        for (long i = 0; i < n; i++) {
            a0 = a0.fma(b, c); a1 = a1.fma(b, c); a2 = a2.fma(b, c); a3 = a3.fma(b, c);
            a4 = a4.fma(b, c); a5 = a5.fma(b, c); a6 = a6.fma(b, c); a7 = a7.fma(b, c);
            a8 = a8.fma(b, c); a9 = a9.fma(b, c); a10 = a10.fma(b, c); a11 = a11.fma(b, c);
        }
        FloatVector s = a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11);
        return s.reduceLanes(VectorOperators.ADD);
    }
}
