package dev.recur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.reference.ReferenceNetwork;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleUnaryOperator;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The double-precision reference checked against centred finite differences of its own
 * objective, in double: norm-wise relative error below 1e-6 for the gradient of every parameter
 * block, of h0 (and the LSTM's c0) and of dense inputs, over stacks, both directions, variable
 * lengths, all cells and activations, both losses (summed and averaged, with ignored targets)
 * and layer mode (gradients arriving from outside as linear terms).
 *
 * <p>Step size 1e-5: the centred difference has truncation error ~ eps^2 |f'''| / 6 ~ 1e-11 and
 * rounding error ~ 1e-16 |J| / eps ~ 1e-10, both far below 1e-6 relative. For relu the seed is
 * chosen (and asserted) so that no pre-activation lies within 1e-3 of the kink, which a step
 * of 1e-5 cannot cross.
 */
class ReferenceNetworkTest {

    static final double STEP = 1e-5;
    static final double TOL = 1e-6;

    record Case(Cell cell, Activation act, int layers, boolean bi, boolean dense, String loss, boolean mean, boolean lengths,
                boolean layer, int ignore) {}

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (Activation a : Activation.values()) {
            list.add(Arguments.of(new Case(Cell.ELMAN, a, 1, false, true, "xent", false, false, false, 0)));
            list.add(Arguments.of(new Case(Cell.ELMAN, a, 2, true, false, "mse", false, true, false, 0)));
            list.add(Arguments.of(new Case(Cell.ELMAN, a, 3, false, true, "xent", true, true, true, 3)));
        }
        list.add(Arguments.of(new Case(Cell.ELMAN, Activation.TANH, 2, true, true, "none", false, true, true, 0)));
        list.add(Arguments.of(new Case(Cell.ELMAN, Activation.TANH, 1, true, true, "mse", true, false, true, 0)));
        for (Cell c : new Cell[] {Cell.GRU, Cell.LSTM}) {
            list.add(Arguments.of(new Case(c, Activation.TANH, 1, false, true, "xent", false, false, false, 0)));
            list.add(Arguments.of(new Case(c, Activation.TANH, 2, true, true, "mse", false, true, true, 0)));
            list.add(Arguments.of(new Case(c, Activation.TANH, 2, false, false, "xent", true, true, false, 4)));
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientsMatchFiniteDifferences(Case c) {
        NetFixture f = pick(c);
        check(f);
    }

    /** recur's single-layer model (U, W, b, V, c: one bias) too. */
    @Test
    void singleBiasModel() {
        Shape s = new Shape(3, 5, 4);
        NetFixture f = new NetFixture(s, Activation.SIGMOID, 6, 2, NetFixture.Options.of(true, "xent").withH0(true).layer(true), 5);
        check(f);
    }

    /** A fixture; for relu, the first seed whose pre-activations all keep 1e-3 away from 0. */
    static NetFixture pick(Case c) {
        Shape s = new Shape(3, 5, c.loss.equals("none") && c.layer ? 0 : 4, c.layers, c.bi ? 2 : 1, c.cell, 2);
        NetFixture.Options o = new NetFixture.Options(c.dense, c.loss, c.mean, c.lengths, true, c.layer, c.ignore);
        for (long seed = 1; seed < 300; seed++) {
            NetFixture f = new NetFixture(s, c.act, 6, 3, o, seed);
            if (c.act != Activation.RELU || c.cell != Cell.ELMAN) return f;
            double[] pre = preActivations(f);
            double minAbs = Double.POSITIVE_INFINITY;
            int active = 0;
            for (double a : pre) {
                minAbs = Math.min(minAbs, Math.abs(a));
                if (a > 0) active++;
            }
            if (minAbs >= 1e-3) {
                // both branches of relu' are exercised
                assertTrue(active > pre.length / 10 && active < pre.length - pre.length / 10, "active " + active + " of " + pre.length);
                return f;
            }
        }
        throw new AssertionError("no seed keeps relu pre-activations 1e-3 away from 0 for " + c);
    }

    /**
     * The relu network's pre-activations: a ReLU state max(a, 0) of exactly 0 hides a, so they
     * are recomputed here from the reference's states, layer by layer (each layer's states from
     * a reference network cut to that many layers).
     */
    static double[] preActivations(NetFixture f) {
        // all states of every layer from the reference, then a = W_ih u + b_ih + W_hh h_prev + b_hh directly
        ReferenceNetwork ref = f.reference();
        Shape s = f.shape;
        int H = s.hidden(), D = s.directions();
        List<Double> out = new ArrayList<>();
        ReferenceNetwork.Problem p = f.problem();
        // states of layer l, direction d per step, via networks truncated to l+1 layers
        double[][][][] states = new double[s.layers()][][][];
        for (int l = 0; l < s.layers(); l++) {
            ReferenceNetwork sub = new ReferenceNetwork("rnn", f.act.id(), s.input(), H, 0, l + 1, s.bidirectional(), s.biases());
            for (String n : sub.names()) sub.params.put(n, ref.params.get(n).clone());
            ReferenceNetwork.Problem q = f.problem();
            q.loss = "none";
            q.yi = null;
            q.yf = null;
            q.dY = null;
            if (q.h0 != null) q.h0 = java.util.Arrays.copyOf(q.h0, (l + 1) * D);
            q.dhT = null;
            states[l] = sub.run(q).outputs;
        }
        List<Shape.Block> blocks = s.blocks();
        int perUnit = 2 + (s.biases() == 0 ? 0 : s.biases());
        for (int l = 0; l < s.layers(); l++) {
            for (int d = 0; d < D; d++) {
                int first = (l * D + d) * perUnit;
                double[] wih = ref.params.get(blocks.get(first).name()), whh = ref.params.get(blocks.get(first + 1).name());
                double[] bih = s.biases() >= 1 ? ref.params.get(blocks.get(first + 2).name()) : new double[H];
                double[] bhh = s.biases() == 2 ? ref.params.get(blocks.get(first + 3).name()) : new double[H];
                int I = l == 0 ? s.input() : D * H;
                for (int b = 0; b < f.batch; b++) {
                    int len = f.length(b);
                    for (int t = 0; t < len; t++) {
                        int tp = d == 0 ? t - 1 : t + 1;
                        for (int i = 0; i < H; i++) {
                            double a = bih[i] + bhh[i];
                            for (int j = 0; j < I; j++) {
                                double u = l == 0 ? (p.x != null ? p.x[t][b][j] : (p.xi[t][b] == j ? 1 : 0)) : states[l - 1][t][b][j];
                                a += wih[i * I + j] * u;
                            }
                            for (int j = 0; j < H; j++) {
                                double hp = tp < 0 || tp >= len ? (p.h0 == null ? 0 : p.h0[l * D + d][b][j]) : states[l][tp][b][d * H + j];
                                a += whh[i * H + j] * hp;
                            }
                            out.add(a);
                        }
                    }
                }
            }
        }
        double[] r = new double[out.size()];
        for (int k = 0; k < r.length; k++) r[k] = out.get(k);
        return r;
    }

    static void check(NetFixture f) {
        ReferenceNetwork ref = f.reference();
        ReferenceNetwork.Problem pr = f.problem();
        ReferenceNetwork.Result r = ref.run(pr);
        String what = f.toString();
        assertEquals(r.objective, ref.objective(pr), 1e-12 * Math.abs(r.objective), "run and objective agree");
        for (String name : ref.names()) {
            double[] p = ref.params.get(name), fd = new double[p.length];
            for (int k = 0; k < p.length; k++) {
                final int kk = k;
                fd[k] = centred(d -> {
                    double keep = p[kk];
                    p[kk] = keep + d;
                    double v = ref.objective(pr);
                    p[kk] = keep;
                    return v;
                });
            }
            assertSmall(name, r.grads.get(name), fd, what);
        }
        int K = f.shape.stateBlocks(), H = f.shape.hidden();
        double[] dh0 = new double[K * f.batch * H], dc0 = new double[dh0.length];
        for (int k = 0; k < K; k++) {
            for (int b = 0; b < f.batch; b++) {
                for (int j = 0; j < H; j++) {
                    int kk = k, bb = b, jj = j, at = (k * f.batch + b) * H + j;
                    dh0[at] = centred(d -> perturbed(pr.h0[kk][bb], jj, d, () -> ref.objective(pr)));
                    if (pr.c0 != null) dc0[at] = centred(d -> perturbed(pr.c0[kk][bb], jj, d, () -> ref.objective(pr)));
                }
            }
        }
        assertSmall("dh0", NetFixture.flat(r.dh0), dh0, what);
        if (pr.c0 != null) assertSmall("dc0", NetFixture.flat(r.dc0), dc0, what);
        if (pr.x != null) {
            int I = f.shape.input();
            double[] dx = new double[f.steps * f.batch * I];
            for (int t = 0; t < f.steps; t++) {
                for (int b = 0; b < f.batch; b++) {
                    for (int j = 0; j < I; j++) {
                        int tt = t, bb = b, jj = j;
                        dx[(t * f.batch + b) * I + j] = centred(d -> perturbed(pr.x[tt][bb], jj, d, () -> ref.objective(pr)));
                    }
                }
            }
            assertSmall("dx", NetFixture.flat(r.dx), dx, what);
        }
    }

    interface Objective { double value(); }

    static double perturbed(double[] a, int j, double d, Objective f) {
        double keep = a[j];
        a[j] = keep + d;
        double v = f.value();
        a[j] = keep;
        return v;
    }

    static double centred(DoubleUnaryOperator objective) {
        return (objective.applyAsDouble(STEP) - objective.applyAsDouble(-STEP)) / (2 * STEP);
    }

    static void assertSmall(String name, double[] got, double[] fd, String what) {
        double fn = NetFixture.norm(fd);
        if (fn == 0) {
            assertEquals(0, NetFixture.norm(got), 1e-12, name + ": the objective does not depend on it, so its gradient is 0 (" + what + ")");
            return;
        }
        double e = NetFixture.relErr(got, fd);
        assertTrue(e < TOL, name + ": relative error " + e + " against finite differences (" + what + ")");
    }
}
