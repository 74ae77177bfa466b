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
    public void recurrentForward(Activation act, int batch, int h, float[] w, int wOff,
                                 float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] hOut, int hOutOff) {
        for (int r = 0; r < batch; r++) {
            for (int i = 0; i < h; i++) {
                float s = 0f;
                for (int j = 0; j < h; j++) s += w[wOff + i * h + j] * hPrev[hPrevOff + r * h + j];
                hOut[hOutOff + r * h + i] = act.apply(pre[preOff + r * h + i] + s);
            }
        }
    }

    @Override
    public void recurrentBackward(Activation act, int batch, int h, float[] w, int wOff,
                                  float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                                  float[] hCur, int hCurOff, float[] delta, int deltaOff) {
        for (int r = 0; r < batch; r++) {
            int d = deltaOff + r * h;
            for (int j = 0; j < h; j++) delta[d + j] = g[gOff + r * h + j];
            // W^T deltaNext in axpy form: row i of W scaled by deltaNext[i]
            for (int i = 0; i < h; i++) {
                float di = deltaNext[deltaNextOff + r * h + i];
                for (int j = 0; j < h; j++) delta[d + j] += di * w[wOff + i * h + j];
            }
            for (int j = 0; j < h; j++) delta[d + j] *= act.derivativeFromOutput(hCur[hCurOff + r * h + j]);
        }
    }

    @Override
    public double softmaxCrossEntropy(int rows, int n, float[] logits, int lOff, int[] targets, int tOff,
                                      float[] dy, int dyOff) {
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            int z = lOff + r * n, d = dyOff + r * n;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < n; j++) max = Math.max(max, logits[z + j]);
            float sum = 0f;
            for (int j = 0; j < n; j++) sum += (float) Math.exp(logits[z + j] - max);
            int target = targets[tOff + r];
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
