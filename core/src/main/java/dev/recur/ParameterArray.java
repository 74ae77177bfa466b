package dev.recur;

import java.util.Arrays;

/**
 * One flat {@code float[]} in the layout of {@link Shape}: U | W | b | V | c. The base of
 * {@link Params} and {@link Grads}, which share the layout so that an optimiser step is one
 * loop over two arrays of the same length.
 *
 * <p>Not thread-safe for writes; any number of threads may read concurrently.
 */
public abstract sealed class ParameterArray permits Params, Grads {
    private final Shape shape;
    private final float[] data;

    ParameterArray(Shape shape, float[] data) {
        if (shape == null) throw new IllegalArgumentException("shape is null");
        Checks.length("data", data, shape.size(), "shape.size() for " + shape);
        this.shape = shape;
        this.data = data;
    }

    public final Shape shape() { return shape; }

    /** The backing array itself (not a copy): offsets in {@link Shape}. */
    public final float[] data() { return data; }

    /** U[i][j], 0 <= i < H, 0 <= j < I. */
    public final float u(int i, int j) { return data[shape.uOffset() + index(i, shape.hidden(), j, shape.input())]; }
    /** W[i][j], 0 <= i, j < H. */
    public final float w(int i, int j) { return data[shape.wOffset() + index(i, shape.hidden(), j, shape.hidden())]; }
    /** b[i], 0 <= i < H. */
    public final float b(int i) { return data[shape.bOffset() + index(0, 1, i, shape.hidden())]; }
    /** V[i][j], 0 <= i < O, 0 <= j < H. */
    public final float v(int i, int j) { return data[shape.vOffset() + index(i, shape.output(), j, shape.hidden())]; }
    /** c[i], 0 <= i < O. */
    public final float c(int i) { return data[shape.cOffset() + index(0, 1, i, shape.output())]; }

    /** Euclidean norm of the whole array, accumulated in double. */
    public final double l2Norm() {
        double s = 0;
        for (float x : data) s += (double) x * x;
        return Math.sqrt(s);
    }

    /** Euclidean norm of one block, accumulated in double; block in {U, W, b, V, c}. */
    public final double l2Norm(Block block) {
        double s = 0;
        for (int k = block.offset(shape), end = k + block.length(shape); k < end; k++) s += (double) data[k] * data[k];
        return Math.sqrt(s);
    }

    /** True if every entry is finite. */
    public final boolean isFinite() {
        for (float x : data) if (!Float.isFinite(x)) return false;
        return true;
    }

    /** Sets every entry to zero. */
    public final void zero() { Arrays.fill(data, 0f); }

    private static int index(int i, int rows, int j, int cols) {
        if (i < 0 || i >= rows || j < 0 || j >= cols) {
            throw new IndexOutOfBoundsException("index (" + i + ", " + j + ") outside " + rows + " x " + cols);
        }
        return i * cols + j;
    }

    /** The five blocks of the layout, in order. */
    public enum Block {
        U, W, B, V, C;

        public int offset(Shape s) {
            return switch (this) {
                case U -> s.uOffset();
                case W -> s.wOffset();
                case B -> s.bOffset();
                case V -> s.vOffset();
                case C -> s.cOffset();
            };
        }

        public int length(Shape s) {
            return switch (this) {
                case U -> s.hidden() * s.input();
                case W -> s.hidden() * s.hidden();
                case B -> s.hidden();
                case V -> s.output() * s.hidden();
                case C -> s.output();
            };
        }

        /** Rows and columns as stored (vectors are 1 x n). */
        public int[] dims(Shape s) {
            return switch (this) {
                case U -> new int[] {s.hidden(), s.input()};
                case W -> new int[] {s.hidden(), s.hidden()};
                case B -> new int[] {s.hidden()};
                case V -> new int[] {s.output(), s.hidden()};
                case C -> new int[] {s.output()};
            };
        }
    }
}
