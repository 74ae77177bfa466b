package dev.recur.kernel;

import dev.recur.Activation;

/**
 * The small BLAS-like surface the BPTT driver is written against. Two implementations:
 * {@link ScalarKernels} (plain loops: the readable definition and the baseline) and
 * {@code VectorKernels} (jdk.incubator.vector). {@link KernelsLookup} picks one.
 *
 * <p>Conventions: matrices are row-major in flat arrays, addressed by an offset and a leading
 * dimension (the distance between rows). Every product ACCUMULATES into its output
 * ({@code +=}). Kernels trust their arguments: the public API checks sizes once, up front.
 * Outputs must not alias inputs. Kernels hold no state shared between calls and allocate
 * nothing per call (an implementation may keep scratch per thread, allocated once), so one
 * instance may be used by any number of threads at once.
 *
 * <p>Determinism: for fixed arguments a kernel's result does not depend on how a caller splits
 * the rows of its output among calls (each output element is computed by the same sequence of
 * operations whichever rows are around it). The driver relies on that to make results
 * independent of the thread count.
 */
public interface Kernels {

    /** Short name: {@code scalar} or {@code vector}. */
    String name();

    /** {@code y[i] += sum_j A[i][j] x[j]}, A is m x n. */
    void gemv(int m, int n, float[] a, int aOff, int lda, float[] x, int xOff, float[] y, int yOff);

    /** {@code y[j] += sum_i A[i][j] x[i]}, A is m x n (so y += A^T x, length n). */
    void gemvT(int m, int n, float[] a, int aOff, int lda, float[] x, int xOff, float[] y, int yOff);

    /** {@code C += A B^T}: C is m x n, A is m x k, B is n x k. */
    void gemmNT(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                float[] c, int cOff, int ldc);

    /** {@code C += A B}: C is m x n, A is m x k, B is k x n. */
    void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                float[] c, int cOff, int ldc);

    /** {@code C += A^T B}: C is m x n, A is k x m, B is k x n (a time sum of outer products). */
    void gemmTN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                float[] c, int cOff, int ldc);

    /** {@code y[j] += sum_i A[i][j]}: column sums of an m x n matrix. */
    void addColumnSums(int m, int n, float[] a, int aOff, int lda, float[] y, int yOff);

    /** {@code C[i][j] += x[j]} for every row of the m x n matrix C (adds a bias to each row). */
    void addRowVector(int m, int n, float[] x, int xOff, float[] c, int cOff, int ldc);

    /**
     * {@code y[i] = act(x[i])} for n elements (x and y may be the same region). The driver uses
     * it with {@link #gemv} when it splits one step's rows among threads.
     */
    default void activate(Activation act, int n, float[] x, int xOff, float[] y, int yOff) {
        for (int i = 0; i < n; i++) y[yOff + i] = act.apply(x[xOff + i]);
    }

    /**
     * {@code delta[i] *= act'(h[i])}, act' from the output, for n elements. The driver uses it
     * with {@link #gemvT} when it splits one backward step's columns among threads.
     */
    default void multiplyByDerivative(Activation act, int n, float[] h, int hOff, float[] delta, int deltaOff) {
        for (int i = 0; i < n; i++) delta[deltaOff + i] *= act.derivativeFromOutput(h[hOff + i]);
    }

    /**
     * One forward step of the recurrence for {@code batch} independent rows:
     * {@code hOut[r] = act(pre[r] + W hPrev[r])}, where W is h x h at {@code wOff} (leading
     * dimension h), and rows of hPrev, pre and hOut are h apart. {@code pre} is read only.
     */
    void recurrentForward(Activation act, int batch, int h, float[] w, int wOff,
                          float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] hOut, int hOutOff);

    /**
     * {@link #recurrentForward(Activation, int, int, float[], int, float[], int, float[], int, float[], int)}
     * with W^T also in the layout {@link #packTransposedWeights} made ({@code wtPacked}, or
     * null). Unlike the packed backward step, this may compute in another order where the
     * implementation has a faster form for it (the vector kernels: the outer-product form,
     * {@code hOut = fma(hPrev[p], W^T[p], hOut)} from {@code pre}, p in order), so the bits
     * can differ from the unpacked call by rounding. A caller that wants bitwise reproducible
     * results uses one or the other consistently (the engine: by batch size alone). Rows stay
     * independent: the determinism rule above holds for either form.
     */
    default void recurrentForward(Activation act, int batch, int h, float[] w, int wOff, float[] wtPacked,
                                  float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] hOut, int hOutOff) {
        recurrentForward(act, batch, h, w, wOff, hPrev, hPrevOff, pre, preOff, hOut, hOutOff);
    }

    /** Writes W^T (W h x h at {@code wOff}) into {@code packed} (length {@link #packedWeightsLength}). */
    default void packTransposedWeights(int h, float[] w, int wOff, float[] packed) {}

    /**
     * One backward step for {@code batch} rows:
     * {@code delta[r] = act'(hCur[r]) * (g[r] + W^T deltaNext[r])}, with act' from the output.
     * {@code g} holds the gradient reaching h_t from above (V^T dy_t, or a caller's dL/dh_t) and
     * is read only; {@code deltaNext} is delta_{t+1} (zeros after the last step).
     */
    void recurrentBackward(Activation act, int batch, int h, float[] w, int wOff,
                           float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                           float[] hCur, int hCurOff, float[] delta, int deltaOff);

    /**
     * {@link #recurrentBackward(Activation, int, int, float[], int, float[], int, float[], int, float[], int, float[], int)}
     * with W also in the layout {@link #packWeights} made of it ({@code wPacked}, or null): the
     * same bits, faster where the implementation reads W through that layout. The caller packs
     * again whenever W changes.
     */
    default void recurrentBackward(Activation act, int batch, int h, float[] w, int wOff, float[] wPacked,
                                   float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                                   float[] hCur, int hCurOff, float[] delta, int deltaOff) {
        recurrentBackward(act, batch, h, w, wOff, deltaNext, deltaNextOff, g, gOff, hCur, hCurOff, delta, deltaOff);
    }

    /**
     * Floats {@link #packWeights} writes for an h x h W: 0 where this implementation reads W in
     * place (then there is nothing to pack).
     */
    default int packedWeightsLength(int h) { return 0; }

    /** Writes the h x h W at {@code wOff} into {@code packed} (length {@link #packedWeightsLength}). */
    default void packWeights(int h, float[] w, int wOff, float[] packed) {}

    /**
     * Softmax cross-entropy for {@code rows} rows of n logits: returns the summed loss
     * {@code sum_r (logsumexp(z_r) - z_r[target_r])} (stable: max subtracted), accumulated in
     * double, and writes {@code dy_r = softmax(z_r) - onehot(target_r)}. Targets index into
     * {@code targets} from {@code tOff}, one per row. {@code logits} and {@code dy} may be the
     * same array region (dy overwrites the logits).
     */
    double softmaxCrossEntropy(int rows, int n, float[] logits, int lOff, int[] targets, int tOff,
                               float[] dy, int dyOff);

    /**
     * Squared error {@code 1/2 sum (o - y)^2} over rows x n, accumulated in double; writes
     * {@code dy = o - y}. {@code out} and {@code dy} may be the same region.
     */
    double squaredError(int rows, int n, float[] out, int oOff, float[] targets, int tOff,
                        float[] dy, int dyOff);
}
