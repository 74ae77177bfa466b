package dev.recur;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;
import dev.recur.optim.Adagrad;
import dev.recur.optim.Adam;
import dev.recur.optim.Clipping;
import dev.recur.optim.Sgd;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/**
 * Bad input: every mistake is an IllegalArgumentException (IllegalStateException for a call in
 * the wrong state) whose message names the argument, the value it had and what was expected,
 * checked on the message text.
 */
class BadInputTest {

    static final Shape S = new Shape(3, 4, 5);        // I = 3, H = 4, O = 5
    static final int B = 2, T = 3;

    final Rnn rnn = Rnn.builder(S).kernels(KernelChoice.SCALAR).build();
    final Rnn checked = Rnn.builder(S).kernels(KernelChoice.SCALAR).checkFinite(true).build();
    final Params p = Params.random(S, 1);
    final float[] x = new float[T * B * 3];
    final int[] xi = new int[T * B];
    final int[] y = new int[T * B];
    final float[] yf = new float[T * B * 5];

    /** Asserts the exception type and that the message contains every fragment. */
    static <E extends Throwable> E expect(Class<E> type, Executable call, String... fragments) {
        E e = assertThrows(type, call);
        String m = e.getMessage();
        assertTrue(m != null, "no message");
        for (String f : fragments) assertTrue(m.contains(f), "message '" + m + "' lacks '" + f + "'");
        return e;
    }

    static IllegalArgumentException arg(Executable call, String... fragments) {
        return expect(IllegalArgumentException.class, call, fragments);
    }

