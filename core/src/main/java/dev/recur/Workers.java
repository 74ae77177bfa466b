package dev.recur;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of persistent threads that run one {@link Job} together, SPMD style: the calling
 * thread is worker 0, the pool's threads are workers 1..n-1, and each runs the same driver code
 * on its own slice of the work, meeting at {@link #barrier()} between phases.
 *
 * <p>Nothing is allocated per call: a job is a long-lived object (one per workspace) and the
 * hand-over is a volatile epoch counter. Waiting spins briefly (a step of the recurrence lasts
 * microseconds; parking would cost more than the step) and then yields or parks, so that an idle
 * engine does not burn a core.
 */
final class Workers implements AutoCloseable {

    /** Work for one call: {@code run(w)} is executed by every worker w in [0, size). */
    interface Job {
        void run(int worker);
    }

    /** Spins before a waiting thread starts yielding (barrier) or parking (idle worker). */
    private static final int SPINS = 1 << 14;

    private final int size;
    private final Thread[] threads;
    /** 1 while worker w is (about to be) parked; read by the caller to decide whether to unpark. */
    private final AtomicIntegerArray parked;
    /** Serialises calls: one job at a time on one team. */
    private final Object callLock = new Object();
    private volatile long epoch;
    private volatile Job job;
    private volatile boolean closed;
    private final AtomicInteger finished = new AtomicInteger();
    private volatile Throwable failure;

    /**
     * The barrier: worker w's count of barriers passed in this job, at index w * PAD (a cache
     * line and its neighbour of its own). Arriving writes one's own count (a release store, no
     * read-modify-write); waiting reads the others' counts (acquire loads) until they have
     * arrived too. A shared counter (sense-reversing barrier with an atomic increment) moved its
     * line between the cores three times a barrier: 650 ns per barrier on two cores of the
     * development host, about a step of the recurrence at H = 256 (see BENCHMARKS.md).
     */
    private final AtomicLongArray passed;
    private static final int PAD = 16;

    Workers(int size) {
        this.size = size;
        this.threads = new Thread[size];
        this.parked = new AtomicIntegerArray(size);
        this.passed = new AtomicLongArray(size * PAD);
        for (int w = 1; w < size; w++) {
            final int id = w;
            Thread t = new Thread(() -> loop(id), "recur-worker-" + w);
            t.setDaemon(true);
            threads[w] = t;
            t.start();
        }
    }

    int size() { return size; }

    /** Runs {@code j} on all workers and returns when all are done; rethrows a worker's failure. */
    void run(Job j) {
        synchronized (callLock) {
            runLocked(j);
        }
    }

    /**
     * Runs {@code j} as worker 0 only, on the calling thread, serialised with {@link #run} calls;
     * the job must not call {@link #barrier} (the other workers stay idle, parked or spinning
     * down).
     */
    void runAlone(Job j) {
        synchronized (callLock) {
            if (closed) throw new IllegalStateException("this engine is closed");
            j.run(0);
        }
    }

    private void runLocked(Job j) {
        if (closed) throw new IllegalStateException("this engine is closed");
        if (size == 1) {
            j.run(0);
            return;
        }
        failure = null;
        finished.set(0);
        // all workers are idle here: restart the barrier counts (a failed job may have left them
        // apart); the volatile epoch write below publishes the reset to the workers
        for (int w = 0; w < size; w++) passed.setPlain(w * PAD, 0);
        job = j;
        epoch = epoch + 1;
        for (int w = 1; w < size; w++) {
            if (parked.get(w) == 1) LockSupport.unpark(threads[w]);
        }
        Throwable mine = null;
        try {
            j.run(0);
        } catch (Throwable e) {
            mine = e instanceof Abandoned ? null : e;
            if (failure == null) failure = e;
        }
        int spins = 0;
        while (finished.get() < size - 1) {
            if (++spins < SPINS) Thread.onSpinWait();
            else Thread.yield();
        }
        job = null;
        Throwable f = mine != null ? mine : failure instanceof Abandoned ? null : failure;
        if (f instanceof RuntimeException re) throw re;
        if (f instanceof Error er) throw er;
        if (f != null) throw new IllegalStateException(f);
    }

    /**
     * Waits until every worker of the current job has arrived. If some worker has failed, the
     * waiting ones abandon the job (so none hangs) and run reports the first failure.
     */
    void barrier(int worker) {
        if (size == 1) return;
        // release: everything this worker wrote (or read) before the barrier happens-before what
        // the others do after they see the count
        long mine = passed.getPlain(worker * PAD) + 1;
        passed.setRelease(worker * PAD, mine);
        for (int v = 0; v < size; v++) {
            if (v == worker) continue;
            int spins = 0;
            while (passed.getAcquire(v * PAD) < mine) {
                if (failure != null) throw new Abandoned();
                if (++spins < SPINS) Thread.onSpinWait();
                else Thread.yield();
            }
        }
    }

    /** Thrown out of a barrier when another worker failed: unwinds this worker's part of the job. */
    private static final class Abandoned extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Abandoned() { super("abandoned: another worker failed", null, false, false); }
    }

    private void loop(int w) {
        long seen = 0;
        while (true) {
            int spins = 0;
            while (epoch == seen && !closed) {
                if (++spins < SPINS) {
                    Thread.onSpinWait();
                } else {
                    parked.set(w, 1);
                    if (epoch == seen && !closed) LockSupport.parkNanos(this, 1_000_000L);
                    parked.set(w, 0);
                }
            }
            if (closed) return;
            seen = epoch;
            Job j = job;
            try {
                j.run(w);
            } catch (Throwable e) {
                if (failure == null) failure = e;
            }
            finished.incrementAndGet();
        }
    }

    @Override
    public void close() {
        closed = true;
        for (int w = 1; w < size; w++) LockSupport.unpark(threads[w]);
    }
}
