package dev.recur.spark;

import org.apache.spark.SparkContext$;
import org.apache.spark.SparkEnv;
import org.apache.spark.TaskContext;
import org.apache.spark.storage.BlockData;
import org.apache.spark.storage.BlockManager;
import org.apache.spark.storage.BlockResult;
import org.apache.spark.storage.BroadcastBlockId;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.io.ChunkedByteBuffer;
import scala.Option;
import scala.reflect.ClassTag$;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * One iteration's parameters as a block in Spark's block manager: the driver publishes them when
 * its optimiser step is done; the iteration's tasks, which Spark launched while the previous
 * iteration was still computing, wait for the block and read it (see {@link SparkTrainer}'s
 * pipelined loop). This is how a task can start before the values it needs exist, which neither
 * a task's own fields nor a Spark broadcast allow (both are fixed when the job is submitted).
 *
 * <p>The values travel as raw little-endian floats, the way a broadcast's pieces travel: put in
 * the driver's block manager, read there directly where it is the executors' too (local mode),
 * else reported to the block manager master and fetched from the locations it gives. The block
 * manager is an API Spark keeps to its own packages ({@code private[spark]} in Scala, public in
 * the bytecode); BigDL's {@code AllReduceParameter} moves its parameters through it the same way.
 * The module's tests run this path on every build, so a Spark upgrade that changes it fails there.
 */
final class ParameterBlocks {
    private ParameterBlocks() {}

    /**
     * Ids of recur's blocks: broadcast ids from 2^62 up (Spark numbers its own broadcasts from 0 in
     * each context), 2^40 iterations per run, each run of this JVM its own range.
     */
    private static final long BASE = 1L << 62;
    private static final AtomicLong RUNS = new AtomicLong();
    private static final String FIELD = "recurparams";

    /**
     * Tests: publish to the master and fetch through it in local mode too, so that the path of
     * executors in other JVMs runs in the module's tests (the fetch goes to the driver's own block
     * manager over the loopback).
     */
    static volatile boolean remoteOnly;

    /** A fresh range of ids for one training run. */
    static long newRun() { return RUNS.incrementAndGet(); }

    /** The block of iteration {@code iteration} of run {@code run}. */
    static BroadcastBlockId id(long run, long iteration) {
        return new BroadcastBlockId(BASE + (run << 40) + iteration, FIELD);
    }

    private static BlockManager blockManager() {
        SparkEnv env = SparkEnv.get();
        if (env == null) throw new IllegalStateException("no Spark environment in this JVM (is the context stopped?)");
        return env.blockManager();
    }

    /**
     * On the driver: stores {@code params} under {@code id}, in {@code bytes} (the caller's buffer
     * of 4 bytes a parameter, which it reuses once the block that held it is withdrawn), and wakes
     * the tasks of this JVM that wait for it. With {@code executorsElsewhere} it also tells the
     * block manager master where the block is: a synchronous message, skipped where every task
     * runs in the driver's JVM (local mode; there it cost about 1 ms of the driver's part of an
     * iteration on the 2-core machine of docs/spark.md).
     */
    static void publish(BroadcastBlockId id, float[] params, ByteBuffer bytes, boolean executorsElsewhere) {
        if (bytes.capacity() != params.length * Float.BYTES) {
            throw new IllegalArgumentException("a buffer of " + bytes.capacity() + " bytes for " + params.length + " floats");
        }
        bytes.clear();
        bytes.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(params);
        boolean stored = blockManager().putBytes(id, new ChunkedByteBuffer(bytes), StorageLevel.MEMORY_AND_DISK_SER(),
                executorsElsewhere || remoteOnly, ClassTag$.MODULE$.Any());
        if (!stored) {
            throw new IllegalStateException("Spark's block manager did not store the parameters (" + bytes.capacity()
                    + " bytes) as block " + id.name() + ": driver memory and disk full?");
        }
        synchronized (PUBLISHED) {
            PUBLISHED.notifyAll();
        }
    }

    /**
     * The driver's side of one training run: a fresh range of block ids, the iterations whose
     * parameters are out, and two buffers used by the iteration's parity (a block is withdrawn
     * before the one two iterations later is published).
     */
    static final class Outbox {
        final long run = newRun();
        private final boolean executorsElsewhere;
        private final java.util.TreeSet<Long> published = new java.util.TreeSet<>();
        private final ByteBuffer[] buffers;

        Outbox(int size, boolean executorsElsewhere) {
            this.executorsElsewhere = executorsElsewhere;
            this.buffers = new ByteBuffer[] {ByteBuffer.allocate(size * Float.BYTES), ByteBuffer.allocate(size * Float.BYTES)};
        }

        /** Publishes iteration {@code iter}'s parameters. */
        void publish(long iter, float[] params) {
            ParameterBlocks.publish(id(run, iter), params, buffers[(int) (iter & 1)], executorsElsewhere);
            published.add(iter);
        }

        boolean isPublished(long iter) { return published.contains(iter); }

        /** Drops iteration {@code iter}'s parameters, if out. */
        void withdraw(long iter) {
            if (published.remove(iter)) ParameterBlocks.withdraw(id(run, iter));
        }

        /** Drops every block still out. */
        void withdrawAll() {
            for (long iter : new java.util.ArrayList<>(published)) withdraw(iter);
        }
    }

    /** What waiting tasks in the driver's JVM sleep on until a block is published. */
    private static final Object PUBLISHED = new Object();

    /** On the driver: drops the block (no task needs it once its job is done). */
    static void withdraw(BroadcastBlockId id) {
        blockManager().removeBlock(id, true);
    }

