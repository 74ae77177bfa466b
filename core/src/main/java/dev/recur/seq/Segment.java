package dev.recur.seq;

import dev.recur.Batch;
import dev.recur.Loss;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.Workspace;

/**
 * A reusable buffer for a fixed number of steps of an {@link InputSource}: exactly the arrays
 * the engine takes for that many steps ({@code float[n*B*I]} or {@code int[n*B]} inputs;
 * {@code int[n*B]} or {@code float[n*B*O]} targets). A driver allocates one per segment length
 * it uses, once, and refills it with {@link InputSource#read}.
 */
public final class Segment {
    private final int steps;
    private final int batch;
    private final float[] x;
    private final int[] xi;
    private final int[] yi;
    private final float[] yf;
    /** The engine call's arguments over these arrays, made once. */
    private final Batch call;

    private Segment(int steps, int batch, float[] x, int[] xi, int[] yi, float[] yf) {
        this.steps = steps;
        this.batch = batch;
        this.x = x;
        this.xi = xi;
        this.yi = yi;
        this.yf = yf;
        this.call = new Batch(batch, steps);
        if (x != null) call.input(x);
        else call.input(xi);
    }

    /** A buffer for {@code steps} steps of {@code source}. */
    public static Segment allocate(InputSource source, int steps) {
        dev.recur.internal.Checks.positive("steps", steps);
        int b = source.batch();
        long nx = source.inputKind() == InputSource.Kind.DENSE ? (long) steps * b * source.inputSize() : (long) steps * b;
        long ny = source.targetKind() == InputSource.Kind.DENSE ? (long) steps * b * source.outputSize() : (long) steps * b;
        if (nx > Integer.MAX_VALUE - 16 || ny > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("a segment of " + steps + " steps needs " + Math.max(nx, ny)
                    + " elements in one array, expected at most " + (Integer.MAX_VALUE - 16) + "; use a shorter segment");
        }
        return new Segment(steps, b,
                source.inputKind() == InputSource.Kind.DENSE ? new float[(int) nx] : null,
                source.inputKind() == InputSource.Kind.CLASS ? new int[(int) nx] : null,
                source.targetKind() == InputSource.Kind.CLASS ? new int[(int) ny] : null,
                source.targetKind() == InputSource.Kind.DENSE ? new float[(int) ny] : null);
    }

    /** Bytes this buffer would take for {@code steps} steps (for memory estimates). */
    public static long bytes(InputSource.Kind in, InputSource.Kind target, int batch, int input, int output, long steps) {
        long nx = in == InputSource.Kind.DENSE ? steps * batch * input : steps * batch;
        long ny = target == InputSource.Kind.DENSE ? steps * batch * output : steps * batch;
        return 4 * (nx + ny) + 64;
    }

    /** {@return the steps this buffer holds, n} */
    public int steps() { return steps; }

    /** {@return the sequences per step, B} */
    public int batch() { return batch; }
    /** Dense inputs ({@code float[steps*B*I]}), or null for class inputs. */
    public float[] denseInputs() { return x; }
    /** Class-index inputs ({@code int[steps*B]}), or null for dense inputs. */
    public int[] classInputs() { return xi; }
    /** Class targets ({@code int[steps*B]}), or null for float targets. */
    public int[] classTargets() { return yi; }
    /** Float targets ({@code float[steps*B*O]}), or null for class targets. */
    public float[] denseTargets() { return yf; }

    /** Forward with the loss head over this segment from states h0 (and LSTM c0; null: zeros); returns the summed loss. */
    double forward(Rnn rnn, Params p, Workspace ws, float[] h0, float[] c0) {
        if (yi != null) call.targets(yi).loss(Loss.CROSS_ENTROPY);
        else call.targets(yf).loss(Loss.SQUARED_ERROR);
        call.initialState(h0).initialCell(c0);
        return rnn.forward(p, ws, call);
    }

    /** Forward without a loss head (states only). */
    void forwardLayer(Rnn rnn, Params p, Workspace ws, float[] h0, float[] c0) {
        call.noTargets().initialState(h0).initialCell(c0);
        rnn.forward(p, ws, call);
    }
}
