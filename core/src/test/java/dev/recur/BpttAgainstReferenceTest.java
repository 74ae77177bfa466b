package dev.recur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.Kernels;
import dev.recur.kernel.ScalarKernels;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float engine, on the scalar and on the vector kernel path, against the independent
 * double-precision reference: loss, final state, dU, dW, db, dV, dc and dL/dh0, for all three
 * activations, both losses, both input kinds, B in {1, 3}, hidden sizes 1, 7, 9, 31, 33, 257
 * (not multiples of any vector length, and 257 = 256 + 1 leaves a one-lane tail), input and
 * output sizes just as awkward, and T in {1, 5, 70, 130}: with B = 1 the driver blocks time in
 * 64 steps (70 = 64 + 6, 130 = 2*64 + 2), with B = 3 in 43 steps (128 rows), so both block
 * boundaries and short last blocks are crossed. Also: the threaded driver (BATCH, ROWS and
 * SINGLE step splits) against the same reference, and bitwise reproducibility at a fixed
 * thread count.
 *
 * <h2>Tolerance, and why</h2>
 *
 * Every compared quantity q is checked norm-wise:
 * {@code ||q - q_ref|| <= TOL_C * u * n * ||magnitude(q)||} with {@code u = 2^-24} (float unit
 * roundoff) and {@code n = I + H + O + T*B + 8}, where {@code magnitude(q)} is q's sums taken
 * over the absolute values of their terms, one level deep (sum_t |delta_t|-like terms |h_{t-1}|,
 * with each delta_t's own local sums in absolute value; see {@link ReferenceRnn#magnitudes} for
 * why not the whole recursion in absolute values: |W| is not contractive, and the resulting
 * scale grew like 1e30 for T = 70, which made a planted 0.1 % error pass, see
 * {@link #detectsPlantedBugs}). Why that form:
 * <ul>
 *   <li>The reference sees exactly the same (float) numbers, so the difference is the engine's
 *       float rounding alone.</li>
 *   <li>A float sum of m terms has error at most about {@code m u sum|terms|} (Higham, gamma_m).
 *       The reductions on the way to a gradient are U x (length I), W h and W^T delta (H),
 *       V^T dy and the softmax (O), and the time sums of dW, dU, db, dV, dc (T*B rows). The
 *       errors of one step reach the next through the Jacobian diag(act') W, whose norm is
 *       below 1 here (W uniform in +-1/sqrt(H) has spectral radius about 1/sqrt(3), and
 *       act' &lt;= 1), so their effect over T steps sums to a bounded geometric series instead of
 *       growing with T. Hence an error linear in I + H + O + T*B, no exponential factor.</li>
 *   <li>The element-wise functions (tanh or the sigmoid's exp, act' from the output, the
 *       softmax's exp, log and division) add a few roundings each, whatever the sizes: the
 *       constant 8 in n.</li>
 *   <li>Higham's bound is relative to the sum of the absolute values of the terms, not to
 *       the result: a gradient entry that is small because its terms cancel (dc = sum_t
 *       (softmax - onehot), or a 1 x 1 dW with H = 1) is not computed to a small relative
 *       error by any float code. Hence the scale {@code ||magnitude(q)||}. The plain relative
 *       error {@code ||q - q_ref|| / ||q_ref||} is what the MAXERR lines report.</li>
 *   <li>TOL_C = 1: the tolerance is the first-order worst-case bound itself, with no fudge
 *       factor. (It leaves out how errors in h_t feed into later terms through dy and act',
 *       which the contractive recurrence keeps small, and it holds for any summation order,
 *       so the vector kernels' several accumulators are covered.) Rounding errors mostly
 *       cancel (like sqrt(n)), so measured errors sit well below the bound (at most about a
 *       quarter of it when this was written), yet a bug of any consequence (a wrong index, a
 *       dropped term, a tail left out, a 0.1 % error in delta) is off by far more than n u,
 *       so the test still catches it ({@link #detectsPlantedBugs} shows two). The largest
 *       measured error and its ratio to the bound are printed per path and gradient
 *       ("MAXERR ..." lines), so a regression shows as a growing ratio long before it fails.</li>
 *   <li>relu: the kink is the one place where the float and the double computation can
 *       disagree by O(1) (a pre-activation that is +1e-8 in double and -1e-8 in float flips
 *       relu' for that unit). For relu the seed is chosen so that no reference pre-activation
 *       lies within 1e-5 of 0 (the float error of a pre-activation is ~1e-6 at most here), and
 *       the test asserts that the float states and the reference agree on every kink.</li>
 * </ul>
 */
class BpttAgainstReferenceTest {

    static final double TOL_C = 1.0;
    static final double U = Fixture.U_FLOAT;
    static final double RELU_MARGIN = 1e-5;

    static final String[] NAMES = {"loss", "hT", "dU", "dW", "db", "dV", "dc", "dh0"};

    /** One test problem. */
    record Case(int nIn, int nHid, int nOut, int steps, int batch, Activation act, boolean dense,
                boolean classTargets, boolean givenH0) {
        @Override public String toString() {
            return String.format(Locale.ROOT, "I=%d H=%d O=%d T=%d B=%d %s %s %s%s", nIn, nHid, nOut, steps, batch,
                    act, dense ? "dense" : "class-in", classTargets ? "xent" : "sqerr", givenH0 ? " h0" : "");
        }
    }

    /**
     * A covering design rather than the full product (which would be ~1000 runs): for every
     * hidden size, every activation x loss x input kind (12 combinations); the (B, T) pair cycles
     * through 8 pairs of B in {1, 3, 5} (5: the kernels' packed-W path for B >= 4) and T in
     * {1, 5, 70, 130} within each hidden size and is shifted between
     * hidden sizes, so every hidden size meets every (B, T) and every combination meets several.
     * I and O cycle through awkward sizes (1, 3, 8, 17, 33, 5 and 2, 5, 9, 16, 35, 3; O = 1
     * only with squared error, where a single output is not degenerate).
     */
    static Stream<Case> cases() {
        List<Case> list = new ArrayList<>();
        int[] ins = {1, 3, 8, 17, 33, 5};
        int[] outsX = {2, 5, 9, 16, 35, 3};
        int[] outsS = {1, 5, 9, 16, 35, 2};
        int[][] bt = {{1, 1}, {5, 5}, {1, 70}, {3, 130}, {1, 5}, {5, 1}, {1, 130}, {3, 70}};
        int n = 0, hi = 0;
        for (int h : new int[] {1, 7, 9, 31, 33}) {
            int combo = 0;
            for (Activation a : Activation.values()) {
                for (boolean dense : new boolean[] {true, false}) {
                    for (boolean xent : new boolean[] {true, false}) {
                        n++;
                        int[] p = bt[(combo++ + 3 * hi) % bt.length];
                        list.add(new Case(ins[n % ins.length], h, (xent ? outsX : outsS)[(n / 2) % 6], p[1], p[0], a,
                                dense, xent, n % 3 != 0));
                    }
                }
            }
            hi++;
        }
        // H = 257 (256 + a one-lane tail): every activation, input kind and loss; (B, T) cycles
        // through pairs that include a block crossing (70 = 64 + 6 with B = 1) but stay short,
        // since the driver's time blocking does not depend on H and is covered above
        int[][] big = {{1, 70}, {5, 5}, {1, 5}, {3, 1}};
        for (Activation a : Activation.values()) {
            for (boolean dense : new boolean[] {true, false}) {
                for (boolean xent : new boolean[] {true, false}) {
                    n++;
                    int[] p = big[n % 4];
                    list.add(new Case(xent ? 33 : 65, 257, xent ? 17 : 9, p[1], p[0], a, dense, xent, n % 2 == 0));
                }
            }
        }
        return list.stream();
    }

    /** The reference's answers, shared by both paths, and the magnitude of each (see magnitudes). */
    record Expected(Fixture fixture, double[][] q, double[] scale, boolean[] active) {}

    static final Map<Case, Expected> REFERENCE = new ConcurrentHashMap<>();
    /** path -> quantity -> {max error, max error / tolerance}. */
    static final Map<String, Map<String, double[]>> MAXERR = new ConcurrentHashMap<>();
    static final Map<String, Map<String, String>> MAXCASE = new ConcurrentHashMap<>();

    @ParameterizedTest(name = "scalar {0}")
    @MethodSource("cases")
    void scalarPath(Case c) { check(c, KernelChoice.SCALAR); }

    /** The vector path: if the vector kernels cannot run here this fails (it never skips). */
    @ParameterizedTest(name = "vector {0}")
    @MethodSource("cases")
    void vectorPath(Case c) { check(c, KernelChoice.VECTOR); }

    /** Threaded runs: (threads, B, H, T, splitHiddenMin, dense) covering the driver's BATCH, ROWS and SINGLE splits. */
    static Stream<org.junit.jupiter.params.provider.Arguments> threadCases() {
        List<org.junit.jupiter.params.provider.Arguments> list = new ArrayList<>();
        for (KernelChoice path : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            list.add(org.junit.jupiter.params.provider.Arguments.of(path, 2, 3, 33, 70, 256, true));    // BATCH
            list.add(org.junit.jupiter.params.provider.Arguments.of(path, 2, 3, 7, 5, 256, false));     // BATCH, class inputs
            list.add(org.junit.jupiter.params.provider.Arguments.of(path, 2, 9, 40, 5, 256, true));     // BATCH, 4 + 5 rows: packed W
            // ROWS has a barrier per step (slow on a loaded 2-core machine): T = 66 just crosses a block
            list.add(org.junit.jupiter.params.provider.Arguments.of(path, 2, 1, 33, 66, 1, true));      // ROWS
            list.add(org.junit.jupiter.params.provider.Arguments.of(path, 2, 1, 9, 66, 1, false));      // ROWS, class inputs
            list.add(org.junit.jupiter.params.provider.Arguments.of(path, 2, 1, 31, 5, 256, true));     // SINGLE
        }
        return list.stream();
    }

    /**
     * The engine with several threads against the reference (same tolerance), and bitwise
     * reproducible at a fixed thread count.
     */
    @ParameterizedTest(name = "{0} threads={1} B={2} H={3} T={4} split={5} dense={6}")
    @MethodSource("threadCases")
    void threadedAgainstReference(KernelChoice path, int threads, int batch, int nHid, int steps, int split, boolean dense) {
        for (Activation act : Activation.values()) {
            Case c = new Case(5, nHid, 6, steps, batch, act, dense, act != Activation.SIGMOID, true);
            Shape shape = new Shape(c.nIn, c.nHid, c.nOut);
            try (Rnn rnn = Rnn.builder(shape).activation(act).kernels(path).threads(threads).splitHiddenMin(split).build()) {
                assertEquals(threads, rnn.threads());
                String name = path.name().toLowerCase(Locale.ROOT) + "-threads";
                check(c, rnn, name);
                if (act != Activation.TANH) continue;
                // a second run on the same engine: bitwise the same gradients
                Fixture f = expected(c).fixture;
                float[][] g = new float[2][];
                for (int rep = 0; rep < 2; rep++) {
                    Params p = Params.wrap(shape, f.params.clone());
                    Workspace ws = rnn.trainingWorkspace(batch, steps);
                    Grads gr = Grads.zeros(shape);
                    f.forward(rnn, p, ws);
                    rnn.backward(p, ws, gr);
                    g[rep] = gr.data();
                }
                org.junit.jupiter.api.Assertions.assertArrayEquals(g[0], g[1], "reproducible at a fixed thread count");
            }
        }
    }

    /**
     * The driver packs W for the backward recurrence on every backward call: a workspace reused
     * after W changed (as in any training loop) gives bitwise what a fresh workspace gives.
     */
    @Test
    void workspaceReusedAfterWeightsChangeMatchesFreshOne() {
        Shape shape = new Shape(3, 40, 5);
        int batch = 6, steps = 4;
        java.util.Random rnd = new java.util.Random(7);
        float[] x = new float[steps * batch * 3];
        int[] y = new int[steps * batch];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < y.length; i++) y[i] = rnd.nextInt(5);
        Params p1 = Params.zeros(shape), p2 = Params.zeros(shape);
        for (int i = 0; i < p1.data().length; i++) p1.data()[i] = (float) (0.2 * rnd.nextGaussian());
        System.arraycopy(p1.data(), 0, p2.data(), 0, p1.data().length);
        for (int i = shape.wOffset(); i < shape.wOffset() + 40 * 40; i++) p2.data()[i] *= -1.5f;
        try (Rnn rnn = Rnn.builder(shape).kernels(KernelChoice.VECTOR).threads(1).build()) {
            Workspace reused = rnn.trainingWorkspace(batch, steps);
            rnn.forward(p1, reused, steps, x, y, null);
            rnn.backward(p1, reused, Grads.zeros(shape));
            Grads again = Grads.zeros(shape), fresh = Grads.zeros(shape);
            rnn.forward(p2, reused, steps, x, y, null);
            rnn.backward(p2, reused, again);
            Workspace ws = rnn.trainingWorkspace(batch, steps);
            rnn.forward(p2, ws, steps, x, y, null);
            rnn.backward(p2, ws, fresh);
            org.junit.jupiter.api.Assertions.assertArrayEquals(fresh.data(), again.data());
        }
    }

    /**
     * When a step is not split (B < threads, H below the split threshold) the call runs on the
     * calling thread alone, so loss and gradients are bitwise those of a one-thread engine. (The
     * gradients would also match if the second worker shared the hoisted products, by the
     * kernels' row-split rule; the summed loss is where a split would show. Which thread ran is
     * not observable here: the speed effect is in BENCHMARKS.md.)
     */
    @Test
    void unsplitCallsOnSeveralThreadsMatchOneThreadBitwise() {
        Shape shape = new Shape(4, 33, 5);
        int steps = 150;
        java.util.Random rnd = new java.util.Random(11);
        float[] x = new float[steps * 4];
        int[] y = new int[steps];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < y.length; i++) y[i] = rnd.nextInt(5);
        Params p = Params.zeros(shape);
        for (int i = 0; i < p.data().length; i++) p.data()[i] = (float) (0.3 * rnd.nextGaussian());
        float[][] g = new float[2][];
        double[] loss = new double[2];
        for (int t = 1; t <= 2; t++) {
            try (Rnn rnn = Rnn.builder(shape).kernels(KernelChoice.VECTOR).threads(t).splitHiddenMin(1024).build()) {
                Workspace ws = rnn.trainingWorkspace(1, steps);
                Grads gr = Grads.zeros(shape);
                loss[t - 1] = rnn.forward(p, ws, steps, x, y, null);
                rnn.backward(p, ws, gr);
                g[t - 1] = gr.data();
            }
        }
        assertEquals(loss[0], loss[1]);
        org.junit.jupiter.api.Assertions.assertArrayEquals(g[0], g[1]);
    }

    @Test
    void vectorPathIsReallyVector() {
        Rnn rnn = Fixture.engine(new Shape(3, 7, 5), Activation.TANH, KernelChoice.VECTOR);
        assertEquals("vector", rnn.kernels().name());
        Rnn s = Fixture.engine(new Shape(3, 7, 5), Activation.TANH, KernelChoice.SCALAR);
        assertEquals("scalar", s.kernels().name());
    }

    /** Shape's offsets are the documented layout U | W | b | V | c (which the reference reads). */
    @Test
    void layoutMatchesDocumentation() {
        Shape s = new Shape(5, 7, 3);
        assertEquals(0, s.uOffset());
        assertEquals(35, s.wOffset());
        assertEquals(35 + 49, s.bOffset());
        assertEquals(35 + 49 + 7, s.vOffset());
        assertEquals(35 + 49 + 7 + 21, s.cOffset());
        assertEquals(35 + 49 + 7 + 21 + 3, s.size());
        float[] d = new float[s.size()];
        for (int k = 0; k < d.length; k++) d[k] = k;
        Params p = Params.wrap(s, d);
        assertEquals(2 * 5 + 4, p.u(2, 4));
        assertEquals(35 + 3 * 7 + 6, p.w(3, 6));
        assertEquals(35 + 49 + 6, p.b(6));
        assertEquals(35 + 49 + 7 + 2 * 7 + 1, p.v(2, 1));
        assertEquals(35 + 49 + 7 + 21 + 2, p.c(2));
    }

    private static Expected expected(Case c) {
        return REFERENCE.computeIfAbsent(c, k -> {
            for (long seed = 11; seed < 60; seed++) {
                Fixture f = new Fixture(c.nIn, c.nHid, c.nOut, c.steps, c.batch, c.act, c.dense, c.classTargets,
                        c.givenH0, seed * 7919 + c.toString().hashCode());
                ReferenceRnn ref = f.reference();
                ReferenceRnn.Problem pr = f.problem(true);
                ReferenceRnn.Result r = ref.forward(pr);
                if (c.act == Activation.RELU && minAbsPre(r) < RELU_MARGIN) continue;
                ref.backward(pr, r);
                if (Fixture.norm(r.db) == 0) continue;      // relu: every unit dead, a vacuous case
                double[][] q = {
                        {r.headLoss},
                        Fixture.flat(r.h[c.steps]),
                        Fixture.flat(r.dU), Fixture.flat(r.dW), r.db, Fixture.flat(r.dV), r.dc,
                        Fixture.flat(r.dh0)};
                ReferenceRnn.Result m = ref.magnitudes(pr, r);
                double[] scale = {
                        Math.abs(r.headLoss),      // a sum of non-negative terms
                        Fixture.norm(q[1]),
                        Fixture.norm(Fixture.flat(m.dU)), Fixture.norm(Fixture.flat(m.dW)), Fixture.norm(m.db),
                        Fixture.norm(Fixture.flat(m.dV)), Fixture.norm(m.dc), Fixture.norm(Fixture.flat(m.dh0))};
                boolean[] active = new boolean[c.steps * c.batch * c.nHid];
                int n = 0;
                for (double[][] at : r.a) for (double[] as : at) for (double a : as) active[n++] = a > 0;
                return new Expected(f, q, scale, active);
            }
            throw new AssertionError("no seed keeps relu pre-activations " + RELU_MARGIN + " away from 0 for " + c);
        });
    }

    static double minAbsPre(ReferenceRnn.Result r) {
        double m = Double.POSITIVE_INFINITY;
        for (double[][] at : r.a) for (double[] as : at) for (double a : as) m = Math.min(m, Math.abs(a));
        return m;
    }

    /** n = I + H + O + T*B reduction terms, plus 8 for the element-wise functions (act, act', exp, log, 1/sum). */
    static double tolerance(Case c) { return TOL_C * U * (c.nIn + c.nHid + c.nOut + c.steps * c.batch + 8); }

    private static void check(Case c, KernelChoice path) {
        Shape shape = new Shape(c.nIn, c.nHid, c.nOut);
        Rnn rnn = Fixture.engine(shape, c.act, path);
        assertEquals(path.name().toLowerCase(Locale.ROOT), rnn.kernels().name());
        check(c, rnn, path.name().toLowerCase(Locale.ROOT));
    }

    /**
     * The check can fail: two planted bugs, each on a kernel wrapped around the scalar one,
     * must be caught. (1) A tail bug: gemmTN drops the last row of every time block (the
     * last step's term of dW, dU, dV). (2) A subtle one: every delta_t off by 0.1 %.
     */
    @Test
    void detectsPlantedBugs() {
        Case c = new Case(5, 33, 7, 70, 1, Activation.TANH, true, true, true);
        Kernels scalar = ScalarKernels.INSTANCE;
        Kernels dropRow = planted(scalar, (m, args) -> {
            if (m.getName().equals("gemmTN") && (int) args[2] > 1) args[2] = (int) args[2] - 1;
            return m.invoke(scalar, args);
        });
        Kernels offDelta = planted(scalar, (m, args) -> {
            Object r = m.invoke(scalar, args);
            if (m.getName().equals("recurrentBackward")) {
                // delta and its offset are the last two arguments of both overloads (with and without packed W)
                float[] delta = (float[]) args[args.length - 2];
                int off = (int) args[args.length - 1], len = (int) args[1] * (int) args[2];
                for (int k = off; k < off + len; k++) delta[k] *= 1.001f;
            }
            return r;
        });
        Shape shape = new Shape(c.nIn, c.nHid, c.nOut);
        String[] names = {"gemmTN drops a row", "delta off by 0.1%"};
        for (int i = 0; i < 2; i++) {
            Rnn rnn = Rnn.builder(shape).activation(c.act).kernels(i == 0 ? dropRow : offDelta).build();
            AssertionError e = assertThrows(AssertionError.class, () -> check(c, rnn, "planted"), names[i]);
            assertTrue(e.getMessage().contains("tolerance"), e.getMessage());
        }
        MAXERR.remove("planted");
        MAXCASE.remove("planted");
        // and the unmodified kernels pass the same case
        check(c, Rnn.builder(shape).activation(c.act).kernels(scalar).build(), "scalar");
    }

    interface Handler { Object call(java.lang.reflect.Method m, Object[] args) throws Throwable; }

    static Kernels planted(Kernels base, Handler h) {
        return (Kernels) java.lang.reflect.Proxy.newProxyInstance(Kernels.class.getClassLoader(),
                new Class<?>[] {Kernels.class}, (proxy, m, args) -> {
                    try {
                        return h.call(m, args);
                    } catch (java.lang.reflect.InvocationTargetException ex) {
                        throw ex.getCause();
                    }
                });
    }

    private static void check(Case c, Rnn rnn, String pathName) {
        Expected e = expected(c);
        Fixture f = e.fixture;
        Shape shape = rnn.shape();
        Params p = Params.wrap(shape, f.params.clone());
        Workspace ws = rnn.trainingWorkspace(c.batch, c.steps);
        Grads g = Grads.zeros(shape);
        double loss = f.forward(rnn, p, ws);
        float[] dh0 = new float[c.batch * c.nHid];
        float[] ret = rnn.backward(p, ws, g, null, dh0);
        assertTrue(ret == dh0, "backward returns the dh0 array it was given");
        float[] hT = ws.finalState(new float[c.batch * c.nHid]);

        if (c.act == Activation.RELU) {
            // float and double agree on every relu kink: h_float > 0 exactly where a_ref > 0
            float[] hs = ws.hidden();
            for (int t = 1; t <= c.steps; t++) {
                int off = ws.hiddenOffset(t);
                for (int s = 0; s < c.batch; s++) {
                    for (int i = 0; i < c.nHid; i++) {
                        boolean fl = hs[off + s * c.nHid + i] > 0;
                        boolean db = e.active[((t - 1) * c.batch + s) * c.nHid + i];
                        if (fl != db) {
                            throw new AssertionError("relu kink differs at t=" + t + " b=" + s + " i=" + i
                                    + " (reference active: " + db + ", h = " + hs[off + s * c.nHid + i] + ") for " + c);
                        }
                    }
                }
            }
        }

        float[] gd = g.data();
        double[][] got = {
                {loss},
                Fixture.toDouble(hT),
                Fixture.slice(gd, f.uOff(), c.nHid * c.nIn),
                Fixture.slice(gd, f.wOff(), c.nHid * c.nHid),
                Fixture.slice(gd, f.bOff(), c.nHid),
                Fixture.slice(gd, f.vOff(), c.nOut * c.nHid),
                Fixture.slice(gd, f.cOff(), c.nOut),
                Fixture.toDouble(dh0)};
        double tol = tolerance(c);
        StringBuilder failures = new StringBuilder();
        for (int k = 0; k < NAMES.length; k++) {
            double rel = Fixture.relErr(got[k], e.q[k]);
            double[] diff = got[k].clone();
            for (int j = 0; j < diff.length; j++) diff[j] -= e.q[k][j];
            double dn = Fixture.norm(diff);
            // error in units of the magnitude (a zero magnitude means every term is exactly 0)
            double scaled = e.scale[k] > 0 ? dn / e.scale[k] : dn == 0 ? 0 : Double.POSITIVE_INFINITY;
            record(pathName, NAMES[k], rel, scaled / tol, c);
            if (!(scaled <= tol)) {
                failures.append(String.format(Locale.ROOT, "%n  %s: error/magnitude %.3g > tolerance %.3g "
                        + "(relative error %.3g)", NAMES[k], scaled, tol, rel));
            }
        }
        if (failures.length() > 0) throw new AssertionError(pathName + " " + c + failures);
    }

    private static void record(String path, String name, double err, double ratio, Case c) {
        Map<String, double[]> m = MAXERR.computeIfAbsent(path, k -> new ConcurrentHashMap<>());
        synchronized (m) {
            double[] cur = m.computeIfAbsent(name, k -> new double[2]);
            if (err > cur[0]) {
                cur[0] = err;
                MAXCASE.computeIfAbsent(path, k -> new ConcurrentHashMap<>()).put(name, c.toString());
            }
            if (ratio > cur[1]) {
                cur[1] = ratio;
                MAXCASE.computeIfAbsent(path, k -> new ConcurrentHashMap<>()).put(name + "/ratio", c.toString());
            }
        }
    }

    @AfterAll
    static void summary() {
        for (String path : new TreeMap<>(MAXERR).keySet()) {
            Map<String, double[]> m = MAXERR.get(path);
            for (String name : NAMES) {
                double[] v = m.get(name);
                if (v == null) continue;
                System.out.printf(Locale.ROOT, "MAXERR %s %s %.2e (in %s; largest error/bound ratio %.3f, in %s)%n",
                        path, name, v[0], MAXCASE.get(path).get(name), v[1], MAXCASE.get(path).get(name + "/ratio"));
            }
        }
    }
}
