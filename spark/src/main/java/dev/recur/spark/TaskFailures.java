package dev.recur.spark;

import org.apache.spark.Success$;
import org.apache.spark.TaskKilled;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import scala.jdk.javaapi.CollectionConverters;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Failed task attempts per job, counted from Spark's listener events as they come. (Spark's
 * status tracker would do, but it writes a running stage's counts at most every 100 ms and only
 * on the stage's next event: a job whose other tasks all wait may show no failure at all.)
 */
final class TaskFailures extends SparkListener {
    private final Map<Integer, Integer> jobOfStage = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicInteger> failedByJob = new ConcurrentHashMap<>();
    private final AtomicInteger failedAnywhere = new AtomicInteger();

    @Override
    public void onJobStart(SparkListenerJobStart start) {
        for (Object stage : CollectionConverters.asJava(start.stageIds())) jobOfStage.put((Integer) stage, start.jobId());
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
        if (end.reason() == Success$.MODULE$ || end.reason() instanceof TaskKilled) return; // killed: by recur's cancel
        failedAnywhere.incrementAndGet();
        Integer job = jobOfStage.get(end.stageId());
        if (job != null) failedByJob.computeIfAbsent(job, j -> new AtomicInteger()).incrementAndGet();
    }

    /** Failed task attempts of any job so far (not counting tasks killed by a cancellation). */
    int failedAnywhere() { return failedAnywhere.get(); }

    /** Failed attempts of the tasks of {@code job}'s jobs so far. */
    int failed(PartitionJob.InFlight<?> job) {
        int n = 0;
        for (int id : job.jobIds()) {
            AtomicInteger c = failedByJob.get(id);
            if (c != null) n += c.get();
        }
        return n;
    }
}
