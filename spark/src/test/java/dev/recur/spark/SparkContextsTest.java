package dev.recur.spark;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The configuration a command starts Spark with: what local masters get, what a cluster keeps its own. */
class SparkContextsTest {
    @Test
    void localMastersListenOnLoopbackOnlyAndReturnResultsDirectly() {
        SparkConf c = SparkContexts.conf("local[2]", "t", Map.of());
        assertEquals("127.0.0.1", c.get("spark.driver.host"));
        assertEquals("127.0.0.1", c.get("spark.driver.bindAddress"));
        assertEquals("false", c.get("spark.ui.enabled"));
        assertEquals("128m", c.get("spark.task.maxDirectResultSize"));
        assertTrue(c.get("spark.executor.extraJavaOptions").contains("jdk.incubator.vector"));

        SparkConf mine = SparkContexts.conf("local[2]", "t", Map.of("spark.task.maxDirectResultSize", "2m"));
        assertEquals("2m", mine.get("spark.task.maxDirectResultSize"), "a setting of the user's is kept");
    }

    @Test
    void clusterMastersKeepSparksDefaults() {
        SparkConf c = SparkContexts.conf("spark://example:7077", "t", Map.of());
        assertFalse(c.contains("spark.driver.bindAddress"));
        assertFalse(c.contains("spark.task.maxDirectResultSize"));
        assertTrue(c.get("spark.executor.extraJavaOptions").contains("jdk.incubator.vector"));
    }
}
