package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Layer mode against the reference: the caller's dL/dh_t (and dL/dh_T) in, dL/dx_t, dL/dh_0 and
 * the parameter gradients out; with and without the loss head. Then the forward-only
 * (inference) workspace against the training one and the reference, and predict.
 *
 * <p>Tolerance: as in BpttAgainstReferenceTest, ||got - ref|| &lt;= u (I + H + O + T*B + 8)
 * times the magnitude of the quantity (the reference's sums over absolute values). Where two
 * engine runs perform the identical sequence of float operations (inference vs training
 * workspace with the same block size, predict on either), equality is bitwise.
 */
class LayerModeTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice path : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            list.add(Arguments.of(path, Activation.TANH, 1, 70, 9));
            list.add(Arguments.of(path, Activation.SIGMOID, 3, 130, 31));
            list.add(Arguments.of(path, Activation.RELU, 2, 5, 33));
        }
        return list.stream();
    }

    static double tol(Fixture f) { return Fixture.U_FLOAT * (f.nIn + f.nHid + f.nOut + f.steps * f.batch + 8); }

    /** Picks a seed whose relu pre-activations keep 1e-5 away from the kink (see BpttAgainstReferenceTest). */
    static Fixture fixture(Activation act, int batch, int steps, int nHid, boolean dense, long seed) {
        for (long s = seed; s < seed + 50; s++) {
            Fixture f = new Fixture(5, nHid, 6, steps, batch, act, dense, true, true, s).withLayerGradients(s + 1);
            if (act != Activation.RELU) return f;
            if (BpttAgainstReferenceTest.minAbsPre(f.reference().forward(f.problem(true))) >= 1e-5) return f;
        }
        throw new AssertionError("no seed");
    }

    @ParameterizedTest(name = "{0} {1} B={2} T={3} H={4}")
    @MethodSource("cases")
    void backwardLayerMatchesReference(KernelChoice path, Activation act, int batch, int steps, int nHid) {
        for (boolean head : new boolean[] {false, true}) {
            for (boolean dense : new boolean[] {true, false}) {
                Fixture f = fixture(act, batch, steps, nHid, dense, 77 + nHid);
                Shape shape = f.shape();
                Rnn rnn = Fixture.engine(shape, act, path);
                Params p = Params.wrap(shape, f.params.clone());
                Workspace ws = rnn.trainingWorkspace(batch, steps);
                if (head) {
                    f.forward(rnn, p, ws);
                } else if (dense) {
                    rnn.forwardLayer(p, ws, steps, f.xDense, f.h0);
                } else {
                    rnn.forwardLayer(p, ws, steps, f.xClass, f.h0);
                }
                Grads g = Grads.zeros(shape);
                float[] dX = dense ? new float[steps * batch * f.nIn] : null;
                float[] dh0 = new float[batch * nHid];
                float[] ret = rnn.backwardLayer(p, ws, f.dH, g, f.dhT, dX, dh0);
                assertTrue(ret == dh0);

                ReferenceRnn ref = f.reference();
                ReferenceRnn.Problem pr = f.problem(head);
                ReferenceRnn.Result r = ref.backward(pr, ref.forward(pr));
                ReferenceRnn.Result m = ref.magnitudes(pr, r);
                double tol = tol(f);
                float[] gd = g.data();
                String what = path + " " + f + (head ? " +head" : " no head");
                List<String> fails = new ArrayList<>();
                fails.add(Fixture.compare("dU", Fixture.slice(gd, f.uOff(), nHid * f.nIn), Fixture.flat(r.dU), Fixture.flat(m.dU), tol));
                fails.add(Fixture.compare("dW", Fixture.slice(gd, f.wOff(), nHid * nHid), Fixture.flat(r.dW), Fixture.flat(m.dW), tol));
                fails.add(Fixture.compare("db", Fixture.slice(gd, f.bOff(), nHid), r.db, m.db, tol));
                fails.add(Fixture.compare("dh0", Fixture.toDouble(dh0), Fixture.flat(r.dh0), Fixture.flat(m.dh0), tol));
                if (dense) fails.add(Fixture.compare("dX", Fixture.toDouble(dX), Fixture.flat(r.dx), Fixture.flat(m.dx), tol));
                if (head) {
                    fails.add(Fixture.compare("dV", Fixture.slice(gd, f.vOff(), f.nOut * nHid), Fixture.flat(r.dV), Fixture.flat(m.dV), tol));
                    fails.add(Fixture.compare("dc", Fixture.slice(gd, f.cOff(), f.nOut), r.dc, m.dc, tol));
                } else {
                    // no head: V and c untouched
                    for (int k = f.vOff(); k < gd.length; k++) assertEquals(0f, gd[k], "d(V|c) without a head, " + what);
                }
                fails.removeIf(java.util.Objects::isNull);
                assertTrue(fails.isEmpty(), what + ": " + fails);
                assertTrue(Fixture.norm(r.db) > 1e-3, "non-vacuous " + what);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} B={2} T={3} H={4}")
    @MethodSource("cases")
    void inferenceWorkspaceAndPredict(KernelChoice path, Activation act, int batch, int steps, int nHid) {
        Fixture f = fixture(act, batch, steps, nHid, true, 91 + nHid);
        Shape shape = f.shape();
        Rnn rnn = Fixture.engine(shape, act, path);
        Params p = Params.wrap(shape, f.params.clone());
        int bh = batch * nHid;
        // maxSteps >= 64 gives the training workspace the inference workspace's block size, so
        // both run the identical sequence of float operations: bitwise equal results
        Workspace train = rnn.trainingWorkspace(batch, Math.max(steps, 64));
        Workspace inf = rnn.inferenceWorkspace(batch);
        assertEquals(Integer.MAX_VALUE, inf.maxSteps());
        double lt = f.forward(rnn, p, train);
        double li = f.forward(rnn, p, inf);
        assertEquals(lt, li, 0.0, "loss, training vs inference workspace");
        assertArrayEquals(train.finalState(new float[bh]), inf.finalState(new float[bh]), "final state");
        assertEquals(li, inf.loss());

        ReferenceRnn ref = f.reference();
        ReferenceRnn.Result r = ref.forward(f.problem(true));
        double tol = tol(f);
        assertTrue(Math.abs(li - r.headLoss) <= tol * Math.abs(r.headLoss), "loss vs reference " + li + " " + r.headLoss);
        String msg = Fixture.compare("hT", Fixture.toDouble(inf.finalState(new float[bh])), Fixture.flat(r.h[steps]),
                Fixture.flat(r.h[steps]), tol);
        assertNull(msg);

        // predict: outputs o_t = V h_t + c, both workspaces, against the reference
        float[] outI = new float[steps * batch * f.nOut], outT = new float[outI.length];
        rnn.predict(p, inf, steps, f.xDense, f.h0, outI);
        rnn.predict(p, train, steps, f.xDense, f.h0, outT);
        assertArrayEquals(outT, outI, "predict, training vs inference workspace");
        double[] o = Fixture.flat(r.o);
        // magnitude of o = |c| + |V| |h|
        double[] mag = new double[o.length];
        int k = 0;
        for (int t = 0; t < steps; t++) {
            for (int s = 0; s < batch; s++) {
                for (int i = 0; i < f.nOut; i++) {
                    double sum = Math.abs(ref.c[i]);
                    for (int j = 0; j < nHid; j++) sum += Math.abs(ref.V[i][j] * r.h[t + 1][s][j]);
                    mag[k++] = sum;
                }
            }
        }
        assertNull(Fixture.compare("predict", Fixture.toDouble(outI), o, mag, tol));

        // a sequence longer than any training capacity: inference keeps O(B*H) and still agrees
        int longT = 3 * 64 + 5;
        Fixture g = new Fixture(5, nHid, 6, longT, batch, Activation.TANH, true, false, true, 5);
        Rnn tanh = Fixture.engine(shape, Activation.TANH, path);
        Params pg = Params.wrap(shape, g.params.clone());
        Workspace inf2 = tanh.inferenceWorkspace(batch);
        long bytes = inf2.bytes();
        double lg = g.forward(tanh, pg, inf2);
        assertEquals(bytes, inf2.bytes(), "an inference workspace does not grow with T");
        ReferenceRnn.Result rg = g.reference().forward(g.problem(true));
        double tolg = tol(g);
        assertTrue(Math.abs(lg - rg.headLoss) <= tolg * rg.headLoss, "long loss vs reference");
        assertNull(Fixture.compare("hT long", Fixture.toDouble(inf2.finalState(new float[bh])), Fixture.flat(rg.h[longT]),
                Fixture.flat(rg.h[longT]), tolg));
    }
}
