package dev.recur.spark;

import dev.recur.cli.CliException;

import java.util.function.Supplier;

/** Runs driver code that starts Spark jobs, turning a failed job into one line naming its cause. */
final class Jobs {
    private Jobs() {}

    static <T> T run(Supplier<T> job) {
        try {
            return job.get();
        } catch (CliException e) {
            throw e;
        } catch (Exception e) {
            // a failed job is a SparkException, thrown unchecked from Scala; a stopped context an IllegalStateException
            if (e instanceof org.apache.spark.SparkException || e.getClass().getName().startsWith("org.apache.spark")) {
                throw CliException.runtime("a Spark job failed: " + Errors.rootMessage(e), e);
            }
            if (e instanceof RuntimeException re) throw re;
            throw new IllegalStateException(e);
        }
    }
}
