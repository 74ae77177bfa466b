package dev.recur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The double-precision reference checked against centred finite differences, in double:
 * norm-wise relative error below 1e-6 for every gradient (dU, dW, db, dV, dc, dh0 and dL/dx).
 *
 * <p>Step size 1e-5: the centred difference has truncation error ~ eps^2 |f'''| / 6 ~ 1e-11
 * and rounding error ~ 1e-16 |L| / eps ~ 1e-10, both far below 1e-6 relative. For relu the
 * inputs are chosen (and asserted) so that no pre-activation lies within 1e-3 of the kink,
 * which a step of 1e-5 cannot cross.
 */
class ReferenceRnnTest {

    static final double STEP = 1e-5;
    static final double TOL = 1e-6;

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (Activation a : Activation.values()) {
            for (boolean dense : new boolean[] {true, false}) {
                for (boolean classTargets : new boolean[] {true, false}) list.add(Arguments.of(a, dense, classTargets));
            }
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} dense={1} classTargets={2}")
    @MethodSource("cases")
    void gradientsMatchFiniteDifferences(Activation activation, boolean dense, boolean classTargets) {
        Fixture f = pick(activation, dense, classTargets, false);
        check(f, f.problem(true), f.toString());
    }

    /** Layer mode: no head, the caller's dL/dh_t and dL/dh_T as linear terms of the objective. */
    @ParameterizedTest(name = "layer {0}")
    @MethodSource("activations")
    void layerModeGradientsMatchFiniteDifferences(Activation activation) {
        Fixture f = pick(activation, true, true, true);
        check(f, f.problem(false), "layer, no head");
        check(f, f.problem(true), "layer plus head");
    }

    static Stream<Activation> activations() { return Stream.of(Activation.values()); }

    /** A fixture; for relu, the first seed whose pre-activations all keep 1e-3 away from 0. */
    private static Fixture pick(Activation activation, boolean dense, boolean classTargets, boolean layer) {
        for (long seed = 1; seed < 200; seed++) {
            Fixture f = new Fixture(3, 5, 4, 6, 2, activation, dense, classTargets, true, seed);
            if (layer) f.withLayerGradients(seed + 1000);
            ReferenceRnn.Result r = f.reference().forward(f.problem(true));
            double minAbs = Double.POSITIVE_INFINITY;
            int active = 0, total = 0;
            for (double[][] at : r.a) for (double[] as : at) for (double a : as) {
                minAbs = Math.min(minAbs, Math.abs(a));
                if (a > 0) active++;
                total++;
            }
            if (activation != Activation.RELU) return f;
            if (minAbs >= 1e-3) {
                assertTrue(minAbs >= 1e-3, "relu pre-activation within 1e-3 of 0: " + minAbs);
                // both branches of relu' are exercised
                assertTrue(active > total / 10 && active < total - total / 10, "active " + active + " of " + total);
                return f;
            }
        }
        throw new AssertionError("no seed keeps relu pre-activations 1e-3 away from 0");
    }

    private static void check(Fixture f, ReferenceRnn.Problem pr, String what) {
        ReferenceRnn ref = f.reference();
        ReferenceRnn.Result r = ref.run(pr);
        double[] p0 = ref.flat();

        // parameters
        double[] fd = new double[p0.length];
        for (int k = 0; k < p0.length; k++) {
            final int kk = k;
            fd[k] = centred(d -> {
                double[] p = p0.clone();
                p[kk] += d;
                ref.setFlat(p);
                double v = ref.forward(pr).objective;
                ref.setFlat(p0);
                return v;
            });
        }
        int nIn = f.nIn, nHid = f.nHid, nOut = f.nOut;
        int[] off = {0, nHid * nIn, nHid * nIn + nHid * nHid, nHid * nIn + nHid * nHid + nHid,
                nHid * nIn + nHid * nHid + nHid + nOut * nHid, p0.length};
        double[][] got = {Fixture.flat(r.dU), Fixture.flat(r.dW), r.db, Fixture.flat(r.dV), r.dc};
        String[] names = {"dU", "dW", "db", "dV", "dc"};
        boolean head = pr.yi != null || pr.yf != null;
        for (int blk = 0; blk < 5; blk++) {
            double[] fdBlock = java.util.Arrays.copyOfRange(fd, off[blk], off[blk + 1]);
            if (!head && blk >= 3) {
                // no loss head: V and c do not enter the objective
                assertEquals(0, Fixture.norm(got[blk]), names[blk] + " without a head");
                assertTrue(Fixture.norm(fdBlock) < 1e-9, names[blk] + " finite difference without a head");
            } else {
                assertSmall(names[blk], got[blk], fdBlock, what);
            }
        }

        // h0
        double[] dh0 = new double[f.batch * nHid];
        for (int s = 0; s < f.batch; s++) {
            for (int j = 0; j < nHid; j++) {
                final int ss = s, jj = j;
                dh0[s * nHid + j] = centred(d -> {
                    double keep = pr.h0[ss][jj];
                    pr.h0[ss][jj] = keep + d;
                    double v = ref.forward(pr).objective;
                    pr.h0[ss][jj] = keep;
                    return v;
                });
            }
        }
        assertSmall("dh0", Fixture.flat(r.dh0), dh0, what);

        // dense inputs
        if (pr.x != null) {
            double[] dx = new double[f.steps * f.batch * nIn];
            int k = 0;
            for (int t = 0; t < f.steps; t++) {
                for (int s = 0; s < f.batch; s++) {
                    for (int j = 0; j < nIn; j++) {
                        final int tt = t, ss = s, jj = j;
                        dx[k++] = centred(d -> {
                            double keep = pr.x[tt][ss][jj];
                            pr.x[tt][ss][jj] = keep + d;
                            double v = ref.forward(pr).objective;
                            pr.x[tt][ss][jj] = keep;
                            return v;
                        });
                    }
                }
            }
            assertSmall("dx", Fixture.flat(r.dx), dx, what);
        }
    }

    private static double centred(ToDoubleFunction<Double> objective) {
        return (objective.applyAsDouble(STEP) - objective.applyAsDouble(-STEP)) / (2 * STEP);
    }

    private static void assertSmall(String name, double[] got, double[] fd, String what) {
        assertTrue(Fixture.norm(fd) > 1e-3, name + " is (nearly) zero: the check would be vacuous (" + what + ")");
        double err = Fixture.relErr(got, fd);
        assertTrue(err < TOL, name + ": relative error vs finite differences " + err + " >= " + TOL + " (" + what + ")");
    }

    /**
     * The forward formulas, by hand for a 2-step, 2-unit case: checks the orientation of U, W
     * and V (finite differences only check that the gradient fits the forward, not the forward).
     */
    @Test
    void forwardMatchesHandComputation() {
        ReferenceRnn r = new ReferenceRnn(ReferenceRnn.Act.TANH, 1, 2, 1);
        r.U[0][0] = 0.5; r.U[1][0] = -1;
        r.W[0][0] = 0.1; r.W[0][1] = 0.2; r.W[1][0] = 0.3; r.W[1][1] = 0.4;
        r.b[0] = 0.05; r.b[1] = -0.05;
        r.V[0][0] = 1; r.V[0][1] = -2;
        r.c[0] = 0.5;
        ReferenceRnn.Problem pr = new ReferenceRnn.Problem();
        pr.steps = 2;
        pr.batch = 1;
        pr.x = new double[][][] {{{2}}, {{-1}}};
        pr.yf = new double[][][] {{{0.25}}, {{-0.5}}};
        pr.h0 = new double[][] {{1, -1}};
        ReferenceRnn.Result res = r.forward(pr);

        double a10 = 0.5 * 2 + 0.1 * 1 + 0.2 * -1 + 0.05, a11 = -1 * 2 + 0.3 * 1 + 0.4 * -1 - 0.05;
        double h10 = Math.tanh(a10), h11 = Math.tanh(a11);
        double o1 = h10 - 2 * h11 + 0.5;
        double a20 = 0.5 * -1 + 0.1 * h10 + 0.2 * h11 + 0.05, a21 = -1 * -1 + 0.3 * h10 + 0.4 * h11 - 0.05;
        double o2 = Math.tanh(a20) - 2 * Math.tanh(a21) + 0.5;
        double loss = 0.5 * (o1 - 0.25) * (o1 - 0.25) + 0.5 * (o2 + 0.5) * (o2 + 0.5);
        assertEquals(a10, res.a[0][0][0], 1e-15);
        assertEquals(a11, res.a[0][0][1], 1e-15);
        assertEquals(o1, res.o[0][0][0], 1e-15);
        assertEquals(o2, res.o[1][0][0], 1e-15);
        assertEquals(loss, res.headLoss, 1e-14);

        // softmax cross-entropy by hand: one step, two classes, target 1
        ReferenceRnn s = new ReferenceRnn(ReferenceRnn.Act.SIGMOID, 1, 1, 2);
        s.U[0][0] = 1; s.V[0][0] = 2; s.V[1][0] = -1; s.c[1] = 0.3;
        ReferenceRnn.Problem q = new ReferenceRnn.Problem();
        q.steps = 1;
        q.batch = 1;
        q.xi = new int[][] {{0}};
        q.yi = new int[][] {{1}};
        double h = 1 / (1 + Math.exp(-1.0));
        double z0 = 2 * h, z1 = -h + 0.3;
        double expect = Math.log(Math.exp(z0) + Math.exp(z1)) - z1;
        assertEquals(expect, s.forward(q).headLoss, 1e-14);
    }
}
