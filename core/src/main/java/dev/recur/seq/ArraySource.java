package dev.recur.seq;

/**
 * A sequence held in arrays in memory, in the engine's layout (time-major, {@code x[t][r][i]}).
 * The arrays are referenced, not copied. Lengths: T*B*I floats or T*B ints for inputs; T*B ints
 * or T*B*O floats for targets.
 */
public final class ArraySource implements InputSource {
    private final long steps;
    private final int batch, input, output;
    private final float[] x;
    private final int[] xi;
    private final int[] yi;
    private final float[] yf;

    private ArraySource(int batch, int input, int output, float[] x, int[] xi, int[] yi, float[] yf) {
        dev.recur.internal.Checks.positive("batch", batch);
        dev.recur.internal.Checks.positive("input", input);
        dev.recur.internal.Checks.positive("output", output);
        this.batch = batch;
        this.input = input;
        this.output = output;
        this.x = x;
        this.xi = xi;
        this.yi = yi;
        this.yf = yf;
        long perStepX = x != null ? (long) batch * input : batch;
        int lenX = x != null ? x.length : xi.length;
        if (lenX == 0 || lenX % perStepX != 0) {
            throw new IllegalArgumentException("inputs.length = " + lenX + ", expected a positive multiple of "
                    + (x != null ? "batch*input = " : "batch = ") + perStepX);
        }
        this.steps = lenX / perStepX;
        long expY = yi != null ? steps * batch : steps * batch * output;
        int lenY = yi != null ? yi.length : yf.length;
        if (lenY != expY) {
            throw new IllegalArgumentException("targets.length = " + lenY + ", expected " + (yi != null ? "steps*batch" : "steps*batch*output")
                    + " = " + expY + " (steps = " + steps + " from the inputs)");
        }
        if (xi != null) dev.recur.internal.Checks.indices("inputs", xi, input, "input");
        if (yi != null) dev.recur.internal.Checks.indices("targets", yi, output, "output");
    }

    /** Dense inputs, class targets. */
    public static ArraySource of(int batch, int input, int output, float[] x, int[] targets) {
        return new ArraySource(batch, input, output, nn("inputs", x), null, nn("targets", targets), null);
    }

    /** Dense inputs, float targets. */
    public static ArraySource of(int batch, int input, int output, float[] x, float[] targets) {
        return new ArraySource(batch, input, output, nn("inputs", x), null, null, nn("targets", targets));
    }

    /** Class inputs, class targets. */
    public static ArraySource of(int batch, int input, int output, int[] x, int[] targets) {
        return new ArraySource(batch, input, output, null, nn("inputs", x), nn("targets", targets), null);
    }

    /** Class inputs, float targets. */
    public static ArraySource of(int batch, int input, int output, int[] x, float[] targets) {
        return new ArraySource(batch, input, output, null, nn("inputs", x), null, nn("targets", targets));
    }

    private static <T> T nn(String name, T a) {
        if (a == null) throw new IllegalArgumentException(name + " is null, expected an array");
        return a;
    }

    @Override public long steps() { return steps; }
    @Override public int batch() { return batch; }
    @Override public int inputSize() { return input; }
    @Override public int outputSize() { return output; }
    @Override public Kind inputKind() { return x != null ? Kind.DENSE : Kind.CLASS; }
    @Override public Kind targetKind() { return yi != null ? Kind.CLASS : Kind.DENSE; }

    @Override
    public void read(long t0, Segment into) {
        int n = into.steps();
        InputSource.checkRange(this, t0, n);
        int s = (int) t0;
        if (x != null) System.arraycopy(x, s * batch * input, into.denseInputs(), 0, n * batch * input);
        else System.arraycopy(xi, s * batch, into.classInputs(), 0, n * batch);
        if (yi != null) System.arraycopy(yi, s * batch, into.classTargets(), 0, n * batch);
        else System.arraycopy(yf, s * batch * output, into.denseTargets(), 0, n * batch * output);
    }
}
