package dev.recur.spark;

import dev.recur.cli.CliException;
import dev.recur.io.Npy;
import dev.recur.io.NpyArray;
import dev.recur.io.NpyFormatException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.Serializable;

/**
 * Training data as {@code .npy} sequence batches: inputs int (T,N) class indices or float
 * (T,N,I), targets int (T,N) (softmax cross-entropy) or float (T,N,O) (1/2 squared error), the
 * layout {@code recur grad} reads, through Hadoop's file systems (local, {@code hdfs://}, ...).
 * The driver reads and checks them once; the tasks cut their shards from one broadcast copy.
 * For class data I and O are the largest index plus one.
 */
final class NpySequences {
    private NpySequences() {}

    /** Checked arrays: N sequences of T steps. */
    record Arrays(int steps, int sequences, int[] xi, float[] xf, int input, int[] yi, float[] yf, int output)
            implements Serializable {
        String loss() { return yi != null ? "xent" : "mse"; }
    }

    static Arrays read(Configuration conf, String inputs, String targets) {
        NpyArray x = array(conf, "--inputs", inputs), y = array(conf, "--targets", targets);
        boolean dense = x.dtype().isFloat();
        if (!dense && !x.dtype().isInteger()) throw CliException.runtime("--inputs " + inputs + ": is " + x + ", expected float or int");
        if (x.ndim() != (dense ? 3 : 2) || x.dim(0) < 1 || x.dim(1) < 1 || dense && x.dim(2) < 1) {
            throw CliException.runtime("--inputs " + inputs + ": shape " + NpyArray.shapeString(x.shape()) + ", expected "
                    + (dense ? "(T,N,I) for float inputs" : "(T,N) for int class indices") + " with T, N >= 1");
        }
        int T = x.dim(0), N = x.dim(1);
        int[] xi = null, yi = null;
        float[] xf = null, yf = null;
        int I, O;
        if (dense) {
            xf = finite(x.toFloats(), "--inputs", inputs);
            I = x.dim(2);
        } else {
            xi = ints(x, "--inputs", inputs);
            I = classes(xi, "--inputs", inputs);
        }
        if (y.dtype().isInteger()) {
            if (y.ndim() != 2 || y.dim(0) != T || y.dim(1) != N) {
                throw CliException.runtime("--targets " + targets + ": shape " + NpyArray.shapeString(y.shape()) + ", expected ("
                        + T + ", " + N + ") int class indices (T and N from the inputs)");
            }
            yi = ints(y, "--targets", targets);
            O = classes(yi, "--targets", targets);
        } else if (y.dtype().isFloat()) {
            if (y.ndim() != 3 || y.dim(0) != T || y.dim(1) != N || y.dim(2) < 1) {
                throw CliException.runtime("--targets " + targets + ": shape " + NpyArray.shapeString(y.shape()) + ", expected ("
                        + T + ", " + N + ", O) float (T and N from the inputs)");
            }
            yf = finite(y.toFloats(), "--targets", targets);
            O = y.dim(2);
        } else {
            throw CliException.runtime("--targets " + targets + ": is " + y + ", expected int class indices or float values");
        }
        return new Arrays(T, N, xi, xf, I, yi, yf, O);
    }

    private static NpyArray array(Configuration conf, String option, String path) {
        try {
            Path p = new Path(path);
            FileSystem fs = p.getFileSystem(conf);
            long length = fs.getFileStatus(p).getLen();
            try (FSDataInputStream in = fs.open(p)) {
                return Npy.read(in, length, path);
            }
        } catch (FileNotFoundException e) {
            throw CliException.runtime(option + " " + path + ": no such file");
        } catch (NpyFormatException e) {
            throw CliException.runtime(option + " " + e.getMessage(), e);
        } catch (IOException | IllegalArgumentException e) {
            throw CliException.runtime(option + " " + path + ": cannot read it (" + Errors.rootMessage(e) + ")", e);
        }
    }

    private static int[] ints(NpyArray a, String option, String path) {
        try {
            return a.toInts(option);
        } catch (IllegalArgumentException e) {
            throw CliException.runtime(option + " " + path + ": " + e.getMessage());
        }
    }

    /** Largest index + 1; negative indices are an error. */
    private static int classes(int[] v, String option, String path) {
        int max = -1;
        for (int k = 0; k < v.length; k++) {
            if (v[k] < 0) {
                throw CliException.runtime(option + " " + path + ": value " + v[k] + " at flat index " + k
                        + ", expected class indices >= 0");
            }
            max = Math.max(max, v[k]);
        }
        return max + 1;
    }

    private static float[] finite(float[] v, String option, String path) {
        for (int k = 0; k < v.length; k++) {
            if (!Float.isFinite(v[k])) {
                throw CliException.runtime(option + " " + path + ": holds " + v[k] + " at flat index " + k
                        + ", expected finite values");
            }
        }
        return v;
    }
}
