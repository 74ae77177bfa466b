package dev.recur.reference;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An independent double-precision recurrent network: the definition recur's engine is tested
 * against, and what {@code recur gradcheck} runs for users. Straight loops over the formulas,
 * one sequence at a time, one step at a time, with no code shared with the engine (no layout
 * offsets, no kernels, no sorting or packing, its own activations and cells). It is checked
 * itself by centred finite differences.
 *
 * <p>The model is PyTorch's ({@code nn.RNN}, {@code nn.GRU}, {@code nn.LSTM} with
 * {@code num_layers}, {@code bidirectional}, packed variable-length batches) plus a head
 * {@code o_t = V h_t + c} on the top layer's states (both directions side by side):
 * <pre>
 *   rnn:  h_t = act(W_ih u_t + b_ih + W_hh h_{t-1} + b_hh)
 *   gru:  r, z = sigmoid(W_i[r,z] u_t + b_i[r,z] + W_h[r,z] h_{t-1} + b_h[r,z])
 *         n    = tanh(W_in u_t + b_in + r * (W_hn h_{t-1} + b_hn)),   h_t = (1 - z) n + z h_{t-1}
 *   lstm: i, f, o = sigmoid(...), g = tanh(...)  (gate rows i, f, g, o),
 *         c_t = f c_{t-1} + i g,   h_t = o tanh(c_t)
 * </pre>
 * u_t is the input x_t for layer 0 (dense, or a class index: a column of W_ih) and the layer
 * below's states (forward then reverse) above it. A sequence of length len runs t = 0..len-1
 * forward and t = len-1..0 in the reverse direction; steps past len do not exist for it.
 *
 * <p>What it differentiates, the objective:
 * <pre>
 *   J = loss + sum_{valid t} &lt;dY_t, h^top_t&gt; + sum &lt;dhT, h_final&gt; + sum &lt;dcT, c_final&gt;
 * </pre>
 * where the loss is summed (or averaged over the counted positions) softmax cross-entropy
 * (targets equal to the ignore index count nothing) or 1/2 squared error, and the linear terms
 * stand for gradients arriving from outside (layer mode, later chunks).
 *
 * <p>Parameters are named blocks, row-major: PyTorch's state_dict names ({@code weight_ih_l0},
 * {@code weight_hh_l0}, {@code bias_ih_l0}, {@code bias_hh_l0}, {@code _reverse} for direction 1)
 * plus {@code V} and {@code c}; or, for recur's single-layer Elman model with one bias,
 * {@code U}, {@code W}, {@code b}, {@code V}, {@code c}. Gradients come back under the same
 * names.
 *
 * <p>Alongside every gradient, {@link Result#magnitudes} holds the scale a float evaluation's
 * rounding error is proportional to (Higham: |fl(sum x_i) - sum x_i| &lt;= gamma_n sum |x_i|):
 * the same sums with every term in absolute value, one level deep in time. For each step the
 * gate gradient's magnitude uses the absolute values of the true quantities it is computed
 * from (|W_hh|^T |delta_{t+1}|, not the magnitude of delta_{t+1}), because |W_hh| is not
 * contractive and an all-absolute recursion would grow like (sqrt(H)/2)^T. Across layers the
 * magnitude of the layer above's gate gradient is used (errors made above do flow down).
 */
public final class ReferenceNetwork {

    /** The cell kinds, named as on recur's command line. */
    public enum CellKind {
        /** The Elman cell: one gate block. */
        RNN(1),
        /** The GRU: reset, update and candidate blocks. */
        GRU(3),
        /** The LSTM: input, forget, cell and output blocks. */
        LSTM(4);

        final int gates;

        CellKind(int gates) { this.gates = gates; }

        /**
         * Parses a cell name.
         *
         * @param s {@code rnn} (or {@code elman}), {@code gru} or {@code lstm}, any case
         * @return the kind
         * @throws IllegalArgumentException if {@code s} names none of them
         */
        public static CellKind parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "rnn", "elman" -> RNN;
                case "gru" -> GRU;
                case "lstm" -> LSTM;
                default -> throw new IllegalArgumentException("cell = '" + s + "', expected rnn, gru or lstm");
            };
        }
    }

    /** The Elman cell's nonlinearity; the gated cells use sigmoid and tanh by definition. */
    public enum Nonlinearity {
        /** {@code tanh}. */
        TANH,
        /** The logistic sigmoid. */
        SIGMOID,
        /** {@code max(a, 0)}. */
        RELU;

        /**
         * Parses a nonlinearity name.
         *
         * @param s {@code tanh}, {@code sigmoid} or {@code relu}, any case
         * @return the nonlinearity
         * @throws IllegalArgumentException if {@code s} names none of them
         */
        public static Nonlinearity parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "tanh" -> TANH;
                case "sigmoid" -> SIGMOID;
                case "relu" -> RELU;
                default -> throw new IllegalArgumentException("activation = '" + s + "', expected tanh, sigmoid or relu");
            };
        }

        double f(double a) {
            return switch (this) {
                case TANH -> Math.tanh(a);
                case SIGMOID -> sigmoid(a);
                case RELU -> a > 0 ? a : 0.0;
            };
        }

        /** d act / d a, from the pre-activation (the engine takes it from the output: independent forms). */
        double df(double a) {
            return switch (this) {
                case TANH -> {
                    double ch = Math.cosh(a);
                    yield 1.0 / (ch * ch);
                }
                case SIGMOID -> {
                    double e = Math.exp(-Math.abs(a));
                    yield e / ((1 + e) * (1 + e));
                }
                case RELU -> a > 0 ? 1.0 : 0.0;
            };
        }
    }

    static double sigmoid(double a) { return a >= 0 ? 1.0 / (1.0 + Math.exp(-a)) : Math.exp(a) / (1.0 + Math.exp(a)); }

    final CellKind cell;
    final Nonlinearity act;
    final int input, hidden, output, layers, directions, biases;
    /** The parameters by name, row-major; set them (or {@link #set}) before {@link #run}. */
    public final Map<String, double[]> params = new LinkedHashMap<>();

    /**
     * A network of zero parameters.
     *
     * @param biases 2 (PyTorch's bias_ih and bias_hh), 0 (none) or 1 (recur's single-layer Elman
     *               model, blocks U, W, b, V, c)
     * @param output the head's size; 0 for none
     */
    public ReferenceNetwork(String cell, String nonlinearity, int input, int hidden, int output, int layers,
                            boolean bidirectional, int biases) {
        this.cell = CellKind.parse(cell);
        this.act = this.cell == CellKind.RNN ? Nonlinearity.parse(nonlinearity) : Nonlinearity.TANH;
        this.input = input;
        this.hidden = hidden;
        this.output = output;
        this.layers = layers;
        this.directions = bidirectional ? 2 : 1;
        this.biases = biases;
        if (biases == 1 && (layers != 1 || bidirectional || this.cell != CellKind.RNN)) {
            throw new IllegalArgumentException("biases = 1 is the single-layer Elman model only");
        }
        for (String name : names()) params.put(name, new double[size(name)]);
    }

    /** The block names, in PyTorch's state_dict order (then V, c). */
    public List<String> names() {
        List<String> n = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < directions; d++) {
                n.add(wih(l, d));
                n.add(whh(l, d));
                if (biases >= 1) n.add(bih(l, d));
                if (biases == 2) n.add(bhh(l, d));
            }
        }
        if (output > 0) {
            n.add("V");
            n.add("c");
        }
        return Collections.unmodifiableList(n);
    }

    private String sfx(int l, int d) { return "_l" + l + (d == 1 ? "_reverse" : ""); }
    String wih(int l, int d) { return biases == 1 ? "U" : "weight_ih" + sfx(l, d); }
    String whh(int l, int d) { return biases == 1 ? "W" : "weight_hh" + sfx(l, d); }
    String bih(int l, int d) { return biases == 1 ? "b" : "bias_ih" + sfx(l, d); }
    String bhh(int l, int d) { return "bias_hh" + sfx(l, d); }

    int layerInput(int l) { return l == 0 ? input : directions * hidden; }

    /** The number of values of a block. */
    public int size(String name) {
        int gh = cell.gates * hidden;
        if (name.equals("V")) return output * directions * hidden;
        if (name.equals("c")) return output;
        for (int l = 0; l < layers; l++) {
            for (int d = 0; d < directions; d++) {
                if (name.equals(wih(l, d))) return gh * layerInput(l);
                if (name.equals(whh(l, d))) return gh * hidden;
                if (name.equals(bih(l, d))) return biases == 1 ? hidden : gh;
                if (name.equals(bhh(l, d))) return gh;
            }
        }
        throw new IllegalArgumentException("no block '" + name + "' in this network, expected one of " + names());
    }

    /** Sets a block from floats (checking its size). */
    public void set(String name, float[] values) {
        double[] p = params.get(name);
        if (p == null) throw new IllegalArgumentException("no block '" + name + "', expected one of " + names());
        if (values.length != p.length) {
            throw new IllegalArgumentException(name + " has " + values.length + " values, expected " + p.length);
        }
        for (int k = 0; k < p.length; k++) p[k] = values[k];
    }

    /** One problem: the data of a batch, time-major and padded, and the gradients arriving from outside. */
    public static final class Problem {
        /** An empty problem; the caller fills the fields. */
        public Problem() {}

        /** T, the padded length (time steps). */
        public int steps;
        /** B, the sequences. */
        public int batch;
        /** [T][B][I] dense inputs, or null. */
        public double[][][] x;
        /** [T][B] class-index inputs, or null. */
        public int[][] xi;
        /** [B] lengths in [1, T], or null for all T. */
        public int[] lengths;
        /** "xent", "mse" or "none". */
        public String loss = "none";
        /** True to average the loss over the positions that carry it, false to sum. */
        public boolean mean;
        /** The class target that carries no loss (xent), PyTorch's default -100. */
        public int ignoreIndex = -100;
        /** [T][B] class targets (xent), or null. */
        public int[][] yi;
        /** [T][B][O] float targets (mse), or null. */
        public double[][][] yf;
        /**
         * [T][B] which valid positions carry loss, or null for all (truncated BPTT scores a window
         * of steps and back-propagates through a longer one).
         */
        public boolean[][] scored;
        /** [L*D][B][H] initial states (and LSTM cells), or null for zeros. */
        public double[][][] h0, c0;
        /** [T][B][D*H] dL/d(top states) from outside, or null. */
        public double[][][] dY;
        /** [L*D][B][H] dL/d(final states and cells) from outside, or null. */
        public double[][][] dhT, dcT;

        int length(int b) { return lengths == null ? steps : lengths[b]; }

        boolean counts(int t, int b) {
            if (scored != null && !scored[t][b]) return false;
            return !loss.equals("none") && !(loss.equals("xent") && yi[t][b] == ignoreIndex);
        }
    }

    /** What {@link #run} computes. */
    public static final class Result {
        /** An empty result, filled by {@link #run}. */
        public Result() {}

        /** The loss alone (summed or averaged as asked). */
        public double loss;
        /** The loss plus the linear terms of dY, dhT, dcT: what the gradients differentiate. */
        public double objective;
        /** Positions that carried loss. */
        public long counted;
        /** dJ/d(each block), by name, row-major. */
        public final Map<String, double[]> grads = new LinkedHashMap<>();
        /** The rounding scale of each gradient (see the class comment), same names, plus dh0, dc0, dx. */
        public final Map<String, double[]> magnitudes = new LinkedHashMap<>();
        /** [L*D][B][H] dJ/dh0 and (LSTM) dJ/dc0. */
        public double[][][] dh0, dc0;
        /** [T][B][I] dJ/dx (dense inputs; zero past each length). */
        public double[][][] dx;
        /** [T][B][D*H] the top layer's states (zero past each length). */
        public double[][][] outputs;
        /** [T][B][O] the head's outputs o_t (zero past each length). */
        public double[][][] logits;
        /** [L*D][B][H] each sequence's final states and (LSTM) cells. */
        public double[][][] finalH, finalC;
        /** [T][B][O] dJ/do_t (the loss's gradient on the head's outputs). */
        public double[][][] dlogits;
        /**
         * [L*D][T][B][G*H] each step's pre-activations (for the GRU, the input side W_ih u + b_ih)
         * and dJ/d of them (the gate gradients delta_t), null rows past each length.
         */
        public double[][][][] pre, dpre;
    }

    /** The objective alone (a forward pass): for finite differences. */
    public double objective(Problem p) { return compute(p, false).objective; }

    /** Forward, then full BPTT: the objective, every gradient and its magnitude. */
    public Result run(Problem p) { return compute(p, true); }

    // ------------------------------------------------------------------ the computation

    /** One sequence's forward record of one layer and direction. */
    private static final class Trace {
        double[][] u;      // [len][I_l] inputs (class inputs: null rows, see xi)
        int[] xi;          // class indices (layer 0), or null
        double[][] pre;    // [len][G*H] pre-activations (GRU: the input part W_i u + b_i)
        double[][] hpre;   // GRU: [len][3H] W_h h_{t-1} + b_h
        double[][] gate;   // [len][G*H] activated gates (rnn: h)
        double[][] c;      // LSTM cells [len][H]
        double[][] h;      // [len][H] states
        double[] h0, c0;
    }

    private Result compute(Problem p, boolean grads) {
        check(p);
        int B = p.batch, T = p.steps, H = hidden, D = directions, O = output, DH = D * H;
        Result r = new Result();
        r.outputs = new double[T][B][DH];
        r.logits = new double[T][B][O];
        r.finalH = new double[layers * D][B][H];
        r.finalC = cell == CellKind.LSTM ? new double[layers * D][B][H] : null;
        r.dlogits = new double[T][B][O];
        r.pre = new double[layers * D][T][B][];
        r.dpre = grads ? new double[layers * D][T][B][] : null;
        if (grads) {
            for (String n : names()) {
                r.grads.put(n, new double[size(n)]);
                r.magnitudes.put(n, new double[size(n)]);
            }
            r.dh0 = new double[layers * D][B][H];
            r.dc0 = cell == CellKind.LSTM ? new double[layers * D][B][H] : null;
            r.dx = p.x != null ? new double[T][B][input] : null;
        }
        // counted positions first: a mean divides by the batch's count
        long counted = 0;
        for (int b = 0; b < B; b++) {
            for (int t = 0; t < p.length(b); t++) if (p.counts(t, b)) counted++;
        }
        r.counted = counted;
        double scale = p.mean ? (counted == 0 ? 0 : 1.0 / counted) : 1.0;
        double lossSum = 0, linear = 0;
        for (int b = 0; b < B; b++) {
            int len = p.length(b);
            Trace[][] tr = new Trace[layers][D];
            for (int l = 0; l < layers; l++) {
                for (int d = 0; d < D; d++) {
                    tr[l][d] = forward(p, b, l, d, len, l == 0 ? null : tr[l - 1]);
                    int k = l * D + d;
                    for (int t = 0; t < len; t++) r.pre[k][t][b] = tr[l][d].pre[t];
                    int last = d == 0 ? len - 1 : 0;
                    r.finalH[k][b] = tr[l][d].h[last].clone();
                    if (r.finalC != null) r.finalC[k][b] = tr[l][d].c[last].clone();
                    if (p.dhT != null) linear += dot(p.dhT[k][b], r.finalH[k][b]);
                    if (p.dcT != null && r.finalC != null) linear += dot(p.dcT[k][b], r.finalC[k][b]);
                }
            }
            // the head, the loss, dL/do
            double[][] dy = new double[len][O];
            for (int t = 0; t < len; t++) {
                for (int d = 0; d < D; d++) System.arraycopy(tr[layers - 1][d].h[t], 0, r.outputs[t][b], d * H, H);
                if (p.dY != null) linear += dot(p.dY[t][b], r.outputs[t][b]);
                if (O == 0) continue;
                double[] o = r.logits[t][b], V = params.get("V"), c = params.get("c");
                for (int k = 0; k < O; k++) {
                    double s = c[k];
                    for (int j = 0; j < DH; j++) s += V[k * DH + j] * r.outputs[t][b][j];
                    o[k] = s;
                }
                if (!p.counts(t, b)) continue;
                if (p.loss.equals("xent")) {
                    int y = p.yi[t][b];
                    double max = Double.NEGATIVE_INFINITY;
                    for (double v : o) max = Math.max(max, v);
                    double z = 0;
                    for (double v : o) z += Math.exp(v - max);
                    lossSum += Math.log(z) + max - o[y];
                    for (int k = 0; k < O; k++) dy[t][k] = scale * (Math.exp(o[k] - max) / z - (k == y ? 1 : 0));
                } else if (p.loss.equals("mse")) {
                    for (int k = 0; k < O; k++) {
                        double e = o[k] - p.yf[t][b][k];
                        lossSum += 0.5 * e * e;
                        dy[t][k] = scale * e;
                    }
                }
            }
            for (int t = 0; t < len; t++) r.dlogits[t][b] = dy[t];
            if (grads) backward(p, b, len, tr, dy, r);
        }
        r.loss = p.mean ? (counted == 0 ? Double.NaN : lossSum / counted) : lossSum;
        r.objective = (p.mean && counted == 0 ? 0 : r.loss) + linear;
        return r;
    }

    private Trace forward(Problem p, int b, int l, int d, int len, Trace[] below) {
        int H = hidden, GH = cell.gates * H, I = layerInput(l), D = directions;
        Trace tr = new Trace();
        tr.u = new double[len][];
        tr.pre = new double[len][GH];
        tr.gate = new double[len][GH];
        tr.h = new double[len][H];
        tr.c = cell == CellKind.LSTM ? new double[len][H] : null;
        tr.hpre = cell == CellKind.GRU ? new double[len][GH] : null;
        tr.h0 = p.h0 != null ? p.h0[l * D + d][b].clone() : new double[H];
        tr.c0 = p.c0 != null ? p.c0[l * D + d][b].clone() : new double[H];
        if (l == 0 && p.xi != null) {
            tr.xi = new int[len];
            for (int t = 0; t < len; t++) tr.xi[t] = p.xi[t][b];
        }
        for (int t = 0; t < len; t++) {
            if (l == 0) {
                tr.u[t] = p.x != null ? p.x[t][b] : null;
            } else {
                tr.u[t] = new double[I];
                for (int dd = 0; dd < D; dd++) System.arraycopy(below[dd].h[t], 0, tr.u[t], dd * H, H);
            }
        }
        double[] Wih = params.get(wih(l, d)), Whh = params.get(whh(l, d));
        double[] bih = biases >= 1 ? params.get(bih(l, d)) : null, bhhv = biases == 2 ? params.get(bhh(l, d)) : null;
        double[] hPrev = tr.h0, cPrev = tr.c0;
        for (int s = 0; s < len; s++) {
            int t = d == 0 ? s : len - 1 - s;
            double[] a = tr.pre[t];
            // the input part W_ih u_t + b_ih
            for (int i = 0; i < GH; i++) {
                double v = bih == null ? 0 : bih[i];
                if (tr.xi != null) v += Wih[i * I + tr.xi[t]];
                else for (int j = 0; j < I; j++) v += Wih[i * I + j] * tr.u[t][j];
                a[i] = v;
            }
            // the recurrent part W_hh h_{t-1} + b_hh
            double[] rec = new double[GH];
            for (int i = 0; i < GH; i++) {
                double v = bhhv == null ? 0 : bhhv[i];
                for (int j = 0; j < H; j++) v += Whh[i * H + j] * hPrev[j];
                rec[i] = v;
            }
            double[] h = tr.h[t], g = tr.gate[t];
            switch (cell) {
                case RNN -> {
                    for (int i = 0; i < H; i++) {
                        a[i] += rec[i];
                        g[i] = act.f(a[i]);
                        h[i] = g[i];
                    }
                }
                case LSTM -> {
                    double[] c = tr.c[t];
                    for (int i = 0; i < GH; i++) a[i] += rec[i];
                    for (int j = 0; j < H; j++) {
                        double ig = sigmoid(a[j]), fg = sigmoid(a[H + j]), gg = Math.tanh(a[2 * H + j]), og = sigmoid(a[3 * H + j]);
                        g[j] = ig;
                        g[H + j] = fg;
                        g[2 * H + j] = gg;
                        g[3 * H + j] = og;
                        c[j] = fg * cPrev[j] + ig * gg;
                        h[j] = og * Math.tanh(c[j]);
                    }
                    cPrev = c;
                }
                case GRU -> {
                    System.arraycopy(rec, 0, tr.hpre[t], 0, GH);
                    for (int j = 0; j < H; j++) {
                        double rg = sigmoid(a[j] + rec[j]), zg = sigmoid(a[H + j] + rec[H + j]);
                        double ng = Math.tanh(a[2 * H + j] + rg * rec[2 * H + j]);
                        g[j] = rg;
                        g[H + j] = zg;
                        g[2 * H + j] = ng;
                        h[j] = (1 - zg) * ng + zg * hPrev[j];
                    }
                }
            }
            hPrev = h;
        }
        return tr;
    }

    /** BPTT of one sequence through every layer and direction, top down; gradients and magnitudes into r. */
    private void backward(Problem p, int b, int len, Trace[][] tr, double[][] dy, Result r) {
        int H = hidden, D = directions, DH = D * H, O = output, GH = cell.gates * H;
        // dJ/d(top outputs) and its magnitude, per step
        double[][] gOut = new double[len][DH], mOut = new double[len][DH];
        if (O > 0) {
            double[] V = params.get("V"), dV = r.grads.get("V"), dc = r.grads.get("c");
            double[] mV = r.magnitudes.get("V"), mc = r.magnitudes.get("c");
            for (int t = 0; t < len; t++) {
                for (int k = 0; k < O; k++) {
                    double e = dy[t][k];
                    dc[k] += e;
                    mc[k] += Math.abs(e);
                    for (int j = 0; j < DH; j++) {
                        dV[k * DH + j] += e * r.outputs[t][b][j];
                        mV[k * DH + j] += Math.abs(e * r.outputs[t][b][j]);
                        gOut[t][j] += V[k * DH + j] * e;
                        mOut[t][j] += Math.abs(V[k * DH + j] * e);
                    }
                }
            }
        }
        if (p.dY != null) {
            for (int t = 0; t < len; t++) {
                for (int j = 0; j < DH; j++) {
                    gOut[t][j] += p.dY[t][b][j];
                    mOut[t][j] += Math.abs(p.dY[t][b][j]);
                }
            }
        }
        for (int l = layers - 1; l >= 0; l--) {
            int I = layerInput(l);
            double[][] gIn = new double[len][I], mIn = new double[len][I];
            for (int d = 0; d < D; d++) {
                Trace t = tr[l][d];
                layerBackward(p, b, len, l, d, t, gOut, mOut, gIn, mIn, r);
            }
            if (l == 0) {
                if (r.dx != null) {
                    double[] mx = r.magnitudes.computeIfAbsent("dx", k -> new double[p.steps * p.batch * input]);
                    for (int t = 0; t < len; t++) {
                        r.dx[t][b] = gIn[t];
                        for (int j = 0; j < input; j++) mx[(t * p.batch + b) * input + j] = mIn[t][j];
                    }
                }
            } else {
                gOut = gIn;
                mOut = mIn;
            }
        }
    }

    /**
     * BPTT through one layer and direction of one sequence: gOut/mOut are dJ/dh_t from above
     * (columns d*H .. of the layer's output) and their magnitudes; dJ/du_t and its magnitude are
     * added into gIn/mIn.
     */
    private void layerBackward(Problem p, int b, int len, int l, int d, Trace tr, double[][] gOut, double[][] mOut,
                               double[][] gIn, double[][] mIn, Result r) {
        int H = hidden, GH = cell.gates * H, I = layerInput(l), D = directions, k = l * D + d;
        double[] Wih = params.get(wih(l, d)), Whh = params.get(whh(l, d));
        double[] dWih = r.grads.get(wih(l, d)), dWhh = r.grads.get(whh(l, d));
        double[] mWih = r.magnitudes.get(wih(l, d)), mWhh = r.magnitudes.get(whh(l, d));
        double[] dbih = biases >= 1 ? r.grads.get(bih(l, d)) : null, dbhh = biases == 2 ? r.grads.get(bhh(l, d)) : null;
        double[] mbih = biases >= 1 ? r.magnitudes.get(bih(l, d)) : null, mbhh = biases == 2 ? r.magnitudes.get(bhh(l, d)) : null;
        // the recursion's carries, true values: gate gradient of the step processed before
        // (dz: d(pre) of the input side; dzh: of the recurrent side, which the GRU keeps apart),
        // the GRU's direct dh term and the LSTM's dc
        double[] dzNext = new double[GH], dzhNext = new double[GH], directNext = new double[H], dcNext = new double[H];
        double[] mDh0 = new double[H], mDc0 = new double[H];
        for (int s = 0; s < len; s++) {
            int t = d == 0 ? len - 1 - s : s;                      // backward order
            boolean finalStep = s == 0;                            // the step whose state is "final"
            double[] hPrev = prevState(tr, d, t, len), cPrev = cell == CellKind.LSTM ? prevCell(tr, d, t, len) : null;
            // dh_t = from above + W_hh^T dzh_{next} + direct; and its magnitude
            double[] dh = new double[H], mdh = new double[H];
            for (int j = 0; j < H; j++) {
                double v = gOut[t][d * H + j], m = mOut[t][d * H + j];
                for (int i = 0; i < GH; i++) {
                    v += Whh[i * H + j] * dzhNext[i];
                    m += Math.abs(Whh[i * H + j] * dzhNext[i]);
                }
                v += directNext[j];
                m += Math.abs(directNext[j]);
                if (finalStep && p.dhT != null) {
                    v += p.dhT[k][b][j];
                    m += Math.abs(p.dhT[k][b][j]);
                }
                dh[j] = v;
                mdh[j] = m;
            }
            double[] dz = new double[GH], dzh = new double[GH], mz = new double[GH], mzh = new double[GH];
            double[] direct = new double[H], dcPrev = new double[H], mdcPrev = new double[H];
            double[] gate = tr.gate[t];
            switch (cell) {
                case RNN -> {
                    for (int j = 0; j < H; j++) {
                        double f = act.df(tr.pre[t][j]);
                        dz[j] = f * dh[j];
                        mz[j] = Math.abs(f) * mdh[j];
                    }
                    System.arraycopy(dz, 0, dzh, 0, GH);
                    System.arraycopy(mz, 0, mzh, 0, GH);
                }
                case LSTM -> {
                    double[] c = tr.c[t];
                    for (int j = 0; j < H; j++) {
                        double ig = gate[j], fg = gate[H + j], gg = gate[2 * H + j], og = gate[3 * H + j];
                        double tc = Math.tanh(c[j]);
                        double dcIn = (finalStep && p.dcT != null ? p.dcT[k][b][j] : 0) + dcNext[j];
                        double mcIn = (finalStep && p.dcT != null ? Math.abs(p.dcT[k][b][j]) : 0) + Math.abs(dcNext[j]);
                        double dct = dcIn + dh[j] * og * (1 - tc * tc);
                        double mct = mcIn + mdh[j] * Math.abs(og * (1 - tc * tc));
                        dz[j] = dct * gg * ig * (1 - ig);
                        dz[H + j] = dct * cPrev[j] * fg * (1 - fg);
                        dz[2 * H + j] = dct * ig * (1 - gg * gg);
                        dz[3 * H + j] = dh[j] * tc * og * (1 - og);
                        mz[j] = mct * Math.abs(gg * ig * (1 - ig));
                        mz[H + j] = mct * Math.abs(cPrev[j] * fg * (1 - fg));
                        mz[2 * H + j] = mct * Math.abs(ig * (1 - gg * gg));
                        mz[3 * H + j] = mdh[j] * Math.abs(tc * og * (1 - og));
                        dcPrev[j] = dct * fg;
                        mdcPrev[j] = mct * Math.abs(fg);
                    }
                    System.arraycopy(dz, 0, dzh, 0, GH);
                    System.arraycopy(mz, 0, mzh, 0, GH);
                }
                case GRU -> {
                    double[] hn = tr.hpre[t];
                    for (int j = 0; j < H; j++) {
                        double rg = gate[j], zg = gate[H + j], ng = gate[2 * H + j];
                        double dn = dh[j] * (1 - zg) * (1 - ng * ng);
                        double mn = mdh[j] * Math.abs((1 - zg) * (1 - ng * ng));
                        double dr = dn * hn[2 * H + j] * rg * (1 - rg);
                        double dzz = dh[j] * (hPrev[j] - ng) * zg * (1 - zg);
                        dz[j] = dr;
                        dz[H + j] = dzz;
                        dz[2 * H + j] = dn;
                        dzh[j] = dr;
                        dzh[H + j] = dzz;
                        dzh[2 * H + j] = dn * rg;
                        mz[j] = mn * Math.abs(hn[2 * H + j] * rg * (1 - rg));
                        mz[H + j] = mdh[j] * (Math.abs(hPrev[j]) + Math.abs(ng)) * Math.abs(zg * (1 - zg));
                        mz[2 * H + j] = mn;
                        mzh[j] = mz[j];
                        mzh[H + j] = mz[H + j];
                        mzh[2 * H + j] = mn * Math.abs(rg);
                        direct[j] = dh[j] * zg;
                    }
                }
            }
            r.dpre[k][t][b] = dz;
            // time sums
            for (int i = 0; i < GH; i++) {
                for (int j = 0; j < H; j++) {
                    dWhh[i * H + j] += dzh[i] * hPrev[j];
                    mWhh[i * H + j] += mzh[i] * Math.abs(hPrev[j]);
                }
                if (tr.xi != null) {
                    dWih[i * I + tr.xi[t]] += dz[i];
                    mWih[i * I + tr.xi[t]] += mz[i];
                } else {
                    for (int j = 0; j < I; j++) {
                        dWih[i * I + j] += dz[i] * tr.u[t][j];
                        mWih[i * I + j] += mz[i] * Math.abs(tr.u[t][j]);
                    }
                }
            }
            if (biases == 1) {
                for (int i = 0; i < H; i++) {
                    dbih[i] += dz[i];
                    mbih[i] += mz[i];
                }
            } else if (biases == 2) {
                for (int i = 0; i < GH; i++) {
                    dbih[i] += dz[i];
                    mbih[i] += mz[i];
                    dbhh[i] += dzh[i];
                    mbhh[i] += mzh[i];
                }
            }
            // dJ/du_t = W_ih^T dz (into the layer below, or dx)
            if (tr.xi == null) {
                for (int j = 0; j < I; j++) {
                    double v = 0, m = 0;
                    for (int i = 0; i < GH; i++) {
                        v += Wih[i * I + j] * dz[i];
                        m += Math.abs(Wih[i * I + j]) * mz[i];
                    }
                    gIn[t][j] += v;
                    mIn[t][j] += m;
                }
            }
            // the first step of this direction: dJ/dh0 (and dc0)
            if (s == len - 1) {
                double[] mh0 = r.magnitudes.computeIfAbsent("dh0", key -> new double[layers * directions * p.batch * hidden]);
                for (int j = 0; j < H; j++) {
                    double v = direct[j], m = Math.abs(direct[j]);
                    for (int i = 0; i < GH; i++) {
                        v += Whh[i * H + j] * dzh[i];
                        m += Math.abs(Whh[i * H + j]) * mzh[i];
                    }
                    r.dh0[k][b][j] = v;
                    mh0[(k * p.batch + b) * H + j] = m;
                }
                if (cell == CellKind.LSTM) {
                    double[] mc0 = r.magnitudes.computeIfAbsent("dc0", key -> new double[layers * directions * p.batch * hidden]);
                    for (int j = 0; j < H; j++) {
                        r.dc0[k][b][j] = dcPrev[j];
                        mc0[(k * p.batch + b) * H + j] = mdcPrev[j];
                    }
                }
            }
            dzNext = dz;
            dzhNext = dzh;
            directNext = direct;
            dcNext = dcPrev;
        }
    }

    /** The state step t of direction d reads: h_{t-1} forward, h_{t+1} reverse, h0 at the start. */
    private static double[] prevState(Trace tr, int d, int t, int len) {
        if (d == 0) return t == 0 ? tr.h0 : tr.h[t - 1];
        return t == len - 1 ? tr.h0 : tr.h[t + 1];
    }

    private static double[] prevCell(Trace tr, int d, int t, int len) {
        if (d == 0) return t == 0 ? tr.c0 : tr.c[t - 1];
        return t == len - 1 ? tr.c0 : tr.c[t + 1];
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    private void check(Problem p) {
        if ((p.x == null) == (p.xi == null)) throw new IllegalArgumentException("expected exactly one of x and xi");
        if (!p.loss.equals("none") && output == 0) throw new IllegalArgumentException("a loss needs an output head");
        if (p.loss.equals("xent") && p.yi == null) throw new IllegalArgumentException("xent needs yi");
        if (p.loss.equals("mse") && p.yf == null) throw new IllegalArgumentException("mse needs yf");
        if (p.lengths != null) {
            for (int b = 0; b < p.batch; b++) {
                if (p.lengths[b] < 1 || p.lengths[b] > p.steps) {
                    throw new IllegalArgumentException("lengths[" + b + "] = " + p.lengths[b] + ", expected 1 .. " + p.steps);
                }
            }
        }
    }
}
