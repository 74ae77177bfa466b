package dev.recur;

import java.util.Locale;

/**
 * The recurrent cell of every layer of a network. A cell is what differs between the Elman RNN,
 * the GRU and the LSTM: how many gate rows it keeps per hidden unit and the element-wise
 * arithmetic of one step. Everything else (the hoisted input products, the recurrent product per
 * step, time blocking, stacks, directions, variable lengths, threads) is the engine's driver,
 * shared by all cells.
 *
 * <p>Gate order and bias placement are PyTorch's, so a state_dict moves between the two unchanged:
 * <ul>
 *   <li>{@link #ELMAN}: {@code h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)} ({@code nn.RNN});
 *   recur's own single-layer model writes {@code U = W_ih}, {@code W = W_hh} and one bias
 *   {@code b}.</li>
 *   <li>{@link #GRU}: gates r, z, n ({@code nn.GRU});
 *   {@code n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))},
 *   {@code h_t = (1 - z_t) * n_t + z_t * h_{t-1}}.</li>
 *   <li>{@link #LSTM}: gates i, f, g, o ({@code nn.LSTM});
 *   {@code c_t = f_t * c_{t-1} + i_t * g_t}, {@code h_t = o_t * tanh(c_t)}.</li>
 * </ul>
 */
public enum Cell {
    /** The Elman (vanilla) RNN cell: one row of W per hidden unit. */
    ELMAN(1, "rnn"),
    /** The gated recurrent unit: reset, update and new gates (3 rows per hidden unit). */
    GRU(3, "gru"),
    /** Long short-term memory: input, forget, cell and output gates (4 rows per hidden unit). */
    LSTM(4, "lstm");

    private final int gates;
    private final String id;

    Cell(int gates, String id) {
        this.gates = gates;
        this.id = id;
    }

    /** Rows of W_ih and W_hh per hidden unit: 1, 3 or 4. */
    public int gates() { return gates; }

    /** The name on the command line and in model files: {@code rnn}, {@code gru} or {@code lstm}. */
    public String id() { return id; }

    /** True for the LSTM, the one cell with a cell state c_t beside h_t. */
    public boolean hasCellState() { return this == LSTM; }

    /** Parses {@code rnn|gru|lstm} (any case; {@code elman} too); the error names the value and the choices. */
    public static Cell parse(String name) {
        if (name != null) {
            String n = name.trim().toLowerCase(Locale.ROOT);
            for (Cell c : values()) {
                if (c.id.equals(n) || c.name().toLowerCase(Locale.ROOT).equals(n)) return c;
            }
        }
        throw new IllegalArgumentException("cell = '" + name + "', expected one of rnn, gru, lstm");
    }

    /** The cell whose gate count is {@code g}, or null. */
    public static Cell ofGates(int g) {
        for (Cell c : values()) if (c.gates == g) return c;
        return null;
    }
}
