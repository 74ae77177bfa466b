package dev.recur;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A sequence split into chunks, run forward from the first chunk (each chunk's h0 is the
 * previous chunk's {@link Workspace#finalState}) and backward from the last (each chunk's dhT
 * is the later chunk's dL/dh0), accumulating into ONE Grads, gives the gradients of the
 * unsplit sequence.
 *
 * <p>Forward: the states, hence the final state, are bitwise equal: every element of a state
 * is computed by the same sequence of float operations however the steps are grouped into
 * blocks and chunks (the Kernels contract: results do not depend on how rows are split among
 * calls). The loss is the same float row losses summed in double in another grouping: equal to
 * ~1e-15 relative.
 *
 * <p>Backward: not bitwise, for two reasons of association order only. (1) At a chunk boundary
 * the unsplit run forms g_t + W^T delta_{t+1} inside one recurrent step, while the split run
 * first forms dh0 = W^T delta_{t+1} as a separate product and then adds it to g_t. (2) The time
 * sums dW, dU, db, dV, dc are accumulated block by block into the Grads, and the block
 * boundaries move with the chunk boundaries. Both computations are float evaluations of the
 * same sums in different orders, so they differ by at most about twice the rounding bound of
 * either: the tolerance is 2 u (T*B + H + O) relative to the magnitude of the gradient (the
 * same criterion as BpttAgainstReferenceTest, with the magnitudes from the reference).
 */
class ChunkingTest {

    static Stream<Arguments> cases() {
        return Stream.of(
                // B = 3: blocks of 43 steps; chunks 50 | 70 | 30
                Arguments.of(KernelChoice.SCALAR, 3, new int[] {50, 70, 30}, Activation.TANH, true),
                Arguments.of(KernelChoice.SCALAR, 1, new int[] {70, 64, 66}, Activation.SIGMOID, false),
                Arguments.of(KernelChoice.SCALAR, 2, new int[] {65, 1}, Activation.RELU, true),
                Arguments.of(KernelChoice.VECTOR, 3, new int[] {50, 70, 30}, Activation.TANH, true),
                Arguments.of(KernelChoice.VECTOR, 1, new int[] {70, 64, 66}, Activation.SIGMOID, false),
                Arguments.of(KernelChoice.VECTOR, 2, new int[] {65, 1}, Activation.RELU, true));
    }

    @ParameterizedTest(name = "{0} B={1} chunks={2} {3} dense={4}")
    @MethodSource("cases")
    void chunkedEqualsUnsplit(KernelChoice path, int batch, int[] chunks, Activation act, boolean dense) {
        int steps = Arrays.stream(chunks).sum();
        int nIn = 6, nHid = 33, nOut = 7;
        Fixture f = new Fixture(nIn, nHid, nOut, steps, batch, act, dense, true, true, 4242 + steps);
        Shape shape = f.shape();
        Rnn rnn = Fixture.engine(shape, act, path);
        Params p = Params.wrap(shape, f.params.clone());
        int bh = batch * nHid;

        // unsplit
        Workspace wsFull = rnn.trainingWorkspace(batch, steps);
        double lossFull = f.forward(rnn, p, wsFull);
        float[] hTFull = wsFull.finalState(new float[bh]);
        Grads gFull = Grads.zeros(shape);
        float[] dh0Full = rnn.backward(p, wsFull, gFull, null, new float[bh]);

        // split: forward from the first chunk, carrying the final state
        int n = chunks.length;
        Workspace[] ws = new Workspace[n];
        double lossSplit = 0;
        float[] h = f.h0 == null ? null : f.h0.clone();
        int t0 = 0;
        for (int c = 0; c < n; c++) {
            int len = chunks[c];
            ws[c] = rnn.trainingWorkspace(batch, len);
            int[] y = Arrays.copyOfRange(f.yClass, t0 * batch, (t0 + len) * batch);
            lossSplit += dense
                    ? rnn.forward(p, ws[c], len, Arrays.copyOfRange(f.xDense, t0 * batch * nIn, (t0 + len) * batch * nIn), y, h)
                    : rnn.forward(p, ws[c], len, Arrays.copyOfRange(f.xClass, t0 * batch, (t0 + len) * batch), y, h);
            h = ws[c].finalState(new float[bh]);
            t0 += len;
        }
        assertArrayEquals(hTFull, h, "final state after the last chunk is bitwise the unsplit final state");
        assertEquals(lossFull, lossSplit, 1e-12 * Math.abs(lossFull), "loss");

        // backward from the last chunk, dL/dh0 of a chunk is dL/dh_T of the one before
        Grads gSplit = Grads.zeros(shape);
        float[] dhT = null;
        for (int c = n - 1; c >= 0; c--) {
            float[] dh0 = new float[bh];
            rnn.backward(p, ws[c], gSplit, dhT, dh0);
            dhT = dh0;
        }

        // magnitudes from the reference, for the scale of the rounding error
        ReferenceRnn ref = f.reference();
        ReferenceRnn.Problem pr = f.problem(true);
        ReferenceRnn.Result fw = ref.forward(pr);
        ReferenceRnn.Result m = ref.magnitudes(pr, fw);
        double tol = 2 * Fixture.U_FLOAT * (steps * batch + nHid + nOut);
        float[] a = gSplit.data(), b = gFull.data();
        String[] names = {"dU", "dW", "db", "dV", "dc"};
        int[] off = {f.uOff(), f.wOff(), f.bOff(), f.vOff(), f.cOff(), f.cOff() + nOut};
        double[][] mag = {Fixture.flat(m.dU), Fixture.flat(m.dW), m.db, Fixture.flat(m.dV), m.dc};
        StringBuilder fail = new StringBuilder();
        double worst = 0;
        for (int k = 0; k < 5; k++) {
            double[] got = Fixture.slice(a, off[k], off[k + 1] - off[k]);
            double[] want = Fixture.slice(b, off[k], off[k + 1] - off[k]);
            worst = Math.max(worst, Fixture.relErr(got, want));
            String msg = Fixture.compare(names[k], got, want, mag[k], tol);
            if (msg != null) fail.append("\n  ").append(msg);
        }
        String msg = Fixture.compare("dh0", Fixture.toDouble(dhT), Fixture.toDouble(dh0Full), Fixture.flat(m.dh0), tol);
        if (msg != null) fail.append("\n  ").append(msg);
        worst = Math.max(worst, Fixture.relErr(Fixture.toDouble(dhT), Fixture.toDouble(dh0Full)));
        System.out.printf(Locale.ROOT, "CHUNK %s B=%d chunks=%s: largest relative difference to unsplit %.2e%n",
                path.name().toLowerCase(Locale.ROOT), batch, Arrays.toString(chunks), worst);
        assertTrue(fail.length() == 0, "chunked vs unsplit, " + path + fail);
        // and the two really are gradients (not both zero)
        assertTrue(gFull.l2Norm() > 1e-3);
    }
}
