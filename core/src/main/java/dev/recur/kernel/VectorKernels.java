package dev.recur.kernel;

import dev.recur.Activation;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The {@link Kernels} on {@code jdk.incubator.vector}, written for the preferred float species
 * (8 lanes with AVX2, 16 with AVX-512; nothing here assumes a lane count). Every loop is a
 * full-width body and a masked tail (a scalar tail in relu and in softmax's exp, where that
 * changes no determinism guarantee), so no size is special.
 *
 * <p>Two families of products, each with ONE fixed sequence of operations per output element,
 * whatever tile the element happens to be computed in:
 * <ul>
 *   <li><b>Dot-product form</b> ({@link #gemv}, {@link #gemmNT}, {@link #recurrentForward}):
 *   one vector accumulator per output element, starting at zero, {@code acc = fma(a, b, acc)}
 *   over the full chunks of the reduction in order, then {@link #sumLanes} (a fixed tree
 *   order) plus the scalar-fma tail of the last k mod L terms ({@link #tailDot}), then one add
 *   into the output. A tile computes several
 *   elements at once only to share loads and to have independent FMA chains in flight.</li>
 *   <li><b>Axpy / outer-product form</b> ({@link #gemvT}, {@link #gemmNN}, {@link #gemmTN},
 *   {@link #recurrentBackward}): the output element itself is the accumulator,
 *   {@code c = fma(a_p, b_p, c)} for p in order. Register tiles hold a block of C across the
 *   whole reduction, the one-row path keeps it in memory (L1) between passes; both give the
 *   same bits, since storing and reloading a float is exact.</li>
 * </ul>
 * So the result for an element never depends on which other rows are in the call (the
 * determinism rule of {@link Kernels}). We avoid {@code reduceLanes(ADD)} and the lanewise
 * {@code EXP}/{@code TANH} operators on purpose: their results are allowed to differ between
 * the interpreter, C1 and C2 (reduction order; SVML versus {@code Math}), so a row computed
 * before the JIT kicked in could differ from the same row computed after. Everything here is
 * built from correctly rounded lanewise operations (add, mul, fma, div, compare, blend, bit
 * casts), which give the same bits in every tier.
 *
 * <p>Element-wise passes ({@link #activate}, the activation inside {@link #recurrentForward})
 * give an element the same arithmetic wherever it sits in a call, so a row activated in two
 * pieces equals the row activated at once, and gemv + activate equals recurrentForward bit for
 * bit (the driver uses both when it splits a step among threads). The derivative pass is the
 * scalar formula's float operations and so matches {@link ScalarKernels} exactly; so do
 * {@link #addColumnSums}, {@link #addRowVector} and the {@code dy} of {@link #squaredError}.
 *
 * <p>Methods are kept small enough for C1: a method C1 cannot compile ("out of virtual
 * registers", which eight masked loads or a 1 x 8 dot tile with its masked tail were enough for)
 * can stay in tier-2 code for seconds, boxing every vector (measured: 2.3 GB per sequence in
 * BpttBench config 1). Hence the separate tail methods of the axpy passes and the k % L == 0
 * condition on {@link #dot1x8}.
 *
 * <p>Nothing here allocates once compiled by C2: vectors are locals that C2 scalar-replaces,
 * masks are made inside the method that uses them (never passed to a method that might not be
 * inlined), the vector helpers (exp, tanh) are called from one hot loop site only (see
 * {@link #tanhRow}), and all scratch is the caller's output or the per-thread packing buffers
 * of the outer-product products ({@link #PACK}, allocated once per thread on first use). (The
 * interpreter and C1 do allocate vector objects during warm-up; that is the Vector API, not
 * this class.)
 */
public final class VectorKernels implements Kernels {

    /**
     * The one instance; stateless and thread-safe. Touching it needs the
     * {@code jdk.incubator.vector} module; go through {@link KernelsLookup} to fall back cleanly.
     */
    public static final VectorKernels INSTANCE = new VectorKernels();

    /** The CPU's widest float species, or the narrower one recur.vector.bits asks for (KernelsLookup checks it first). */
    private static final VectorSpecies<Float> S = species(KernelsLookup.requestedVectorBits());
    private static final VectorSpecies<Double> SD = S.withLanes(double.class);
    private static final int L = S.length();

    private VectorKernels() {}

    /** Lanes of the float species these kernels use (8 with AVX2, 16 with AVX-512 unless recur.vector.bits says less). */
    public static int lanes() { return L; }

    /** Bits of the CPU's widest float vector (what the kernels use when recur.vector.bits is unset). */
    public static int widestBits() { return FloatVector.SPECIES_PREFERRED.vectorBitSize(); }

    private static VectorSpecies<Float> species(int bits) {
        return bits == 0 ? FloatVector.SPECIES_PREFERRED : VectorSpecies.of(float.class, VectorShape.forBitSize(bits));
    }

    @Override public String name() { return "vector"; }

    // ---------------------------------------------------------------------------------------
    // Dot-product family: y += A x, C += A B^T, the forward recurrence.
    // ---------------------------------------------------------------------------------------

    @Override
    public void gemv(int m, int n, float[] a, int aOff, int lda, float[] x, int xOff, float[] y, int yOff) {
        // y^T += x^T A^T: one "A row" (x) against m "B rows" (the rows of A).
        dotRow(m, n, x, xOff, a, aOff, lda, y, yOff);
    }

    @Override
    public void gemmNT(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc) {
        int i = 0;
        // 4 rows of A x 2 rows of B: 8 independent accumulators (two FMA pipes x 4 cycles of
        // latency on Zen3) and 6 loads per 8 FMAs; B (the large operand, W or V) is streamed
        // once per 4 rows of A instead of once per row.
        for (; i + 4 <= m; i += 4) {
            int ai = aOff + i * lda, ci = cOff + i * ldc;
            int j = 0;
            for (; j + 2 <= n; j += 2) dot4x2(k, a, ai, lda, b, bOff + j * ldb, ldb, c, ci + j, ldc);
            if (j < n) dot4x1(k, a, ai, lda, b, bOff + j * ldb, c, ci + j, ldc);
        }
        for (; i < m; i++) dotRow(n, k, a, aOff + i * lda, b, bOff, ldb, c, cOff + i * ldc);
    }

    /**
     * Without {@code wtPacked}: the dot-product form, out = pre, then out += hPrev W^T (one
     * rounding of pre + dot), then the activation in place while the rows are still in L1.
     *
     * <p>With it, the outer-product form: out = pre, then {@code out = fma(hPrev[p], W^T[p], out)}
     * for p in order through the packed tiles, then the activation. Measured against the
     * dot-product form in one JVM: 1.2-1.8x at B = 32 and 64, H = 256-1024 (the dot tile streams
     * W from L3 once per 4 rows of hPrev; the packed panels once per 120 rows).
     */
    @Override
    public void recurrentForward(Activation act, int batch, int rows, int cols, float[] w, int wOff, float[] wtPacked,
                                 float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] out, int outOff,
                                 boolean descending) {
        System.arraycopy(pre, preOff, out, outOff, batch * rows);
        if (wtPacked == null) {
            gemmNT(batch, rows, cols, hPrev, hPrevOff, cols, w, wOff, cols, out, outOff, rows);
        } else {
            // B = W^T, read in place as W (B(p, j) = w[wOff + j*cols + p]) for the columns past the panels
            outer(batch, rows, cols, hPrev, hPrevOff, 1, cols, w, wOff, 1, cols, wtPacked, out, outOff, rows, descending);
        }
        if (act != null) for (int r = 0; r < batch; r++) activateRow(act, rows, out, outOff + r * rows);
    }

    /**
     * With {@code wtPacked}: for each row, out = pre over [from, to), then the panels of those
     * columns one row at a time ({@link #rowPanels}), the columns past the panels in scalar fma
     * over W in place, then the activation: per element the fma sequence of the whole call (p in
     * order; out is stored exactly between K blocks there), so the same bits at panel-aligned
     * bounds. Without it, the dot-product form over those rows of W.
     */
    @Override
    public void recurrentForwardPart(Activation act, int batch, int rows, int cols, int from, int to, float[] w, int wOff,
                                     float[] wtPacked, float[] hPrev, int hPrevOff, float[] pre, int preOff, float[] out, int outOff,
                                     boolean descending) {
        if (to <= from) return;
        checkPartBounds(from, to, rows);
        int n2 = rows - rows % (2 * L);
        for (int r = 0; r < batch; r++) {
            int o = outOff + r * rows, hp = hPrevOff + r * cols;
            System.arraycopy(pre, preOff + r * rows + from, out, o + from, to - from);
            if (wtPacked == null) {
                gemmNT(1, to - from, cols, hPrev, hp, cols, w, wOff + from * cols, cols, out, o + from, rows);
            } else {
                // W^T(p, j) = W(j, p): step 1 along p, cols between columns j
                partRow(cols, n2, from, to, hPrev, hp, wtPacked, w, wOff, 1, cols, out, o, descending);
            }
            if (act != null) activateRow(act, to - from, out, o + from);
        }
    }

    /** As {@link #recurrentForwardPart}: W's column panels [from, to) one row at a time, the edge columns in scalar fma. */
    @Override
    public void recurrentBackwardPart(Activation act, int batch, int rows, int cols, int from, int to, float[] w, int wOff,
                                      float[] wPacked, float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                                      float[] hCur, int hCurOff, float[] out, int outOff, boolean descending) {
        if (to <= from) return;
        checkPartBounds(from, to, cols);
        int n2 = cols - cols % (2 * L);
        for (int r = 0; r < batch; r++) {
            int o = outOff + r * cols, dn = deltaNextOff + r * rows;
            System.arraycopy(g, gOff + r * cols + from, out, o + from, to - from);
            if (wPacked == null) {
                axpyRow(to - from, rows, deltaNext, dn, 1, w, wOff + from, cols, out, o + from);
            } else {
                partRow(rows, n2, from, to, deltaNext, dn, wPacked, w, wOff, cols, 1, out, o, descending);
            }
            if (act != null) derivRow(act, to - from, hCur, hCurOff + r * cols + from, out, o + from);
        }
    }

    /**
     * Outputs [from, to) of one row, {@code c[c0 + j] += sum_p a[a0 + p] * B(p, j)} over k terms:
     * the columns below n2 through B's packed panels (K blocks of KC, as {@link #outer} lays them
     * out), the rest in scalar fma over B in place, {@code B(p, j) = b[bOff + p*bPs + j*bJs]};
     * p in order per element, as every path of {@link #outer}.
     *
     * <p>The panels go by groups of {@link #SWEEP_GROUP} columns, each through all its K blocks
     * before the next, first to last or ({@code descending}) last to first: the same bits. A
     * recurrence reads all of W once a step; alternating the direction, the groups a step reads
     * first are the ones the previous step read last, still in L2 (1 MiB here) where W is
     * larger. Measured at B = 1 in one JVM, each order alternating with the others by training
     * call (forward, loss and BPTT, T = 1000, 31 calls each): the groups ascending on every step
     * 1.01x (H = 512) and 1.02x (H = 1024) the K-blocks-outer loop this replaced; alternating
     * 1.13x at both.
     */
    private static void partRow(int k, int n2, int from, int to, float[] a, int a0, float[] packed, float[] b, int bOff,
                                int bPs, int bJs, float[] c, int c0, boolean descending) {
        int panelsEnd = Math.min(to, n2);
        int groups = Math.max(0, (panelsEnd - from + SWEEP_GROUP - 1) / SWEEP_GROUP);
        for (int i = 0; i < groups; i++) {
            int g = from + (descending ? groups - 1 - i : i) * SWEEP_GROUP, ge = Math.min(panelsEnd, g + SWEEP_GROUP);
            for (int p0 = 0; p0 < k; p0 += KC) {
                int kb = Math.min(KC, k - p0);
                rowPanels(kb, ge - g, a, a0 + p0, packed, p0 * n2 + g * kb, c, c0 + g);
            }
        }
        for (int j = Math.max(from, n2); j < to; j++) {
            float v = c[c0 + j];
            for (int p = 0, bj = bOff + j * bJs; p < k; p++, bj += bPs) v = Math.fma(a[a0 + p], b[bj], v);
            c[c0 + j] = v;
        }
    }

    /** Columns per group of {@link #partRow}'s sweep: four panels, one {@link #row1x8} (128 KiB of W per K block with AVX-512). */
    private static final int SWEEP_GROUP = 8 * L;

    @Override
    public int splitAlignment() { return 2 * L; }

    /** A part's outputs start at a panel and end at one (or at the last output): the panel arithmetic needs it. */
    private static void checkPartBounds(int from, int to, int n) {
        if (from < 0 || from % (2 * L) != 0 || to > n || (to != n && to % (2 * L) != 0)) {
            throw new IllegalArgumentException("outputs [" + from + ", " + to + ") of " + n + ", expected bounds that are "
                    + "multiples of splitAlignment() = " + 2 * L + " (or " + n + " for the end)");
        }
    }

    /**
     * W^T in the layout {@link #packWeights} gives a matrix: panel j of W^T (rows j .. j + 2L of
     * W), step p (a column of W), at {@code p0 * n2 + j * kb + (p - p0) * 2L}. Row by row of W:
     * each row is read once, sequentially, and scattered 2L floats apart inside one 2L x KC panel
     * (16 KiB).
     */
    @Override
    public void packTransposedWeights(int rows, int cols, float[] w, int wOff, float[] packed) {
        int n2 = rows - rows % (2 * L);
        for (int p0 = 0; p0 < cols; p0 += KC) {
            int kb = Math.min(KC, cols - p0);
            for (int j = 0; j < n2; j++) {
                int src = wOff + j * cols + p0;
                int dst = p0 * n2 + (j - j % (2 * L)) * kb + j % (2 * L);
                for (int p = 0; p < kb; p++, dst += 2 * L) packed[dst] = w[src + p];
            }
        }
    }

    /**
     * Longest row for the 8-row GEMV tile: measured 1.04-1.16x the 4-row tile at H = 256, 1.02x
     * at 512, but 0.92x at 1024 (W streamed from L3: eight concurrent row streams do worse).
     */
    private static final int DOT8_MAX_K = 512;

    /**
     * {@code c[cOff + j] += dot(a[aOff..], b row j)} for j < nb: one row of the dot family.
     * Eight rows of B per pass share the loads of the A chunk where {@link #dot1x8} applies,
     * else four (the GEMV shape: 5 loads per 4 FMAs, four chains in flight); the last nb % 4
     * rows go one at a time. The same sequence per element in all three.
     */
    private static void dotRow(int nb, int k, float[] a, int aOff, float[] b, int bOff, int ldb,
                               float[] c, int cOff) {
        int j = 0;
        if (k % L == 0 && k <= DOT8_MAX_K) {
            for (; j + 8 <= nb; j += 8) dot1x8(k, a, aOff, b, bOff + j * ldb, ldb, c, cOff + j);
        }
        for (; j + 4 <= nb; j += 4) dot1x4(k, a, aOff, b, bOff + j * ldb, ldb, c, cOff + j);
        for (; j < nb; j++) dot1x1(k, a, aOff, b, bOff + j * ldb, c, cOff + j);
    }

    /**
     * Eight rows of B against one A row: 9 loads per 8 FMAs and eight independent chains, enough
     * to cover the FMA latency on both pipes (the 4-row form leaves half of it exposed). Only for
     * k % L == 0 and k <= {@link #DOT8_MAX_K}: no masked chunk (with one, the method outgrew
     * what C1 can compile, "out of virtual registers", and once stayed in the allocating tier-2
     * code); other k go 4 rows at a time. Same sequence per element as {@link #dot1x4}.
     */
    private static void dot1x8(int k, float[] a, int a0, float[] b, int b0, int ldb, float[] c, int c0) {
        int b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb, b4 = b3 + ldb;
        int b5 = b4 + ldb, b6 = b5 + ldb, b7 = b6 + ldb;
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
        for (int p = 0; p < k; p += L) {
            FloatVector va = FloatVector.fromArray(S, a, a0 + p);
            s0 = va.fma(FloatVector.fromArray(S, b, b0 + p), s0);
            s1 = va.fma(FloatVector.fromArray(S, b, b1 + p), s1);
            s2 = va.fma(FloatVector.fromArray(S, b, b2 + p), s2);
            s3 = va.fma(FloatVector.fromArray(S, b, b3 + p), s3);
            s4 = va.fma(FloatVector.fromArray(S, b, b4 + p), s4);
            s5 = va.fma(FloatVector.fromArray(S, b, b5 + p), s5);
            s6 = va.fma(FloatVector.fromArray(S, b, b6 + p), s6);
            s7 = va.fma(FloatVector.fromArray(S, b, b7 + p), s7);
        }
        c[c0] += sumLanes(s0);
        c[c0 + 1] += sumLanes(s1);
        c[c0 + 2] += sumLanes(s2);
        c[c0 + 3] += sumLanes(s3);
        c[c0 + 4] += sumLanes(s4);
        c[c0 + 5] += sumLanes(s5);
        c[c0 + 6] += sumLanes(s6);
        c[c0 + 7] += sumLanes(s7);
    }

    private static void dot4x2(int k, float[] a, int a0, int lda, float[] b, int b0, int ldb,
                               float[] c, int c0, int ldc) {
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, b1 = b0 + ldb;
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s10 = s00, s11 = s00,
                s20 = s00, s21 = s00, s30 = s00, s31 = s00;
        int kFull = S.loopBound(k);
        for (int p = 0; p < kFull; p += L) {
            FloatVector vb0 = FloatVector.fromArray(S, b, b0 + p);
            FloatVector vb1 = FloatVector.fromArray(S, b, b1 + p);
            FloatVector va = FloatVector.fromArray(S, a, a0 + p);
            s00 = va.fma(vb0, s00); s01 = va.fma(vb1, s01);
            va = FloatVector.fromArray(S, a, a1 + p);
            s10 = va.fma(vb0, s10); s11 = va.fma(vb1, s11);
            va = FloatVector.fromArray(S, a, a2 + p);
            s20 = va.fma(vb0, s20); s21 = va.fma(vb1, s21);
            va = FloatVector.fromArray(S, a, a3 + p);
            s30 = va.fma(vb0, s30); s31 = va.fma(vb1, s31);
        }
        c[c0] += sumLanes(s00) + tailDot(kFull, k, a, a0, b, b0);
        c[c0 + 1] += sumLanes(s01) + tailDot(kFull, k, a, a0, b, b1);
        c[c0 + ldc] += sumLanes(s10) + tailDot(kFull, k, a, a1, b, b0);
        c[c0 + ldc + 1] += sumLanes(s11) + tailDot(kFull, k, a, a1, b, b1);
        c[c0 + 2 * ldc] += sumLanes(s20) + tailDot(kFull, k, a, a2, b, b0);
        c[c0 + 2 * ldc + 1] += sumLanes(s21) + tailDot(kFull, k, a, a2, b, b1);
        c[c0 + 3 * ldc] += sumLanes(s30) + tailDot(kFull, k, a, a3, b, b0);
        c[c0 + 3 * ldc + 1] += sumLanes(s31) + tailDot(kFull, k, a, a3, b, b1);
    }

    private static void dot4x1(int k, float[] a, int a0, int lda, float[] b, int b0,
                               float[] c, int c0, int ldc) {
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int kFull = S.loopBound(k);
        for (int p = 0; p < kFull; p += L) {
            FloatVector vb = FloatVector.fromArray(S, b, b0 + p);
            s0 = FloatVector.fromArray(S, a, a0 + p).fma(vb, s0);
            s1 = FloatVector.fromArray(S, a, a1 + p).fma(vb, s1);
            s2 = FloatVector.fromArray(S, a, a2 + p).fma(vb, s2);
            s3 = FloatVector.fromArray(S, a, a3 + p).fma(vb, s3);
        }
        c[c0] += sumLanes(s0) + tailDot(kFull, k, a, a0, b, b0);
        c[c0 + ldc] += sumLanes(s1) + tailDot(kFull, k, a, a1, b, b0);
        c[c0 + 2 * ldc] += sumLanes(s2) + tailDot(kFull, k, a, a2, b, b0);
        c[c0 + 3 * ldc] += sumLanes(s3) + tailDot(kFull, k, a, a3, b, b0);
    }

    private static void dot1x4(int k, float[] a, int a0, float[] b, int b0, int ldb, float[] c, int c0) {
        int b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int kFull = S.loopBound(k);
        for (int p = 0; p < kFull; p += L) {
            FloatVector va = FloatVector.fromArray(S, a, a0 + p);
            s0 = va.fma(FloatVector.fromArray(S, b, b0 + p), s0);
            s1 = va.fma(FloatVector.fromArray(S, b, b1 + p), s1);
            s2 = va.fma(FloatVector.fromArray(S, b, b2 + p), s2);
            s3 = va.fma(FloatVector.fromArray(S, b, b3 + p), s3);
        }
        c[c0] += sumLanes(s0) + tailDot(kFull, k, a, a0, b, b0);
        c[c0 + 1] += sumLanes(s1) + tailDot(kFull, k, a, a0, b, b1);
        c[c0 + 2] += sumLanes(s2) + tailDot(kFull, k, a, a0, b, b2);
        c[c0 + 3] += sumLanes(s3) + tailDot(kFull, k, a, a0, b, b3);
    }

    private static void dot1x1(int k, float[] a, int a0, float[] b, int b0, float[] c, int c0) {
        FloatVector s = FloatVector.zero(S);
        int kFull = S.loopBound(k);
        for (int p = 0; p < kFull; p += L) {
            s = FloatVector.fromArray(S, a, a0 + p).fma(FloatVector.fromArray(S, b, b0 + p), s);
        }
        c[c0] += sumLanes(s) + tailDot(kFull, k, a, a0, b, b0);
    }

    /**
     * The last {@code k - kFull < L} terms of a dot product, in scalar fma, in order. Replaces a
     * masked vector chunk: masked loads made gemv and gemmNT 6-8x slower at sizes that are not a
     * multiple of L (AVX2, JDK 25). Every output element of the dot kernels adds
     * {@code sumLanes(s) + tailDot(...)} the same way, so row splits stay bitwise identical, and
     * Math.fma is correctly rounded in every JIT tier.
     */
    private static float tailDot(int kFull, int k, float[] a, int a0, float[] b, int b0) {
        float t = 0f;
        for (int p = kFull; p < k; p++) t = Math.fma(a[a0 + p], b[b0 + p], t);
        return t;
    }

    /**
     * The lanes of {@code v} summed in a fixed tree order (lane i + lane i + L/2, then the same
     * on the halves, ...), with shuffles precomputed for this species. Used instead of
     * {@code reduceLanes(ADD)}, whose order is unspecified (the interpreter and C2 may differ),
     * and instead of L calls to {@code lane(i)}, which measured twice as slow in GEMV. Called
     * once per output element, never inside a reduction loop.
     */
    static float sumLanes(FloatVector v) {
        for (VectorShuffle<Float> s : FOLD) v = v.add(v.rearrange(s));
        return v.lane(0);
    }

    /**
     * {@link #sumLanes}' tree over a vector stored in {@code t} (L floats, overwritten): lane i +
     * lane i + L/2, then the same on the halves, down to lane 0. The same additions with the same
     * operands in the same order, so the same bits; for callers that C2 will not inline
     * {@code sumLanes} into, where passing the vector would box it.
     */
    static float foldLanes(float[] t) {
        for (int w = L / 2; w >= 1; w /= 2) {
            for (int i = 0; i < w; i++) t[i] = t[i] + t[i + w];
        }
        return t[0];
    }

    /** One thread's lane buffer for {@link #foldLanes}. */
    private static final ThreadLocal<float[]> LANES = ThreadLocal.withInitial(() -> new float[L]);

    /** FOLD[s] moves lane i + L / 2^(s+1) to lane i (log2 L steps). */
    private static final VectorShuffle<Float>[] FOLD = folds();

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] folds() {
        VectorShuffle<Float>[] f = new VectorShuffle[Integer.numberOfTrailingZeros(L)];
        for (int s = 0, w = L / 2; s < f.length; s++, w /= 2) {
            int shift = w;
            f[s] = VectorShuffle.fromOp(S, i -> (i + shift) % L);
        }
        return f;
    }

    // ---------------------------------------------------------------------------------------
    // Axpy / outer-product family: y += A^T x, C += A B, C += A^T B, the backward recurrence.
    // ---------------------------------------------------------------------------------------

    @Override
    public void gemvT(int m, int n, float[] a, int aOff, int lda, float[] x, int xOff, float[] y, int yOff) {
        axpyRow(n, m, x, xOff, 1, a, aOff, lda, y, yOff);
    }

    @Override
    public void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc) {
        // A(i, p) = a[aOff + i*lda + p]: step 1 along p, lda between rows.
        outer(m, n, k, a, aOff, 1, lda, b, bOff, ldb, 1, null, c, cOff, ldc, false);
    }

    @Override
    public void gemmNN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb, float[] bPacked,
                       float[] c, int cOff, int ldc) {
        outer(m, n, k, a, aOff, 1, lda, b, bOff, ldb, 1, bPacked, c, cOff, ldc, false);
    }

    @Override
    public void gemmTN(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                       float[] c, int cOff, int ldc) {
        // A^T(i, p) = a[aOff + p*lda + i]: lda along p, step 1 between rows of C.
        outer(m, n, k, a, aOff, lda, 1, b, bOff, ldb, 1, null, c, cOff, ldc, false);
    }

    @Override
    public void recurrentBackward(Activation act, int batch, int rows, int cols, float[] w, int wOff, float[] wPacked,
                                  float[] deltaNext, int deltaNextOff, float[] g, int gOff,
                                  float[] hCur, int hCurOff, float[] out, int outOff, boolean descending) {
        // out = g, then out += deltaNext W (row form of W^T deltaNext), then * act'(h).
        System.arraycopy(g, gOff, out, outOff, batch * cols);
        outer(batch, cols, rows, deltaNext, deltaNextOff, 1, rows, w, wOff, cols, 1, wPacked, out, outOff, cols, descending);
        if (act != null) for (int r = 0; r < batch; r++) derivRow(act, cols, hCur, hCurOff + r * cols, out, outOff + r * cols);
    }

    /**
     * The larger of the two packed layouts of a rows x cols W: W's 2L-wide column panels over
     * all rows ({@link #packWeights}), or W^T's over all columns ({@link #packTransposedWeights}).
     */
    @Override
    public int packedWeightsLength(int rows, int cols) {
        return Math.max(rows * (cols - cols % (2 * L)), cols * (rows - rows % (2 * L)));
    }

    /**
     * Panels of W as {@link #outer} would pack them on every call: for each block of KC rows
     * (p0), panel j (columns j .. j + 2L) at {@code p0 * n2 + j * kb}. Packing the same W on
     * every backward step cost about half of a 64 x 1024 x 1024 step (strided reads of 4 MiB
     * of W, page by page); packed once per call it streams.
     */
    @Override
    public void packWeights(int rows, int cols, float[] w, int wOff, float[] packed) {
        int n2 = cols - cols % (2 * L);
        for (int p0 = 0; p0 < rows; p0 += KC) packPanels(Math.min(KC, rows - p0), n2, w, wOff + p0 * cols, cols, packed, p0 * n2);
    }

    /** Reduction steps per cache block. */
    private static final int KC = 256;
    /**
     * Rows of C per cache block: the packed A block (MC x KC floats, 120 KiB) stays in L2 while
     * the packed column panels of B go past it, each panel (KC x 2L floats, 16 KiB with AVX2)
     * staying in L1 across all the row tiles of the block. Without these blocks the whole of B
     * (W itself in the backward recurrence, 4 MiB at H = 1024) streamed from L3 once per few
     * rows of C.
     */
    private static final int MC = 120;
    /**
     * Columns of B per packed block (a multiple of 2L): KC x NC floats, 1 MiB, packed once per
     * K block and read panel by panel, sequentially, by every row block. Packing each panel
     * again for each row block (strided reads of B, 4 KiB apart at H = 1024) cost about a third
     * of the dW product.
     */
    private static final int NC = 1024;

    /**
     * Per-thread packing buffers (1.1 MiB), allocated once per thread on first use: [0] the A
     * block (MC x KC), [1] a block of B's column panels (KC x NC). In place, the rows of A and of
     * a B panel are lda and ldb floats apart, 4 KiB at H = 1024: all of them then fall into the
     * same L1 set (8 ways), and a tile's kb steps touch kb pages, which defeats the prefetchers.
     * Packed, the A block is rows of kb floats (distinct sets) and each panel one contiguous
     * run. Measured on the 64 x 1024 x 1024 product of a B = 64 backward step: 24 GFLOP/s
     * reading W in place, 40 from W packed once per call ({@link #packWeights}); the dW product
     * (1024 x 1024, 128 terms) went from 29 to 35 GFLOP/s when B's panels were packed once per
     * K block instead of once per row block. Packing only copies values, so the arithmetic,
     * and every bit of C, is what the unpacked loops computed.
     */
    private static final ThreadLocal<float[][]> PACK =
            ThreadLocal.withInitial(() -> new float[][] {new float[MC * KC], new float[KC * NC]});

    /**
     * {@code C(i, j) += sum_p A(i, p) B(p, j)} with A(i, p) at {@code a[aOff + p*aPs + i*aRs]} and
     * B(p, j) at {@code b[bOff + p*bPs + j*bJs]}. Either aPs or aRs is 1 (A row-major: gemmNN and
     * the recurrent steps; or A^T row-major: gemmTN). B is row-major (bJs == 1), or, for the
     * forward step, W^T read as W (bPs == 1), in which case {@code bPacked} holds its panels. With
     * B row-major and not packed, fewer than 4 rows go through {@link #axpyRow} (packing the panels
     * would cost more than the product). Else, outside in: blocks of KC reduction steps, blocks of
     * NC columns (B's panels packed once, or read from {@code bPacked}), blocks of MC rows (A block
     * packed, see {@link #packRows}), groups of four panels of 2L columns, tiles of 6 rows and then
     * of 4 rows and then single rows ({@link #rowPanels}); a tile holds its block of C in registers
     * across the kb steps. Then, from B in place, one panel of L columns (B row-major only) and the
     * remaining columns in scalar fma. Every path does {@code c = fma(a, b, c)} in p order per
     * element, so the result is the same bits whichever tile, block or row path an element takes (C
     * is stored and reloaded exactly between K blocks). {@code descending}: for one row with
     * {@code bPacked}, the order of {@link #partRow}'s sweep; ignored otherwise.
     */
    private static void outer(int m, int n, int k, float[] a, int aOff, int aPs, int aRs,
                              float[] b, int bOff, int bPs, int bJs, float[] bPacked, float[] c, int cOff, int ldc,
                              boolean descending) {
        // callers: gemmNN and recurrentBackward (aPs == 1), gemmTN (aRs == 1), all with B
        // row-major (bJs == 1; a stream's gemmNN and recurrentBackward may give B's panels in
        // bPacked); recurrentForward's outer form with B = W^T read as W (bPs == 1), which
        // always comes with bPacked
        int ldb = bPs;
        if (m == 1 && bPacked != null) {
            // one row with B's panels packed (a recurrent step, or a stream's product at B = 1;
            // A row-major): the row pass over the panels, in the order asked for. Reached through this method (too large for C2 to inline, so
            // compiled on its own) rather than through the smaller part steps: with the row pass
            // inlined into the driver's compiled steps, the core suite's allocation test found
            // the LSTM's activations boxed on every step in 2 of 8 runs (C2 had not inlined
            // tanh into them), and in none of 8 runs this way
            partRow(k, n - n % (2 * L), 0, n, a, aOff, bPacked, b, bOff, bPs, bJs, c, cOff, descending);
            return;
        }
        if (m < 4 && bJs == 1 && bPacked == null) {
            for (int i = 0; i < m; i++) axpyRow(n, k, a, aOff + i * aRs, aPs, b, bOff, ldb, c, cOff + i * ldc);
            return;
        }
        float[][] pack = PACK.get();
        float[] pa = pack[0], pb = pack[1];
        boolean tn = aPs != 1;
        int n2 = n - n % (2 * L), nFull = S.loopBound(n);
        for (int p0 = 0; p0 < k; p0 += KC) {
            int kb = Math.min(KC, k - p0);
            int bP = bOff + p0 * bPs;
            for (int jc = 0; jc < n; jc += NC) {
                // the block's panels (columns jc .. min(n2, jc + NC)), panel j at base + (j - jc) * kb
                int jp = Math.min(n2, jc + NC);
                float[] panels = pb;
                int base = 0;
                if (bPacked != null) {
                    panels = bPacked;
                    base = p0 * n2 + jc * kb;
                } else {
                    packPanels(kb, jp - jc, b, bP + jc, ldb, pb, 0);
                }
                boolean last = jc + NC >= n;
                for (int i0 = 0; i0 < m; i0 += MC) {
                    int mb = Math.min(MC, m - i0);
                    int m6 = sixRowTiles(mb) * 6, m4 = m6 + (mb - m6) / 4 * 4;
                    packRows(mb, m6, kb, a, aOff + p0 * aPs + i0 * aRs, aPs, aRs, pa);
                    // the first m6 rows: row-major (NN), or 6-row micro-panels (TN); A(i, p) at
                    // pa[g + p*ps6 + r*rs6] for i = g/kb + r in a tile starting at g = i*kb
                    int ps6 = tn ? 6 : 1, rs6 = tn ? 1 : kb;
                    int c0 = cOff + i0 * ldc;
                    // groups of four panels: the row tiles, then the rows they leave (one row
                    // across the group's panels) while the group is still in L1/L2
                    for (int g = jc; g < jp; g += 8 * L) {
                        int ge = Math.min(jp, g + 8 * L);
                        for (int j = g; j < ge; j += 2 * L) {
                            int q = base + (j - jc) * kb;
                            int i = 0;
                            if (tn) {
                                for (; i < m6; i += 6) tileTN6x2(kb, pa, i * kb, 6, panels, q, c, c0 + i * ldc + j, ldc);
                            } else {
                                for (; i < m6; i += 6) tileNN6x2(kb, pa, i * kb, kb, panels, q, c, c0 + i * ldc + j, ldc);
                            }
                            for (; i < m4; i += 4) tile4x2(kb, pa, i * kb, kb, panels, q, c, c0 + i * ldc + j, ldc);
                        }
                        int q = base + (g - jc) * kb;
                        for (int i = m4; i < mb; i++) rowPanels(kb, ge - g, pa, i * kb, panels, q, c, c0 + i * ldc + g);
                    }
                    if (!last) continue;
                    // the columns past the panels, from B in place: one L-wide panel (B row-major
                    // only), then the rest in scalar fma
                    int j = n2;
                    if (j < nFull && bJs == 1) {
                        int i = 0;
                        for (; i < m6; i += 6) tile6x1(kb, pa, i * kb, ps6, rs6, b, bP + j, ldb, c, c0 + i * ldc + j, ldc);
                        for (; i < m4; i += 4) tile4x1(kb, pa, i * kb, 1, kb, b, bP + j, ldb, c, c0 + i * ldc + j, ldc);
                        if (i < mb) edgeColumns(mb - i, kb, L, pa, i * kb, 1, kb, b, bP + j, ldb, 1, c, c0 + i * ldc + j, ldc);
                        j += L;
                    }
                    if (j < n) {
                        for (int i = 0; i < m6; i += 6) {
                            edgeColumns(6, kb, n - j, pa, i * kb, ps6, rs6, b, bP + j * bJs, bPs, bJs, c, c0 + i * ldc + j, ldc);
                        }
                        edgeColumns(mb - m6, kb, n - j, pa, m6 * kb, 1, kb, b, bP + j * bJs, bPs, bJs, c, c0 + m6 * ldc + j, ldc);
                    }
                }
            }
        }
    }

    /**
     * How many 6-row tiles to cut from {@code rows} so that what is left is mostly 4-row tiles:
     * 32 rows (B = 64 on two threads) as 4 x 6 + 2 x 4 rather than 5 x 6 + 2 single rows, which
     * have only two FMA chains each and run at a quarter of the tile's speed.
     */
    static int sixRowTiles(int rows) {
        int even = rows & ~1;
        int t = even / 6;
        if ((even - 6 * t) % 4 != 0) t--;     // even - 6t is 0 or 2 (mod 4); one tile fewer fixes 2
        return Math.max(t, 0);
    }

    /**
     * Copies A(i, p), i < mb, p < kb (A(i, p) at {@code a[a0 + p*aPs + i*aRs]}) into
     * {@code pa}: every row row-major at {@code pa[i*kb + p]} when A is row-major (a row copy);
     * when A^T is row-major, the first m6 rows as 6-row micro-panels,
     * {@code pa[(i - i%6)*kb + p*6 + i%6]}, and the rest row-major. A^T row p is a run of mb
     * adjacent values, so the micro-panels fill sequentially from sequential reads; a plain
     * transposition (whole columns at a time, even in 8 x 8 blocks) cost 7 % of a B = 64,
     * H = 512 sequence, its lines lda or kb floats apart sharing a few L1 sets.
     */
    private static void packRows(int mb, int m6, int kb, float[] a, int a0, int aPs, int aRs, float[] pa) {
        if (aPs == 1) {
            for (int i = 0; i < mb; i++) System.arraycopy(a, a0 + i * aRs, pa, i * kb, kb);
            return;
        }
        for (int p = 0, src = a0; p < kb; p++, src += aPs) {
            for (int i = 0; i < m6; i += 6) System.arraycopy(a, src + i, pa, i * kb + p * 6, 6);
            for (int i = m6; i < mb; i++) pa[i * kb + p] = a[src + i];
        }
    }

    /**
     * Packs the kb x cols block of B at {@code b[bj ..]} (cols a multiple of 2L) as 2L-wide
     * panels: element (p, j) to {@code pb[q0 + (j / 2L) * kb * 2L + p * 2L + j % 2L]}. Eight rows
     * at a time, panel by panel: eight sequential read streams (prefetched) and 512 contiguous
     * bytes written per panel. Panel by panel over all kb rows read B a page per row (4 KiB
     * apart at H = 1024); row by row over all panels wrote lines kb * 2L floats apart, all in
     * one L1 set. Either cost 6-8 % of a B = 64, H = 512 sequence.
     */
    private static void packPanels(int kb, int cols, float[] b, int bj, int ldb, float[] pb, int q0) {
        int panel = kb * 2 * L;
        for (int p0 = 0; p0 < kb; p0 += PACK_ROWS) {
            int rows = Math.min(PACK_ROWS, kb - p0);
            for (int j = 0, q = q0 + p0 * 2 * L; j < cols; j += 2 * L, q += panel) {
                for (int r = 0, src = bj + p0 * ldb + j, dst = q; r < rows; r++, src += ldb, dst += 2 * L) {
                    FloatVector.fromArray(S, b, src).intoArray(pb, dst);
                    FloatVector.fromArray(S, b, src + L).intoArray(pb, dst + L);
                }
            }
        }
    }

    /** Rows of B per pass of {@link #packPanels}. */
    private static final int PACK_ROWS = 8;

    /**
     * A 6 x 2-vector tile of C in 12 registers across kb steps, A row-major (rows lda apart),
     * B a packed panel (rows 2L apart): per step 2 loads of B, 6 broadcasts of A, 12 FMAs, and
     * 12 + 2 + 1 of the 16 AVX2 registers (a 4 x 3 tile needs all 16, and C2 then spills
     * accumulators). The A reads are {@code a[row + p]} with p the loop counter and the panel's
     * stride is a constant, so C2 hoists the bounds checks of both (with the stride a
     * parameter, two compare-and-branch pairs stayed in the loop). With A's offsets constant
     * too ({@code a[ap + r]}, ap += 6) C2 hoisted the broadcasts and spilled an accumulator:
     * 40 against 87 GFLOP/s in L1, hence lda stays a parameter in {@link #tileTN6x2}.
     */
    private static void tileNN6x2(int kb, float[] a, int a0, int lda, float[] b, int bj,
                                  float[] c, int c0, int ldc) {
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c1), c11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c2), c21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c3), c31 = FloatVector.fromArray(S, c, c3 + L);
        FloatVector c40 = FloatVector.fromArray(S, c, c4), c41 = FloatVector.fromArray(S, c, c4 + L);
        FloatVector c50 = FloatVector.fromArray(S, c, c5), c51 = FloatVector.fromArray(S, c, c5 + L);
        for (int p = 0; p < kb; p++, bj += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, b, bj);
            FloatVector b1 = FloatVector.fromArray(S, b, bj + L);
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            c00 = av.fma(b0, c00); c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[a1 + p]);
            c10 = av.fma(b0, c10); c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[a2 + p]);
            c20 = av.fma(b0, c20); c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[a3 + p]);
            c30 = av.fma(b0, c30); c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[a4 + p]);
            c40 = av.fma(b0, c40); c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[a5 + p]);
            c50 = av.fma(b0, c50); c51 = av.fma(b1, c51);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L);
        c10.intoArray(c, c1); c11.intoArray(c, c1 + L);
        c20.intoArray(c, c2); c21.intoArray(c, c2 + L);
        c30.intoArray(c, c3); c31.intoArray(c, c3 + L);
        c40.intoArray(c, c4); c41.intoArray(c, c4 + L);
        c50.intoArray(c, c5); c51.intoArray(c, c5 + L);
    }

    /**
     * {@link #tileNN6x2} over a 6-row micro-panel of A (A(i, p) at {@code a[ap + p*lda + i]},
     * lda = 6 from {@link #packRows}): the six A values of a step are adjacent. Two tiles
     * rather than one layout for both: interleaving row-major A into micro-panels is a scalar
     * copy that halved the speed of products with few columns (60 x 16 x 256: 38-61 down to 21
     * GFLOP/s, measured), while gemmTN's A^T fills micro-panels sequentially for free.
     */
    private static void tileTN6x2(int kb, float[] a, int ap, int lda, float[] b, int bj,
                                  float[] c, int c0, int ldc) {
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c1), c11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c2), c21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c3), c31 = FloatVector.fromArray(S, c, c3 + L);
        FloatVector c40 = FloatVector.fromArray(S, c, c4), c41 = FloatVector.fromArray(S, c, c4 + L);
        FloatVector c50 = FloatVector.fromArray(S, c, c5), c51 = FloatVector.fromArray(S, c, c5 + L);
        for (int p = 0; p < kb; p++, ap += lda, bj += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, b, bj);
            FloatVector b1 = FloatVector.fromArray(S, b, bj + L);
            FloatVector av = FloatVector.broadcast(S, a[ap]);
            c00 = av.fma(b0, c00); c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[ap + 1]);
            c10 = av.fma(b0, c10); c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[ap + 2]);
            c20 = av.fma(b0, c20); c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[ap + 3]);
            c30 = av.fma(b0, c30); c31 = av.fma(b1, c31);
            av = FloatVector.broadcast(S, a[ap + 4]);
            c40 = av.fma(b0, c40); c41 = av.fma(b1, c41);
            av = FloatVector.broadcast(S, a[ap + 5]);
            c50 = av.fma(b0, c50); c51 = av.fma(b1, c51);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L);
        c10.intoArray(c, c1); c11.intoArray(c, c1 + L);
        c20.intoArray(c, c2); c21.intoArray(c, c2 + L);
        c30.intoArray(c, c3); c31.intoArray(c, c3 + L);
        c40.intoArray(c, c4); c41.intoArray(c, c4 + L);
        c50.intoArray(c, c5); c51.intoArray(c, c5 + L);
    }

    /**
     * 4 rows x 2 vectors over a packed A block and panel: the rows a 6-row tile leaves. Eight
     * chains, just enough for two FMA pipes with four cycles of latency.
     */
    private static void tile4x2(int kb, float[] a, int a0, int lda, float[] pb, int q, float[] c, int c0, int ldc) {
        int a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector c10 = FloatVector.fromArray(S, c, c1), c11 = FloatVector.fromArray(S, c, c1 + L);
        FloatVector c20 = FloatVector.fromArray(S, c, c2), c21 = FloatVector.fromArray(S, c, c2 + L);
        FloatVector c30 = FloatVector.fromArray(S, c, c3), c31 = FloatVector.fromArray(S, c, c3 + L);
        for (int p = 0, bj = q; p < kb; p++, bj += 2 * L) {
            FloatVector b0 = FloatVector.fromArray(S, pb, bj);
            FloatVector b1 = FloatVector.fromArray(S, pb, bj + L);
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            c00 = av.fma(b0, c00); c01 = av.fma(b1, c01);
            av = FloatVector.broadcast(S, a[a1 + p]);
            c10 = av.fma(b0, c10); c11 = av.fma(b1, c11);
            av = FloatVector.broadcast(S, a[a2 + p]);
            c20 = av.fma(b0, c20); c21 = av.fma(b1, c21);
            av = FloatVector.broadcast(S, a[a3 + p]);
            c30 = av.fma(b0, c30); c31 = av.fma(b1, c31);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L);
        c10.intoArray(c, c1); c11.intoArray(c, c1 + L);
        c20.intoArray(c, c2); c21.intoArray(c, c2 + L);
        c30.intoArray(c, c3); c31.intoArray(c, c3 + L);
    }

    /** One row x 2 vectors over a packed A row and panel (the last rows % 2 ... rows of a block). */
    private static void tile1x2(int kb, float[] a, int a0, float[] pb, int q, float[] c, int c0) {
        FloatVector c00 = FloatVector.fromArray(S, c, c0), c01 = FloatVector.fromArray(S, c, c0 + L);
        for (int p = 0, bj = q; p < kb; p++, bj += 2 * L) {
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            c00 = av.fma(FloatVector.fromArray(S, pb, bj), c00);
            c01 = av.fma(FloatVector.fromArray(S, pb, bj + L), c01);
        }
        c00.intoArray(c, c0); c01.intoArray(c, c0 + L);
    }

    /**
     * One row across {@code cols} columns (a multiple of 2L) of consecutive packed panels from
     * {@code q}: four panels at a time (eight FMA chains, what two pipes of four cycles' latency
     * need; one broadcast and eight loads per eight FMAs), then two, then one. The rows a tile
     * leaves, and the whole product when there are fewer than 4 rows (B < 4: the recurrence,
     * and a stream's input and output products). Measured at B = 1, H = 256 (AVX-512,
     * KernelBench): the forward step 1.7x the dot-product GEMV, the backward step 2.0x the axpy
     * pass over W in place; a stream's 64 x 256 and 256 x 64 products 1.3x and 2.2x the axpy
     * passes.
     */
    private static void rowPanels(int kb, int cols, float[] a, int a0, float[] pb, int q, float[] c, int c0) {
        int j = 0;
        for (; j + 8 * L <= cols; j += 8 * L) row1x8(kb, a, a0, pb, q + j * kb, c, c0 + j);
        if (j + 4 * L <= cols) {
            row1x4(kb, a, a0, pb, q + j * kb, c, c0 + j);
            j += 4 * L;
        }
        if (j < cols) tile1x2(kb, a, a0, pb, q + j * kb, c, c0 + j);
    }

    /** One row x 8 vectors over four consecutive panels. */
    private static void row1x8(int kb, float[] a, int a0, float[] pb, int q0, float[] c, int c0) {
        int q1 = q0 + 2 * L * kb, q2 = q1 + 2 * L * kb, q3 = q2 + 2 * L * kb;
        FloatVector v0 = FloatVector.fromArray(S, c, c0), v1 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector v2 = FloatVector.fromArray(S, c, c0 + 2 * L), v3 = FloatVector.fromArray(S, c, c0 + 3 * L);
        FloatVector v4 = FloatVector.fromArray(S, c, c0 + 4 * L), v5 = FloatVector.fromArray(S, c, c0 + 5 * L);
        FloatVector v6 = FloatVector.fromArray(S, c, c0 + 6 * L), v7 = FloatVector.fromArray(S, c, c0 + 7 * L);
        for (int p = 0, o = 0; p < kb; p++, o += 2 * L) {
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            v0 = av.fma(FloatVector.fromArray(S, pb, q0 + o), v0);
            v1 = av.fma(FloatVector.fromArray(S, pb, q0 + o + L), v1);
            v2 = av.fma(FloatVector.fromArray(S, pb, q1 + o), v2);
            v3 = av.fma(FloatVector.fromArray(S, pb, q1 + o + L), v3);
            v4 = av.fma(FloatVector.fromArray(S, pb, q2 + o), v4);
            v5 = av.fma(FloatVector.fromArray(S, pb, q2 + o + L), v5);
            v6 = av.fma(FloatVector.fromArray(S, pb, q3 + o), v6);
            v7 = av.fma(FloatVector.fromArray(S, pb, q3 + o + L), v7);
        }
        v0.intoArray(c, c0); v1.intoArray(c, c0 + L); v2.intoArray(c, c0 + 2 * L); v3.intoArray(c, c0 + 3 * L);
        v4.intoArray(c, c0 + 4 * L); v5.intoArray(c, c0 + 5 * L); v6.intoArray(c, c0 + 6 * L); v7.intoArray(c, c0 + 7 * L);
    }

    /** One row x 4 vectors over two consecutive panels. */
    private static void row1x4(int kb, float[] a, int a0, float[] pb, int q0, float[] c, int c0) {
        int q1 = q0 + 2 * L * kb;
        FloatVector v0 = FloatVector.fromArray(S, c, c0), v1 = FloatVector.fromArray(S, c, c0 + L);
        FloatVector v2 = FloatVector.fromArray(S, c, c0 + 2 * L), v3 = FloatVector.fromArray(S, c, c0 + 3 * L);
        for (int p = 0, o = 0; p < kb; p++, o += 2 * L) {
            FloatVector av = FloatVector.broadcast(S, a[a0 + p]);
            v0 = av.fma(FloatVector.fromArray(S, pb, q0 + o), v0);
            v1 = av.fma(FloatVector.fromArray(S, pb, q0 + o + L), v1);
            v2 = av.fma(FloatVector.fromArray(S, pb, q1 + o), v2);
            v3 = av.fma(FloatVector.fromArray(S, pb, q1 + o + L), v3);
        }
        v0.intoArray(c, c0); v1.intoArray(c, c0 + L); v2.intoArray(c, c0 + 2 * L); v3.intoArray(c, c0 + 3 * L);
    }

    /** 6 rows x 1 vector: the last full column panel when n % 2L != 0 (either layout). */
    private static void tile6x1(int kb, float[] a, int ai, int aPs, int aRs, float[] b, int bj, int ldb,
                                float[] c, int c0, int ldc) {
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc, c4 = c3 + ldc, c5 = c4 + ldc;
        int r1 = aRs, r2 = 2 * aRs, r3 = 3 * aRs, r4 = 4 * aRs, r5 = 5 * aRs;
        FloatVector v0 = FloatVector.fromArray(S, c, c0);
        FloatVector v1 = FloatVector.fromArray(S, c, c1);
        FloatVector v2 = FloatVector.fromArray(S, c, c2);
        FloatVector v3 = FloatVector.fromArray(S, c, c3);
        FloatVector v4 = FloatVector.fromArray(S, c, c4);
        FloatVector v5 = FloatVector.fromArray(S, c, c5);
        for (int p = 0; p < kb; p++, ai += aPs, bj += ldb) {
            FloatVector bv = FloatVector.fromArray(S, b, bj);
            v0 = FloatVector.broadcast(S, a[ai]).fma(bv, v0);
            v1 = FloatVector.broadcast(S, a[ai + r1]).fma(bv, v1);
            v2 = FloatVector.broadcast(S, a[ai + r2]).fma(bv, v2);
            v3 = FloatVector.broadcast(S, a[ai + r3]).fma(bv, v3);
            v4 = FloatVector.broadcast(S, a[ai + r4]).fma(bv, v4);
            v5 = FloatVector.broadcast(S, a[ai + r5]).fma(bv, v5);
        }
        v0.intoArray(c, c0);
        v1.intoArray(c, c1);
        v2.intoArray(c, c2);
        v3.intoArray(c, c3);
        v4.intoArray(c, c4);
        v5.intoArray(c, c5);
    }

    /** {@code rows x cols} (cols < L) edge block of the outer-product tiles: c = fma(a_p, b_p, c), p in order. */
    private static void edgeColumns(int rows, int kb, int cols, float[] a, int ai, int aPs, int aRs, float[] b, int bj,
                                    int bPs, int bJs, float[] c, int c0, int ldc) {
        // B(p, j) at b[bj + p*bPs + j*bJs]: row-major (bJs == 1) or W^T read as W (bPs == 1)
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < cols; j++) {
                float v = c[c0 + r * ldc + j];
                for (int p = 0, ap = ai + r * aRs, bp = bj + j * bJs; p < kb; p++, ap += aPs, bp += bPs) {
                    v = Math.fma(a[ap], b[bp], v);
                }
                c[c0 + r * ldc + j] = v;
            }
        }
    }

    /** 4 rows x 1 vector: the last full column panel (4 chains in flight). */
    private static void tile4x1(int kb, float[] a, int ai, int aPs, int aRs, float[] b, int bj, int ldb,
                                float[] c, int c0, int ldc) {
        int c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
        FloatVector v0 = FloatVector.fromArray(S, c, c0), v1 = FloatVector.fromArray(S, c, c1),
                v2 = FloatVector.fromArray(S, c, c2), v3 = FloatVector.fromArray(S, c, c3);
        for (int p = 0; p < kb; p++, ai += aPs, bj += ldb) {
            FloatVector bv = FloatVector.fromArray(S, b, bj);
            v0 = FloatVector.broadcast(S, a[ai]).fma(bv, v0);
            v1 = FloatVector.broadcast(S, a[ai + aRs]).fma(bv, v1);
            v2 = FloatVector.broadcast(S, a[ai + 2 * aRs]).fma(bv, v2);
            v3 = FloatVector.broadcast(S, a[ai + 3 * aRs]).fma(bv, v3);
        }
        v0.intoArray(c, c0); v1.intoArray(c, c1); v2.intoArray(c, c2); v3.intoArray(c, c3);
    }

    /**
     * One row of the outer-product family: {@code c[cOff + j] += sum_p a[aOff + p*aPs] *
     * b[bOff + p*ldb + j]}, axpy form (gemvT, and the backward recurrence at B = 1). Four rows
     * of B per pass over c: the row of c stays in L1 and is loaded and stored once per 4 FMAs;
     * consecutive chunks are independent, so the out-of-order core overlaps their FMA chains.
     * Then one row per pass; p order per element throughout. (8 rows per pass measured the same
     * at H = 256 and 0.93x at H = 1024.) Each pass, and the masked chunk of the 4-row pass, is a
     * method of its own (scalars in, nothing returned): the original single method sometimes
     * outgrew what C1 can compile ("out of virtual registers").
     */
    private static void axpyRow(int n, int k, float[] a, int aOff, int aPs, float[] b, int bOff, int ldb,
                                float[] c, int cOff) {
        int p = 0;
        for (; p + 4 <= k; p += 4) {
            int ap = aOff + p * aPs;
            axpy4(n, a[ap], a[ap + aPs], a[ap + 2 * aPs], a[ap + 3 * aPs], b, bOff + p * ldb, ldb, c, cOff);
        }
        for (; p < k; p++) axpy1(n, a[aOff + p * aPs], b, bOff + p * ldb, c, cOff);
    }

    private static void axpy4(int n, float x0, float x1, float x2, float x3, float[] b, int b0, int ldb,
                              float[] c, int cOff) {
        int b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        FloatVector v0 = FloatVector.broadcast(S, x0);
        FloatVector v1 = FloatVector.broadcast(S, x1);
        FloatVector v2 = FloatVector.broadcast(S, x2);
        FloatVector v3 = FloatVector.broadcast(S, x3);
        int nFull = S.loopBound(n);
        for (int j = 0; j < nFull; j += L) {
            FloatVector y = FloatVector.fromArray(S, c, cOff + j);
            y = v0.fma(FloatVector.fromArray(S, b, b0 + j), y);
            y = v1.fma(FloatVector.fromArray(S, b, b1 + j), y);
            y = v2.fma(FloatVector.fromArray(S, b, b2 + j), y);
            y = v3.fma(FloatVector.fromArray(S, b, b3 + j), y);
            y.intoArray(c, cOff + j);
        }
        if (nFull < n) axpy4Tail(n, x0, x1, x2, x3, b, b0, ldb, c, cOff);
    }

    /** The masked last chunk of a 4-row pass (its own method, for C1's sake). */
    private static void axpy4Tail(int n, float x0, float x1, float x2, float x3, float[] b, int b0, int ldb,
                                  float[] c, int cOff) {
        int b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        int nFull = S.loopBound(n);
        VectorMask<Float> t = S.indexInRange(nFull, n);
        FloatVector y = FloatVector.fromArray(S, c, cOff + nFull, t);
        y = FloatVector.broadcast(S, x0).fma(FloatVector.fromArray(S, b, b0 + nFull, t), y);
        y = FloatVector.broadcast(S, x1).fma(FloatVector.fromArray(S, b, b1 + nFull, t), y);
        y = FloatVector.broadcast(S, x2).fma(FloatVector.fromArray(S, b, b2 + nFull, t), y);
        y = FloatVector.broadcast(S, x3).fma(FloatVector.fromArray(S, b, b3 + nFull, t), y);
        y.intoArray(c, cOff + nFull, t);
    }

    private static void axpy1(int n, float x0, float[] b, int b0, float[] c, int cOff) {
        FloatVector v0 = FloatVector.broadcast(S, x0);
        int nFull = S.loopBound(n);
        for (int j = 0; j < nFull; j += L) {
            FloatVector y = FloatVector.fromArray(S, c, cOff + j);
            y = v0.fma(FloatVector.fromArray(S, b, b0 + j), y);
            y.intoArray(c, cOff + j);
        }
        if (nFull < n) {
            VectorMask<Float> t = S.indexInRange(nFull, n);
            FloatVector y = FloatVector.fromArray(S, c, cOff + nFull, t);
            y = v0.fma(FloatVector.fromArray(S, b, b0 + nFull, t), y);
            y.intoArray(c, cOff + nFull, t);
        }
    }

    // ---------------------------------------------------------------------------------------
    // Element-wise kernels.
    // ---------------------------------------------------------------------------------------

    @Override
    public void addColumnSums(int m, int n, float[] a, int aOff, int lda, float[] y, int yOff) {
        // Column blocks of 4 vectors held in registers while the rows stream past: y is read
        // and written once, and each y[j] gets its adds in row order, exactly as the scalar
        // loop does (so the two paths agree bit for bit).
        int n4 = n - n % (4 * L), nFull = S.loopBound(n);
        int j = 0;
        for (; j < n4; j += 4 * L) {
            FloatVector s0 = FloatVector.fromArray(S, y, yOff + j), s1 = FloatVector.fromArray(S, y, yOff + j + L),
                    s2 = FloatVector.fromArray(S, y, yOff + j + 2 * L), s3 = FloatVector.fromArray(S, y, yOff + j + 3 * L);
            for (int i = 0, r = aOff + j; i < m; i++, r += lda) {
                s0 = s0.add(FloatVector.fromArray(S, a, r));
                s1 = s1.add(FloatVector.fromArray(S, a, r + L));
                s2 = s2.add(FloatVector.fromArray(S, a, r + 2 * L));
                s3 = s3.add(FloatVector.fromArray(S, a, r + 3 * L));
            }
            s0.intoArray(y, yOff + j); s1.intoArray(y, yOff + j + L);
            s2.intoArray(y, yOff + j + 2 * L); s3.intoArray(y, yOff + j + 3 * L);
        }
        for (; j < nFull; j += L) {
            FloatVector s = FloatVector.fromArray(S, y, yOff + j);
            for (int i = 0, r = aOff + j; i < m; i++, r += lda) s = s.add(FloatVector.fromArray(S, a, r));
            s.intoArray(y, yOff + j);
        }
        if (j < n) {
            VectorMask<Float> t = S.indexInRange(j, n);
            FloatVector s = FloatVector.fromArray(S, y, yOff + j, t);
            for (int i = 0, r = aOff + j; i < m; i++, r += lda) s = s.add(FloatVector.fromArray(S, a, r, t));
            s.intoArray(y, yOff + j, t);
        }
    }

    @Override
    public void addRowVector(int m, int n, float[] x, int xOff, float[] c, int cOff, int ldc) {
        int nFull = S.loopBound(n);
        VectorMask<Float> t = S.indexInRange(nFull, n);
        for (int i = 0, r = cOff; i < m; i++, r += ldc) {
            for (int j = 0; j < nFull; j += L) {
                FloatVector.fromArray(S, c, r + j).add(FloatVector.fromArray(S, x, xOff + j)).intoArray(c, r + j);
            }
            if (nFull < n) {
                FloatVector.fromArray(S, c, r + nFull, t).add(FloatVector.fromArray(S, x, xOff + nFull, t))
                        .intoArray(c, r + nFull, t);
            }
        }
    }

    @Override
    public double softmaxCrossEntropy(int rows, int n, float[] logits, int lOff, int[] targets, int tOff,
                                      float[] dy, int dyOff) {
        int nFull = S.loopBound(n);
        VectorMask<Float> t = S.indexInRange(nFull, n);
        float[] lanes = LANES.get();
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            int z = lOff + r * n, d = dyOff + r * n;
            int target = targets[tOff + r];
            if (target < 0) {
                // an ignored target: no loss, no gradient
                java.util.Arrays.fill(dy, d, d + n, 0f);
                continue;
            }
            // max: exact whatever the order, so reduceLanes is fine here
            FloatVector mv = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
            for (int j = 0; j < nFull; j += L) mv = mv.max(FloatVector.fromArray(S, logits, z + j));
            if (nFull < n) mv = mv.lanewise(VectorOperators.MAX, FloatVector.fromArray(S, logits, z + nFull, t), t);
            float max = mv.reduceLanes(VectorOperators.MAX);
            float zt = logits[z + target]; // read before dy (which may be the logits) is written
            // exp(z - max) goes straight into dy (each element read before it is written, so
            // dy may alias the logits); the sum in vector lanes, then lane order, then the tail
            // in index order (scalar exp there, see the note above activateRow).
            FloatVector sv = FloatVector.zero(S);
            for (int j = 0; j < nFull; j += L) {
                FloatVector e = exp(FloatVector.fromArray(S, logits, z + j).sub(max));
                e.intoArray(dy, d + j);
                sv = sv.add(e);
            }
            // sumLanes' tree, in scalar through a lane buffer: this method is large enough (exp
            // inlined) that C2 left sumLanes un-inlined here, which boxed its vectors, about 500
            // bytes a row (a training batch of B = 64, T = 100 allocated 3 MB); same bits
            sv.intoArray(lanes, 0);
            float sum = foldLanes(lanes);
            for (int j = nFull; j < n; j++) {
                float e = (float) Math.exp(logits[z + j] - max);
                dy[d + j] = e;
                sum += e;
            }
            float logSum = (float) Math.log(sum);
            loss += (double) logSum + max - zt;
            float inv = 1f / sum;
            for (int j = 0; j < nFull; j += L) FloatVector.fromArray(S, dy, d + j).mul(inv).intoArray(dy, d + j);
            if (nFull < n) FloatVector.fromArray(S, dy, d + nFull, t).mul(inv).intoArray(dy, d + nFull, t);
            dy[d + target] -= 1f;
        }
        return loss;
    }

    @Override
    public double squaredError(int rows, int n, float[] out, int oOff, float[] targets, int tOff,
                               float[] dy, int dyOff) {
        // dy = o - y is the scalar's float subtraction (same bits). Each 0.5 diff^2 is exact in
        // double (a float times a float fits in 53 bits), so only the order of the double sum
        // differs from the scalar path; it runs in double lanes, one row at a time.
        int nFull = S.loopBound(n);
        VectorMask<Float> t = S.indexInRange(nFull, n);
        double loss = 0;
        for (int r = 0; r < rows; r++) {
            int o = oOff + r * n, y = tOff + r * n, d = dyOff + r * n;
            DoubleVector acc = DoubleVector.zero(SD);
            for (int j = 0; j < nFull; j += L) {
                FloatVector diff = FloatVector.fromArray(S, out, o + j).sub(FloatVector.fromArray(S, targets, y + j));
                diff.intoArray(dy, d + j);
                acc = addSquares(acc, diff);
            }
            if (nFull < n) {
                // masked-off lanes load as 0 in both operands, so their diff is 0
                FloatVector diff = FloatVector.fromArray(S, out, o + nFull, t)
                        .sub(FloatVector.fromArray(S, targets, y + nFull, t));
                diff.intoArray(dy, d + nFull, t);
                acc = addSquares(acc, diff);
            }
            double s = acc.lane(0);
            for (int i = 1; i < SD.length(); i++) s += acc.lane(i);
            loss += 0.5 * s;
        }
        return loss;
    }

    private static DoubleVector addSquares(DoubleVector acc, FloatVector diff) {
        DoubleVector lo = (DoubleVector) diff.convertShape(VectorOperators.F2D, SD, 0);
        DoubleVector hi = (DoubleVector) diff.convertShape(VectorOperators.F2D, SD, 1);
        return lo.fma(lo, hi.fma(hi, acc));
    }

    // ---------------------------------------------------------------------------------------
    // Gated cells' element-wise steps. Each loop loads every operand of a chunk once, with the
    // masked tail in the same loop (one site per helper call, as in tanhRow), and computes each
    // element with the scalar twin's float operations in the scalar twin's order; only the
    // transcendental functions (sigmoid, tanh: a few ulp, see their comments) differ from it.
    // ---------------------------------------------------------------------------------------

    /*
     * The forward steps run as passes over a row, each with at most ONE transcendental site
     * (sigmoidRow, tanhRow): a loop with several inlined exp expansions grows past C2's node
     * budget (NodeCountInliningCutoff), the inliner then leaves tanh or exp as calls, and every
     * call boxes its vectors: measured, an LSTM step allocated kilobytes and ran slower than
     * the scalar twin. The passes do the scalar twin's float operations in its order. Each pass
     * is element-wise, so any range of units gives the whole call's bits there.
     */
    @Override
    public void lstmForwardPart(int batch, int h, int from, int to, float[] gates, int gOff, float[] cPrev,
                                int cPrevOff, float[] cOut, int cOutOff, float[] hOut, int hOutOff) {
        int n = to - from;
        if (n <= 0) return;
        for (int r = 0; r < batch; r++) {
            int gi = gOff + r * 4 * h + from, gf = gi + h, gg = gi + 2 * h, go = gi + 3 * h;
            int cp = cPrevOff + r * h + from, co = cOutOff + r * h + from, ho = hOutOff + r * h + from;
            if (n == h) {
                sigmoidRow(2 * h, gates, gi, gates, gi);   // i and f, adjacent
            } else {
                sigmoidRow(n, gates, gi, gates, gi);
                sigmoidRow(n, gates, gf, gates, gf);
            }
            tanhRow(n, gates, gg, gates, gg);
            sigmoidRow(n, gates, go, gates, go);
            lstmCell(n, h, gates, gi, cPrev, cp, cOut, co);
            tanhRow(n, cOut, co, hOut, ho);
            mulRow(n, gates, go, hOut, ho);           // h = o * tanh(c)
        }
    }

    /** c = f * c_prev + i * g for n units from the activated gates at {@code gi} (i, f, g rows {@code stride} apart). */
    private static void lstmCell(int n, int stride, float[] gates, int gi, float[] cPrev, int cp, float[] cOut, int co) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(n), n);
        int gf = gi + stride, gg = gi + 2 * stride;
        for (int j = 0; j < n; j += L) {
            boolean full = j + L <= n;
            FloatVector vi = full ? FloatVector.fromArray(S, gates, gi + j) : FloatVector.fromArray(S, gates, gi + j, t);
            FloatVector vf = full ? FloatVector.fromArray(S, gates, gf + j) : FloatVector.fromArray(S, gates, gf + j, t);
            FloatVector vg = full ? FloatVector.fromArray(S, gates, gg + j) : FloatVector.fromArray(S, gates, gg + j, t);
            FloatVector vc = full ? FloatVector.fromArray(S, cPrev, cp + j) : FloatVector.fromArray(S, cPrev, cp + j, t);
            FloatVector c = vf.mul(vc).add(vi.mul(vg));
            if (full) c.intoArray(cOut, co + j); else c.intoArray(cOut, co + j, t);
        }
    }

    /** y = a * y elementwise. */
    private static void mulRow(int n, float[] a, int aOff, float[] y, int yOff) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(n), n);
        for (int j = 0; j < n; j += L) {
            boolean full = j + L <= n;
            FloatVector va = full ? FloatVector.fromArray(S, a, aOff + j) : FloatVector.fromArray(S, a, aOff + j, t);
            FloatVector vy = full ? FloatVector.fromArray(S, y, yOff + j) : FloatVector.fromArray(S, y, yOff + j, t);
            FloatVector p = va.mul(vy);
            if (full) p.intoArray(y, yOff + j); else p.intoArray(y, yOff + j, t);
        }
    }

    /** Units [from, to) of every row of {@link #lstmBackward} (element-wise: the same bits for any range). */
    @Override
    public void lstmBackwardPart(int batch, int h, int from, int to, float[] dh, int dhOff, float[] dcNext,
                                 int dcNextOff, float[] gates, int gOff, float[] cPrev, int cPrevOff, float[] c, int cOff,
                                 float[] dz, int dzOff, float[] dcPrev, int dcPrevOff) {
        int n = to - from;
        if (n <= 0) return;
        for (int r = 0; r < batch; r++) {
            // every offset moved to unit `from`; the gates stay h apart. Two passes, dc_t parked in
            // dcPrev between them: in one loop the method was too large for C1 ("out of virtual
            // registers"), so it ran interpreted, allocating every vector, until C2 compiled it
            int gi = gOff + r * 4 * h + from, zi = dzOff + r * 4 * h + from, rh = r * h + from;
            lstmCellDelta(n, h, dh, dhOff + rh, dcNext, dcNextOff + rh, gates, gi, c, cOff + rh, dz, zi, dcPrev, dcPrevOff + rh);
            lstmGateDeltas(n, h, gates, gi, cPrev, cPrevOff + rh, dz, zi, dcPrev, dcPrevOff + rh);
        }
    }

    /** dc_t = dcNext + dh * o * (1 - tanh(c)^2) into {@code dcOut}, and the o row of dz. */
    private static void lstmCellDelta(int n, int h, float[] dh, int d0, float[] dcNext, int n0, float[] gates, int gi,
                                      float[] c, int c0, float[] dz, int zi, float[] dcOut, int o0) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(n), n);
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int j = 0; j < n; j += L) {
            boolean full = j + L <= n;
            FloatVector o = full ? FloatVector.fromArray(S, gates, gi + 3 * h + j) : FloatVector.fromArray(S, gates, gi + 3 * h + j, t);
            FloatVector d = full ? FloatVector.fromArray(S, dh, d0 + j) : FloatVector.fromArray(S, dh, d0 + j, t);
            FloatVector dn = full ? FloatVector.fromArray(S, dcNext, n0 + j) : FloatVector.fromArray(S, dcNext, n0 + j, t);
            FloatVector cc = full ? FloatVector.fromArray(S, c, c0 + j) : FloatVector.fromArray(S, c, c0 + j, t);
            FloatVector tc = tanh(cc);
            FloatVector dc = dn.add(d.mul(o).mul(one.sub(tc.mul(tc))));
            FloatVector dov = d.mul(tc).mul(o.mul(one.sub(o)));
            if (full) {
                dov.intoArray(dz, zi + 3 * h + j);
                dc.intoArray(dcOut, o0 + j);
            } else {
                dov.intoArray(dz, zi + 3 * h + j, t);
                dc.intoArray(dcOut, o0 + j, t);
            }
        }
    }

    /** The i, f, g rows of dz from dc_t (read from {@code dc}), then dcPrev = dc_t * f over it. */
    private static void lstmGateDeltas(int n, int h, float[] gates, int gi, float[] cPrev, int p0, float[] dz, int zi,
                                       float[] dc, int o0) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(n), n);
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int j = 0; j < n; j += L) {
            boolean full = j + L <= n;
            FloatVector i = full ? FloatVector.fromArray(S, gates, gi + j) : FloatVector.fromArray(S, gates, gi + j, t);
            FloatVector f = full ? FloatVector.fromArray(S, gates, gi + h + j) : FloatVector.fromArray(S, gates, gi + h + j, t);
            FloatVector g = full ? FloatVector.fromArray(S, gates, gi + 2 * h + j) : FloatVector.fromArray(S, gates, gi + 2 * h + j, t);
            FloatVector cp = full ? FloatVector.fromArray(S, cPrev, p0 + j) : FloatVector.fromArray(S, cPrev, p0 + j, t);
            FloatVector vdc = full ? FloatVector.fromArray(S, dc, o0 + j) : FloatVector.fromArray(S, dc, o0 + j, t);
            FloatVector di = vdc.mul(g).mul(i.mul(one.sub(i)));
            FloatVector df = vdc.mul(cp).mul(f.mul(one.sub(f)));
            FloatVector dg = vdc.mul(i).mul(one.sub(g.mul(g)));
            FloatVector dcp = vdc.mul(f);
            if (full) {
                di.intoArray(dz, zi + j);
                df.intoArray(dz, zi + h + j);
                dg.intoArray(dz, zi + 2 * h + j);
                dcp.intoArray(dc, o0 + j);
            } else {
                di.intoArray(dz, zi + j, t);
                df.intoArray(dz, zi + h + j, t);
                dg.intoArray(dz, zi + 2 * h + j, t);
                dcp.intoArray(dc, o0 + j, t);
            }
        }
    }

    /** As lstmForwardPart: passes with one transcendental site each, every offset moved to unit {@code from}. */
    @Override
    public void gruForwardPart(int batch, int h, int from, int to, float[] gx, int gxOff, float[] gh, int ghOff,
                               float[] hPrev, int hPrevOff, float[] hOut, int hOutOff, float[] cache, int cacheOff) {
        int n = to - from;
        if (n <= 0) return;
        for (int r = 0; r < batch; r++) {
            int x = gxOff + r * 3 * h + from, y = ghOff + r * 3 * h + from, k = cacheOff + r * 4 * h + from, rh = r * h + from;
            if (n == h) {
                sigmoidSumRow(2 * h, gx, x, gh, y, cache, k);               // r, z = sigmoid(x + h side), adjacent
            } else {
                sigmoidSumRow(n, gx, x, gh, y, cache, k);
                sigmoidSumRow(n, gx, x + h, gh, y + h, cache, k + h);
            }
            gruCandidate(n, gx, x + 2 * h, cache, k, gh, y + 2 * h, cache, k + 2 * h, k + 3 * h);
            tanhRow(n, cache, k + 2 * h, cache, k + 2 * h);                  // n = tanh(x_n + r * hn)
            gruMix(n, cache, k + h, k + 2 * h, hPrev, hPrevOff + rh, hOut, hOutOff + rh);
        }
    }

    /** y = sigmoid(a + b) elementwise. */
    private static void sigmoidSumRow(int n, float[] a, int aOff, float[] b, int bOff, float[] y, int yOff) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(n), n);
        for (int j = 0; j < n; j += L) {
            boolean full = j + L <= n;
            FloatVector va = full ? FloatVector.fromArray(S, a, aOff + j) : FloatVector.fromArray(S, a, aOff + j, t);
            FloatVector vb = full ? FloatVector.fromArray(S, b, bOff + j) : FloatVector.fromArray(S, b, bOff + j, t);
            FloatVector v = sigmoid(va.add(vb));
            if (full) v.intoArray(y, yOff + j); else v.intoArray(y, yOff + j, t);
        }
    }

    /** The GRU's candidate pre-activation x_n + r * hn into cache at {@code pre}, and hn kept at {@code hnAt}. */
    private static void gruCandidate(int h, float[] gx, int xn, float[] cache, int rAt, float[] gh, int hnOff, float[] out,
                                     int pre, int hnAt) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(h), h);
        for (int j = 0; j < h; j += L) {
            boolean full = j + L <= h;
            FloatVector vx = full ? FloatVector.fromArray(S, gx, xn + j) : FloatVector.fromArray(S, gx, xn + j, t);
            FloatVector vr = full ? FloatVector.fromArray(S, cache, rAt + j) : FloatVector.fromArray(S, cache, rAt + j, t);
            FloatVector hn = full ? FloatVector.fromArray(S, gh, hnOff + j) : FloatVector.fromArray(S, gh, hnOff + j, t);
            FloatVector p = vx.add(vr.mul(hn));
            if (full) {
                p.intoArray(out, pre + j);
                hn.intoArray(out, hnAt + j);
            } else {
                p.intoArray(out, pre + j, t);
                hn.intoArray(out, hnAt + j, t);
            }
        }
    }

    /** h = (1 - z) * n + z * h_prev. */
    private static void gruMix(int h, float[] cache, int zAt, int nAt, float[] hPrev, int hp, float[] hOut, int ho) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(h), h);
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int j = 0; j < h; j += L) {
            boolean full = j + L <= h;
            FloatVector z = full ? FloatVector.fromArray(S, cache, zAt + j) : FloatVector.fromArray(S, cache, zAt + j, t);
            FloatVector n = full ? FloatVector.fromArray(S, cache, nAt + j) : FloatVector.fromArray(S, cache, nAt + j, t);
            FloatVector p = full ? FloatVector.fromArray(S, hPrev, hp + j) : FloatVector.fromArray(S, hPrev, hp + j, t);
            FloatVector v = one.sub(z).mul(n).add(z.mul(p));
            if (full) v.intoArray(hOut, ho + j); else v.intoArray(hOut, ho + j, t);
        }
    }

    /** No transcendental function here: bitwise the scalar twin (element-wise: the same bits for any range of units). */
    @Override
    public void gruBackwardPart(int batch, int h, int from, int to, float[] dh, int dhOff, float[] hPrev,
                                int hPrevOff, float[] cache, int cacheOff, float[] dzx, int dzxOff, float[] dzh,
                                int dzhOff, float[] direct, int directOff) {
        int units = to - from;
        if (units <= 0) return;
        for (int r = 0; r < batch; r++) {
            // every offset moved to unit `from`; the gates stay h apart. Two passes: in one loop the
            // method was too large for C1 ("out of virtual registers in linear scan"), and ran
            // interpreted, allocating every vector, until C2 compiled it
            int k = cacheOff + r * 4 * h + from, x = dzxOff + r * 3 * h + from, y = dzhOff + r * 3 * h + from, rh = r * h + from;
            gruGateDeltas(units, h, dh, dhOff + rh, hPrev, hPrevOff + rh, cache, k, dzx, x, dzh, y);
            gruRecurrentDeltas(units, h, dh, dhOff + rh, cache, k, dzx, x, dzh, y, direct, directOff + rh);
        }
    }

    /** dn, dr, dz of n units: into dzx (r, z, n rows h apart) and the r, z rows of dzh. */
    private static void gruGateDeltas(int units, int h, float[] dh, int d0, float[] hPrev, int p0, float[] cache, int k,
                                      float[] dzx, int x, float[] dzh, int y) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(units), units);
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int j = 0; j < units; j += L) {
            boolean full = j + L <= units;
            FloatVector rg = full ? FloatVector.fromArray(S, cache, k + j) : FloatVector.fromArray(S, cache, k + j, t);
            FloatVector zg = full ? FloatVector.fromArray(S, cache, k + h + j) : FloatVector.fromArray(S, cache, k + h + j, t);
            FloatVector n = full ? FloatVector.fromArray(S, cache, k + 2 * h + j) : FloatVector.fromArray(S, cache, k + 2 * h + j, t);
            FloatVector hn = full ? FloatVector.fromArray(S, cache, k + 3 * h + j) : FloatVector.fromArray(S, cache, k + 3 * h + j, t);
            FloatVector d = full ? FloatVector.fromArray(S, dh, d0 + j) : FloatVector.fromArray(S, dh, d0 + j, t);
            FloatVector hp = full ? FloatVector.fromArray(S, hPrev, p0 + j) : FloatVector.fromArray(S, hPrev, p0 + j, t);
            FloatVector dn = d.mul(one.sub(zg)).mul(one.sub(n.mul(n)));
            FloatVector dr = dn.mul(hn).mul(rg.mul(one.sub(rg)));
            FloatVector dzz = d.mul(hp.sub(n)).mul(zg.mul(one.sub(zg)));
            if (full) {
                dr.intoArray(dzx, x + j);
                dzz.intoArray(dzx, x + h + j);
                dn.intoArray(dzx, x + 2 * h + j);
                dr.intoArray(dzh, y + j);
                dzz.intoArray(dzh, y + h + j);
            } else {
                dr.intoArray(dzx, x + j, t);
                dzz.intoArray(dzx, x + h + j, t);
                dn.intoArray(dzx, x + 2 * h + j, t);
                dr.intoArray(dzh, y + j, t);
                dzz.intoArray(dzh, y + h + j, t);
            }
        }
    }

    /** The n row of dzh (r * dn, dn read back from dzx: the same float) and direct = z * dh. */
    private static void gruRecurrentDeltas(int units, int h, float[] dh, int d0, float[] cache, int k, float[] dzx, int x,
                                           float[] dzh, int y, float[] direct, int o0) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(units), units);
        for (int j = 0; j < units; j += L) {
            boolean full = j + L <= units;
            FloatVector rg = full ? FloatVector.fromArray(S, cache, k + j) : FloatVector.fromArray(S, cache, k + j, t);
            FloatVector zg = full ? FloatVector.fromArray(S, cache, k + h + j) : FloatVector.fromArray(S, cache, k + h + j, t);
            FloatVector dn = full ? FloatVector.fromArray(S, dzx, x + 2 * h + j) : FloatVector.fromArray(S, dzx, x + 2 * h + j, t);
            FloatVector d = full ? FloatVector.fromArray(S, dh, d0 + j) : FloatVector.fromArray(S, dh, d0 + j, t);
            FloatVector dnh = dn.mul(rg);
            FloatVector dir = d.mul(zg);
            if (full) {
                dnh.intoArray(dzh, y + 2 * h + j);
                dir.intoArray(direct, o0 + j);
            } else {
                dnh.intoArray(dzh, y + 2 * h + j, t);
                dir.intoArray(direct, o0 + j, t);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Activations, built from correctly rounded operations only (see the class comment).
    // ---------------------------------------------------------------------------------------

    @Override
    public void activate(Activation act, int n, float[] x, int xOff, float[] y, int yOff) {
        switch (act) {
            case TANH -> tanhRow(n, x, xOff, y, yOff);
            case SIGMOID -> sigmoidRow(n, x, xOff, y, yOff);
            case RELU -> reluRow(n, x, xOff, y, yOff);
        }
    }

    @Override
    public void multiplyByDerivative(Activation act, int n, float[] h, int hOff, float[] delta, int deltaOff) {
        derivRow(act, n, h, hOff, delta, deltaOff);
    }

    private static void activateRow(Activation act, int n, float[] v, int off) {
        INSTANCE.activate(act, n, v, off, v, off);
    }

    /*
     * The activation loops call the vector helper from ONE site that also serves the masked
     * tail: C2 inlines a helper this size only at a hot call site, and one that is not inlined
     * boxes the vector it returns (an allocation). One site also means every element gets the
     * same arithmetic wherever it sits in the call, so activate over a split row gives the
     * same bits as over the whole row (and as recurrentForward). Each chunk is read before it
     * is written, so x and y may be the same region.
     */
    private static void tanhRow(int n, float[] x, int xOff, float[] y, int yOff) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(n), n);
        for (int j = 0; j < n; j += L) {
            boolean full = j + L <= n;
            FloatVector v = full ? FloatVector.fromArray(S, x, xOff + j) : FloatVector.fromArray(S, x, xOff + j, t);
            v = tanh(v);
            if (full) v.intoArray(y, yOff + j); else v.intoArray(y, yOff + j, t);
        }
    }

    private static void sigmoidRow(int n, float[] x, int xOff, float[] y, int yOff) {
        VectorMask<Float> t = S.indexInRange(S.loopBound(n), n);
        for (int j = 0; j < n; j += L) {
            boolean full = j + L <= n;
            FloatVector v = full ? FloatVector.fromArray(S, x, xOff + j) : FloatVector.fromArray(S, x, xOff + j, t);
            v = sigmoid(v);
            if (full) v.intoArray(y, yOff + j); else v.intoArray(y, yOff + j, t);
        }
    }

    private static void reluRow(int n, float[] x, int xOff, float[] y, int yOff) {
        int nFull = S.loopBound(n);
        for (int j = 0; j < nFull; j += L) relu(FloatVector.fromArray(S, x, xOff + j)).intoArray(y, yOff + j);
        for (int j = nFull; j < n; j++) y[yOff + j] = Activation.RELU.apply(x[xOff + j]); // exact either way
    }

    /**
     * {@code delta *= act'(h)} with the same float operations as
     * {@link Activation#derivativeFromOutput}, so this pass matches the scalar one bit for bit.
     */
    private static void derivRow(Activation act, int n, float[] h, int hOff, float[] delta, int dOff) {
        int nFull = S.loopBound(n);
        switch (act) {
            case TANH -> {
                for (int j = 0; j < nFull; j += L) {
                    FloatVector hv = FloatVector.fromArray(S, h, hOff + j);
                    FloatVector.fromArray(S, delta, dOff + j).mul(hv.mul(hv).neg().add(1f)).intoArray(delta, dOff + j);
                }
            }
            case SIGMOID -> {
                for (int j = 0; j < nFull; j += L) {
                    FloatVector hv = FloatVector.fromArray(S, h, hOff + j);
                    FloatVector.fromArray(S, delta, dOff + j).mul(hv.mul(hv.neg().add(1f))).intoArray(delta, dOff + j);
                }
            }
            case RELU -> {
                for (int j = 0; j < nFull; j += L) {
                    FloatVector hv = FloatVector.fromArray(S, h, hOff + j);
                    FloatVector d = FloatVector.zero(S).blend(1f, hv.compare(VectorOperators.GT, 0f));
                    FloatVector.fromArray(S, delta, dOff + j).mul(d).intoArray(delta, dOff + j);
                }
            }
        }
        for (int j = nFull; j < n; j++) delta[dOff + j] *= act.derivativeFromOutput(h[hOff + j]);
    }

    /** {@code a > 0 ? a : 0}, as the scalar (NaN and -0 give +0). */
    static FloatVector relu(FloatVector x) {
        return FloatVector.zero(S).blend(x, x.compare(VectorOperators.GT, 0f));
    }

    /** {@code 1 / (1 + exp(-x))}: a few ulp from the double-precision value. */
    static FloatVector sigmoid(FloatVector x) {
        return FloatVector.broadcast(S, 1f).div(exp(x.neg()).add(1f));
    }

    /**
     * tanh as in Cephes' tanhf: for |x| < 0.625 an odd polynomial (minimax, relative error about
     * 1 ulp), else {@code 1 - 2 / (exp(2|x|) + 1)}, where the cancellation costs at most a couple
     * of ulp since the result is then above 0.55. |x| is capped at 10 (tanh rounds to 1 in float
     * from about 9.01 on, and exp(20) is far from overflow). The sign is copied back bitwise, so tanh(-0) = -0 and NaN stays NaN.
     */
    static FloatVector tanh(FloatVector x) {
        FloatVector ax = x.abs();
        FloatVector z = ax.mul(ax);
        FloatVector p = z.fma(-5.70498872745e-3f, 2.06390887954e-2f)
                .fma(z, FloatVector.broadcast(S, -5.37397155531e-2f))
                .fma(z, FloatVector.broadcast(S, 1.33314422036e-1f))
                .fma(z, FloatVector.broadcast(S, -3.33332819422e-1f));
        FloatVector small = p.mul(z).fma(ax, ax);
        FloatVector e = exp(ax.min(10f).mul(2f));
        FloatVector big = FloatVector.broadcast(S, 1f).sub(FloatVector.broadcast(S, 2f).div(e.add(1f)));
        FloatVector r = big.blend(small, ax.compare(VectorOperators.LT, 0.625f));
        IntVector sign = x.viewAsIntegralLanes().and(0x80000000);
        return r.viewAsIntegralLanes().or(sign).viewAsFloatingLanes();
    }

    private static final float EXP_HI = 88.0f;        // n <= 127: the 2^n below stays finite
    private static final float EXP_LO = -87.33654f;   // n >= -126: the 2^n below stays normal
    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f;     // few bits: n * LN2_HI is exact
    private static final float LN2_LO = -2.12194440e-4f;  // ln 2 - LN2_HI
    private static final float ROUND = 12582912f;         // 1.5 * 2^23: adding it rounds to an integer

    /**
     * exp as in Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2 (Cody-Waite, two constants),
     * exp(r) = 1 + r + r^2 P(r) with a degree-5 minimax P (about 1 ulp), times 2^n built in the
     * exponent bits. Arguments above 88 give +inf (exp(88) is 1.65e38, so only the last 0.7 of
     * the float range is lost) and below -87.34 give 0 (no subnormals); NaN stays NaN. Callers
     * here use it for softmax (arguments <= 0), sigmoid and tanh (arguments capped at 18).
     */
    static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(EXP_LO).min(EXP_HI);
        FloatVector t = xc.fma(LOG2E, ROUND);          // round(x log2 e) in the low mantissa bits
        FloatVector n = t.sub(ROUND);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);  // n LN2_HI exact: 8 + 10 bits
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector r2 = r.mul(r);
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f)
                .fma(r, FloatVector.broadcast(S, 8.3334519073e-3f))
                .fma(r, FloatVector.broadcast(S, 4.1665795894e-2f))
                .fma(r, FloatVector.broadcast(S, 1.6666665459e-1f))
                .fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        FloatVector y = p.fma(r2, r).add(1f);
        // bits of t end in (n + 2^22 * 3); the low 9 bits of (that + 127) << 23 are n + 127
        FloatVector scale = t.viewAsIntegralLanes().add(127).lanewise(VectorOperators.LSHL, 23).viewAsFloatingLanes();
        FloatVector res = y.mul(scale);
        res = res.blend(0f, x.compare(VectorOperators.LT, EXP_LO));
        return res.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_HI));
    }
}
