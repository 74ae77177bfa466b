package dev.recur;

/**
 * The packed-sequence bookkeeping of one call (PyTorch's PackedSequence, computed without
 * allocation): the batch's rows sorted by length, longest first, so that the rows still running
 * at step t are a prefix {@code [0, active(t))} of the sorted order. Every per-step array of the
 * engine (states, outputs, gradients) is stored "packed": step t's active rows one after another,
 * step after step, row q of step t at {@code offset(t) + r}. When every sequence has all T steps
 * and no lengths were given, the order is the batch's own and {@code offset(t) = t*B}: the plain
 * time-major layout, so the caller's arrays are read and written in place.
 *
 * <p>Sorting is stable (ties keep the batch order), so a given batch always packs
 * the same way. Each row's result does not depend on the rows beside it (the kernels' row
 * independence), so neither the order nor the packing changes any sequence's bits.
 */
final class Lengths {
    /** Sorted row r is the caller's row {@code perm[r]}. */
    final int[] perm;
    /** The caller's row b is sorted row {@code rank[b]}. */
    final int[] rank;
    /** Length of sorted row r, non-increasing in r. */
    final int[] sorted;
    private final int[] scratch;
    int batch;
    int steps;
    /** The longest length (the steps the engine runs). */
    int maxLength;
    /** True when the layout is the caller's own: batch order and every length equal to maxLength. */
    boolean plain;

    Lengths(int maxBatch) {
        perm = new int[maxBatch];
        rank = new int[maxBatch];
        sorted = new int[maxBatch];
        scratch = new int[maxBatch];
    }

    /** Every sequence runs {@code steps} steps. */
    void setAll(int batch, int steps) {
        this.batch = batch;
        this.steps = steps;
        this.maxLength = steps;
        this.plain = true;
        for (int r = 0; r < batch; r++) {
            perm[r] = r;
            rank[r] = r;
            sorted[r] = steps;
        }
    }

    /**
     * Sorts {@code len[off .. off+batch)} (already checked to lie in [1, steps]), longest first,
     * ties in batch order: a bottom-up merge sort of the row indices, O(B log B), no allocation.
     */
    void set(int batch, int steps, int[] len, int off) {
        this.batch = batch;
        this.steps = steps;
        boolean equal = true;
        for (int b = 0; b < batch; b++) {
            perm[b] = b;
            if (len[off + b] != len[off]) equal = false;
        }
        int[] a = perm, t = scratch;
        for (int width = 1; width < batch; width *= 2) {
            for (int lo = 0; lo < batch; lo += 2 * width) {
                int mid = Math.min(lo + width, batch), hi = Math.min(lo + 2 * width, batch);
                int i = lo, j = mid, k = lo;
                while (i < mid && j < hi) t[k++] = len[off + a[j]] > len[off + a[i]] ? a[j++] : a[i++];
                while (i < mid) t[k++] = a[i++];
                while (j < hi) t[k++] = a[j++];
            }
            int[] swap = a;
            a = t;
            t = swap;
        }
        if (a != perm) System.arraycopy(a, 0, perm, 0, batch);
        for (int r = 0; r < batch; r++) {
            rank[perm[r]] = r;
            sorted[r] = len[off + perm[r]];
        }
        this.maxLength = sorted[0];
        this.plain = equal;
    }

    /** Rows running at step t: the prefix {@code [0, active(t))} of the sorted order. */
    int active(int t) {
        if (t < 0 || t >= maxLength) return 0;
        if (plain) return batch;
        // sorted is non-increasing: the first row whose length is <= t
        int lo = 0, hi = batch;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid] > t) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }

    /** Packed rows before step t: {@code sum_r min(len_r, t)}. */
    long offset(int t) {
        if (plain) return (long) Math.min(t, maxLength) * batch;
        long s = 0;
        for (int r = 0; r < batch; r++) s += Math.min(sorted[r], t);
        return s;
    }

    /** All packed rows: the sum of the lengths. */
    long rows() { return offset(maxLength); }
}
