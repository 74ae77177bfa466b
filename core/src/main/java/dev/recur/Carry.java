package dev.recur;

import dev.recur.internal.Checks;
import java.util.Arrays;

/**
 * The state of the backward recursion at a chunk boundary, for a sequence split into chunks
 * (each run forward in its own workspace, carrying the final state into the next chunk's h0) and
 * back-propagated chunk by chunk from the last. A backward call given a carry reads what the
 * following chunk left in it (nothing, if it is fresh or {@link #clear()}ed) and leaves this
 * chunk's for the one before.
 *
 * <p>What it holds is each layer's gate gradient at the chunk's first step (delta_1, G*H per
 * row) and, for the gated cells, the part of the gradient that bypasses W_hh (the LSTM's
 * cell-state gradient, the GRU's z * dL/dh); the call that reads it adds
 * {@code W_hh^T delta} in the same operation order as one unsplit backward pass would, so the
 * chunked gradients are bitwise those of the unsplit sequence (given the same time blocks).
 * Passing dL/dh_T through {@link Backprop#finalStateGradient} instead rounds {@code W^T delta}
 * separately and agrees to rounding.
 *
 * <p>A carry also records which forward pass produced it, so that the common mistake of running
 * two chunks through one workspace (the second forward overwrites the first chunk's states, and
 * the second backward then meets the carry of that same forward pass) is reported instead of
 * silently back-propagating the later chunk twice. Recomputing a chunk's forward in a workspace
 * after its successor's backward (checkpointing) is fine.
 *
 * <p>For unidirectional networks (a reverse direction does not run chunk by chunk). Not
 * thread-safe; one per sequence being back-propagated.
 */
public final class Carry {
    final Shape shape;
    final int batch;
    /** Per layer: delta of the chunk's first step, B x G*H, rows in the batch's own order. */
    final float[][] delta;
    /**
     * Per layer, gated cells: the recursion's second carry at the chunk's first step (the LSTM's
     * dL/dc_0, the GRU's z * dL/dh), B x H, rows in the batch's own order; null for Elman.
     */
    final float[][] aux;
    /** The workspace and forward pass that filled it (0: empty). */
    Workspace source;
    long sourceGeneration;
    boolean filled;

    Carry(Shape shape, int batch) {
        if (shape.directions() != 1) {
            throw new IllegalArgumentException("a chunk carry needs a unidirectional network, got " + shape
                    + " (a reverse direction runs over the whole sequence at once)");
        }
        Checks.positive("batch", batch);
        this.shape = shape;
        this.batch = batch;
        int gh = shape.gates() * shape.hidden();
        this.delta = new float[shape.layers()][batch * gh];
        this.aux = shape.cell() != Cell.ELMAN ? new float[shape.layers()][batch * shape.hidden()] : null;
    }

    /** Sequences this carry holds. */
    public int batch() { return batch; }

    /** True once a backward call has filled it (until {@link #clear()}). */
    public boolean isFilled() { return filled; }

    /** Empties the carry: the next backward call starts from zeros, as the last chunk does. */
    public void clear() {
        for (float[] d : delta) Arrays.fill(d, 0f);
        if (aux != null) for (float[] c : aux) Arrays.fill(c, 0f);
        filled = false;
        source = null;
        sourceGeneration = 0;
    }
}
