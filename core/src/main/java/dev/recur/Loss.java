package dev.recur;

import java.util.Locale;

/**
 * The loss a forward pass computes on the output head, named explicitly:
 * <ul>
 *   <li>{@link #CROSS_ENTROPY}: softmax cross-entropy against class-index targets,
 *   {@code logsumexp(o_t) - o_t[y_t]}; a target equal to {@link #ignoreIndex()} (PyTorch's
 *   default, -100, unless changed) carries no loss and no gradient;</li>
 *   <li>{@link #SQUARED_ERROR}: {@code 1/2 ||o_t - y_t||^2} against float targets;</li>
 *   <li>{@link #NONE}: no loss (states only, or outputs with {@code predict}).</li>
 * </ul>
 * Reduction: {@link Reduction#SUM} over the counted (t, b) positions (valid steps whose target is
 * not ignored), or {@link Reduction#MEAN}, the sum divided by the number of counted positions
 * (for both losses; so {@code SQUARED_ERROR.mean()} is {@code sum 1/2 ||o - y||^2 / count}, which
 * differs from PyTorch's {@code MSELoss}: that one averages over every element, count * O, and
 * has no 1/2). The gradients are those of the reduced loss.
 *
 * <p>Immutable; the constants and their {@link #mean()} forms are shared instances, so naming a
 * loss allocates nothing.
 */
public final class Loss {

    /** What the loss compares. */
    public enum Kind {
        /** No loss: the caller supplies dL/dY itself. */
        NONE,
        /** Softmax cross-entropy of the output logits against class-index targets. */
        CROSS_ENTROPY,
        /** Squared error of the outputs against float targets. */
        SQUARED_ERROR
    }

    /** How the per-position losses are combined. */
    public enum Reduction {
        /** The sum over the positions that carry loss. */
        SUM,
        /** The sum divided by the number of positions that carry loss. */
        MEAN
    }

    /** PyTorch's default ignore_index for cross-entropy. */
    public static final int DEFAULT_IGNORE_INDEX = -100;

    /** No loss. */
    public static final Loss NONE = new Loss(Kind.NONE, Reduction.SUM, DEFAULT_IGNORE_INDEX);
    /** Softmax cross-entropy, summed; targets of -100 are ignored. */
    public static final Loss CROSS_ENTROPY = new Loss(Kind.CROSS_ENTROPY, Reduction.SUM, DEFAULT_IGNORE_INDEX);
    /** 1/2 squared error, summed. */
    public static final Loss SQUARED_ERROR = new Loss(Kind.SQUARED_ERROR, Reduction.SUM, DEFAULT_IGNORE_INDEX);
    private static final Loss CROSS_ENTROPY_MEAN = new Loss(Kind.CROSS_ENTROPY, Reduction.MEAN, DEFAULT_IGNORE_INDEX);
    private static final Loss SQUARED_ERROR_MEAN = new Loss(Kind.SQUARED_ERROR, Reduction.MEAN, DEFAULT_IGNORE_INDEX);

    private final Kind kind;
    private final Reduction reduction;
    private final int ignoreIndex;

    private Loss(Kind kind, Reduction reduction, int ignoreIndex) {
        this.kind = kind;
        this.reduction = reduction;
        this.ignoreIndex = ignoreIndex;
    }

    /** {@return what this loss compares} */
    public Kind kind() { return kind; }

    /** {@return how the per-position losses are combined} */
    public Reduction reduction() { return reduction; }

    /** The class target that carries no loss (cross-entropy only). */
    public int ignoreIndex() { return ignoreIndex; }

    /** True unless this is {@link #NONE}. */
    public boolean hasLoss() { return kind != Kind.NONE; }

    /** True for cross-entropy (class-index targets); false for squared error (float targets). */
    public boolean classTargets() { return kind == Kind.CROSS_ENTROPY; }

    /** This loss summed over the counted positions. */
    public Loss sum() { return with(Reduction.SUM, ignoreIndex); }

    /** This loss averaged over the counted positions. */
    public Loss mean() { return with(Reduction.MEAN, ignoreIndex); }

    /** This cross-entropy with another ignored target value. */
    public Loss ignoreIndex(int index) {
        if (kind != Kind.CROSS_ENTROPY) throw new IllegalStateException("ignoreIndex applies to cross-entropy, not " + this);
        return with(reduction, index);
    }

    private Loss with(Reduction r, int ignore) {
        if (r == reduction && ignore == ignoreIndex) return this;
        if (ignore == DEFAULT_IGNORE_INDEX) {
            if (kind == Kind.CROSS_ENTROPY) return r == Reduction.SUM ? CROSS_ENTROPY : CROSS_ENTROPY_MEAN;
            if (kind == Kind.SQUARED_ERROR) return r == Reduction.SUM ? SQUARED_ERROR : SQUARED_ERROR_MEAN;
            if (r == Reduction.SUM) return NONE;
        }
        return new Loss(kind, r, ignore);
    }

    /**
     * Parses the command line's names: {@code xent} (or {@code cross-entropy}), {@code mse} (or
     * {@code squared-error}), {@code none}; summed.
     */
    public static Loss parse(String name) {
        String n = name == null ? "" : name.trim().toLowerCase(Locale.ROOT);
        return switch (n) {
            case "xent", "cross-entropy", "cross_entropy" -> CROSS_ENTROPY;
            case "mse", "squared-error", "squared_error" -> SQUARED_ERROR;
            case "none" -> NONE;
            default -> throw new IllegalArgumentException("loss = '" + name + "', expected xent (softmax cross-entropy), "
                    + "mse (1/2 squared error) or none");
        };
    }

    /** {@code xent}, {@code mse} or {@code none}: the name {@link #parse} reads. */
    public String id() {
        return switch (kind) {
            case NONE -> "none";
            case CROSS_ENTROPY -> "xent";
            case SQUARED_ERROR -> "mse";
        };
    }

    @Override public boolean equals(Object o) {
        return o instanceof Loss l && l.kind == kind && l.reduction == reduction && l.ignoreIndex == ignoreIndex;
    }

    @Override public int hashCode() { return kind.hashCode() * 31 * 31 + reduction.hashCode() * 31 + ignoreIndex; }

    @Override public String toString() {
        return id() + (kind == Kind.NONE ? "" : ", " + reduction.name().toLowerCase(Locale.ROOT))
                + (kind == Kind.CROSS_ENTROPY && ignoreIndex != DEFAULT_IGNORE_INDEX ? ", ignore " + ignoreIndex : "");
    }
}
