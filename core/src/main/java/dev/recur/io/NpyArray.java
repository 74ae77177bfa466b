package dev.recur.io;

import java.util.Arrays;

/**
 * One n-dimensional array as numpy stores it in a .npy file: a dtype, a shape (C order) and
 * the values in a flat Java array: {@code float[]} for float32, {@code double[]} for float64,
 * {@code int[]} for int32, {@code long[]} for int64, or a {@code String} for a 0-d unicode
 * array (numpy {@code '<U'}, used for a model's JSON {@code meta}).
 */
public final class NpyArray {

    /** The dtypes recur reads and writes (little-endian; big-endian ones are read too). */
    public enum DType {
        /** numpy {@code <f4}: 4-byte IEEE float. */
        FLOAT32("f4", 4),
        /** numpy {@code <f8}: 8-byte IEEE double. */
        FLOAT64("f8", 8),
        /** numpy {@code <i4}: 4-byte signed integer. */
        INT32("i4", 4),
        /** numpy {@code <i8}: 8-byte signed integer. */
        INT64("i8", 8),
        /** numpy {@code <U}: a UTF-32 string, 4 bytes per code point (0-d arrays only). */
        UNICODE("U", 4);

        final String code;
        final int itemSize;

        DType(String code, int itemSize) {
            this.code = code;
            this.itemSize = itemSize;
        }

        /** numpy's name: float32, int64, str... */
        public String numpyName() {
            return switch (this) {
                case FLOAT32 -> "float32";
                case FLOAT64 -> "float64";
                case INT32 -> "int32";
                case INT64 -> "int64";
                case UNICODE -> "str";
            };
        }

        /** {@return true for FLOAT32 and FLOAT64} */
        public boolean isFloat() { return this == FLOAT32 || this == FLOAT64; }

        /** {@return true for INT32 and INT64} */
        public boolean isInteger() { return this == INT32 || this == INT64; }
    }

    private final DType dtype;
    private final int[] shape;
    private final Object data;

