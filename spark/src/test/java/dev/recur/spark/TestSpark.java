package dev.recur.spark;

import org.apache.spark.api.java.JavaSparkContext;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

/** Spark contexts and in-process command runs for the tests: loopback only, UI off, as the commands start them. */
final class TestSpark {
    private TestSpark() {}

    static JavaSparkContext start(String master) {
        return SparkContexts.start(SparkContexts.conf(master, "recur-spark-test", Map.of()));
    }

    record Result(int code, String out, String err) {
        /** stderr lines that are not the JVM's incubator warning. */
        String[] errLines() {
            return err.lines().filter(l -> !l.startsWith("WARNING: Using incubator")).toArray(String[]::new);
        }

        @Override
        public String toString() { return "exit " + code + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err; }
    }

    /** Runs {@code recur spark ARGS} in-process with captured streams. */
    static Result run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = SparkMain.newCommandLine(new PrintWriter(o, true), new PrintWriter(e, true)).execute(args);
        return new Result(code, o.toString(), e.toString());
    }

    /** Norm-wise relative error ||a - b|| / ||b|| (0 when both are 0). */
    static double relativeError(float[] a, float[] b) {
        if (a.length != b.length) throw new AssertionError("lengths " + a.length + " and " + b.length);
        double d = 0, n = 0;
        for (int k = 0; k < a.length; k++) {
            double x = (double) a[k] - b[k];
            d += x * x;
            n += (double) b[k] * b[k];
        }
        return n == 0 ? Math.sqrt(d) : Math.sqrt(d / n);
    }

    /** True if both arrays hold the same bits. */
    static boolean sameBits(float[] a, float[] b) {
        if (a.length != b.length) return false;
        for (int k = 0; k < a.length; k++) if (Float.floatToRawIntBits(a[k]) != Float.floatToRawIntBits(b[k])) return false;
        return true;
    }
}
