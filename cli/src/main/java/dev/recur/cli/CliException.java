package dev.recur.cli;

/**
 * An error the user can fix, reported as one line without a stack trace. {@link #usage} errors
 * (a bad option value, a missing argument) exit with 2; runtime errors (a bad file, a failed
 * save) exit with 1.
 */
public final class CliException extends RuntimeException {
    private final int exitCode;

    private CliException(String message, int exitCode, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    /** A usage error (exit 2): the message names the option, the value and what was expected. */
    public static CliException usage(String message) { return new CliException(message, Main.EXIT_USAGE, null); }

    /** A runtime error (exit 1). */
    public static CliException runtime(String message) { return new CliException(message, Main.EXIT_RUNTIME, null); }

    /** A runtime error (exit 1) with its cause, shown only under --verbose. */
    public static CliException runtime(String message, Throwable cause) {
        return new CliException(message, Main.EXIT_RUNTIME, cause);
    }

    public int exitCode() { return exitCode; }
}
