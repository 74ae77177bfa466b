package dev.recur.spark;

import org.apache.spark.SimpleFutureAction;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import scala.concurrent.Await;
import scala.concurrent.duration.Duration;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction0;
import scala.runtime.AbstractFunction1;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeoutException;

/**
 * One Spark job that applies a function to every partition of an RDD and returns the results in
 * partition order, with a per-job cost low enough for one job per training iteration.
 *
 * <p>Why not {@code rdd.mapPartitionsWithIndex(f).collect()}: every job built from the RDD API
 * passes Scala lambdas (the API's own wrappers around {@code f}, and {@code collect}'s) to
 * Spark's closure cleaner, which reads and parses the class file that defines each lambda
 * ({@code RDD}, {@code JavaRDDLike}: large classes) with ASM on every call. A probe of empty
 * two-task jobs on local[2] measured that at about half of a job's latency (median 17-26 ms per
 * job against 10-14 ms, 60 jobs per round, 300 KB in and out per task). Here the function
 * reaches {@code SparkContext.runJob} as a named class, which the cleaner leaves alone, and the
 * results come back as the job's own array.
 */
final class PartitionJob {
    private PartitionJob() {}

    /** What a task runs: its partition's index and items in, one result out. */
    interface Function<T, R> extends Serializable {
        R apply(int partition, Iterator<T> items) throws Exception;
    }

    /** {@code f} applied to every partition of {@code rdd} in one job; element p is partition p's result. */
    static <T, R> List<R> run(JavaRDD<T> rdd, Function<T, R> f, Class<R> type) {
        ClassTag<R> tag = ClassTag$.MODULE$.apply(type);
        Object results = rdd.context().runJob(rdd.rdd(), new Task<>(f), tag);
        @SuppressWarnings("unchecked") R[] array = (R[]) results;
        return Arrays.asList(array);
    }

    /** {@code f} applied to the given partitions of {@code rdd} in one job; element k is partition {@code partitions[k]}'s result. */
    static <T, R> List<R> run(JavaRDD<T> rdd, Function<T, R> f, Class<R> type, int[] partitions) {
        ClassTag<R> tag = ClassTag$.MODULE$.apply(type);
        Object results = rdd.context().runJob(rdd.rdd(), new Task<>(f), indices(partitions), tag);
        @SuppressWarnings("unchecked") R[] array = (R[]) results;
        return Arrays.asList(array);
    }

    private static scala.collection.immutable.Seq<Object> indices(int[] partitions) {
        List<Object> list = new ArrayList<>(partitions.length);
        for (int p : partitions) list.add(p);
        return CollectionConverters.asScala(list).toList();
    }

    /**
     * {@code f} applied to every partition of {@code rdd} in a job submitted now, without waiting
     * for it: Spark schedules it as soon as the jobs before it leave it cores (its scheduler
     * serves jobs in submission order), and {@link InFlight#get} waits for its results.
     */
    static <T, R> InFlight<R> submit(JavaRDD<T> rdd, Function<T, R> f) {
        int n = rdd.getNumPartitions();
        int[] all = new int[n];
        for (int p = 0; p < n; p++) all[p] = p;
        Object[] results = new Object[n];
        SimpleFutureAction<Object[]> future = rdd.context().submitJob(rdd.rdd(), new SubmittedTask<>(f), indices(all),
                new Store<R>(results), new Results(results));
        return new InFlight<>(future);
    }

    /** A job submitted by {@link #submit}. */
    static final class InFlight<R> {
        private final SimpleFutureAction<Object[]> future;

        private InFlight(SimpleFutureAction<Object[]> future) { this.future = future; }

        /** Waits at most {@code nanos} for the job to end (done or failed); true if it has. */
        boolean awaitEnd(long nanos) {
            try {
                Await.ready(future, Duration.fromNanos(nanos));
                return true;
            } catch (TimeoutException e) {
                return false;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a Spark job", e);
            }
        }

        /** Spark's ids of the job (one). */
        int[] jobIds() {
            return CollectionConverters.asJava(future.jobIds()).stream().mapToInt(j -> (Integer) j).toArray();
        }

        /** True once the job has ended, done or failed. */
        boolean isDone() { return future.isCompleted(); }

        /** Waits for the job; element p is partition p's result. A failed job throws Spark's exception, as {@link #run} does. */
        @SuppressWarnings("unchecked")
        List<R> get() {
            try {
                return Arrays.asList((R[]) future.get());
            } catch (org.apache.spark.SparkException e) {
                throw PartitionJob.<RuntimeException>rethrow(e);
            }
        }

        /** Cancels the job (its running tasks are killed); nothing if it has finished. */
        void cancel() {
            if (!future.isCompleted()) future.cancel();
        }
    }

    /** Throws {@code e} as it is (a failed job's SparkException, which Scala throws unchecked). */
    @SuppressWarnings("unchecked")
    private static <E extends Throwable> E rethrow(Throwable e) throws E {
        throw (E) e;
    }

    /** Keeps each partition's result at its index (on the driver, as tasks succeed). */
    private static final class Store<R> extends AbstractFunction2<Object, R, BoxedUnit> {
        private final Object[] results;

        Store(Object[] results) { this.results = results; }

        @Override
        public BoxedUnit apply(Object index, R result) {
            results[(Integer) index] = result;
            return BoxedUnit.UNIT;
        }
    }

    /** The job's value once every task has succeeded: the results by partition. */
    private static final class Results extends AbstractFunction0<Object[]> {
        private final Object[] results;

        Results(Object[] results) { this.results = results; }

        @Override
        public Object[] apply() { return results; }
    }

    /** {@link Task} for {@code submitJob}, which passes the items only (the partition comes from the task's context). */
    private static final class SubmittedTask<T, R> extends AbstractFunction1<scala.collection.Iterator<T>, R>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Function<T, R> f;

        SubmittedTask(Function<T, R> f) { this.f = f; }

        @Override
        public R apply(scala.collection.Iterator<T> items) {
            return Task.call(f, TaskContext.get().partitionId(), items);
        }
    }

    /** The function as Spark's scheduler takes it: a plain class, not a closure to clean. */
    private static final class Task<T, R> extends AbstractFunction2<TaskContext, scala.collection.Iterator<T>, R>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Function<T, R> f;

        Task(Function<T, R> f) { this.f = f; }

        @Override
        public R apply(TaskContext context, scala.collection.Iterator<T> items) {
            return call(f, context.partitionId(), items);
        }

        static <T, R> R call(Function<T, R> f, int partition, scala.collection.Iterator<T> items) {
            try {
                return f.apply(partition, CollectionConverters.asJava(items));
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
