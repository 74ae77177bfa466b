package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.kernel.Kernels;
import dev.recur.kernel.ScalarKernels;
import dev.recur.reference.ReferenceNetwork;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The float engine, on the scalar and on the vector kernel path, against the independent
 * double-precision reference ({@link ReferenceNetwork}): the loss, every layer's and direction's
 * final state, the gradient of every parameter block, dL/dh0 and, in layer mode, the top layer's
 * states and dL/dx. Over L in {1, 2, 3} layers, one and two directions, equal and variable
 * lengths (unsorted, including 1 and T), B in {1, 3, 5} (5: the kernels' packed-W path for
 * B >= 4), hidden sizes 1, 7, 9, 31, 33 and 257 (not multiples of any vector length; 257 leaves a
 * one-lane tail), awkward input and output sizes, T in {1, 5, 70, 130} (the driver blocks time in
 * 64 steps at these batches, so block boundaries and short last blocks are crossed), dense and
 * class-index inputs, all three activations, both losses (summed and averaged, with ignored
 * targets), and 1 and 2 threads (the BATCH, ROWS and SINGLE step splits).
 *
 * <h2>Tolerance, and why</h2>
 *
 * Every compared quantity q is checked norm-wise:
 * {@code ||q - q_ref|| <= TOL_C * u * n * ||magnitude(q)||} with {@code u = 2^-24} and
 * {@code n = I + L*(G*H + D*H) + O + T*B + 8}, where {@code magnitude(q)} is the reference's
 * {@link ReferenceNetwork.Result#magnitudes}: q's sums taken over the absolute values of their
 * terms, one level deep in time. A float sum of m terms has error at most about
 * {@code m u sum|terms|} (Higham, gamma_m); the reductions on the way to a gradient are the input
 * product (I, or D*H above layer 0), the recurrent product and its transpose (H and G*H), the
 * head (O) and the time sums (T*B rows); the errors of one step reach the next through the
 * contractive Jacobian diag(act') W_hh (W uniform in +-1/sqrt(H)), so they add up to a bounded
 * series instead of growing with T; the element-wise functions add a few roundings each (the
 * 8). Higham's bound is relative to the sum of absolute values, not to the result, so a gradient
 * entry that is small because its terms cancel is not held to an impossible relative accuracy.
 * Forward quantities (loss, states, outputs) are scaled by their own norm. TOL_C = 1: the
 * first-order worst-case bound itself. Rounding errors mostly cancel, so measured errors sit well
 * below it, yet a bug of any consequence is off by far more: {@link #detectsPlantedBugs} shows
 * two that it catches. The largest error and its ratio to the bound are printed per path and
 * quantity ("MAXERR" lines).
 *
 * <p>relu: at the kink float and double can disagree by O(1) (a pre-activation that is +1e-8 in
 * double and -1e-8 in float flips relu'), so for relu the seed is chosen so that no reference
 * pre-activation lies within 1e-5 of 0 (the float error of a pre-activation is ~1e-6 at most here).
 */
class NetworkAgainstReferenceTest {

    static final double TOL_C = 1.0;
    static final double RELU_MARGIN = 1e-5;

    /** One test problem: the network, the data and their options. */
    record Case(int in, int hid, int out, int layers, boolean bi, int steps, int batch, Activation act,
                NetFixture.Options opt, Cell cell) {
        Case(int in, int hid, int out, int layers, boolean bi, int steps, int batch, Activation act, NetFixture.Options opt) {
            this(in, hid, out, layers, bi, steps, batch, act, opt, Cell.ELMAN);
        }

        Shape shape() {
            if (cell == Cell.ELMAN && layers == 1 && !bi && opt.ignoreEvery() == 0 && (hid % 2 == 1)) {
                return new Shape(in, hid, out);  // recur's own model
            }
            return new Shape(in, hid, out, layers, bi ? 2 : 1, cell, hid == 9 ? 0 : 2);
        }

        @Override public String toString() {
            return String.format(Locale.ROOT, "%s %sT=%d B=%d %s", shape(), cell == Cell.ELMAN ? act.id() + " " : "", steps, batch,
                    describe(opt));
        }
    }

    static String describe(NetFixture.Options o) {
        return (o.dense() ? "dense " : "class-in ") + o.loss() + (o.mean() ? "-mean" : "") + (o.varLengths() ? " lengths" : "")
                + (o.h0() ? " h0" : "") + (o.layerMode() ? " layer" : "") + (o.ignoreEvery() > 0 ? " ignore" : "");
    }

    /**
     * A covering design rather than the full product: for every hidden size, every activation x
     * input kind x loss; (L, D) cycles through the six networks, (B, T) through eight pairs, and
     * lengths, h0, layer mode, mean and ignored targets switch on in turn, shifted between hidden
     * sizes so that every hidden size meets every network and every (B, T).
     */
    static Stream<Case> cases() {
        List<Case> list = new ArrayList<>();
        int[] ins = {1, 3, 8, 17, 33, 5};
        int[] outsX = {2, 5, 9, 16, 35, 3};
        int[] outsS = {1, 5, 9, 16, 35, 2};
        int[][] bt = {{1, 1}, {5, 5}, {1, 70}, {3, 130}, {1, 5}, {5, 1}, {3, 70}, {5, 70}};
        int[][] nets = {{1, 0}, {2, 0}, {1, 1}, {3, 0}, {2, 1}, {3, 1}};
        int n = 0, hi = 0;
        for (int h : new int[] {1, 7, 9, 31, 33}) {
            int combo = 0;
            for (Activation a : Activation.values()) {
                for (boolean dense : new boolean[] {true, false}) {
                    for (boolean xent : new boolean[] {true, false}) {
                        n++;
                        int[] p = bt[(combo + 3 * hi) % bt.length];
                        int[] net = nets[(combo + 2 * hi) % nets.length];
                        combo++;
                        // deep stacks over long sequences cost the reference most: keep T modest there
                        int steps = net[0] == 3 && p[1] == 130 ? 70 : p[1];
                        NetFixture.Options o = new NetFixture.Options(dense, xent ? "xent" : "mse", n % 5 == 0,
                                n % 2 == 0, n % 3 != 0, dense && n % 4 == 1, xent && n % 7 == 3 ? 3 : 0);
                        list.add(new Case(ins[n % ins.length], h, (xent ? outsX : outsS)[(n / 2) % 6], net[0], net[1] == 1, steps,
                                p[0], a, o));
                    }
                }
            }
            hi++;
        }
        // the gated cells: for every hidden size both cells, both input kinds, both losses, over
        // the same networks and (B, T) pairs (shifted), lengths, h0 (and c0), layer mode in turn
        int g = 0;
        hi = 0;
        for (int h : new int[] {1, 7, 9, 31, 33}) {
            for (Cell cell : new Cell[] {Cell.GRU, Cell.LSTM}) {
                for (boolean dense : new boolean[] {true, false}) {
                    g++;
                    boolean xent = g % 2 == 0;
                    int[] p = bt[(g + hi) % bt.length];
                    int[] net = nets[(g + 3 * hi) % nets.length];
                    int steps = net[0] == 3 && p[1] == 130 ? 70 : p[1];
                    NetFixture.Options o = new NetFixture.Options(dense, xent ? "xent" : "mse", g % 5 == 0, g % 3 != 1, g % 4 != 0,
                            dense && g % 3 == 0, xent && g % 7 == 2 ? 3 : 0);
                    list.add(new Case(ins[g % ins.length], h, (xent ? outsX : outsS)[g % 6], net[0], net[1] == 1, steps, p[0],
                            Activation.TANH, o, cell));
                }
            }
            hi++;
        }
        // H = 257 (a one-lane tail): short sequences, since the time blocking does not depend on H
        int[][] big = {{1, 70}, {5, 5}, {3, 5}, {3, 1}};
        int[][] bigNets = {{1, 0}, {2, 1}, {2, 0}, {1, 1}};
        int k = 0;
        for (Activation a : Activation.values()) {
            for (boolean dense : new boolean[] {true, false}) {
                int[] p = big[k % 4], net = bigNets[k % 4];
                k++;
                NetFixture.Options o = new NetFixture.Options(dense, k % 2 == 0 ? "xent" : "mse", false, k % 3 == 0, true, false, 0);
                list.add(new Case(dense ? 33 : 65, 257, 17, net[0], net[1] == 1, p[1], p[0], a, o));
            }
        }
        list.add(new Case(9, 257, 5, 2, true, 5, 3, Activation.TANH, NetFixture.Options.of(true, "xent").lengths(true).withH0(true),
                Cell.LSTM));
        list.add(new Case(9, 257, 5, 1, false, 70, 1, Activation.TANH, NetFixture.Options.of(false, "mse").withH0(true), Cell.GRU));
        return list.stream();
    }

    /** The reference's answers and their magnitudes, shared by both paths. */
    record Expected(NetFixture fixture, Map<String, double[]> q, Map<String, Double> scale) {}

    static final Map<Case, Expected> REFERENCE = new ConcurrentHashMap<>();
    /** path -> quantity -> {max relative error, max error / tolerance}. */
    static final Map<String, Map<String, double[]>> MAXERR = new ConcurrentHashMap<>();
    static final Map<String, Map<String, String>> MAXCASE = new ConcurrentHashMap<>();

    @ParameterizedTest(name = "scalar {0}")
    @MethodSource("cases")
    void scalarPath(Case c) { check(c, engine(c, KernelChoice.SCALAR, 1, Rnn.DEFAULT_SPLIT_HIDDEN), "scalar"); }

    /** The vector path: if the vector kernels cannot run here this fails (it never skips). */
    @ParameterizedTest(name = "vector {0}")
    @MethodSource("cases")
    void vectorPath(Case c) { check(c, engine(c, KernelChoice.VECTOR, 1, Rnn.DEFAULT_SPLIT_HIDDEN), "vector"); }

    /** Threaded runs over the driver's BATCH, ROWS and SINGLE splits, each network kind, variable lengths. */
    static Stream<Arguments> threadCases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice path : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            NetFixture.Options dense = NetFixture.Options.of(true, "xent").lengths(true).withH0(true);
            NetFixture.Options cls = NetFixture.Options.of(false, "mse").lengths(true);
            list.add(Arguments.of(path, new Case(5, 33, 6, 2, false, 70, 3, Activation.TANH, dense), 256));       // BATCH
            list.add(Arguments.of(path, new Case(5, 7, 6, 1, true, 5, 3, Activation.SIGMOID, cls), 256));         // BATCH, class
            list.add(Arguments.of(path, new Case(5, 40, 6, 2, true, 5, 9, Activation.RELU, dense), 256));         // BATCH, packed W
            list.add(Arguments.of(path, new Case(5, 33, 6, 2, false, 66, 1, Activation.TANH, dense), 1));         // ROWS
            list.add(Arguments.of(path, new Case(5, 9, 6, 1, true, 66, 1, Activation.TANH, cls), 1));             // ROWS, bi, class
            list.add(Arguments.of(path, new Case(5, 31, 6, 3, false, 5, 1, Activation.TANH, dense.layer(true)), 256)); // SINGLE
            list.add(Arguments.of(path, new Case(5, 17, 6, 2, true, 9, 5, Activation.TANH, dense, Cell.LSTM), 256));  // BATCH, LSTM
            list.add(Arguments.of(path, new Case(5, 17, 6, 2, false, 66, 1, Activation.TANH, cls, Cell.GRU), 1));     // not split: GRU
        }
        return list.stream();
    }

    /** The engine with two threads against the reference (same tolerance), and bitwise reproducible at a fixed thread count. */
    @ParameterizedTest(name = "{0} {1} split={2}")
    @MethodSource("threadCases")
    void threadedAgainstReference(KernelChoice path, Case c, int split) {
        try (Rnn rnn = engine(c, path, 2, split)) {
            assertEquals(2, rnn.threads());
            String name = path.name().toLowerCase(Locale.ROOT) + "-threads";
            float[][] g = new float[2][];
            for (int rep = 0; rep < 2; rep++) g[rep] = check(c, rnn, name);
            assertArrayEquals(g[0], g[1], "reproducible at a fixed thread count");
        }
    }

    static Rnn engine(Case c, KernelChoice path, int threads, int split) {
        Rnn rnn = Rnn.builder(c.shape()).activation(c.act).kernels(path).threads(threads).splitHiddenMin(split).build();
        assertEquals(path.name().toLowerCase(Locale.ROOT), rnn.kernels().name());
        return rnn;
    }

    static Expected expected(Case c) {
        return REFERENCE.computeIfAbsent(c, k -> {
            for (long seed = 11; seed < 80; seed++) {
                NetFixture f = new NetFixture(c.shape(), c.act, c.steps, c.batch, c.opt, seed * 7919 + c.toString().hashCode());
                if (c.act == Activation.RELU && minAbs(ReferenceNetworkTest.preActivations(f)) < RELU_MARGIN) continue;
                ReferenceNetwork.Result r = f.reference().run(f.problem());
                Map<String, double[]> q = new LinkedHashMap<>();
                Map<String, Double> scale = new LinkedHashMap<>();
                q.put("loss", new double[] {r.loss});
                scale.put("loss", Math.abs(r.loss));
                q.put("hT", NetFixture.flat(r.finalH));
                scale.put("hT", NetFixture.norm(q.get("hT")));
                for (String name : r.grads.keySet()) {
                    q.put(name, r.grads.get(name));
                    scale.put(name, NetFixture.norm(r.magnitudes.get(name)));
                }
                q.put("dh0", NetFixture.flat(r.dh0));
                scale.put("dh0", NetFixture.norm(r.magnitudes.get("dh0")));
                if (r.dc0 != null) {
                    q.put("dc0", NetFixture.flat(r.dc0));
                    scale.put("dc0", NetFixture.norm(r.magnitudes.get("dc0")));
                    q.put("cT", NetFixture.flat(r.finalC));
                    scale.put("cT", NetFixture.norm(q.get("cT")));
                }
                if (c.opt.layerMode()) {
                    q.put("outputs", NetFixture.flat(r.outputs));
                    scale.put("outputs", NetFixture.norm(q.get("outputs")));
                    if (r.dx != null) {
                        q.put("dx", NetFixture.flat(r.dx));
                        scale.put("dx", NetFixture.norm(r.magnitudes.get("dx")));
                    }
                }
                if (c.act == Activation.RELU && NetFixture.norm(q.get(c.shape().blocks().get(0).name())) == 0) continue;
                return new Expected(f, q, scale);
            }
            throw new AssertionError("no seed keeps relu pre-activations " + RELU_MARGIN + " away from 0 for " + c);
        });
    }

    static double minAbs(double[] a) {
        double m = Double.POSITIVE_INFINITY;
        for (double v : a) m = Math.min(m, Math.abs(v));
        return m;
    }

    static double tolerance(Case c) {
        Shape s = c.shape();
        return TOL_C * NetFixture.U_FLOAT * (s.input() + s.layers() * (s.gates() * s.hidden() + s.outputWidth()) + s.output()
                + c.steps * c.batch + 8);
    }

    /** Runs the engine on the case and compares; returns the gradient (for reproducibility checks). */
    static float[] check(Case c, Rnn rnn, String pathName) {
        Expected e = expected(c);
        NetFixture f = e.fixture;
        Shape shape = rnn.shape();
        Params p = Params.wrap(shape, f.params.clone());
        Workspace ws = rnn.trainingWorkspace(c.batch, c.steps);
        Grads g = Grads.zeros(shape);
        double loss = rnn.forward(p, ws, f.batch());
        int K = shape.stateBlocks(), H = shape.hidden();
        float[] dh0 = new float[K * c.batch * H], dc0 = shape.cell().hasCellState() ? new float[K * c.batch * H] : null;
        float[] dX = f.dY != null && f.dense ? new float[c.steps * c.batch * shape.input()] : null;
        rnn.backward(p, ws, g, f.backprop(dX, dh0, dc0));
        Map<String, double[]> got = new LinkedHashMap<>();
        got.put("loss", new double[] {loss});
        got.put("hT", NetFixture.toDouble(ws.finalState()));
        for (Shape.Block b : shape.blocks()) got.put(b.name(), NetFixture.toDouble(g.data(), b.offset(), b.length()));
        got.put("dh0", NetFixture.toDouble(dh0));
        if (dc0 != null) {
            got.put("dc0", NetFixture.toDouble(dc0));
            got.put("cT", NetFixture.toDouble(ws.finalCell(new float[K * c.batch * H], 0)));
        }
        if (c.opt.layerMode()) {
            got.put("outputs", NetFixture.toDouble(ws.outputs(new float[c.steps * c.batch * shape.outputWidth()], 0)));
            if (dX != null) got.put("dx", NetFixture.toDouble(dX));
        }
        double tol = tolerance(c);
        StringBuilder failures = new StringBuilder();
        for (String name : e.q.keySet()) {
            double[] want = e.q.get(name), have = got.get(name);
            double dn = 0;
            for (int j = 0; j < want.length; j++) dn += (have[j] - want[j]) * (have[j] - want[j]);
            dn = Math.sqrt(dn);
            double sc = e.scale.get(name);
            double scaled = sc > 0 ? dn / sc : dn == 0 ? 0 : Double.POSITIVE_INFINITY;
            double rel = NetFixture.relErr(have, want);
            record(pathName, name.startsWith("weight") || name.startsWith("bias") ? name.replaceAll("_l\\d+(_reverse)?", "") : name,
                    rel, scaled / tol, c);
            if (!(scaled <= tol)) {
                failures.append(String.format(Locale.ROOT, "%n  %s: error/magnitude %.3g > tolerance %.3g (relative error %.3g)",
                        name, scaled, tol, rel));
            }
        }
        if (failures.length() > 0) throw new AssertionError(pathName + " " + c + failures);
        return g.data();
    }

    /**
     * The check can fail: two planted bugs, each on a kernel wrapped around the scalar one, must
     * be caught. (1) A tail bug: gemmTN drops the last row of every product (the last step's
     * term of the time sums). (2) A subtle one: every delta_t off by 0.1 %.
     */
    @Test
    void detectsPlantedBugs() {
        Case c = new Case(5, 33, 7, 2, true, 70, 3, Activation.TANH, NetFixture.Options.of(true, "xent").lengths(true));
        Kernels scalar = ScalarKernels.INSTANCE;
        Kernels dropRow = planted(scalar, (m, args) -> {
            if (m.getName().equals("gemmTN") && (int) args[2] > 1) args[2] = (int) args[2] - 1;
            return m.invoke(scalar, args);
        });
        Kernels offDelta = planted(scalar, (m, args) -> {
            Object r = m.invoke(scalar, args);
            if (m.getName().equals("recurrentBackward")) {
                // (..., out, outOff, descending)
                float[] delta = (float[]) args[args.length - 3];
                int off = (int) args[args.length - 2], len = (int) args[1] * (int) args[3];
                for (int k = off; k < off + len; k++) delta[k] *= 1.001f;
            }
            return r;
        });
        String[] names = {"gemmTN drops a row", "delta off by 0.1%"};
        Kernels[] bad = {dropRow, offDelta};
        for (int i = 0; i < 2; i++) {
            Rnn rnn = Rnn.builder(c.shape()).activation(c.act).kernels(bad[i]).build();
            AssertionError e = assertThrows(AssertionError.class, () -> check(c, rnn, "planted"), names[i]);
            assertTrue(e.getMessage().contains("tolerance"), e.getMessage());
        }
        MAXERR.remove("planted");
        MAXCASE.remove("planted");
        check(c, Rnn.builder(c.shape()).activation(c.act).kernels(scalar).build(), "scalar");
    }

    interface Handler { Object call(java.lang.reflect.Method m, Object[] args) throws Throwable; }

    static Kernels planted(Kernels base, Handler h) {
        return (Kernels) java.lang.reflect.Proxy.newProxyInstance(Kernels.class.getClassLoader(), new Class<?>[] {Kernels.class},
                (proxy, m, args) -> {
                    try {
                        return h.call(m, args);
                    } catch (java.lang.reflect.InvocationTargetException ex) {
                        throw ex.getCause();
                    }
                });
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
            for (String name : new TreeMap<>(m).keySet()) {
                double[] v = m.get(name);
                System.out.printf(Locale.ROOT, "MAXERR %s %s %.2e (in %s; largest error/bound ratio %.3f, in %s)%n", path, name,
                        v[0], MAXCASE.get(path).get(name), v[1], MAXCASE.get(path).get(name + "/ratio"));
            }
        }
    }
}
