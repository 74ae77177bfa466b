package dev.recur.spark;

import java.io.PrintWriter;
import java.util.Map;
import java.util.stream.Collectors;

/** Which kernels the executors ran, and the loud warning when they fell back to scalar. */
final class Reports {
    private Reports() {}

    /** "vector (4 tasks)" or "vector (3 tasks), scalar (...) (1 task)". */
    static String kernels(Map<String, Integer> k) {
        return k.entrySet().stream().map(e -> e.getKey() + " (" + e.getValue() + (e.getValue() == 1 ? " task)" : " tasks)"))
                .collect(Collectors.joining(", "));
    }

    /** The warning for tasks that ran the scalar kernels although auto was asked for, or null. */
    static String scalarWarning(Map<String, Integer> k, String choice) {
        if (!choice.equals("auto")) return null;
        int scalar = 0, all = 0;
        String why = null;
        for (var e : k.entrySet()) {
            all += e.getValue();
            if (e.getKey().startsWith("scalar")) {
                scalar += e.getValue();
                why = e.getKey();
            }
        }
        if (scalar == 0) return null;
        return scalar + " of " + all + " tasks ran the SCALAR kernels, 10-25x slower than vector: " + why
                + ". Start every executor JVM with --add-modules=jdk.incubator.vector "
                + "(spark.executor.extraJavaOptions; spark.driver.extraJavaOptions for the driver)"
                + (scalar < all ? "; mixed kernels also give partitions different float rounding" : "");
    }

    static void warnScalar(PrintWriter err, Map<String, Integer> k, String choice) {
        String w = scalarWarning(k, choice);
        if (w != null) {
            err.println("WARNING: " + w);
            err.flush();
        }
    }
}
