package dev.recur.cli;

import dev.recur.Backprop;
import dev.recur.Batch;
import dev.recur.Cell;
import dev.recur.Grads;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Workspace;

import java.util.Arrays;

/**
 * Loss and gradients of one batch under a BPTT mode, built from the engine's chunk API:
 * a forward pass carries its final state (and an LSTM's cell state) into the next chunk, and
 * backward carries dL/dh_0 (and dL/dc_0) of a later chunk into dL/dh_T (dL/dc_T) of the earlier
 * one, so chunks compose into exact gradients.
 *
 * <ul>
 *   <li><b>full</b>: one update per batch, the exact gradient of the summed loss of all T steps.
 *   <li><b>truncated k1/k2</b> (Williams and Peng's BPTT(h; h')): every k1 steps one update, from
 *       the loss of those k1 steps back-propagated through the last k2 >= k1 steps (the
 *       k2 - k1 earlier steps run forward again without a loss head, from the stored state).
 * </ul>
 *
 * Tasks that score only the last L steps (the adding problem) run the unscored steps as a
 * layer-mode chunk (no loss head) and the scored ones with the head.
 */
final class SequenceGrad {

    /** Called after every update's gradient is complete; it clips and steps the optimiser. */
    interface Update {
        void apply(Grads grads);
    }

    private final Rnn rnn;
    private final int B, T, L, I, H;
    /** Floats of one step's states: every layer's, L*B*H. */
    private final int kbh;
    private final boolean truncated;
    private final int k1, k2;
    private final Workspace wsA, wsB;
    private final Grads grads;
    private final float[] states;    // every layer's h_0..h_T, (T+1)*kbh
    /** An LSTM's cell states c_0..c_T laid out as {@link #states}; null for the other cells. */
    private final float[] cells;
    private final float[] dh, dc;
    /** The zero dL/dh_t of the look-back chunks (no loss there), sized for the longest. */
    private final float[] zeros;
    private final Batch batchA, batchB;
    private final Backprop bp = new Backprop();

    SequenceGrad(Rnn rnn, int B, int T, int L, boolean truncated, int k1, int k2) {
        this.rnn = rnn;
        this.B = B;
        this.T = T;
        this.L = L;
        this.I = rnn.shape().input();
        this.H = rnn.shape().hidden();
        this.kbh = rnn.shape().layers() * B * H;
        this.truncated = truncated;
        this.k1 = truncated ? k1 : T;
        this.k2 = truncated ? k2 : T;
        int span = Math.min(T, this.k2);
        this.wsA = rnn.trainingWorkspace(B, span);
        this.wsB = rnn.trainingWorkspace(B, span);
        this.grads = Grads.zeros(rnn.shape());
        this.states = new float[(T + 1) * kbh];
        this.dh = new float[kbh];
        boolean lstm = rnn.shape().cell() == Cell.LSTM;
        this.cells = lstm ? new float[(T + 1) * kbh] : null;
        this.dc = lstm ? new float[kbh] : null;
        this.zeros = new float[span * B * H];
        this.batchA = new Batch(B, span);
        this.batchB = new Batch(B, span);
    }

    /** {@link #run(Params, Task.Batch, float[], float[], float[], float[], Update)} for cells without a cell state. */
    double run(Params params, Task.Batch b, float[] h0, float[] hT, Update update) {
        return run(params, b, h0, null, hT, null, update);
    }

    /**
     * Runs the batch from the initial states {@code h0} and, for an LSTM, cell states {@code c0}
     * (every layer's, L*B*H, or null for zeros), calling {@code update} after each gradient, and
     * writes the final states into {@code hT} and {@code cT} (either may be null). Returns the
     * summed loss of the scored steps (each scored once).
     */
    double run(Params params, Task.Batch b, float[] h0, float[] c0, float[] hT, float[] cT, Update update) {
        final int bh = kbh;
        if (h0 != null) System.arraycopy(h0, 0, states, 0, bh);
        else Arrays.fill(states, 0, bh, 0f);
        if (cells != null) {
            if (c0 != null) System.arraycopy(c0, 0, cells, 0, bh);
            else Arrays.fill(cells, 0, bh, 0f);
        } else if (c0 != null || cT != null) {
            throw new IllegalArgumentException("cell states given for " + rnn.shape() + ", expected them for an LSTM only");
        }
        double loss = 0;
        int done = 0; // states[0..done] are known
        int prev = 0; // end of the previous window
        for (int e = Math.min(k1, T); ; prev = e, e = Math.min(e + k1, T)) {
            int lossStart = Math.max(prev, T - L);
            if (lossStart >= e) {
                // nothing scored in this window: run it forward for the states only
                forwardLayer(params, b, done, e);
                done = e;
            } else {
                int s = Math.max(0, e - k2);
                if (s > done) {
                    forwardLayer(params, b, done, s);
                    done = s;
                }
                grads.zero();
                loss += window(params, b, s, lossStart, e);
                done = e;
                update.apply(grads);
            }
            if (e == T) break;
        }
        if (hT != null) System.arraycopy(states, T * bh, hT, 0, bh);
        if (cT != null) System.arraycopy(cells, T * bh, cT, 0, bh);
        return loss;
    }

    /** Forward over [s, lossStart) without a head and [lossStart, e) with one; backward through both. */
    private double window(Params params, Task.Batch b, int s, int lossStart, int e) {
        final int nA = lossStart - s, nB = e - lossStart;
        if (nA > 0) forward(params, wsA, batchA, b, s, lossStart, false);
        double loss = forward(params, wsB, batchB, b, lossStart, e, true);
        bp.clear().initialStateGradient(dh, 0);
        if (dc != null) bp.initialCellGradient(dc, 0);
        rnn.backward(params, wsB, grads, bp);
        if (nA > 0) {
            bp.clear().outputGradient(zeros, 0).finalStateGradient(dh, 0);
            if (dc != null) bp.finalCellGradient(dc, 0);
            rnn.backward(params, wsA, grads, bp);
        }
        return loss;
    }

    private void forwardLayer(Params params, Task.Batch b, int from, int to) {
        for (int a = from; a < to; ) {
            int n = Math.min(to - a, wsA.maxSteps());
            forward(params, wsA, batchA, b, a, a + n, false);
            a += n;
        }
    }

    /**
     * Steps [from, to) from the stored states at {@code from} (slices of the task's arrays, no
     * copies), with the loss head or without; the new states are stored.
     */
    private double forward(Params params, Workspace ws, Batch call, Task.Batch b, int from, int to, boolean head) {
        int n = to - from;
        call.size(B, n).initialState(states, from * kbh);
        if (cells != null) call.initialCell(cells, from * kbh);
        if (b.xi != null) call.input(b.xi, from * B);
        else call.input(b.xf, from * B * I);
        if (!head) {
            call.noTargets();
        } else {
            // targets cover the last L steps only
            int off = from - (T - L);
            if (b.yi != null) call.targets(b.yi, off * B).loss(Loss.CROSS_ENTROPY);
            else call.targets(b.yf, off * B * rnn.shape().output()).loss(Loss.SQUARED_ERROR);
        }
        double loss = rnn.forward(params, ws, call);
        for (int t = 1; t <= n; t++) {
            ws.stateAt(t, states, (from + t) * kbh);
            if (cells != null) ws.cellAt(t, cells, (from + t) * kbh);
        }
        return loss;
    }
}