    private NpyArray(DType dtype, int[] shape, Object data) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("shape = " + Arrays.toString(shape) + ", expected sizes >= 0");
        }
        if (dtype != DType.UNICODE) {
            long n = count(shape);
            int len = switch (dtype) {
                case FLOAT32 -> ((float[]) data).length;
                case FLOAT64 -> ((double[]) data).length;
                case INT32 -> ((int[]) data).length;
                case INT64 -> ((long[]) data).length;
                default -> throw new AssertionError();
            };
            if (len != n) {
                throw new IllegalArgumentException("data has " + len + " values, expected " + n + " for shape "
                        + shapeString(shape));
            }
        } else if (shape.length != 0) {
            throw new IllegalArgumentException("unicode arrays are 0-d here, got shape " + shapeString(shape));
        }
    }

    /**
     * A float32 array over {@code data} (not copied), row-major (C order).
     *
     * @param data  the values, {@code product(shape)} of them
     * @param shape the dimensions; none for a 0-d array of one value
     * @return the array
     * @throws IllegalArgumentException if a dimension is negative or the length is not the
     *         product of the shape
     */
    public static NpyArray of(float[] data, int... shape) { return new NpyArray(DType.FLOAT32, shape, data); }

    /**
     * A float64 array; as {@link #of(float[], int...)}.
     *
     * @param data  the values, row-major
     * @param shape the dimensions
     * @return the array
     * @throws IllegalArgumentException as {@link #of(float[], int...)}
     */
    public static NpyArray of(double[] data, int... shape) { return new NpyArray(DType.FLOAT64, shape, data); }

    /**
     * An int32 array; as {@link #of(float[], int...)}.
     *
     * @param data  the values, row-major
     * @param shape the dimensions
     * @return the array
     * @throws IllegalArgumentException as {@link #of(float[], int...)}
     */
    public static NpyArray of(int[] data, int... shape) { return new NpyArray(DType.INT32, shape, data); }

    /**
     * An int64 array; as {@link #of(float[], int...)}.
     *
     * @param data  the values, row-major
     * @param shape the dimensions
     * @return the array
     * @throws IllegalArgumentException as {@link #of(float[], int...)}
     */
    public static NpyArray of(long[] data, int... shape) { return new NpyArray(DType.INT64, shape, data); }

    /** A 0-d unicode array (numpy {@code np.array("text")}). */
    public static NpyArray ofString(String s) {
        if (s == null) throw new IllegalArgumentException("string is null");
        return new NpyArray(DType.UNICODE, new int[0], s);
    }

    /** A 0-d float64 scalar (numpy {@code np.float64(x)} saved as an array). */
    public static NpyArray scalar(double v) { return new NpyArray(DType.FLOAT64, new int[0], new double[] {v}); }

    /** {@return the element type} */
    public DType dtype() { return dtype; }

    /** The shape (a copy); empty for a 0-d array. */
    public int[] shape() { return shape.clone(); }

    /** {@return the number of dimensions; 0 for a 0-d array} */
    public int ndim() { return shape.length; }

    /**
     * One dimension.
     *
     * @param k the axis, in [0, ndim())
     * @return the size along axis {@code k}
     * @throws ArrayIndexOutOfBoundsException if {@code k} is not an axis
     */
    public int dim(int k) { return shape[k]; }

    /** Number of values (1 for a 0-d array). */
    public long size() { return count(shape); }

    /** The backing array itself: float[], double[], int[], long[] or String. */
    public Object data() { return data; }

    /** The string of a 0-d unicode array. */
    public String string() {
        if (dtype != DType.UNICODE) throw new IllegalStateException("dtype is " + dtype.numpyName() + ", expected str");
        return (String) data;
    }

    /** The values as float (float64 rounds to nearest); integer dtypes are an error. */
    public float[] toFloats() {
        return switch (dtype) {
            case FLOAT32 -> (float[]) data;
            case FLOAT64 -> {
                double[] d = (double[]) data;
                float[] f = new float[d.length];
                for (int k = 0; k < d.length; k++) f[k] = (float) d[k];
                yield f;
            }
            default -> throw new IllegalStateException("dtype is " + dtype.numpyName() + ", expected float32 or float64");
        };
    }

    /** The values as double; integer dtypes are an error. */
    public double[] toDoubles() {
        return switch (dtype) {
            case FLOAT64 -> (double[]) data;
            case FLOAT32 -> {
                float[] f = (float[]) data;
                double[] d = new double[f.length];
                for (int k = 0; k < f.length; k++) d[k] = f[k];
                yield d;
            }
            default -> throw new IllegalStateException("dtype is " + dtype.numpyName() + ", expected float32 or float64");
        };
    }

    /**
     * The values as int; int64 values outside the int range are an error (the message names
     * the first one and {@code what}).
     */
    public int[] toInts(String what) {
        return switch (dtype) {
            case INT32 -> (int[]) data;
            case INT64 -> {
                long[] l = (long[]) data;
                int[] r = new int[l.length];
                for (int k = 0; k < l.length; k++) {
                    if (l[k] < Integer.MIN_VALUE || l[k] > Integer.MAX_VALUE) {
                        throw new IllegalArgumentException(what + "[" + k + "] = " + l[k] + ", expected a value in the int range");
                    }
                    r[k] = (int) l[k];
                }
                yield r;
            }
            default -> throw new IllegalStateException("dtype is " + dtype.numpyName() + ", expected int32 or int64");
        };
    }

    static long count(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
            if (n > Integer.MAX_VALUE) return Long.MAX_VALUE;
        }
        return n;
    }

    /** Python's spelling of a shape: (), (3,), (3, 4). */
    public static String shapeString(int[] shape) {
        if (shape.length == 1) return "(" + shape[0] + ",)";
        StringBuilder b = new StringBuilder("(");
        for (int k = 0; k < shape.length; k++) {
            if (k > 0) b.append(", ");
            b.append(shape[k]);
        }
        return b.append(')').toString();
    }

    @Override
    public String toString() { return dtype.numpyName() + " array of shape " + shapeString(shape); }
}
