package dev.recur.cli;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Progress on stderr: a bar redrawn in place when stderr is a terminal, plain periodic log lines
 * otherwise (CI, pipes, files), or nothing.
 */
final class Progress {

    enum Mode { BAR, LINES, NONE }

    private final PrintWriter err;
    private final Mode mode;
    private final long total;
    private long lastDraw;
    private int drawnWidth;

    Progress(PrintWriter err, Mode mode, long total) {
        this.err = err;
        this.mode = mode;
        this.total = total;
    }

    Mode mode() { return mode; }

    /** auto: a bar when stderr is a terminal; else lines. */
    static Mode resolve(String option) {
        return switch (option.toLowerCase(Locale.ROOT)) {
            case "bar" -> Mode.BAR;
            case "lines", "log" -> Mode.LINES;
            case "none", "off" -> Mode.NONE;
            case "auto" -> stderrIsTerminal() ? Mode.BAR : Mode.LINES;
            default -> throw CliException.usage("--progress = '" + option + "', expected one of auto, bar, lines, none");
        };
    }

    /** True if file descriptor 2 is a terminal (Linux: /proc/self/fd/2 names a tty). */
    static boolean stderrIsTerminal() {
        try {
            Path fd2 = Path.of("/proc/self/fd/2");
            if (Files.exists(fd2, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                String target = Files.readSymbolicLink(fd2).toString();
                return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty") || target.equals("/dev/console");
            }
        } catch (Exception ignored) {
            // fall through to the console check
        }
        var c = System.console();
        return c != null && c.isTerminal();
    }

    /** Redraws the bar (at most ~10 times a second, and always for the last step). */
    void bar(long done, String status, double etaSeconds) {
        if (mode != Mode.BAR) return;
        long now = System.nanoTime();
        if (done < total && now - lastDraw < 100_000_000L) return;
        lastDraw = now;
        int width = 24;
        int filled = total > 0 ? (int) Math.min(width, done * width / total) : 0;
        StringBuilder b = new StringBuilder("\r[");
        for (int k = 0; k < width; k++) b.append(k < filled ? '=' : k == filled ? '>' : ' ');
        b.append("] ").append(done).append('/').append(total).append("  ").append(status);
        if (done < total && Double.isFinite(etaSeconds)) b.append("  ETA ").append(duration(etaSeconds));
        int len = b.length();
        for (int k = len; k < drawnWidth; k++) b.append(' ');
        drawnWidth = len;
        err.print(b);
        err.flush();
    }

    /** A log line: in bar mode it goes above the bar (the bar is redrawn by the next update). */
    void line(String s) {
        if (mode == Mode.NONE) return;
        if (mode == Mode.BAR && drawnWidth > 0) {
            err.print("\r" + " ".repeat(drawnWidth) + "\r");
            drawnWidth = 0;
            lastDraw = 0;
        }
        err.println(s);
        err.flush();
    }

    /** Ends the bar's line. */
    void finish() {
        if (mode == Mode.BAR && drawnWidth > 0) {
            err.println();
            err.flush();
            drawnWidth = 0;
        }
    }

    static String duration(double s) {
        if (s < 60) return String.format(Locale.ROOT, "%.0fs", Math.ceil(s));
        if (s < 3600) return String.format(Locale.ROOT, "%dm%02ds", (long) s / 60, (long) s % 60);
        return String.format(Locale.ROOT, "%dh%02dm", (long) s / 3600, (long) s / 60 % 60);
    }

    /** 12345 -> "12.3k". */
    static String count(double v) {
        if (v >= 1e9) return String.format(Locale.ROOT, "%.2fG", v / 1e9);
        if (v >= 1e6) return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        if (v >= 1e4) return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        return String.format(Locale.ROOT, "%.0f", v);
    }
}
