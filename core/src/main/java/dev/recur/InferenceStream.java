package dev.recur;

import java.util.Arrays;

/**
 * Step-by-step inference: {@code batch} sequences advanced one step per call, the state kept
 * inside, as a backend serving tokens one at a time needs it.
 *
 * <pre>{@code
 * InferenceStream s = rnn.stream(params, 1);
 * float[] o = new float[shape.output()];
 * for (float[] x : inputs) s.step(x, 0, o, 0);   // o = o_t = V h_t + c
 * }</pre>
 *
 * <p><b>Prepared once.</b> The stream prepares the engine's per-call weights (W_ih^T, V^T, the
 * bias sums, W_hh^T and both products' weights packed into panels) from {@code params} when it is made and
 * reuses them on every step; a step costs about what one step inside a long {@link Rnn#predict}
 * call costs, allocates nothing, and gives bitwise the outputs that one predict call over the
 * whole sequence gives (same engine). Parameters changed in place afterwards (training) are not
 * seen until {@link #refresh()}.
 *
 * <p><b>State.</b> h (and an LSTM's c) of every layer, {@code (layers, batch, hidden)} floats as
 * {@link Batch#initialState} takes them, zero at the start and after {@link #reset()}; read it
 * with {@link #state}, set it with {@link #setState} (carry in and out, e.g. between a stream and
 * chunked calls of the same engine).
 *
 * <p><b>Threads.</b> A stream belongs to one thread at a time. Many streams may be made from one
 * engine and one params (each keeps its own prepared copy: O(parameters) memory); the engine
 * runs one call at a time, so streams that must step in parallel take one engine each (an
 * engine is cheap to build).
 *
 * <p>Unidirectional networks only (a reverse direction needs the whole sequence first). A
 * network without an output head streams its top layer's h_t instead of o_t.
 */
public final class InferenceStream {
    private final Rnn rnn;
    private final Params params;
    private final Shape shape;
    private final int batch;
    private final Workspace ws;
    private final Batch step;
    private final float[] h, c;
    /** The stream's own output array, for {@link #step(float[])}. */
    private final float[] out;
    private long steps;

    InferenceStream(Rnn rnn, Params params, int batch) {
        this.rnn = rnn;
        this.shape = rnn.shape();
        if (params == null || !params.shape().equals(shape)) {
            throw new IllegalArgumentException("params.shape() = " + (params == null ? "null" : params.shape())
                    + ", expected the engine's " + shape);
        }
        if (shape.bidirectional()) {
            throw new IllegalArgumentException("stream needs a unidirectional network; " + shape + " runs a reverse "
                    + "direction over the whole sequence, expected predict on a whole batch instead");
        }
        this.params = params;
        this.batch = batch;
        this.ws = rnn.inferenceWorkspace(batch);   // checks batch >= 1
        rnn.preparePacks(ws);
        int n = shape.stateBlocks() * batch * shape.hidden();
        this.h = new float[n];
        this.c = shape.cell().hasCellState() ? new float[n] : null;
        this.out = new float[batch * width()];
        this.step = new Batch(batch, 1).initialState(h).initialCell(c);
        refresh();
    }

    /** The network's shape. */
    public Shape shape() { return shape; }

    /** Sequences advanced per step. */
    public int batch() { return batch; }

    /** Floats per sequence that a step writes: the head's O, or H of the top layer without a head. */
    public int width() { return shape.hasHead() ? shape.output() : shape.hidden(); }

    /** Steps taken since the stream was made or last {@link #reset()}. */
    public long steps() { return steps; }

    /**
     * One step of every sequence on dense inputs: {@code batch*input} floats of x_t from
     * {@code xOffset} (row b at {@code xOffset + b*input}); writes {@code batch*width()} floats
     * of o_t (or the top layer's h_t) into {@code out} from {@code outOffset}.
     */
    public void step(float[] x, int xOffset, float[] out, int outOffset) {
        step.input(x, xOffset);
        advance(out, outOffset);
    }

    /** One step on class inputs: {@code batch} indices in [0, input) from {@code offset}; outputs as above. */
    public void step(int[] classes, int offset, float[] out, int outOffset) {
        step.input(classes, offset);
        advance(out, outOffset);
    }

    /**
     * One step on dense inputs ({@code batch*input} floats from 0); returns the stream's own
     * output array ({@code batch*width()} floats), overwritten by the next step.
     */
    public float[] step(float[] x) {
        step(x, 0, out, 0);
        return out;
    }

    private void advance(float[] o, int off) {
        if (o == null) throw new IllegalArgumentException("out is null, expected an array of batch*width() = " + out.length + " floats");
        if (off < 0 || (long) off + out.length > o.length) {
            throw new IllegalArgumentException("out.length = " + o.length + " from offset " + off + ", expected room for batch*width() = "
                    + out.length + " floats");
        }
        if (shape.hasHead()) {
            rnn.streamStep(params, ws, step, o, off);
        } else {
            rnn.streamStep(params, ws, step, null, 0);
        }
        ws.finalState(h, 0);
        if (c != null) ws.finalCell(c, 0);
        if (!shape.hasHead()) {
            // the top layer's h_t: the last of the (layers, batch, hidden) blocks
            int n = batch * shape.hidden();
            System.arraycopy(h, h.length - n, o, off, n);
        }
        steps++;
    }

    /** Zero state (h and c), as at the start of a sequence. */
    public void reset() {
        Arrays.fill(h, 0f);
        if (c != null) Arrays.fill(c, 0f);
        steps = 0;
    }

    /** Prepares the weights again from the params: call it after changing them in place. */
    public void refresh() {
        ws.preparedFor = null;
    }

    /** Copies h of every layer, {@code (layers, batch, hidden)}, into {@code dst} from {@code offset}; returns dst. */
    public float[] state(float[] dst, int offset) {
        return copy("dst", h, dst, offset, true);
    }

    /** Sets h of every layer from {@code src} ({@code (layers, batch, hidden)} floats from {@code offset}). */
    public void setState(float[] src, int offset) {
        copy("src", h, src, offset, false);
    }

    /** Copies an LSTM's c of every layer, laid out as {@link #state}; returns dst. */
    public float[] cell(float[] dst, int offset) {
        return copy("dst", requireCell(), dst, offset, true);
    }

    /** Sets an LSTM's c of every layer, laid out as {@link #setState}. */
    public void setCell(float[] src, int offset) {
        copy("src", requireCell(), src, offset, false);
    }

    private float[] requireCell() {
        if (c == null) throw new IllegalStateException("cell state needs an LSTM; this network's cell is " + shape.cell().id());
        return c;
    }

    private static float[] copy(String name, float[] mine, float[] other, int offset, boolean out) {
        if (other == null) throw new IllegalArgumentException(name + " is null, expected (layers, batch, hidden) = " + mine.length + " floats");
        if (offset < 0 || (long) offset + mine.length > other.length) {
            throw new IllegalArgumentException(name + ".length = " + other.length + " from offset " + offset
                    + ", expected room for (layers, batch, hidden) = " + mine.length + " floats");
        }
        if (out) System.arraycopy(mine, 0, other, offset, mine.length);
        else System.arraycopy(other, offset, mine, 0, mine.length);
        return other;
    }

    @Override
    public String toString() {
        return "InferenceStream[" + shape + ", batch " + batch + ", " + steps + " steps, on " + rnn + "]";
    }
}
