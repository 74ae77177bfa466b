package dev.recur.spark;

/** Turning Spark's nested job failures into the one line a user needs. */
final class Errors {
    private Errors() {}

    /** The message of the innermost cause (Spark wraps a task's exception in its job failure), or the exception's name. */
    static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) t = t.getCause();
        String m = t.getMessage();
        if (m == null || m.isBlank()) return t.toString();
        // Spark's job failure message repeats the task's stack trace; keep its first line
        int nl = m.indexOf('\n');
        return nl < 0 ? m : m.substring(0, nl);
    }
}
