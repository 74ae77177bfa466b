package dev.recur.seq;

/**
 * A long-sequence run was refused before allocating anything: its memory estimate does not fit
 * the heap (or the budget given). The message gives the estimate, what is available, and the
 * option that would make it fit.
 */
public final class MemoryBudgetException extends IllegalStateException {
    private static final long serialVersionUID = 1L;
    /** Bytes the run was estimated to need. */
    private final long estimate;
    /** Bytes it could have had. */
    private final long available;

    /**
     * A refusal.
     *
     * @param message   the estimate, what is available, and the option that would make it fit
     * @param estimate  bytes the run was estimated to need
     * @param available bytes it could have had (budget or free heap, less the safety margin)
     */
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
