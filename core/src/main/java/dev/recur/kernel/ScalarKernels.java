package dev.recur.kernel;

import dev.recur.Activation;

/**
 * Plain loops over the formulas: the readable definition of every kernel and the baseline that
 * every speed-up is measured against. Deliberately not hand-tuned (no unrolling, no blocking):
 * a dot product per row for {@code W h}, axpy form for {@code W^T delta} and for the outer
 * products of the time sums. Sums run in float, in index order. The recurrent steps' sweep-order
 * hint ({@code descending}) is ignored: these loops are not where a cache order is tuned.
 */
public final class ScalarKernels implements Kernels {

    /** The one instance; stateless and thread-safe. */
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
                                 float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] out, int outOff,
                                 boolean descending) {
        recurrentForwardPart(act, batch, rows, cols, 0, rows, w, wOff, wtPacked, hPrev, hPrevOff, pre, preOff, out, outOff,
                descending);
    }

    @Override
    public void recurrentForwardPart(Activation act, int batch, int rows, int cols, int from, int to, float[] w, int wOff,
                                     float[] wtPacked, float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] out, int outOff,
                                     boolean descending) {
        for (int r = 0; r < batch; r++) {
            for (int i = from; i < to; i++) {
                float s = 0f;
                for (int j = 0; j < cols; j++) s += w[wOff + i * cols + j] * hPrev[hPrevOff + r * cols + j];
                float a = pre[preOff + r * rows + i] + s;
                out[outOff + r * rows + i] = act == null ? a : act.apply(a);
            }
        }
    }

    @Override
    public void recurrentBackwardPart(Activation act, int batch, int rows, int cols, int from, int to, float[] w, int wOff,
                                      float[] wPacked, float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                                      float[] hCur, int hCurOff, float[] out, int outOff, boolean descending) {
        for (int r = 0; r < batch; r++) {
            int d = outOff + r * cols;
            for (int j = from; j < to; j++) out[d + j] = g[gOff + r * cols + j];
            // deltaNext W in axpy form: row i of W scaled by deltaNext[i]
            for (int i = 0; i < rows; i++) {
                float di = deltaNext[deltaNextOff + r * rows + i];
                for (int j = from; j < to; j++) out[d + j] += di * w[wOff + i * cols + j];
            }
            if (act != null) {
                for (int j = from; j < to; j++) out[d + j] *= act.derivativeFromOutput(hCur[hCurOff + r * cols + j]);
            }
        }
    }

    @Override
    public void recurrentBackward(Activation act, int batch, int rows, int cols, float[] w, int wOff, float[] wPacked,
                                  float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                                  float[] hCur, int hCurOff, float[] out, int outOff, boolean descending) {
        recurrentBackwardPart(act, batch, rows, cols, 0, cols, w, wOff, wPacked, deltaNext, deltaNextOff, g, gOff, hCur, hCurOff,
                out, outOff, descending);
    }

    /** Units [from, to) of every row of {@link #lstmForward}. */
    @Override
    public void lstmForwardPart(int batch, int h, int from, int to, float[] gates, int gOff, float[] cPrev,
                                int cPrevOff, float[] cOut, int cOutOff, float[] hOut, int hOutOff) {
        for (int r = 0; r < batch; r++) {
            int g = gOff + r * 4 * h;
            for (int j = from; j < to; j++) {
                float i = sigmoid(gates[g + j]), f = sigmoid(gates[g + h + j]);
                float c = (float) Math.tanh(gates[g + 2 * h + j]), o = sigmoid(gates[g + 3 * h + j]);
                gates[g + j] = i;
                gates[g + h + j] = f;
                gates[g + 2 * h + j] = c;
                gates[g + 3 * h + j] = o;
                float cell = f * cPrev[cPrevOff + r * h + j] + i * c;
                cOut[cOutOff + r * h + j] = cell;
                hOut[hOutOff + r * h + j] = o * (float) Math.tanh(cell);
            }
        }
    }

    /** Units [from, to) of every row of {@link #lstmBackward}. */
    @Override
    public void lstmBackwardPart(int batch, int h, int from, int to, float[] dh, int dhOff, float[] dcNext,
                                 int dcNextOff, float[] gates, int gOff, float[] cPrev, int cPrevOff, float[] c, int cOff,
                                 float[] dz, int dzOff, float[] dcPrev, int dcPrevOff) {
        for (int r = 0; r < batch; r++) {
            int g = gOff + r * 4 * h, z = dzOff + r * 4 * h;
            for (int j = from; j < to; j++) {
                float i = gates[g + j], f = gates[g + h + j], gg = gates[g + 2 * h + j], o = gates[g + 3 * h + j];
                float d = dh[dhOff + r * h + j], tc = (float) Math.tanh(c[cOff + r * h + j]);
                float dc = dcNext[dcNextOff + r * h + j] + d * o * (1f - tc * tc);
                dz[z + j] = dc * gg * (i * (1f - i));
                dz[z + h + j] = dc * cPrev[cPrevOff + r * h + j] * (f * (1f - f));
                dz[z + 2 * h + j] = dc * i * (1f - gg * gg);
                dz[z + 3 * h + j] = d * tc * (o * (1f - o));
                dcPrev[dcPrevOff + r * h + j] = dc * f;
            }
        }
    }

    /** Units [from, to) of every row of {@link #gruForward}. */
    @Override
    public void gruForwardPart(int batch, int h, int from, int to, float[] gx, int gxOff, float[] gh, int ghOff,
                               float[] hPrev, int hPrevOff, float[] hOut, int hOutOff, float[] cache, int cacheOff) {
        for (int r = 0; r < batch; r++) {
            int x = gxOff + r * 3 * h, y = ghOff + r * 3 * h, k = cacheOff + r * 4 * h;
            for (int j = from; j < to; j++) {
                float rg = sigmoid(gx[x + j] + gh[y + j]), zg = sigmoid(gx[x + h + j] + gh[y + h + j]);
                float hn = gh[y + 2 * h + j];
                float n = (float) Math.tanh(gx[x + 2 * h + j] + rg * hn);
                cache[k + j] = rg;
                cache[k + h + j] = zg;
                cache[k + 2 * h + j] = n;
                cache[k + 3 * h + j] = hn;
                hOut[hOutOff + r * h + j] = (1f - zg) * n + zg * hPrev[hPrevOff + r * h + j];
            }
        }
    }

    /** Units [from, to) of every row of {@link #gruBackward}. */
    @Override
    public void gruBackwardPart(int batch, int h, int from, int to, float[] dh, int dhOff, float[] hPrev,
                                int hPrevOff, float[] cache, int cacheOff, float[] dzx, int dzxOff, float[] dzh,
                                int dzhOff, float[] direct, int directOff) {
        for (int r = 0; r < batch; r++) {
            int k = cacheOff + r * 4 * h, x = dzxOff + r * 3 * h, y = dzhOff + r * 3 * h;
            for (int j = from; j < to; j++) {
                float rg = cache[k + j], zg = cache[k + h + j], n = cache[k + 2 * h + j], hn = cache[k + 3 * h + j];
                float d = dh[dhOff + r * h + j];
                float dn = d * (1f - zg) * (1f - n * n);
                float dr = dn * hn * (rg * (1f - rg));
                float dzz = d * (hPrev[hPrevOff + r * h + j] - n) * (zg * (1f - zg));
                dzx[x + j] = dr;
                dzx[x + h + j] = dzz;
                dzx[x + 2 * h + j] = dn;
                dzh[y + j] = dr;
                dzh[y + h + j] = dzz;
                dzh[y + 2 * h + j] = dn * rg;
                direct[directOff + r * h + j] = d * zg;
            }
        }
    }

    private static float sigmoid(float a) { return Activation.SIGMOID.apply(a); }

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
