package dev.recur.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the command line in-process with captured streams. */
final class Cli {
    private Cli() {}

    record Result(int code, String out, String err) {
        /** stderr lines that are not the JVM's incubator warning. */
        String[] errLines() {
            return err.lines().filter(l -> !l.startsWith("WARNING: Using incubator")).toArray(String[]::new);
        }

        @Override
        public String toString() { return "exit " + code + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err; }
    }

    static Result run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.newCommandLine(new PrintWriter(o, true), new PrintWriter(e, true)).execute(args);
        return new Result(code, o.toString(), e.toString());
    }
}
