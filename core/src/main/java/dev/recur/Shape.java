package dev.recur;

/**
 * Layer sizes: input {@code I}, hidden {@code H}, output {@code O}, and the fixed layout of the
 * one flat parameter array shared by {@link Params} and {@link Grads}:
 *
 * <pre>
 *   offset               block   shape   meaning
 *   0                    U       H x I   input weights      (row-major)
 *   H*I                  W       H x H   recurrent weights  (row-major)
 *   H*I + H*H            b       H       hidden bias
 *   H*I + H*H + H        V       O x H   output weights     (row-major)
 *   H*I + H*H + H + O*H  c       O       output bias
 * </pre>
 *
 * One array means an optimiser step, a clip or a save is a single pass over a single array.
 */
public record Shape(int input, int hidden, int output) {

    public Shape {
        Checks.positive("input", input);
        Checks.positive("hidden", hidden);
        Checks.positive("output", output);
        long size = (long) hidden * input + (long) hidden * hidden + hidden + (long) output * hidden + output;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("shape (input=" + input + ", hidden=" + hidden + ", output=" + output
                    + ") needs " + size + " parameters, expected at most " + (Integer.MAX_VALUE - 16)
                    + " (one Java array)");
        }
    }

    public int uOffset() { return 0; }
    public int wOffset() { return hidden * input; }
    public int bOffset() { return wOffset() + hidden * hidden; }
    public int vOffset() { return bOffset() + hidden; }
    public int cOffset() { return vOffset() + output * hidden; }
    /** Total number of parameters. */
    public int size() { return cOffset() + output; }

    /** Flops per step and sequence by the peers' convention, 6H^2 + 6HI + 6HO (counts dL/dx). */
    public double flopsPerStep() {
        double h = hidden;
        return 6 * h * h + 6 * h * input + 6 * h * output;
    }

    @Override public String toString() { return "Shape[I=" + input + ", H=" + hidden + ", O=" + output + "]"; }
}
