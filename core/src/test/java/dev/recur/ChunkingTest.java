package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.reference.ReferenceNetwork;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A sequence split into chunks, run forward from the first chunk (each chunk's h0 is the previous
 * chunk's final states, every layer's) and backward from the last, accumulating into ONE Grads,
 * gives the gradients of the unsplit sequence, for unidirectional stacks of 1 to 3 layers.
 *
 * <p>Forward: the states, hence the final states, are bitwise equal: every element of a state is
 * computed by the same sequence of float operations however the steps are grouped into blocks and
 * chunks (the Kernels contract: results do not depend on how rows are split among calls). The
 * loss is the same float row losses summed in double in another grouping: equal to ~1e-15.
 *
 * <p>Backward, two ways:
 * <ul>
 *   <li>With a {@link Carry}, each layer's delta itself crosses the boundary and the receiving
 *   step forms {@code g_t + W^T delta_{t+1}} in the same operation as the unsplit run. When the
 *   chunk boundaries fall on the engine's time blocks (64 steps at these batches), the time sums
 *   are grouped alike too, and the gradients are bitwise equal.</li>
 *   <li>Otherwise (dL/dh passed as dhT/dh0, or boundaries inside blocks) the results differ by
 *   association order only: within about twice the rounding bound of either, 2 u (T*B + H*L + O)
 *   relative to the reference's magnitude of each gradient (the criterion of
 *   NetworkAgainstReferenceTest).</li>
 * </ul>
 */
class ChunkingTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of(KernelChoice.SCALAR, 1, 3, new int[] {50, 70, 30}, Activation.TANH, true),
                Arguments.of(KernelChoice.SCALAR, 2, 1, new int[] {70, 64, 66}, Activation.SIGMOID, false),
                Arguments.of(KernelChoice.SCALAR, 3, 2, new int[] {64, 64, 22}, Activation.RELU, true),
                Arguments.of(KernelChoice.VECTOR, 2, 3, new int[] {50, 70, 30}, Activation.TANH, true),
                Arguments.of(KernelChoice.VECTOR, 3, 1, new int[] {64, 128, 5}, Activation.SIGMOID, false),
                Arguments.of(KernelChoice.VECTOR, 1, 5, new int[] {64, 1}, Activation.RELU, true),
                Arguments.of(KernelChoice.SCALAR, -2, 3, new int[] {64, 64, 9}, Activation.TANH, true),   // LSTM
                Arguments.of(KernelChoice.VECTOR, -2, 2, new int[] {50, 70, 30}, Activation.TANH, false), // LSTM
                Arguments.of(KernelChoice.VECTOR, -3, 5, new int[] {64, 64, 9}, Activation.TANH, true),   // GRU
                Arguments.of(KernelChoice.SCALAR, -1, 1, new int[] {70, 64, 66}, Activation.TANH, false));  // GRU
    }

    /** layers < 0: that many layers of a gated cell (LSTM for even, GRU for odd numbers). */
    @ParameterizedTest(name = "{0} L={1} B={2} chunks={3} {4} dense={5}")
    @MethodSource("cases")
    void chunkedEqualsUnsplit(KernelChoice path, int layersArg, int batch, int[] chunks, Activation act, boolean dense) {
        int steps = Arrays.stream(chunks).sum();
        int layers = Math.abs(layersArg);
        Cell cell = layersArg > 0 ? Cell.ELMAN : layers % 2 == 0 ? Cell.LSTM : Cell.GRU;
        Shape shape = layers == 1 && cell == Cell.ELMAN ? new Shape(6, 33, 7) : Shape.network(6, 33, 7, layers, false, cell);
        NetFixture f = new NetFixture(shape, act, steps, batch, NetFixture.Options.of(dense, "xent").withH0(true), 4242 + steps);
        if (cell != Cell.ELMAN) act = Activation.TANH;
        Rnn rnn = Rnn.builder(shape).activation(act).kernels(path).build();
        Params p = Params.wrap(shape, f.params.clone());
        int I = shape.input(), bh = layers * batch * shape.hidden();
        boolean aligned = Arrays.stream(chunks, 0, chunks.length - 1).allMatch(c -> c % 64 == 0);

        // unsplit
        Workspace wsFull = rnn.trainingWorkspace(batch, steps);
        double lossFull = rnn.forward(p, wsFull, f.batch());
        float[] hTFull = wsFull.finalState();
        Grads gFull = Grads.zeros(shape);
        float[] dh0Full = new float[bh];
        rnn.backward(p, wsFull, gFull, new Backprop().initialStateGradient(dh0Full, 0));

        // split: forward from the first chunk, carrying the final states; slices by offset, no copies
        int n = chunks.length;
        Workspace[] ws = new Workspace[n];
        double lossSplit = 0;
        float[] h = f.h0 == null ? null : f.h0.clone(), cs = f.c0 == null ? null : f.c0.clone();
        int t0 = 0;
        for (int c = 0; c < n; c++) {
            int len = chunks[c];
            ws[c] = rnn.trainingWorkspace(batch, len);
            Batch b = new Batch(batch, len).targets(f.yi, t0 * batch).loss(Loss.CROSS_ENTROPY).initialState(h).initialCell(cs);
            if (dense) b.input(f.x, t0 * batch * I);
            else b.input(f.xi, t0 * batch);
            lossSplit += rnn.forward(p, ws[c], b);
            h = ws[c].finalState();
            if (cs != null) cs = ws[c].finalCell(new float[cs.length], 0);
            t0 += len;
        }
        assertArrayEquals(hTFull, h, "final states after the last chunk are bitwise the unsplit final states");
        assertEquals(lossFull, lossSplit, 1e-12 * Math.abs(lossFull), "loss");

        // backward from the last chunk: (a) dL/dh0 (and dL/dc0) of a chunk is dL/dh_T of the one before
        Grads gSplit = Grads.zeros(shape);
        float[] dhT = null, dcT = null;
        boolean lstm = cell == Cell.LSTM;
        for (int c = n - 1; c >= 0; c--) {
            float[] dh0 = new float[bh], dc0 = lstm ? new float[bh] : null;
            rnn.backward(p, ws[c], gSplit, new Backprop().finalStateGradient(dhT, 0).finalCellGradient(dcT, 0)
                    .initialStateGradient(dh0, 0).initialCellGradient(dc0, 0));
            dhT = dh0;
            dcT = dc0;
        }
        // (b) with a carry
        Grads gCarry = Grads.zeros(shape);
        Carry carry = rnn.carry(batch);
        float[] dh0Carry = new float[bh];
        for (int c = n - 1; c >= 0; c--) {
            Backprop bp = new Backprop().carry(carry);
            if (c == 0) bp.initialStateGradient(dh0Carry, 0);
            rnn.backward(p, ws[c], gCarry, bp);
        }
        if (aligned && dense) {
            assertArrayEquals(gFull.data(), gCarry.data(), "with a carry and aligned chunks: bitwise the unsplit gradients");
            assertArrayEquals(dh0Full, dh0Carry, "and dL/dh0");
        }

        // magnitudes from the reference, for the scale of the rounding error
        ReferenceNetwork.Result m = f.reference().run(f.problem());
        double tol = 2 * NetFixture.U_FLOAT * (steps * batch + shape.hidden() * layers + shape.output());
        StringBuilder fail = new StringBuilder();
        double worst = 0;
        for (Grads g : new Grads[] {gSplit, gCarry}) {
            for (Shape.Block blk : shape.blocks()) {
                double[] got = NetFixture.toDouble(g.data(), blk.offset(), blk.length());
                double[] want = NetFixture.toDouble(gFull.data(), blk.offset(), blk.length());
                worst = Math.max(worst, NetFixture.relErr(got, want));
                String msg = SeedExampleTest.compare(blk.name(), new double[][] {got}, new double[][] {want},
                        m.magnitudes.get(blk.name()), tol);
                if (msg != null) fail.append("\n  ").append(g == gSplit ? "dhT " : "carry ").append(msg);
            }
        }
        for (float[] d : new float[][] {dhT, dh0Carry}) {
            String msg = SeedExampleTest.compare("dh0", new double[][] {NetFixture.toDouble(d)},
                    new double[][] {NetFixture.toDouble(dh0Full)}, m.magnitudes.get("dh0"), tol);
            if (msg != null) fail.append("\n  ").append(msg);
            worst = Math.max(worst, NetFixture.relErr(NetFixture.toDouble(d), NetFixture.toDouble(dh0Full)));
        }
        System.out.printf(Locale.ROOT, "CHUNK %s L=%d B=%d chunks=%s: largest relative difference to unsplit %.2e%n",
                path.name().toLowerCase(Locale.ROOT), layers, batch, Arrays.toString(chunks), worst);
        assertTrue(fail.length() == 0, "chunked vs unsplit, " + path + fail);
        assertTrue(gFull.l2Norm() > 1e-3, "the gradients are not zero");
    }
}
