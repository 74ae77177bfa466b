package dev.recur;

/**
 * What a backward call takes beyond the loss and gives back beyond the parameter gradients:
 * gradients arriving from outside the network (from a layer above it, from a later chunk of the
 * sequence) and gradients leaving it (to the inputs, to the initial states). Each is optional;
 * arrays are read or written where they are, from the offsets given. Layouts as in
 * {@link Batch} (time-major, padded to T, states {@code [layer*D + direction][b][j]}).
 *
 * <p>In:
 * <ul>
 *   <li>{@link #outputGradient}: dL/d(top layer's states), {@code T*B*D*H} floats (layer mode:
 *   the network is one part of the caller's model); added to the head's gradient if the
 *   forward had a loss. Entries past a sequence's length are not read;</li>
 *   <li>{@link #finalStateGradient} / {@link #finalCellGradient}: dL/dh_T and dL/dc_T of each
 *   sequence's final state (the state the forward reports as final), {@code L*D*B*H}.</li>
 * </ul>
 * Out (each overwritten):
 * <ul>
 *   <li>{@link #inputGradient}: dL/dx_t, {@code T*B*I} floats (dense inputs only), zero past a
 *   sequence's length;</li>
 *   <li>{@link #initialStateGradient} / {@link #initialCellGradient}: dL/dh0 and dL/dc0,
 *   {@code L*D*B*H}.</li>
 * </ul>
 * And {@link #carry}: a sequence split into chunks (unidirectional networks) runs backward from
 * its last chunk, each chunk taking the carry its successor left and leaving one for its
 * predecessor; the gradients are then bitwise those of the unsplit sequence (see {@link Carry}).
 *
 * <p>Reusable and allocation-free, like {@link Batch}. Not thread-safe.
 */
public final class Backprop {
    /** An empty description: no incoming gradients, no input or initial-state gradients asked for. */
    public Backprop() {}

    float[] dY;
    int dYOff;
    float[] dhT;
    int dhTOff;
    float[] dcT;
    int dcTOff;
    float[] dX;
    int dXOff;
    float[] dh0;
    int dh0Off;
    float[] dc0;
    int dc0Off;
    Carry carry;

    /** Copies every field of {@code o} (the engine's direction lanes redirect one of them). */
    void copyFrom(Backprop o) {
        dY = o.dY;
        dYOff = o.dYOff;
        dhT = o.dhT;
        dhTOff = o.dhTOff;
        dcT = o.dcT;
        dcTOff = o.dcTOff;
        dX = o.dX;
        dXOff = o.dXOff;
        dh0 = o.dh0;
        dh0Off = o.dh0Off;
        dc0 = o.dc0;
        dc0Off = o.dc0Off;
        carry = o.carry;
    }

    /** dL/d(top layer's states), {@code T*B*D*H} floats from {@code offset}; null: none. */
    public Backprop outputGradient(float[] dY, int offset) {
        this.dY = dY;
        this.dYOff = offset;
        return this;
    }

    /** dL/dh of each sequence's final state, {@code L*D*B*H} floats from {@code offset}; null: zeros. */
    public Backprop finalStateGradient(float[] dhT, int offset) {
        this.dhT = dhT;
        this.dhTOff = offset;
        return this;
    }

    /** dL/dc of each sequence's final LSTM cell state, {@code L*D*B*H} floats from {@code offset}; null: zeros. */
    public Backprop finalCellGradient(float[] dcT, int offset) {
        this.dcT = dcT;
        this.dcTOff = offset;
        return this;
    }

    /** Receives dL/dx, {@code T*B*I} floats from {@code offset} (overwritten); null: not computed. */
    public Backprop inputGradient(float[] dX, int offset) {
        this.dX = dX;
        this.dXOff = offset;
        return this;
    }

    /** Receives dL/dh0, {@code L*D*B*H} floats from {@code offset} (overwritten); null: not computed. */
    public Backprop initialStateGradient(float[] dh0, int offset) {
        this.dh0 = dh0;
        this.dh0Off = offset;
        return this;
    }

    /** Receives dL/dc0 of an LSTM, {@code L*D*B*H} floats from {@code offset} (overwritten); null: not computed. */
    public Backprop initialCellGradient(float[] dc0, int offset) {
        this.dc0 = dc0;
        this.dc0Off = offset;
        return this;
    }

    /** The chunk carry to read (if a later chunk filled it) and refill; null: none. */
    public Backprop carry(Carry carry) {
        this.carry = carry;
        return this;
    }

    /** Forgets every array and the carry. */
    public Backprop clear() {
        dY = dhT = dcT = dX = dh0 = dc0 = null;
        dYOff = dhTOff = dcTOff = dXOff = dh0Off = dc0Off = 0;
        carry = null;
        return this;
    }
}