    /**
     * The wait between two asks to the block manager master: the first, and the largest per
     * task in flight (the gap grows to 1 ms, or 0.1 ms times the tasks of the job if more, so
     * that all of them together ask at most 10,000 times a second).
     */
    private static final long FIRST_REMOTE_GAP_NANOS = 200_000, MIN_MAX_REMOTE_GAP_NANOS = 1_000_000,
            REMOTE_GAP_PER_TASK_NANOS = 100_000;
    /** The longest sleep of a task in the driver's JVM between two looks (a publication wakes it sooner). */
    private static final long LOCAL_GAP_NANOS = 10_000_000;

    /**
     * In a task: the {@code n} parameters under {@code id}, once the driver has published them,
     * or null when they have not come within {@code limitNanos} (the driver then computes this
     * partition in a job of its own). A task in the driver's own JVM (local mode) looks in the
     * block manager they share and sleeps until {@link #publish} wakes it; a task elsewhere asks
     * the block manager master at growing gaps (from 0.2 ms; see above for the largest, given
     * the job's {@code tasks}). A killed task (a cancelled job) stops waiting.
     */
    static float[] await(BroadcastBlockId id, int n, long limitNanos, int tasks) {
        long maxGap = Math.max(MIN_MAX_REMOTE_GAP_NANOS, tasks * REMOTE_GAP_PER_TASK_NANOS);
        SparkEnv env = SparkEnv.get();
        BlockManager bm = env.blockManager();
        boolean inDriver = SparkContext$.MODULE$.DRIVER_IDENTIFIER().equals(env.executorId()) && !remoteOnly;
        TaskContext context = TaskContext.get();
        long start = System.nanoTime(), gap = inDriver ? LOCAL_GAP_NANOS : FIRST_REMOTE_GAP_NANOS;
        while (true) {
            // a killed task (its job cancelled) goes no further, even when the block has come meanwhile
            if (context != null) context.killTaskIfInterrupted();
            if (inDriver) {
                synchronized (PUBLISHED) { // checked under the lock publish notifies with: no wake-up is missed
                    Option<BlockData> local = bm.getLocalBytes(id);
                    if (local.isDefined()) {
                        try {
                            return floats(local.get().toByteBuffer(), n, id);
                        } finally {
                            bm.releaseLock(id, Option.empty());
                        }
                    }
                    long left = limitNanos - (System.nanoTime() - start);
                    if (left <= 0) return null;
                    try {
                        TimeUnit.NANOSECONDS.timedWait(PUBLISHED, Math.min(left, gap));
                    } catch (InterruptedException e) { // Spark interrupts a task it kills
                        Thread.currentThread().interrupt();
                        if (context != null) context.killTaskIfInterrupted();
                        throw new IllegalStateException("interrupted while waiting for block " + id.name(), e);
                    }
                }
            } else {
                Option<ChunkedByteBuffer> remote = bm.getRemoteBytes(id);
                if (remote.isDefined()) return floats(remote.get().toByteBuffer(), n, id);
                long left = limitNanos - (System.nanoTime() - start);
                if (left <= 0) return null;
                LockSupport.parkNanos(Math.min(left, gap));
                gap = Math.min(2 * gap, maxGap);
            }
        }
    }

    // ---------------------------------------------------------------- gradients (long-lived tasks, local mode)

    /** Partition {@code p}'s result of iteration {@code iteration} of run {@code run}. */
    static BroadcastBlockId gradientId(long run, long iteration, int p) {
        return new BroadcastBlockId(BASE + (run << 40) + iteration, "recurgrad" + p);
    }

    /** What the driver sleeps on until a task delivers a gradient. */
    private static final Object DELIVERED = new Object();

    /**
     * In a task running in the driver's JVM: stores its result under {@code id} (as the object:
     * the driver reads it in the same JVM) and wakes the driver. A second delivery of the same
     * block (a retried task) keeps the first: both hold the same bits.
     */
    static void deliver(BroadcastBlockId id, Partial result) {
        boolean stored = blockManager().putSingle(id, result, StorageLevel.MEMORY_ONLY(), false,
                ClassTag$.MODULE$.apply(Partial.class));
        if (!stored) throw new IllegalStateException("Spark's block manager did not store block " + id.name());
        synchronized (DELIVERED) {
            DELIVERED.notifyAll();
        }
    }

    /** On the driver: the result under {@code id} if delivered, else null (read and released at once). */
    static Partial delivered(BroadcastBlockId id) {
        Option<BlockResult> r = blockManager().getLocalValues(id);
        if (r.isEmpty()) return null;
        scala.collection.Iterator<Object> it = r.get().data();
        Partial p = (Partial) it.next();
        while (it.hasNext()) it.next(); // the iterator releases the read lock when it is exhausted
        return p;
    }

    /**
     * On the driver: true as soon as {@code ready} is (it is asked under the lock deliveries
     * notify with, so none is missed), false if it is not within about {@code nanos}.
     */
    static boolean awaitDeliveries(java.util.function.BooleanSupplier ready, long nanos) {
        long end = System.nanoTime() + nanos;
        synchronized (DELIVERED) {
            while (!ready.getAsBoolean()) {
                long left = end - System.nanoTime();
                if (left <= 0) return false;
                try {
                    TimeUnit.NANOSECONDS.timedWait(DELIVERED, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for the tasks' gradients", e);
                }
            }
            return true;
        }
    }

    /** On the driver: drops a delivered result. */
    static void discard(BroadcastBlockId id) {
        blockManager().removeBlock(id, false);
    }

    private static float[] floats(ByteBuffer bytes, int n, BroadcastBlockId id) {
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() != n * Float.BYTES) {
            throw new IllegalStateException("block " + id.name() + " holds " + b.remaining() + " bytes, expected "
                    + n * Float.BYTES + " (" + n + " parameters)");
        }
        float[] r = new float[n];
        b.asFloatBuffer().get(r);
        return r;
    }
}
