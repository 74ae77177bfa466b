package dev.recur.cli;

import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Workspace;

import java.util.HashMap;
import java.util.Map;

/**
 * Loss and gradients of one batch under a BPTT mode, built from the engine's chunk API:
 * a forward pass carries its final state into the next chunk, and backward carries dL/dh_0 of
 * a later chunk into dL/dh_T of the earlier one, so chunks compose into exact gradients.
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
    private final int B, T, L, I, O, H;
    private final boolean truncated;
    private final int k1, k2;
    private final Workspace wsA, wsB;
    private final Grads grads;
    private final float[] states;    // h_0..h_T, (T+1)*B*H
    private final float[] dh, zerosDH;
    // Inputs stay referenced by a workspace until its backward: one pool per workspace.
    private final Map<Integer, int[]> intA = new HashMap<>(), intB = new HashMap<>();
    private final Map<Integer, float[]> floatA = new HashMap<>(), floatB = new HashMap<>();
    private final Map<Integer, float[]> zerosBuf = new HashMap<>(), slices = new HashMap<>();

    SequenceGrad(Rnn rnn, int B, int T, int L, boolean truncated, int k1, int k2) {
        this.rnn = rnn;
        this.B = B;
        this.T = T;
        this.L = L;
        this.I = rnn.shape().input();
        this.O = rnn.shape().output();
        this.H = rnn.shape().hidden();
        this.truncated = truncated;
        this.k1 = truncated ? k1 : T;
        this.k2 = truncated ? k2 : T;
        int span = Math.min(T, this.k2);
        this.wsA = rnn.trainingWorkspace(B, span);
        this.wsB = rnn.trainingWorkspace(B, span);
        this.grads = Grads.zeros(rnn.shape());
        this.states = new float[(T + 1) * B * H];
        this.dh = new float[B * H];
        this.zerosDH = new float[0];
    }

    /**
     * Runs the batch from the initial state {@code h0} (B*H, or null for zeros), calling
     * {@code update} after each gradient, and writes the final state into {@code hT} (may be
     * null). Returns the summed loss of the scored steps (each scored once).
     */
    double run(Params params, Task.Batch b, float[] h0, float[] hT, Update update) {
        final int bh = B * H;
        if (h0 != null) System.arraycopy(h0, 0, states, 0, bh);
        else java.util.Arrays.fill(states, 0, bh, 0f);
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
        return loss;
    }

    /** Forward over [s, lossStart) without a head and [lossStart, e) with one; backward through both. */
    private double window(Params params, Task.Batch b, int s, int lossStart, int e) {
        final int bh = B * H;
        final int nA = lossStart - s, nB = e - lossStart;
        float[] hStart = slice(states, s * bh, bh);
        if (nA > 0) {
            forward(params, wsA, b, s, lossStart, hStart, false);
            copyStates(wsA, s, nA);
        }
        float[] hMid = slice(states, lossStart * bh, bh);
        double loss = forward(params, wsB, b, lossStart, e, hMid, true);
        copyStates(wsB, lossStart, nB);
        rnn.backward(params, wsB, grads, null, dh);
        if (nA > 0) rnn.backwardLayer(params, wsA, zeros(nA * bh), grads, dh, null, null);
        return loss;
    }

    private void forwardLayer(Params params, Task.Batch b, int from, int to) {
        final int bh = B * H;
        for (int a = from; a < to; ) {
            int n = Math.min(to - a, wsA.maxSteps());
            forward(params, wsA, b, a, a + n, slice(states, a * bh, bh), false);
            copyStates(wsA, a, n);
            a += n;
        }
    }

    private double forward(Params params, Workspace ws, Task.Batch b, int from, int to, float[] h0, boolean head) {
        int n = to - from;
        if (b.xi != null) {
            int[] x = (ws == wsA ? intA : intB).computeIfAbsent(n * B, int[]::new);
            System.arraycopy(b.xi, from * B, x, 0, n * B);
            if (!head) {
                rnn.forwardLayer(params, ws, n, x, h0);
                return 0;
            }
            return b.yi != null ? rnn.forward(params, ws, n, x, targetsI(b, from, n), h0)
                    : rnn.forward(params, ws, n, x, targetsF(b, from, n), h0);
        } else {
            float[] x = (ws == wsA ? floatA : floatB).computeIfAbsent(n * B * I, float[]::new);
            System.arraycopy(b.xf, from * B * I, x, 0, n * B * I);
            if (!head) {
                rnn.forwardLayer(params, ws, n, x, h0);
                return 0;
            }
            return b.yi != null ? rnn.forward(params, ws, n, x, targetsI(b, from, n), h0)
                    : rnn.forward(params, ws, n, x, targetsF(b, from, n), h0);
        }
    }

    private int[] targetsI(Task.Batch b, int from, int n) {
        int off = from - (T - L);
        if (off == 0 && n == L) return b.yi;
        int[] y = new int[n * B];
        System.arraycopy(b.yi, off * B, y, 0, n * B);
        return y;
    }

    private float[] targetsF(Task.Batch b, int from, int n) {
        int off = from - (T - L);
        if (off == 0 && n == L) return b.yf;
        float[] y = new float[n * B * O];
        System.arraycopy(b.yf, off * B * O, y, 0, n * B * O);
        return y;
    }

    private void copyStates(Workspace ws, int from, int n) {
        final int bh = B * H;
        System.arraycopy(ws.hidden(), ws.hiddenOffset(1), states, (from + 1) * bh, n * bh);
    }

    private float[] slice(float[] a, int off, int len) {
        float[] s = slices.computeIfAbsent(off, k -> new float[len]);
        System.arraycopy(a, off, s, 0, len);
        return s;
    }

    private float[] zeros(int len) { return zerosBuf.computeIfAbsent(len, float[]::new); }
}
