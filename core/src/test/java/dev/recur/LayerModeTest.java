package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.reference.ReferenceNetwork;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Layer mode, inference and predict: a forward without a loss and a backward from the caller's
 * dL/d(outputs) leaves the head untouched; the forward-only (inference) workspace against the
 * training one and the reference; predict's outputs; packing (sorting by length) changes no
 * sequence's bits.
 *
 * <p>Tolerance: as in NetworkAgainstReferenceTest, u n times the magnitude of the quantity.
 * Where two engine runs perform the identical sequence of float operations (an inference and a
 * training workspace with the same block size, predict on either, a batch with every length T
 * and one without lengths), equality is bitwise.
 */
class LayerModeTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice path : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (Cell cell : Cell.values()) {
                list.add(Arguments.of(path, cell, Activation.TANH, 1, 1, 70, 9, false));
                list.add(Arguments.of(path, cell, cell == Cell.ELMAN ? Activation.SIGMOID : Activation.TANH, 2, 3, 130, 31, true));
                list.add(Arguments.of(path, cell, Activation.TANH, 3, 5, 5, 33, true));
            }
        }
        return list.stream();
    }

    static double tol(NetFixture f) {
        Shape s = f.shape;
        return NetFixture.U_FLOAT * (s.input() + s.layers() * 2 * s.hidden() + s.output() + f.steps * f.batch + 8);
    }

    /** Without a loss, backward from the caller's dL/d(outputs): the head's gradients stay zero. */
    @ParameterizedTest(name = "{0} {1} {2} L={3} B={4} T={5} H={6}")
    @MethodSource("cases")
    void layerModeLeavesTheHeadAlone(KernelChoice path, Cell cell, Activation act, int layers, int batch, int steps, int hid, boolean lengths) {
        Shape shape = Shape.network(5, hid, 6, layers, false, cell);
        NetFixture f = new NetFixture(shape, act, steps, batch, NetFixture.Options.of(true, "none").lengths(lengths).withH0(true)
                .layer(true), 77 + hid);
        Rnn rnn = Rnn.builder(shape).activation(act).kernels(path).build();
        Params p = Params.wrap(shape, f.params.clone());
        Workspace ws = rnn.trainingWorkspace(batch, steps);
        rnn.forward(p, ws, f.batch());
        Grads g = Grads.zeros(shape);
        float[] dX = new float[steps * batch * 5], dh0 = new float[shape.stateBlocks() * batch * hid];
        rnn.backward(p, ws, g, f.backprop(dX, dh0, null));
        for (int k = shape.headWeights(); k < shape.size(); k++) assertEquals(0f, g.data()[k], "d(V|c) without a loss");
        ReferenceNetwork.Result r = f.reference().run(f.problem());
        double tol = tol(f);
        for (Shape.Block b : shape.blocks()) {
            if (b.name().equals("V") || b.name().equals("c")) continue;
            assertNull(SeedExampleTest.compare(b.name(), new double[][] {NetFixture.toDouble(g.data(), b.offset(), b.length())},
                    new double[][] {r.grads.get(b.name())}, r.magnitudes.get(b.name()), tol));
        }
        assertNull(SeedExampleTest.compare("dx", new double[][] {NetFixture.toDouble(dX)}, new double[][] {NetFixture.flat(r.dx)},
                r.magnitudes.get("dx"), tol));
        assertTrue(NetFixture.norm(r.grads.get(shape.blocks().get(1).name())) > 1e-3, "non-vacuous");
        if (lengths) {
            // dL/dx is zero past each sequence's length
            for (int b = 0; b < batch; b++) {
                for (int t = f.length(b); t < steps; t++) {
                    for (int i = 0; i < 5; i++) assertEquals(0f, dX[(t * batch + b) * 5 + i], "dx past the length");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1} {2} L={3} B={4} T={5} H={6}")
    @MethodSource("cases")
    void inferenceWorkspaceAndPredict(KernelChoice path, Cell cell, Activation act, int layers, int batch, int steps, int hid, boolean lengths) {
        Shape shape = layers == 1 && cell == Cell.ELMAN ? new Shape(5, hid, 6) : Shape.network(5, hid, 6, layers, false, cell);
        NetFixture f = new NetFixture(shape, act, steps, batch, NetFixture.Options.of(true, "xent").lengths(lengths).withH0(true), 91 + hid);
        Rnn rnn = Rnn.builder(shape).activation(act).kernels(path).build();
        Params p = Params.wrap(shape, f.params.clone());
        // maxSteps >= 64 gives the training workspace the inference workspace's block size, so
        // both run the identical sequence of float operations: bitwise equal results
        Workspace train = rnn.trainingWorkspace(batch, Math.max(steps, 64));
        Workspace inf = rnn.inferenceWorkspace(batch);
        assertEquals(Integer.MAX_VALUE, inf.maxSteps());
        double lt = rnn.forward(p, train, f.batch());
        double li = rnn.forward(p, inf, f.batch());
        assertEquals(lt, li, 0.0, "loss, training vs inference workspace");
        assertArrayEquals(train.finalState(), inf.finalState(), "final states");
        assertEquals(li, inf.loss());

        ReferenceNetwork.Result r = f.reference().run(f.problem());
        double tol = tol(f);
        assertTrue(Math.abs(li - r.loss) <= tol * Math.abs(r.loss), "loss vs reference " + li + " " + r.loss);
        assertTrue(NetFixture.relErr(NetFixture.toDouble(inf.finalState()), NetFixture.flat(r.finalH)) <= tol, "final states");

        // predict: outputs o_t = V h_t + c (zero past each length), both workspaces, against the reference
        float[] outI = new float[steps * batch * 6], outT = new float[outI.length];
        Arrays.fill(outI, 7f);
        rnn.predict(p, inf, f.batch(), outI, 0);
        rnn.predict(p, train, f.batch(), outT, 0);
        assertArrayEquals(outT, outI, "predict, training vs inference workspace");
        double[] o = NetFixture.flat(r.logits);
        double[] mag = new double[o.length];
        double[] V = f.reference().params.get("V"), c = f.reference().params.get("c");
        for (int t = 0; t < steps; t++) {
            for (int b = 0; b < batch; b++) {
                if (t >= f.length(b)) continue;
                for (int i = 0; i < 6; i++) {
                    double sum = Math.abs(c[i]);
                    for (int j = 0; j < hid; j++) sum += Math.abs(V[i * hid + j] * r.outputs[t][b][j]);
                    mag[(t * batch + b) * 6 + i] = sum;
                }
            }
        }
        assertNull(SeedExampleTest.compare("predict", new double[][] {NetFixture.toDouble(outI)}, new double[][] {o}, mag, tol));
    }

    /** A sequence longer than any training capacity: inference keeps O(B*H) per layer and still agrees. */
    @Test
    void longSequenceInConstantMemory() {
        Shape shape = Shape.network(5, 33, 6, 2, false, Cell.ELMAN);
        int longT = 3 * 64 + 5, batch = 2;
        NetFixture g = new NetFixture(shape, Activation.TANH, longT, batch, NetFixture.Options.of(true, "mse").lengths(true), 5);
        Rnn rnn = Rnn.builder(shape).kernels(KernelChoice.VECTOR).build();
        Params p = Params.wrap(shape, g.params.clone());
        Workspace inf = rnn.inferenceWorkspace(batch);
        long bytes = inf.bytes();
        double loss = rnn.forward(p, inf, g.batch());
        assertEquals(bytes, inf.bytes(), "an inference workspace does not grow with T");
        ReferenceNetwork.Result r = g.reference().run(g.problem());
        double tol = tol(g);
        assertTrue(Math.abs(loss - r.loss) <= tol * r.loss, "long loss vs reference");
        assertTrue(NetFixture.relErr(NetFixture.toDouble(inf.finalState()), NetFixture.flat(r.finalH)) <= tol, "final states");
    }

    /**
     * Packing changes no sequence's bits: each sequence of a variable-length batch gives, bitwise,
     * the outputs and final state it gives alone (B < 4: the same kernel form either way), and a
     * batch whose lengths are all T gives bitwise what it gives without lengths.
     */
    @ParameterizedTest
    @MethodSource("paths")
    void packingChangesNoSequencesBits(KernelChoice path) {
        Shape shape = Shape.network(4, 17, 5, 2, true, Cell.ELMAN);
        int T = 70, B = 3;
        NetFixture f = new NetFixture(shape, Activation.TANH, T, B, NetFixture.Options.of(true, "none").lengths(true).withH0(true), 3);
        Rnn rnn = Rnn.builder(shape).kernels(path).build();
        Params p = Params.wrap(shape, f.params.clone());
        int H = 17, K = shape.stateBlocks();
        Workspace ws = rnn.inferenceWorkspace(B, T);
        float[] out = new float[T * B * 5];
        rnn.predict(p, ws, f.batch(), out, 0);
        float[] fin = ws.finalState();
        for (int b = 0; b < B; b++) {
            int len = f.length(b);
            float[] x1 = new float[len * 4], h01 = new float[K * H];
            for (int t = 0; t < len; t++) System.arraycopy(f.x, (t * B + b) * 4, x1, t * 4, 4);
            for (int k = 0; k < K; k++) System.arraycopy(f.h0, (k * B + b) * H, h01, k * H, H);
            Workspace one = rnn.inferenceWorkspace(1, len);
            float[] o1 = new float[len * 5];
            rnn.predict(p, one, new Batch(1, len).input(x1).initialState(h01), o1, 0);
            for (int t = 0; t < len; t++) {
                assertArrayEquals(Arrays.copyOfRange(o1, t * 5, t * 5 + 5), Arrays.copyOfRange(out, (t * B + b) * 5, (t * B + b) * 5 + 5),
                        "sequence " + b + " step " + t);
            }
            for (int t = len; t < T; t++) {
                for (int i = 0; i < 5; i++) assertEquals(0f, out[(t * B + b) * 5 + i], "zero past the length");
            }
            float[] fin1 = one.finalState();
            for (int k = 0; k < K; k++) {
                assertArrayEquals(Arrays.copyOfRange(fin1, k * H, k * H + H), Arrays.copyOfRange(fin, (k * B + b) * H, (k * B + b) * H + H),
                        "final state " + k + " of sequence " + b);
            }
        }
        // all lengths T == no lengths
        Batch all = f.batch().lengths(new int[] {T, T, T}), none = f.batch().lengths(null);
        float[] a = new float[out.length], n = new float[out.length];
        rnn.predict(p, ws, all, a, 0);
        rnn.predict(p, ws, none, n, 0);
        assertArrayEquals(n, a);
    }

    static Stream<KernelChoice> paths() { return Stream.of(KernelChoice.SCALAR, KernelChoice.VECTOR); }
}
