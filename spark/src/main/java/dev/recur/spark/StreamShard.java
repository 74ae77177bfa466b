package dev.recur.spark;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * A partition's segment of a symbol stream (a character corpus as vocabulary indices). Partition
 * p of P owns the window starts [p*N/P, (p+1)*N/P) of the N-symbol stream, clamped so that a
 * window of T inputs and T targets fits, and holds the symbols those windows read: its starts
 * plus T. A window starting at s reads inputs s..s+T-1 and targets s+1..s+T.
 *
 * @param symbols    the segment: stream positions [offset, offset + symbols.length)
 * @param offset     stream position of symbols[0]
 * @param firstStart first window start this partition draws (stream position)
 * @param lastStart  last window start it draws
 * @param steps      T
 */
record StreamShard(int[] symbols, long offset, long firstStart, long lastStart, int steps) implements Shard {

    StreamShard {
        if (firstStart < offset || lastStart < firstStart || lastStart + steps + 1 > offset + symbols.length) {
            throw new IllegalArgumentException("segment [" + offset + ", " + (offset + symbols.length) + ") cannot serve "
                    + "window starts " + firstStart + ".." + lastStart + " of " + steps + " steps");
        }
    }

    /** Window starts [first, last] of partition p: its share of the N - T starts that fit. */
    static long[] starts(long length, int steps, int partitions, int p) {
        long fit = length - steps; // starts 0 .. fit-1 fit
        if (fit < 1) throw new IllegalArgumentException("a stream of " + length + " symbols, expected at least steps + 1 = "
                + (steps + 1));
        long first = Math.min(p * fit / partitions, fit - 1);
        long last = Math.max(first, (p + 1) * fit / partitions - 1);
        return new long[] {first, last};
    }

    /** The stream positions [from, to) partition p needs. */
    static long[] needs(long length, int steps, int partitions, int p) {
        long[] s = starts(length, steps, partitions, p);
        return new long[] {s[0], s[1] + steps + 1};
    }

    /** Partition p's shard of a stream held in memory (built-in corpora). */
    static StreamShard of(int[] stream, int steps, int partitions, int p) {
        long[] s = starts(stream.length, steps, partitions, p);
        return new StreamShard(Arrays.copyOfRange(stream, (int) s[0], (int) (s[1] + steps + 1)), s[0], s[0], s[1], steps);
    }

    /** The starts drawn for (seed, iteration, partition): {@code count} uniform draws from this shard's range. */
    long[] drawStarts(long seed, long iteration, int partition, int count) {
        SplittableRandom rnd = Shard.random(seed, iteration, partition);
        long[] s = new long[count];
        long span = lastStart - firstStart + 1;
        for (int r = 0; r < count; r++) s[r] = firstStart + rnd.nextLong(span);
        return s;
    }

    @Override
    public Windows draw(long seed, long iteration, int partition, int count) {
        long[] starts = drawStarts(seed, iteration, partition, count);
        int T = steps;
        int[] x = new int[T * count], y = new int[T * count];
        for (int r = 0; r < count; r++) {
            int at = (int) (starts[r] - offset);
            for (int t = 0; t < T; t++) {
                x[t * count + r] = symbols[at + t];
                y[t * count + r] = symbols[at + t + 1];
            }
        }
        return Windows.ofClasses(count, T, x, y);
    }
}
