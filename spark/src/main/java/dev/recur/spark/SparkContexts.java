package dev.recur.spark;

import dev.recur.cli.CliException;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Starts the Spark context for a command: the master from {@code --master}, else from the
 * configuration {@code spark-submit} made, else {@code local[2]}; for local masters the driver
 * binds to the loopback address only and the web UI is off, so nothing listens elsewhere, and
 * task results up to Spark's 128 MB message bound go straight to the driver.
 * Executors get {@code --add-modules jdk.incubator.vector} (the vector kernels) unless their
 * options already name the module.
 */
public final class SparkContexts {
    private SparkContexts() {}

    /** The master when neither {@code --master} nor {@code spark-submit} gives one. */
    public static final String DEFAULT_MASTER = "local[2]";
    static final String VECTOR_OPTION = "--add-modules=jdk.incubator.vector";
    static final String LOOPBACK = "127.0.0.1";

    /** The configuration a command starts Spark with (see the class comment). */
    public static SparkConf conf(String master, String appName, Map<String, String> settings) {
        SparkConf conf = new SparkConf(); // spark.* system properties: what spark-submit set
        settings.forEach(conf::set);
        if (master != null) conf.setMaster(master);
        else if (!conf.contains("spark.master")) conf.setMaster(DEFAULT_MASTER);
        if (!conf.contains("spark.app.name")) conf.setAppName(appName);
        if (isLocal(conf.get("spark.master"))) {
            conf.setIfMissing("spark.driver.host", LOOPBACK);
            conf.setIfMissing("spark.driver.bindAddress", LOOPBACK);
            conf.setIfMissing("spark.ui.enabled", "false");
            // results go straight to the driver on this machine: above the default 1 MiB (a gradient
            // at H >= 512) Spark stores a result in the block manager for the driver to fetch back,
            // which added 4-7 ms to an iteration of 75-88 ms at H = 512 on local[2] (docs/spark.md)
            conf.setIfMissing("spark.task.maxDirectResultSize", "128m");
        }
        String exec = conf.get("spark.executor.extraJavaOptions", "");
        if (!exec.contains("jdk.incubator.vector")) {
            conf.set("spark.executor.extraJavaOptions", (exec.isBlank() ? "" : exec + " ") + VECTOR_OPTION);
        }
        return conf;
    }

    /** local, local[...] and local-cluster[...]: everything runs on this machine. */
    static boolean isLocal(String master) { return master.startsWith("local"); }

    /**
     * Starts Spark; a master Spark cannot parse is a usage error naming {@code --master}, any
     * other failure a runtime error.
     */
    public static JavaSparkContext start(SparkConf conf) {
        String master = conf.get("spark.master");
        if (master.startsWith("local") && !LOCAL.matcher(master).matches() && !master.startsWith("local-cluster[")) {
            throw unparsable(master);
        }
        try {
            return new JavaSparkContext(conf);
        } catch (Exception e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.toLowerCase(Locale.ROOT).contains("master url")) throw unparsable(master);
            throw CliException.runtime("cannot start Spark with master '" + master + "' (" + Errors.rootMessage(e) + ")", e);
        }
    }

    /** Spark's local masters: local, local[N], local[*], local[N,F] (what its scheduler parses). */
    private static final Pattern LOCAL = Pattern.compile("local(\\[([0-9]+|\\*)(\\s*,\\s*[0-9]+)?\\])?");

    private static CliException unparsable(String master) {
        return CliException.usage("--master = '" + master + "': Spark cannot parse it, expected local, local[N], "
                + "local[*], local[N,MAX_FAILURES], spark://HOST:PORT, yarn or k8s://HOST:PORT");
    }

    /**
     * Tasks a local master runs at once ({@code local}: 1, {@code local[N]} and {@code
     * local[N,F]}: N, {@code local[*]}: the processors), divided by {@code spark.task.cpus}; 0
     * for any other master.
     */
    static int localSlots(SparkConf conf) {
        Matcher m = LOCAL.matcher(conf.get("spark.master"));
        if (!m.matches()) return 0;
        int cores = m.group(2) == null ? 1 : m.group(2).equals("*") ? Runtime.getRuntime().availableProcessors()
                : Integer.parseInt(m.group(2));
        return cores / taskCpus(conf);
    }

    /** Engine threads per task: {@code spark.task.cpus} (default 1). */
    public static int taskCpus(SparkConf conf) {
        String v = conf.get("spark.task.cpus", "1");
        try {
            int n = Integer.parseInt(v.trim());
            if (n >= 1) return n;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw CliException.usage("spark.task.cpus = '" + v + "', expected a whole number >= 1");
    }
}
