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
    static final Shape NET = Shape.network(3, 4, 5, 2, true, Cell.ELMAN);
    static final int B = 2, T = 3;

    final Rnn rnn = Rnn.builder(S).kernels(KernelChoice.SCALAR).build();
    final Rnn net = Rnn.builder(NET).kernels(KernelChoice.SCALAR).build();
    final Rnn checked = Rnn.builder(S).kernels(KernelChoice.SCALAR).checkFinite(true).build();
    final Params p = Params.random(S, 1);
    final Params pn = Params.random(NET, 1);
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

    Batch xent() { return new Batch(B, T).input(x).targets(y).loss(Loss.CROSS_ENTROPY); }

    @Test
    void badSizes() {
        arg(() -> new Shape(0, 4, 5), "input", "0", "expected > 0");
        arg(() -> new Shape(3, -1, 5), "hidden", "-1", "expected > 0");
        arg(() -> new Shape(3, 4, -1), "output", "-1", "expected >= 0");
        arg(() -> new Shape(3, 4, 5, 0, 1, Cell.ELMAN, 2), "layers = 0", "expected 1 to");
        arg(() -> new Shape(3, 4, 5, 1, 3, Cell.ELMAN, 2), "directions = 3", "expected 1 or 2");
        arg(() -> new Shape(3, 4, 5, 2, 1, Cell.ELMAN, 1), "biases = 1", "single-layer", "biases = 2");
        arg(() -> new Shape(3, 4, 5, 1, 1, Cell.ELMAN, 3), "biases = 3", "expected 0");
        arg(() -> new Shape(3, 4, 5, 1, 1, null, 2), "cell is null");
        arg(() -> new Batch(0, 3), "sequences = 0", "expected > 0");
        arg(() -> new Batch(2, -1), "steps = -1", "expected > 0");
        arg(() -> rnn.trainingWorkspace(0, 10), "maxBatch", "0", "expected > 0");
        arg(() -> rnn.trainingWorkspace(2, -3), "maxSteps", "-3", "expected > 0");
        arg(() -> rnn.inferenceWorkspace(-1), "maxBatch", "-1", "expected > 0");
        arg(() -> net.inferenceWorkspace(4), "inferenceWorkspace(maxBatch)", "unidirectional", "maxSteps");
        arg(() -> new Shape(100_000, 100_000, 1), "parameters", "expected at most");
        Workspace ws = rnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, ws, new Batch(B, T + 1).input(new float[(T + 1) * B * 3])), "batch.steps() = 4", "maxSteps = 3");
        // a batch larger than the workspace's is named with the workspace's batch
        arg(() -> rnn.forward(p, ws, new Batch(8, T).input(new float[T * 8 * 3])), "batch.sequences() = 8", "maxBatch = 2");
    }

    @Test
    void wrongArrayLengthsAndOffsets() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, ws, xent().input(new float[17])), "x.length = 17", "steps*batch*input = 18");
        arg(() -> rnn.forward(p, ws, xent().input(x, 2)), "x.length = 18 from offset 2", "steps*batch*input = 18");
        arg(() -> rnn.forward(p, ws, xent().input(x, -1)), "x offset = -1");
        arg(() -> rnn.forward(p, ws, xent().input(new int[5])), "x.length = 5", "steps*batch = 6");
        arg(() -> rnn.forward(p, ws, xent().targets(new int[7], 2)), "targets.length = 7 from offset 2", "steps*batch = 6");
        arg(() -> rnn.forward(p, ws, xent().targets(new float[29]).loss(Loss.SQUARED_ERROR)), "targets.length = 29",
                "steps*batch*output = 30");
        arg(() -> rnn.forward(p, ws, xent().initialState(new float[7])), "h0.length = 7", "layers*directions*batch*hidden = 8");
        arg(() -> rnn.forward(p, ws, new Batch(B, T)), "no inputs", "batch.input");
        arg(() -> rnn.forward(p, ws, xent().lengths(new int[1])), "lengths.length = 1", "batch = 2");
        arg(() -> rnn.predict(p, ws, xent(), new float[3], 0), "out.length = 3", "steps*batch*output = 30");
        arg(() -> Params.wrap(S, new float[3]), "data.length = 3", String.valueOf(S.size()));
        arg(() -> Grads.wrap(S, new float[S.size() + 1]), "data.length = " + (S.size() + 1), String.valueOf(S.size()));

        rnn.forward(p, ws, xent());
        Grads g = Grads.zeros(S);
        arg(() -> rnn.backward(p, ws, g, new Backprop().finalStateGradient(new float[3], 0)), "finalStateGradient.length = 3",
                "layers*directions*batch*hidden = 8");
        arg(() -> rnn.backward(p, ws, g, new Backprop().initialStateGradient(new float[9], 2)), "initialStateGradient.length = 9",
                "= 8");
        arg(() -> rnn.backward(p, ws, g, new Backprop().outputGradient(new float[5], 0)), "outputGradient.length = 5",
                "steps*batch*directions*hidden = 24");
        arg(() -> rnn.backward(p, ws, g, new Backprop().inputGradient(new float[2], 0)), "inputGradient.length = 2",
                "steps*batch*input = 18");
        Workspace ws2 = rnn.trainingWorkspace(B, T);
        rnn.forward(p, ws2, xent().input(xi));
        arg(() -> rnn.backward(p, ws2, g, new Backprop().inputGradient(new float[18], 0)), "inputGradient", "class-index inputs");
        arg(() -> ws.finalState(new float[3], 0), "out.length = 3", "layers*directions*batch*hidden = 8");
        arg(() -> net.forward(pn, net.trainingWorkspace(B, T), new Batch(B, T).input(x).initialState(new float[8])),
                "h0.length = 8", "layers*directions*batch*hidden = 32");
    }

    @Test
    void lengthsOutOfRange() {
        Workspace ws = net.trainingWorkspace(B, T);
        arg(() -> net.forward(pn, ws, new Batch(B, T).input(x).lengths(new int[] {0, 3})), "lengths[0] = 0", "1 <= length <= steps = 3");
        arg(() -> net.forward(pn, ws, new Batch(B, T).input(x).lengths(new int[] {2, 4})), "lengths[1] = 4", "steps = 3");
    }

    @Test
    void indicesOutOfRange() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        int[] badY = {0, 1, 2, 3, 4, 5};
        arg(() -> rnn.forward(p, ws, xent().targets(badY)), "targets[5] = 5", "[0, output = 5)", "ignore index -100");
        int[] negY = {0, -1, 0, 0, 0, 0};
        arg(() -> rnn.forward(p, ws, xent().targets(negY)), "targets[1] = -1", "(step 0, sequence 1)", "[0, output = 5)");
        int[] badX = {0, 1, 2, 3, 0, 0};
        arg(() -> rnn.forward(p, ws, xent().input(badX)), "x[3] = 3", "[0, input = 3)");
        arg(() -> rnn.predict(p, ws, xent().input(badX), new float[30], 0), "x[3] = 3", "[0, input = 3)");
        // past a sequence's length an index is not read, so not checked (PyTorch pads with anything)
        int[] padded = {0, 0, 0, 0, 0, -7};
        assertDoesNotThrow(() -> rnn.forward(p, ws, xent().input(padded).lengths(new int[] {3, 2})));
        int[] ignored = {0, -100, 0, 0, 0, 0};
        assertDoesNotThrow(() -> rnn.forward(p, ws, xent().targets(ignored)));
    }

    @Test
    void lossAndTargetsMustAgree() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, ws, new Batch(B, T).input(x).targets(y)), "targets but batch.loss() = none");
        arg(() -> rnn.forward(p, ws, new Batch(B, T).input(x).targets(yf).loss(Loss.CROSS_ENTROPY)), "needs class-index targets",
                "Loss.SQUARED_ERROR?");
        arg(() -> rnn.forward(p, ws, new Batch(B, T).input(x).targets(y).loss(Loss.SQUARED_ERROR)), "needs float targets",
                "Loss.CROSS_ENTROPY?");
        arg(() -> rnn.forward(p, ws, new Batch(B, T).input(x).loss(Loss.CROSS_ENTROPY)), "needs class-index targets");
        Shape headless = S.withOutput(0);
        Rnn layer = Rnn.builder(headless).kernels(KernelChoice.SCALAR).build();
        arg(() -> layer.forward(Params.zeros(headless), layer.trainingWorkspace(B, T), xent()), "no output head", "Loss.NONE");
        arg(() -> Loss.parse("hinge"), "loss = 'hinge'", "xent", "mse");
        expect(IllegalStateException.class, () -> Loss.SQUARED_ERROR.ignoreIndex(3), "cross-entropy");
    }

    @Test
    void nonFiniteInputsWhenChecked() {
        Workspace ws = checked.trainingWorkspace(B, T);
        float[] xn = x.clone();
        xn[4] = Float.NaN;
        arg(() -> checked.forward(p, ws, xent().input(xn)), "x[4] = NaN", "expected a finite number");
        float[] yn = yf.clone();
        yn[7] = Float.POSITIVE_INFINITY;
        arg(() -> checked.forward(p, ws, xent().targets(yn).loss(Loss.SQUARED_ERROR)), "targets[7] = Infinity", "finite");
        float[] h0 = new float[8];
        h0[2] = Float.NEGATIVE_INFINITY;
        arg(() -> checked.forward(p, ws, xent().initialState(h0)), "h0[2] = -Infinity", "finite");
        checked.forward(p, ws, xent());
        Grads g = Grads.zeros(S);
        float[] dH = new float[24];
        dH[23] = Float.NaN;
        arg(() -> checked.backward(p, ws, g, new Backprop().outputGradient(dH, 0)), "outputGradient[23] = NaN", "finite");
        float[] dhT = new float[8];
        dhT[0] = Float.NaN;
        arg(() -> checked.backward(p, ws, g, new Backprop().finalStateGradient(dhT, 0)), "finalStateGradient[0] = NaN", "finite");
        // the check is opt-in: without it a NaN input is not an error (it propagates)
        Workspace ws2 = rnn.trainingWorkspace(B, T);
        double loss = assertDoesNotThrow(() -> rnn.forward(p, ws2, xent().input(xn)));
        assertTrue(Double.isNaN(loss));
    }

    @Test
    void mismatchedShapesAndEngines() {
        Shape other = new Shape(3, 5, 5);
        Workspace ws = rnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(Params.zeros(other), ws, xent()), "params.shape()", other.toString(), S.toString());
        Rnn otherRnn = Rnn.builder(other).kernels(KernelChoice.SCALAR).build();
        Workspace foreign = otherRnn.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, foreign, xent()), "workspace was made by another engine", otherRnn.toString(), rnn.toString());
        rnn.forward(p, ws, xent());
        arg(() -> rnn.backward(p, ws, Grads.zeros(other)), "grads.shape()", other.toString(), S.toString());
        arg(() -> rnn.backward(Params.zeros(other), ws, Grads.zeros(S)), "params.shape()", other.toString());
        arg(() -> rnn.backward(Params.random(S, 9), ws, Grads.zeros(S)), "not the ones the forward pass", "same Params");
        arg(() -> Grads.zeros(S).add(Grads.zeros(other)), "other.shape()", other.toString());
        arg(() -> new Sgd(0.1f).step(p, Grads.zeros(other)), "grads.shape()", other.toString(), S.toString());
        // two engines of one shape print apart, and a workspace names its engine
        Rnn same = Rnn.builder(S).kernels(KernelChoice.SCALAR).build();
        assertTrue(!same.toString().equals(rnn.toString()), same + " vs " + rnn);
        Workspace sameWs = same.trainingWorkspace(B, T);
        arg(() -> rnn.forward(p, sameWs, xent()), "another engine (" + same + ")", "(" + rnn + ")");
    }

    @Test
    void wrongState() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        Grads g = Grads.zeros(S);
        expect(IllegalStateException.class, () -> rnn.backward(p, ws, g), "backward needs a forward pass");
        expect(IllegalStateException.class, () -> ws.finalState(new float[8], 0), "no forward pass");
        Workspace inf = rnn.inferenceWorkspace(B);
        rnn.forward(p, inf, xent());
        expect(IllegalStateException.class, () -> rnn.backward(p, inf, g), "training workspace", "inference");
        expect(IllegalStateException.class, () -> inf.outputs(new float[24], 0), "training workspace");
        rnn.forward(p, ws, new Batch(B, T).input(x));
        expect(IllegalStateException.class, () -> rnn.backward(p, ws, g), "a loss", "outputGradient");
        arg(() -> ws.stateAt(T + 1, new float[8], 0), "t = 4", "steps() = 3");
        Rnn elman = Rnn.builder(S).kernels(KernelChoice.SCALAR).build();
        arg(() -> new Carry(NET, 2), "unidirectional");
        expect(IllegalStateException.class, () -> ws.finalCell(new float[8], 0), "LSTM");
        elman.close();
    }

    /**
     * Two chunks through one workspace: the second forward overwrites the first chunk's states,
     * and the first chunk's backward would silently back-propagate the second chunk again. With
     * a carry it is reported; with one workspace per chunk it runs.
     */
    @Test
    void oneWorkspaceForTwoChunksIsReported() {
        Workspace ws = rnn.trainingWorkspace(B, T);
        Carry carry = rnn.carry(B);
        Grads g = Grads.zeros(S);
        rnn.forward(p, ws, xent());
        float[] h = ws.finalState();
        rnn.forward(p, ws, xent().initialState(h));                 // chunk 2 in the same workspace
        rnn.backward(p, ws, g, new Backprop().carry(carry));
        expect(IllegalStateException.class, () -> rnn.backward(p, ws, g, new Backprop().carry(carry)), "same forward pass",
                "its own workspace");
        Workspace w1 = rnn.trainingWorkspace(B, T), w2 = rnn.trainingWorkspace(B, T);
        carry.clear();
        rnn.forward(p, w1, xent());
        rnn.forward(p, w2, xent().initialState(w1.finalState()));
        rnn.backward(p, w2, g, new Backprop().carry(carry));
        assertDoesNotThrow(() -> rnn.backward(p, w1, g, new Backprop().carry(carry)));
        arg(() -> rnn.backward(p, w1, g, new Backprop().carry(rnn.carry(B + 1))), "carry.batch() = 3", "batch = 2");
    }

    @Test
    void badNamesAndSettings() {
        arg(() -> Activation.parse("gelu"), "activation", "gelu", "tanh, sigmoid, relu");
        arg(() -> Cell.parse("transformer"), "cell", "transformer", "rnn, gru, lstm");
        arg(() -> KernelChoice.parse("gpu"), "kernels", "gpu", "auto, scalar, vector");
        arg(() -> Rnn.builder(null), "shape is null");
        arg(() -> Rnn.builder(S).activation(null), "activation is null");
        arg(() -> Rnn.builder(Shape.network(3, 4, 5, 1, false, Cell.LSTM)).activation(Activation.RELU).build(), "activation = relu",
                "cell lstm", "expected tanh");
        arg(() -> S.block("Z"), "block = 'Z'", "U, W, b, V, c");
        arg(() -> new Sgd(0f), "learning rate = 0.0", "> 0");
        arg(() -> new Sgd(Float.NaN), "learning rate = NaN");
        arg(() -> new Adam(10, -1f), "learning rate = -1.0");
        arg(() -> new Adam(10, 0.1f, 1f, 0.999f, 1e-8f), "beta1 = 1.0", "beta1 < 1");
        arg(() -> new Adagrad(0, 0.1f), "size = 0", "> 0");
        arg(() -> new Adagrad(S.size() + 1, 0.1f).step(p, Grads.zeros(S)), "params has " + S.size(), "expected " + (S.size() + 1));
        arg(() -> Clipping.byGlobalNorm(Grads.zeros(S), 0), "maxNorm = 0.0", "> 0");
        arg(() -> Clipping.byValue(Grads.zeros(S), Float.POSITIVE_INFINITY), "maxAbs = Infinity", "finite");
    }
}
