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

    /**
     * {@link #gemmNN} with B (k x n, {@code ldb == n}) also given as {@code bPacked}, the layout
     * {@link #packWeights}{@code (k, n, b, bOff, bPacked)} made of it, or null: a kernel that packs
     * B's panels on every call reads them from there instead (an inference stream's per-step
     * products, whose few rows cannot amortise the packing). The same bits either way.
     */
    default void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] bPacked,
                        float[] c, int cOff, int ldc) {
        gemmNN(m, n, k, a, aOff, lda, b, bOff, ldb, c, cOff, ldc);
    }

    /** {@code C += A^T B}: C is m x n, A is k x m, B is k x n (a time sum of outer products). */
    void gemmTN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                float[] c, int cOff, int ldc);

    /** {@code y[j] += sum_i A[i][j]}: column sums of an m x n matrix. */
    void addColumnSums(int m, int n, float[] a, int aOff, int lda, float[] y, int yOff);

    /** {@code C[i][j] += x[j]} for every row of the m x n matrix C (adds a bias to each row). */
    void addRowVector(int m, int n, float[] x, int xOff, float[] c, int cOff, int ldc);

    /**
     * {@code y[i] = act(x[i])} for n elements (x and y may be the same region).
     */
    default void activate(Activation act, int n, float[] x, int xOff, float[] y, int yOff) {
        for (int i = 0; i < n; i++) y[yOff + i] = act.apply(x[xOff + i]);
    }

    /**
     * {@code delta[i] *= act'(h[i])}, act' from the output, for n elements.
     */
    default void multiplyByDerivative(Activation act, int n, float[] h, int hOff, float[] delta, int deltaOff) {
        for (int i = 0; i < n; i++) delta[deltaOff + i] *= act.derivativeFromOutput(h[hOff + i]);
    }

    /**
     * One forward step of the recurrence for {@code batch} independent rows:
     * {@code out[r] = act(pre[r] + W hPrev[r])}, where W is {@code rows x cols} at {@code wOff}
     * (row-major, leading dimension cols: an Elman cell's W_hh is H x H, a gated cell's G*H x H),
     * rows of hPrev are cols apart and rows of pre and out are {@code rows} apart. With
     * {@code act} null there is no activation (the gate pre-activations of GRU and LSTM cells).
     * {@code pre} is read only; out may not overlap it or hPrev.
     *
     * <p>{@code wtPacked} is W^T in the layout {@link #packTransposedWeights} made, or null. An
     * implementation may compute in another order when it has the packed copy (the vector
     * kernels: the outer-product form, {@code out = fma(hPrev[p], W^T[p], out)} from {@code pre},
     * p in order), so the bits can differ from the unpacked call by rounding. A caller that wants
     * bitwise reproducible results uses one or the other consistently (the engine: by batch size
     * alone). Rows stay independent: the determinism rule above holds for either form.
     *
     * <p>{@code descending} is a hint on the order in which an implementation that streams W
     * from memory visits the outputs: last to first. The same bits either way (each output's
     * arithmetic does not depend on the order); a caller that alternates it from step to step
     * finds the part of W the previous step read last still in cache when the next step starts.
     * (The vector kernels at B = 1 with W packed, where W outgrows L2 and is read once a step:
     * a B = 1 training call on one thread 1.14-1.17x at H = 512, 1.24-1.26x at H = 1024, an LSTM's
     * 1 MiB W_hh at H = 256 1.11-1.14x.) The scalar kernels ignore it.
     */
    void recurrentForward(Activation act, int batch, int rows, int cols, float[] w, int wOff, float[] wtPacked,
                          float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] out, int outOff, boolean descending);

    /**
     * One backward step for {@code batch} rows: {@code out[r] = act'(hCur[r]) * (g[r] + deltaNext[r] W)},
     * with act' from the output, W {@code rows x cols} at {@code wOff}, deltaNext rows
     * {@code rows} wide (delta_{t+1}, the gradient of step t+1's pre-activations; zeros after the
     * last step), g, hCur and out rows {@code cols} wide. {@code g} holds the gradient reaching
     * h_t from above (V^T dy_t, or a caller's dL/dh_t) and is read only. With {@code act} null no
     * derivative is applied: out is dL/dh_t, for a gated cell's own element-wise backward.
     *
     * <p>{@code wPacked} is W in the layout {@link #packWeights} made of it, or null: the same
     * bits, faster where the implementation reads W through that layout. The caller packs again
     * whenever W changes. {@code descending}: as in {@link #recurrentForward}, over the outputs
     * (columns of W).
     */
    void recurrentBackward(Activation act, int batch, int rows, int cols, float[] w, int wOff, float[] wPacked,
                           float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                           float[] hCur, int hCurOff, float[] out, int outOff, boolean descending);

    /**
     * Outputs {@code [from, to)} of every row of {@link #recurrentForward} (same arguments, same
     * layout; the other outputs are not touched): one thread's share of a step split among
     * threads by rows of W. {@code from} must be a multiple of {@link #splitAlignment()}, and
     * {@code to} too unless it is {@code rows} (IllegalArgumentException otherwise); the values
     * are then bitwise what the whole call writes there.
     */
    void recurrentForwardPart(Activation act, int batch, int rows, int cols, int from, int to, float[] w, int wOff,
                              float[] wtPacked, float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] out, int outOff,
                              boolean descending);

    /**
     * Outputs {@code [from, to)} (columns of W) of every row of {@link #recurrentBackward}, as
     * {@link #recurrentForwardPart} is to the forward step (the same alignment of the bounds,
     * {@code cols} in place of {@code rows}): bitwise the whole call's values there.
     */
    void recurrentBackwardPart(Activation act, int batch, int rows, int cols, int from, int to, float[] w, int wOff,
                               float[] wPacked, float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                               float[] hCur, int hCurOff, float[] out, int outOff, boolean descending);

    /** The granularity at which the part steps give the whole step's bits (the vector kernels: a panel, 2L). */
    default int splitAlignment() { return 1; }

    /**
     * Floats {@link #packWeights} and {@link #packTransposedWeights} may write for a
     * {@code rows x cols} W (the larger of the two layouts): 0 where this implementation reads W
     * in place (then there is nothing to pack).
     */
    default int packedWeightsLength(int rows, int cols) { return 0; }

    /** Writes the {@code rows x cols} W at {@code wOff} into {@code packed} for {@link #recurrentBackward}. */
    default void packWeights(int rows, int cols, float[] w, int wOff, float[] packed) {}

    /** Writes W^T of the {@code rows x cols} W at {@code wOff} into {@code packed} for {@link #recurrentForward}. */
    default void packTransposedWeights(int rows, int cols, float[] w, int wOff, float[] packed) {}

    // ------------------------------------------------------------------ gated cells' element-wise steps

    /**
     * The LSTM's element-wise forward step for {@code batch} rows of h units. {@code gates} holds
     * each row's pre-activations in PyTorch's order i, f, g, o (4h floats per row; W_ih x + b_ih +
     * W_hh h + b_hh) and is overwritten with the activations sigmoid(i), sigmoid(f), tanh(g),
     * sigmoid(o) (what the backward step reads); then {@code c = f * cPrev + i * g} and
     * {@code h = o * tanh(c)}. Rows of cPrev, cOut and hOut are h apart.
     */
    default void lstmForward(int batch, int h, float[] gates, int gOff, float[] cPrev, int cPrevOff, float[] cOut, int cOutOff,
                             float[] hOut, int hOutOff) {
        lstmForwardPart(batch, h, 0, h, gates, gOff, cPrev, cPrevOff, cOut, cOutOff, hOut, hOutOff);
    }

    /**
     * Units {@code [from, to)} of every row of {@link #lstmForward} (gates still h apart, the
     * other units untouched): one thread's share of a step split among threads by hidden unit.
     * Element-wise, so bitwise what the whole call writes there.
     */
    void lstmForwardPart(int batch, int h, int from, int to, float[] gates, int gOff, float[] cPrev, int cPrevOff,
                         float[] cOut, int cOutOff, float[] hOut, int hOutOff);

    /**
     * The LSTM's element-wise backward step: from {@code dh} (dL/dh_t, h per row), {@code dcNext}
     * (dL/dc_t arriving from step t+1, already times f_{t+1}; or from outside), the activated
     * {@code gates} (i, f, g, o) and the cell states cPrev, c of the step, writes the gate
     * gradients {@code dz} (4h per row: d(pre-activation) of i, f, g, o) and
     * {@code dcPrev = dc_t * f} (what step t-1 receives). With {@code dc_t = dcNext + dh * o *
     * (1 - tanh(c)^2)}.
     */
    default void lstmBackward(int batch, int h, float[] dh, int dhOff, float[] dcNext, int dcNextOff, float[] gates, int gOff,
                              float[] cPrev, int cPrevOff, float[] c, int cOff, float[] dz, int dzOff, float[] dcPrev,
                              int dcPrevOff) {
        lstmBackwardPart(batch, h, 0, h, dh, dhOff, dcNext, dcNextOff, gates, gOff, cPrev, cPrevOff, c, cOff, dz, dzOff, dcPrev,
                dcPrevOff);
    }

    /**
     * Units {@code [from, to)} of every row of {@link #lstmBackward} (the four gate gradients of
     * those units, h apart in dz, and their dcPrev): bitwise the whole call's values there.
     */
    void lstmBackwardPart(int batch, int h, int from, int to, float[] dh, int dhOff, float[] dcNext, int dcNextOff,
                          float[] gates, int gOff, float[] cPrev, int cPrevOff, float[] c, int cOff, float[] dz, int dzOff,
                          float[] dcPrev, int dcPrevOff);

    /**
     * The GRU's element-wise forward step: {@code gx} is the input side W_i x + b_i (+ b_h for the
     * r and z rows) and {@code gh} the recurrent side W_h h_{t-1} (+ b_hn for the n rows), 3h per
     * row in PyTorch's order r, z, n. Computes r = sigmoid(gx_r + gh_r), z = sigmoid(gx_z + gh_z),
     * n = tanh(gx_n + r * gh_n), {@code h = (1 - z) * n + z * hPrev}, and keeps r, z, n, gh_n in
     * {@code cache} (4h per row) for the backward step.
     */
    default void gruForward(int batch, int h, float[] gx, int gxOff, float[] gh, int ghOff, float[] hPrev, int hPrevOff,
                            float[] hOut, int hOutOff, float[] cache, int cacheOff) {
        gruForwardPart(batch, h, 0, h, gx, gxOff, gh, ghOff, hPrev, hPrevOff, hOut, hOutOff, cache, cacheOff);
    }

    /**
     * Units {@code [from, to)} of every row of {@link #gruForward} (gx and gh 3h per row, the
     * cache 4h, gates h apart): bitwise the whole call's values there, the other units untouched.
     */
    void gruForwardPart(int batch, int h, int from, int to, float[] gx, int gxOff, float[] gh, int ghOff, float[] hPrev,
                        int hPrevOff, float[] hOut, int hOutOff, float[] cache, int cacheOff);

    /**
     * The GRU's element-wise backward step: from {@code dh} (dL/dh_t), hPrev and the cache (r, z,
     * n, gh_n), writes the input side's gate gradients {@code dzx} (dr, dz, dn: d of the
     * pre-activations, 3h per row), the recurrent side's {@code dzh} (dr, dz, r * dn: b_hn sits
     * inside r * (...), so its rows get r times the input side's) and {@code direct = z * dh}, the
     * part of dL/dh_{t-1} that does not go through W_hh.
     */
    default void gruBackward(int batch, int h, float[] dh, int dhOff, float[] hPrev, int hPrevOff, float[] cache, int cacheOff,
                             float[] dzx, int dzxOff, float[] dzh, int dzhOff, float[] direct, int directOff) {
        gruBackwardPart(batch, h, 0, h, dh, dhOff, hPrev, hPrevOff, cache, cacheOff, dzx, dzxOff, dzh, dzhOff, direct, directOff);
    }

    /** Units {@code [from, to)} of every row of {@link #gruBackward}: bitwise the whole call's values there. */
    void gruBackwardPart(int batch, int h, int from, int to, float[] dh, int dhOff, float[] hPrev, int hPrevOff,
                         float[] cache, int cacheOff, float[] dzx, int dzxOff, float[] dzh, int dzhOff, float[] direct,
                         int directOff);

    /**
     * Softmax cross-entropy for {@code rows} rows of n logits: returns the summed loss
     * {@code sum_r (logsumexp(z_r) - z_r[target_r])} (stable: max subtracted), accumulated in
     * double, and writes {@code dy_r = softmax(z_r) - onehot(target_r)}. Targets index into
     * {@code targets} from {@code tOff}, one per row; a negative target marks a row that carries
     * no loss (an ignored target, PyTorch's ignore_index): its dy is zero. {@code logits} and
     * {@code dy} may be the same array region (dy overwrites the logits).
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
