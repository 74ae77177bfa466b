package dev.recur;

import dev.recur.internal.Checks;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The sizes of a network and the fixed layout of the one flat parameter array shared by
 * {@link Params} and {@link Grads}.
 *
 * <p>A network is {@code layers} layers of one {@link Cell}, each running in one or two
 * directions, with H hidden units per layer and direction, and an optional output head
 * {@code o_t = V h_t + c} on the top layer's states (V is O x D*H; O = 0 means no head). Layer 0
 * reads the input (I features, or I classes as indices); layer l > 0 reads the concatenation of
 * layer l-1's states, forward direction first, then reverse (D*H features), as PyTorch orders
 * them. G = {@link Cell#gates()} rows per hidden unit.
 *
 * <p>The flat layout, in PyTorch's state_dict order (for each layer, for each direction):
 *
 * <pre>
 *   block                 shape         PyTorch name (suffix _reverse for direction 1)
 *   W_ih                  G*H x I_l     weight_ih_l{k}
 *   W_hh                  G*H x H       weight_hh_l{k}
 *   b_ih                  G*H           bias_ih_l{k}      (biases = 2)
 *   b_hh                  G*H           bias_hh_l{k}      (biases = 2)
 *   ... then the head:
 *   V                     O x D*H       V
 *   c                     O             c
 * </pre>
 *
 * <p>{@code biases} is 2 (PyTorch's pair, the engine adds them), 0 (PyTorch's {@code bias=False})
 * or 1: recur's own single-layer Elman model, whose blocks are named {@code U} (= W_ih),
 * {@code W} (= W_hh), {@code b}, {@code V}, {@code c}; {@code new Shape(I, H, O)} is that model,
 * and its layout {@code U | W | b | V | c} is the one recur has always used.
 *
 * <p>One array means an optimiser step, a clip or a save is a single pass over a single array.
 *
 * @param input      I, the input features (or classes, for index inputs) of layer 0
 * @param hidden     H, the hidden units of each layer and direction
 * @param output     O, the outputs of the head; 0 for a network without a head (layer mode)
 * @param layers     the number of stacked layers, >= 1
 * @param directions 1, or 2 for bidirectional layers
 * @param cell       the cell of every layer
 * @param biases     bias vectors per layer and direction: 0, 1 (single-layer Elman only) or 2
 */
public record Shape(int input, int hidden, int output, int layers, int directions, Cell cell, int biases) {

    /** Largest number of layers (a sanity bound; deep RNN stacks are a handful of layers). */
    public static final int MAX_LAYERS = 1024;

    /** Checks every size; the message names the argument, its value and what was expected. */
    public Shape {
        Checks.positive("input", input);
        Checks.positive("hidden", hidden);
        if (output < 0) throw new IllegalArgumentException("output = " + output + ", expected >= 0 (0 = no output head)");
        if (layers < 1 || layers > MAX_LAYERS) {
            throw new IllegalArgumentException("layers = " + layers + ", expected 1 to " + MAX_LAYERS);
        }
        if (directions != 1 && directions != 2) {
            throw new IllegalArgumentException("directions = " + directions + ", expected 1 or 2 (bidirectional)");
        }
        if (cell == null) throw new IllegalArgumentException("cell is null, expected rnn, gru or lstm");
        if (biases < 0 || biases > 2) {
            throw new IllegalArgumentException("biases = " + biases + ", expected 0 (none), 1 (recur's single-layer "
                    + "model U, W, b) or 2 (PyTorch's bias_ih and bias_hh)");
        }
        if (biases == 1 && (layers != 1 || directions != 1 || cell != Cell.ELMAN)) {
            throw new IllegalArgumentException("biases = 1 is recur's single-layer Elman model (U, W, b, V, c), expected "
                    + "biases = 2 (PyTorch's bias_ih and bias_hh) or 0 for " + layers + " layer(s), " + directions
                    + " direction(s), cell " + cell.id());
        }
        long size = 0;
        long g = (long) cell.gates() * hidden;
        for (int l = 0; l < layers; l++) {
            long in = l == 0 ? input : (long) directions * hidden;
            size += directions * (g * in + g * hidden + (long) biases * (biases == 1 ? hidden : g));
        }
        size += (long) output * directions * hidden + output;
        if (size > Integer.MAX_VALUE - 16) {
            throw new IllegalArgumentException("shape (input=" + input + ", hidden=" + hidden + ", output=" + output
                    + ", layers=" + layers + ", directions=" + directions + ", cell=" + cell.id() + ") needs " + size
                    + " parameters, expected at most " + (Integer.MAX_VALUE - 16) + " (one Java array)");
        }
    }

    /** recur's single-layer Elman model: one layer, one direction, one bias (U, W, b, V, c). */
    public Shape(int input, int hidden, int output) {
        this(input, hidden, output, 1, 1, Cell.ELMAN, 1);
    }

    /**
     * A network in PyTorch's parameterisation: {@code layers} layers of {@code cell}, one or two
     * directions, bias_ih and bias_hh per layer and direction, a head of {@code output} units
     * (0 for none).
     */
    public static Shape network(int input, int hidden, int output, int layers, boolean bidirectional, Cell cell) {
        return new Shape(input, hidden, output, layers, bidirectional ? 2 : 1, cell, 2);
    }

    /** This shape with {@code n} layers (biases become PyTorch's pair when needed). */
    public Shape withLayers(int n) { return new Shape(input, hidden, output, n, directions, cell, pytorchBiases(n, directions, cell)); }

    /** This shape with one or two directions (biases become PyTorch's pair when needed). */
    public Shape withBidirectional(boolean on) {
        int d = on ? 2 : 1;
        return new Shape(input, hidden, output, layers, d, cell, pytorchBiases(layers, d, cell));
    }

    /** This shape with another cell (biases become PyTorch's pair when needed). */
    public Shape withCell(Cell c) { return new Shape(input, hidden, output, layers, directions, c, pytorchBiases(layers, directions, c)); }

    /** This shape with another head size (0: no head). */
    public Shape withOutput(int o) { return new Shape(input, hidden, o, layers, directions, cell, biases); }

    /** This shape with {@code n} bias vectors per layer and direction (0, 1 or 2). */
    public Shape withBiases(int n) { return new Shape(input, hidden, output, layers, directions, cell, n); }

    /** One bias stays one only where it is legal (recur's single-layer Elman model). */
    private int pytorchBiases(int l, int d, Cell c) {
        return biases == 1 && (l != 1 || d != 1 || c != Cell.ELMAN) ? 2 : biases;
    }

    /** True for two directions per layer. */
    public boolean bidirectional() { return directions == 2; }

    /** Gate rows per hidden unit (1, 3 or 4). */
    public int gates() { return cell.gates(); }

    /** True when there is an output head (O >= 1). */
    public boolean hasHead() { return output > 0; }

    /** True for recur's single-layer Elman model with one bias (named U, W, b, V, c). */
    public boolean isNativeModel() { return biases == 1; }

    /** Input width of layer {@code l}: I for layer 0, D*H above it. */
    public int layerInput(int l) {
        checkLayer(l);
        return l == 0 ? input : directions * hidden;
    }

    /** Width of the top layer's output, D*H (what the head and a caller in layer mode see). */
    public int outputWidth() { return directions * hidden; }

    /** Layers times directions: the number of h0 (and c0) blocks, PyTorch's first h_0 dimension. */
    public int stateBlocks() { return layers * directions; }

    // ------------------------------------------------------------------ the flat layout

    /** Floats of one layer-direction block: W_ih, W_hh and its biases. */
    private int unitSize(int l) {
        int g = gates() * hidden;
        return g * (l == 0 ? input : directions * hidden) + g * hidden + biases * (biases == 1 ? hidden : g);
    }

    /** Offset of W_ih (G*H x I_l) of layer {@code l}, direction {@code d}. */
    public int inputWeights(int l, int d) {
        checkLayer(l);
        checkDirection(d);
        int off = 0;
        for (int k = 0; k < l; k++) off += directions * unitSize(k);
        return off + d * unitSize(l);
    }

    /** Offset of W_hh (G*H x H) of layer {@code l}, direction {@code d}. */
    public int recurrentWeights(int l, int d) {
        return inputWeights(l, d) + gates() * hidden * layerInput(l);
    }

    /** Offset of b_ih (or of recur's single bias b), or -1 when the shape has no biases. */
    public int inputBias(int l, int d) {
        return biases == 0 ? -1 : recurrentWeights(l, d) + gates() * hidden * hidden;
    }

    /** Offset of b_hh, or -1 when the shape has fewer than two biases. */
    public int recurrentBias(int l, int d) {
        return biases < 2 ? -1 : inputBias(l, d) + gates() * hidden;
    }

    /** Offset of the head's V (O x D*H). */
    public int headWeights() {
        int off = 0;
        for (int k = 0; k < layers; k++) off += directions * unitSize(k);
        return off;
    }

    /** Offset of the head's c (O). */
    public int headBias() { return headWeights() + output * directions * hidden; }

    /** Total number of parameters. */
    public int size() { return headBias() + output; }

    /**
     * Flops per step and sequence by the peers' convention: for each layer and direction
     * 6 G H (H + I_l) (forward, dL/dW and dL/dx, counting dL/dx also for layer 0, which a
     * loss-headed run skips), plus 6 O D H for the head.
     */
    public double flopsPerStep() {
        double f = 0, h = hidden;
        for (int l = 0; l < layers; l++) f += directions * 6.0 * gates() * h * (h + layerInput(l));
        return f + 6.0 * output * directions * h;
    }

    // ------------------------------------------------------------------ named blocks

    /**
     * One named block of the flat array: its name, offset and shape as stored (row-major; a
     * vector has one dimension).
     */
    public record Block(String name, int offset, int[] dims) {
        /** Floats in the block. */
        public int length() {
            int n = 1;
            for (int d : dims) n *= d;
            return n;
        }

        /** Rows as stored (the length for a vector). */
        public int rows() { return dims[0]; }

        /** Columns as stored (1 for a vector). */
        public int cols() { return dims.length > 1 ? dims[1] : 1; }

        @Override public boolean equals(Object o) {
            return o instanceof Block b && b.name.equals(name) && b.offset == offset && java.util.Arrays.equals(b.dims, dims);
        }

        @Override public int hashCode() { return name.hashCode() * 31 + offset; }

        @Override public String toString() {
            StringBuilder s = new StringBuilder(name).append(" (");
            for (int i = 0; i < dims.length; i++) s.append(i > 0 ? ", " : "").append(dims[i]);
            return s.append(dims.length == 1 ? ",)" : ")").toString();
        }
    }

    /**
     * The parameter blocks in layout order, with their names: PyTorch's state_dict names
     * ({@code weight_ih_l0}, ..., {@code _reverse} for direction 1) plus {@code V} and {@code c}, or
     * {@code U}, {@code W}, {@code b}, {@code V}, {@code c} for recur's single-layer model. A
     * shape without a head has no V and c.
     */
    public List<Block> blocks() {
        List<Block> list = new ArrayList<>();
        int g = gates() * hidden;
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < directions; d++) {
                if (isNativeModel()) {
                    list.add(new Block("U", inputWeights(l, d), new int[] {g, layerInput(l)}));
                    list.add(new Block("W", recurrentWeights(l, d), new int[] {g, hidden}));
                    list.add(new Block("b", inputBias(l, d), new int[] {hidden}));
                    continue;
                }
                String sfx = "_l" + l + (d == 1 ? "_reverse" : "");
                list.add(new Block("weight_ih" + sfx, inputWeights(l, d), new int[] {g, layerInput(l)}));
                list.add(new Block("weight_hh" + sfx, recurrentWeights(l, d), new int[] {g, hidden}));
                if (biases == 2) {
                    list.add(new Block("bias_ih" + sfx, inputBias(l, d), new int[] {g}));
                    list.add(new Block("bias_hh" + sfx, recurrentBias(l, d), new int[] {g}));
                }
            }
        }
        if (hasHead()) {
            list.add(new Block("V", headWeights(), new int[] {output, directions * hidden}));
            list.add(new Block("c", headBias(), new int[] {output}));
        }
        return Collections.unmodifiableList(list);
    }

    /** The block called {@code name}; the error lists the names this shape has. */
    public Block block(String name) {
        List<Block> all = blocks();
        for (Block b : all) if (b.name().equals(name)) return b;
        List<String> names = new ArrayList<>();
        for (Block b : all) names.add(b.name());
        throw new IllegalArgumentException("block = '" + name + "', expected one of " + String.join(", ", names));
    }

    private void checkLayer(int l) {
        if (l < 0 || l >= layers) throw new IllegalArgumentException("layer = " + l + ", expected 0 to " + (layers - 1));
    }

    private void checkDirection(int d) {
        if (d < 0 || d >= directions) {
            throw new IllegalArgumentException("direction = " + d + ", expected 0" + (directions == 2 ? " or 1" : ""));
        }
    }

    /** Describes the network: one line, e.g. {@code Shape[2 x bidirectional lstm, I=64, H=256, O=64]}. */
    @Override public String toString() {
        if (isNativeModel()) return "Shape[I=" + input + ", H=" + hidden + ", O=" + output + "]";
        return "Shape[" + layers + " x " + (directions == 2 ? "bidirectional " : "") + cell.id() + ", I=" + input + ", H="
                + hidden + ", O=" + output + (biases == 0 ? ", no biases" : "") + "]";
    }
}
