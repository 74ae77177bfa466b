package dev.recur.kernel;

import dev.recur.Activation;

/**
 * Plain loops over the formulas: the readable definition of every kernel and the baseline that
 * every speed-up is measured against. Deliberately not hand-tuned (no unrolling, no blocking):
 * a dot product per row for {@code W h}, axpy form for {@code W^T delta} and for the outer
 * products of the time sums. Sums run in float, in index order.
 */
public final class ScalarKernels implements Kernels {

    public static final ScalarKernels INSTANCE = new ScalarKernels();

    private ScalarKernels() {}

    @Override public String name() { return "scalar"; }

    @Override
    public void gemv(int m, int n, float[] a, int aOff, int lda, float[] x, int xOff, float[] y, int yOff) {
        for (int i = 0; i < m; i++) {
            float s = 0f;
            int row = aOff + i * lda;
            for (int j = 0; j < n; j++) s += a[row + j] * x[xOff + j];
            y[yOff + i] += s;
        }
    }

    @Override
    public void gemvT(int m, int n, float[] a, int aOff, int lda, float[] x, int xOff, float[] y, int yOff) {
        for (int i = 0; i < m; i++) {
            float xi = x[xOff + i];
            int row = aOff + i * lda;
            for (int j = 0; j < n; j++) y[yOff + j] += xi * a[row + j];
        }
    }

    @Override
    public void gemmNT(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float s = 0f;
                for (int p = 0; p < k; p++) s += a[aOff + i * lda + p] * b[bOff + j * ldb + p];
                c[cOff + i * ldc + j] += s;
            }
        }
    }

    @Override
    public void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int p = 0; p < k; p++) {
                float aip = a[aOff + i * lda + p];
                for (int j = 0; j < n; j++) c[cOff + i * ldc + j] += aip * b[bOff + p * ldb + j];
            }
        }
    }

    @Override
    public void gemmTN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc) {
        for (int p = 0; p < k; p++) {
            for (int i = 0; i < m; i++) {
                float api = a[aOff + p * lda + i];
                for (int j = 0; j < n; j++) c[cOff + i * ldc + j] += api * b[bOff + p * ldb + j];
            }
        }
    }

    @Override
    public void addColumnSums(int m, int n, float[] a, int aOff, int lda, float[] y, int yOff) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) y[yOff + j] += a[aOff + i * lda + j];
        }
    }

    @Override
    public void addRowVector(int m, int n, float[] x, int xOff, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) c[cOff + i * ldc + j] += x[xOff + j];
        }
    }

    @Override
    public void recurrentForward(Activation act, int batch, int rows, int cols, float[] w, int wOff, float[] wtPacked,
                                 float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] out, int outOff) {
        for (int r = 0; r < batch; r++) {
            for (int i = 0; i < rows; i++) {
                float s = 0f;
                for (int j = 0; j < cols; j++) s += w[wOff + i * cols + j] * hPrev[hPrevOff + r * cols + j];
                float a = pre[preOff + r * rows + i] + s;
                out[outOff + r * rows + i] = act == null ? a : act.apply(a);
            }
        }
    }

    @Override
    public void recurrentBackward(Activation act, int batch, int rows, int cols, float[] w, int wOff, float[] wPacked,
                                  float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                                  float[] hCur, int hCurOff, float[] out, int outOff) {
        for (int r = 0; r < batch; r++) {
            int d = outOff + r * cols;
            for (int j = 0; j < cols; j++) out[d + j] = g[gOff + r * cols + j];
            // deltaNext W in axpy form: row i of W scaled by deltaNext[i]
            for (int i = 0; i < rows; i++) {
                float di = deltaNext[deltaNextOff + r * rows + i];
                for (int j = 0; j < cols; j++) out[d + j] += di * w[wOff + i * cols + j];
            }
            if (act != null) {
                for (int j = 0; j < cols; j++) out[d + j] *= act.derivativeFromOutput(hCur[hCurOff + r * cols + j]);
            }
        }
    }

    @Override
    public double softmaxCrossEntropy(int rows, int n, float[] logits, int lOff, int[] targets, int tOff,
                                      float[] dy, int dyOff) {
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            int z = lOff + r * n, d = dyOff + r * n;
            int target = targets[tOff + r];
            if (target < 0) {
                for (int j = 0; j < n; j++) dy[d + j] = 0f;
                continue;
            }
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) max = Math.max(max, logits[z + j]);
            float sum = 0f;
            for (int j = 0; j < n; j++) sum += (float) Math.exp(logits[z + j] - max);
            float logSum = (float) Math.log(sum);
            loss += (double) logSum + max - logits[z + target];
            float inv = 1f / sum;
            for (int j = 0; j < n; j++) dy[d + j] = (float) Math.exp(logits[z + j] - max) * inv;
            dy[d + target] -= 1f;
        }
        return loss;
    }

    @Override
    public double squaredError(int rows, int n, float[] out, int oOff, float[] targets, int tOff,
                               float[] dy, int dyOff) {
        double loss = 0;
        for (int k = 0; k < rows * n; k++) {
            float diff = out[oOff + k] - targets[tOff + k];
            loss += 0.5 * diff * diff;
            dy[dyOff + k] = diff;
        }
        return loss;
    }
}