    @Test
    void nonPositiveSizes() {
        arg(() -> new Shape(0, 4, 5), "input", "0", "expected > 0");
        arg(() -> new Shape(3, -1, 5), "hidden", "-1", "expected > 0");
        arg(() -> new Shape(3, 4, 0), "output", "0", "expected > 0");
        arg(() -> rnn.trainingWorkspace(0, 10), "batch", "0", "expected > 0");
        arg(() -> rnn.trainingWorkspace(2, -3), "maxSteps", "-3", "expected > 0");
        arg(() -> rnn.inferenceWorkspace(-1), "batch", "-1", "expected > 0");
        Workspace ws = rnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, ws, 0, new float[0], new int[0], null), "steps", "0", "expected > 0");
        arg(() -> rnn.forward(p, ws, T + 1, new float[(T + 1) * B * 3], new int[(T + 1) * B], null),
                "steps = 4", "maxSteps = 3");
        arg(() -> new Shape(100_000, 100_000, 1), "parameters", "expected at most");
    }

    @Test
    void wrongArrayLengths() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, ws, T, new float[17], y, null), "x.length = 17", "steps*batch*input = 18");
        arg(() -> rnn.forward(p, ws, T, new int[5], y, null), "x.length = 5", "steps*batch = 6");
        arg(() -> rnn.forward(p, ws, T, x, new int[7], null), "targets.length = 7", "steps*batch = 6");
        arg(() -> rnn.forward(p, ws, T, x, new float[29], null), "targets.length = 29", "steps*batch*output = 30");
        arg(() -> rnn.forward(p, ws, T, x, y, new float[7]), "h0.length = 7", "batch*hidden = 8");
        arg(() -> rnn.forward(p, ws, T, (float[]) null, y, null), "x is null", "18");
        arg(() -> rnn.predict(p, ws, T, x, null, new float[3]), "outputs.length = 3", "steps*batch*output = 30");
        arg(() -> Params.wrap(S, new float[3]), "data.length = 3", String.valueOf(S.size()));
        arg(() -> Grads.wrap(S, new float[S.size() + 1]), "data.length = " + (S.size() + 1), String.valueOf(S.size()));

        rnn.forward(p, ws, T, x, y, null);
        Grads g = Grads.zeros(S);
        arg(() -> rnn.backward(p, ws, g, new float[3], null), "dhT.length = 3", "batch*hidden = 8");
        arg(() -> rnn.backward(p, ws, g, null, new float[9]), "dh0.length = 9", "batch*hidden = 8");
        arg(() -> rnn.backwardLayer(p, ws, new float[5], g, null, null, null), "dH.length = 5", "steps*batch*hidden = 24");
        arg(() -> rnn.backwardLayer(p, ws, new float[24], g, null, new float[2], null), "dX.length = 2",
                "steps*batch*input = 18");
        Workspace ws2 = rnn.trainingWorkspace(B, T);
        rnn.forward(p, ws2, T, xi, y, null);
        arg(() -> rnn.backwardLayer(p, ws2, new float[24], g, null, new float[18], null), "dX", "class-index inputs",
                "expected dX = null");
        arg(() -> ws.finalState(new float[3]), "out.length = 3", "batch*hidden = 8");
    }

    @Test
    void indicesOutOfRange() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        int[] badY = {0, 1, 2, 3, 4, 5};
        arg(() -> rnn.forward(p, ws, T, x, badY, null), "targets[5] = 5", "[0, output = 5)");
        int[] negY = {0, -1, 0, 0, 0, 0};
        arg(() -> rnn.forward(p, ws, T, x, negY, null), "targets[1] = -1", "[0, output = 5)");
        int[] badX = {0, 1, 2, 3, 0, 0};
        arg(() -> rnn.forward(p, ws, T, badX, y, null), "x[3] = 3", "[0, input = 3)");
        arg(() -> rnn.forward(p, ws, T, badX, yf, null), "x[3] = 3", "[0, input = 3)");
        arg(() -> rnn.predict(p, ws, T, badX, null, new float[30]), "x[3] = 3", "[0, input = 3)");
        arg(() -> rnn.forwardLayer(p, ws, T, new int[] {0, 0, 0, 0, 0, -2}, null), "x[5] = -2", "input = 3");
    }

    @Test
    void nonFiniteInputsWhenChecked() {
        Workspace ws = checked.trainingWorkspace(B, T);
        float[] xn = x.clone();
        xn[4] = Float.NaN;
        arg(() -> checked.forward(p, ws, T, xn, y, null), "x[4] = NaN", "expected a finite number");
        float[] yn = yf.clone();
        yn[7] = Float.POSITIVE_INFINITY;
        arg(() -> checked.forward(p, ws, T, x, yn, null), "targets[7] = Infinity", "finite");
        float[] h0 = new float[8];
        h0[2] = Float.NEGATIVE_INFINITY;
        arg(() -> checked.forward(p, ws, T, x, y, h0), "h0[2] = -Infinity", "finite");
        checked.forward(p, ws, T, x, y, null);
        Grads g = Grads.zeros(S);
        float[] dH = new float[24];
        dH[23] = Float.NaN;
        arg(() -> checked.backwardLayer(p, ws, dH, g, null, null, null), "dH[23] = NaN", "finite");
        float[] dhT = new float[8];
        dhT[0] = Float.NaN;
        arg(() -> checked.backward(p, ws, g, dhT, null), "dhT[0] = NaN", "finite");
        // the check is opt-in: without it a NaN input is not an error (it propagates)
        Workspace ws2 = rnn.trainingWorkspace(B, T);
        double loss = assertDoesNotThrow(() -> rnn.forward(p, ws2, T, xn, y, null));
        assertTrue(Double.isNaN(loss));
    }

    @Test
    void mismatchedShapes() {
        Shape other = new Shape(3, 5, 5);
        Workspace ws = rnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(Params.zeros(other), ws, T, x, y, null), "params.shape()", other.toString(), S.toString());
        Rnn otherRnn = Rnn.builder(other).kernels(KernelChoice.SCALAR).build();
        Workspace foreign = otherRnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, foreign, T, x, y, null), "workspace shape", other.toString(), S.toString());
        rnn.forward(p, ws, T, x, y, null);
        arg(() -> rnn.backward(p, ws, Grads.zeros(other)), "grads.shape()", other.toString(), S.toString());
        arg(() -> rnn.backward(Params.zeros(other), ws, Grads.zeros(S)), "params.shape()", other.toString());
        arg(() -> Grads.zeros(S).add(Grads.zeros(other)), "other.shape()", other.toString());
        arg(() -> new Sgd(0.1f).step(p, Grads.zeros(other)), "grads.shape()", other.toString(), S.toString());
    }

    /**
     * backward with a workspace of another engine (another shape) must be refused, as forward
     * refuses it. Repro of a bug in Rnn.checkBackward: it never compares the workspace's shape
     * with the engine's. With a foreign workspace whose hidden size differs the driver fails
     * later with an ArrayIndexOutOfBoundsException; where only the output size differs
     * (Shape(3, 4, 3) workspace, Shape(3, 4, 5) engine) backward runs to the end and silently
     * adds garbage gradients (dy read with the wrong row length).
     */
    @Test
    void backwardWithWorkspaceOfAnotherEngine() {
        Shape otherO = new Shape(3, 4, 3);
        Rnn rnnO = Rnn.builder(otherO).kernels(KernelChoice.SCALAR).build();
        Workspace wsO = rnnO.trainingWorkspace(B, T);
        rnnO.forward(Params.random(otherO, 2), wsO, T, x, y, null);
        arg(() -> rnn.backward(p, wsO, Grads.zeros(S)), "workspace shape", otherO.toString(), S.toString());

        Shape otherH = new Shape(3, 5, 5);
        Rnn rnnH = Rnn.builder(otherH).kernels(KernelChoice.SCALAR).build();
        Workspace wsH = rnnH.trainingWorkspace(B, T);
        rnnH.forward(Params.random(otherH, 2), wsH, T, x, y, null);
        arg(() -> rnn.backward(p, wsH, Grads.zeros(S)), "workspace shape", otherH.toString(), S.toString());
        arg(() -> rnn.backwardLayer(p, wsH, new float[T * B * 4], Grads.zeros(S), null, null, null),
                "workspace shape", otherH.toString());
    }

    /**
     * A workspace made by another engine of the SAME shape (here: tanh) used with this engine
     * (relu) must either be refused with an IllegalArgumentException naming the workspace, or
     * give exactly what this engine computes with its own workspace. Repro of a bug: a
     * workspace is bound at creation to its engine's worker jobs (Rnn.bind:
     * ws.forwardJob = w -&gt; forwardWorker(ws, w) of the creating engine), so
     * relu.forward(p, wsOfTanhEngine, ...) silently runs the tanh engine's driver: tanh
     * activation, the other engine's kernels and thread team.
     */
    @Test
    void workspaceOfAnotherEngineOfTheSameShape() {
        Rnn tanh = Rnn.builder(S).activation(Activation.TANH).kernels(KernelChoice.SCALAR).build();
        Rnn relu = Rnn.builder(S).activation(Activation.RELU).kernels(KernelChoice.SCALAR).build();
        float[] xr = new float[T * B * 3];
        for (int k = 0; k < xr.length; k++) xr[k] = (k % 7) * 0.3f - 0.9f;
        double own = relu.forward(p, relu.trainingWorkspace(B, T), T, xr, y, null);
        Workspace foreign = tanh.trainingWorkspace(B, T);
        double got;
        try {
            got = relu.forward(p, foreign, T, xr, y, null);
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage().contains("workspace"), e.getMessage());
            return;
        }
        org.junit.jupiter.api.Assertions.assertEquals(own, got, 0.0,
                "relu engine on a tanh engine's workspace computed a different loss");
    }

    @Test
    void wrongState() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        Grads g = Grads.zeros(S);
        expect(IllegalStateException.class, () -> rnn.backward(p, ws, g), "backward needs a forward pass");
        expect(IllegalStateException.class, () -> ws.finalState(new float[8]), "no forward pass");
        Workspace inf = rnn.inferenceWorkspace(B);
        rnn.forward(p, inf, T, x, y, null);
        expect(IllegalStateException.class, () -> rnn.backward(p, inf, g), "training workspace", "inference");
        expect(IllegalStateException.class, inf::hidden, "training workspace");
        rnn.forwardLayer(p, ws, T, x, null);
        expect(IllegalStateException.class, () -> rnn.backward(p, ws, g), "targets", "backwardLayer");
        arg(() -> ws.hiddenOffset(T + 1), "t = 4", "steps() = 3");
    }

    @Test
    void badNamesAndSettings() {
        arg(() -> Activation.parse("gelu"), "activation", "gelu", "tanh, sigmoid, relu");
        arg(() -> KernelChoice.parse("gpu"), "kernels", "gpu", "auto, scalar, vector");
        arg(() -> Rnn.builder(null), "shape is null");
        arg(() -> Rnn.builder(S).activation(null), "activation is null");
        arg(() -> new Sgd(0f), "learning rate = 0.0", "> 0");
        arg(() -> new Sgd(Float.NaN), "learning rate = NaN");
        arg(() -> new Adam(10, -1f), "learning rate = -1.0");
        arg(() -> new Adam(10, 0.1f, 1f, 0.999f, 1e-8f), "beta1 = 1.0", "beta1 < 1");
        arg(() -> new Adagrad(0, 0.1f), "size = 0", "> 0");
        arg(() -> new Adagrad(S.size() + 1, 0.1f).step(p, Grads.zeros(S)), "params has " + S.size(),
                "expected " + (S.size() + 1));
        arg(() -> Clipping.byGlobalNorm(Grads.zeros(S), 0), "maxNorm = 0.0", "> 0");
        arg(() -> Clipping.byValue(Grads.zeros(S), Float.POSITIVE_INFINITY), "maxAbs = Infinity", "finite");
    }
}
