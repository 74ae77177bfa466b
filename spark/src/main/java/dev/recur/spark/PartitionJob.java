package dev.recur.spark;

import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction2;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;

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

    /** The function as Spark's scheduler takes it: a plain class, not a closure to clean. */
    private static final class Task<T, R> extends AbstractFunction2<TaskContext, scala.collection.Iterator<T>, R>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final Function<T, R> f;

        Task(Function<T, R> f) { this.f = f; }

        @Override
        public R apply(TaskContext context, scala.collection.Iterator<T> items) {
            try {
                return f.apply(context.partitionId(), CollectionConverters.asJava(items));
            } catch (RuntimeException e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
