package dev.recur.seq;

/**
 * A long-sequence run was refused before allocating anything: its memory estimate does not fit
 * the heap (or the budget given). The message gives the estimate, what is available, and the
 * option that would make it fit.
 */
public final class MemoryBudgetException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    private final long estimate;
    private final long available;

    public MemoryBudgetException(String message, long estimate, long available) {
        super(message);
        this.estimate = estimate;
        this.available = available;
    }

    /** Bytes the run was estimated to need. */
    public long estimate() { return estimate; }

    /** Bytes it could have had (budget or free heap, less the safety margin). */
    public long available() { return available; }
}
