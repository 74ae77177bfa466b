package dev.recur.spark;

import dev.recur.Cell;
import dev.recur.Shape;
import dev.recur.cli.CliException;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings that define a Spark training run, saved in a model's {@code meta.train} so that
 * {@code --resume} continues the same run bit for bit. The keys are {@code recur train}'s
 * (full BPTT over each window, no validation split) plus {@code trainer} and {@code partitions}:
 * the partition count decides which windows each task draws, so it is part of the run.
 *
 * @param task     grammar, text or npy
 * @param data     the corpus (text) or the inputs .npy (npy), or null
 * @param targets  the targets .npy (npy), or null
 * @param layers   stacked unidirectional layers
 * @param cell     rnn, gru or lstm
 */
public record TrainSettings(String task, String data, String targets, int hidden, int layers, String cell, String activation,
                            int seqLen, int batch, String optimizer, double lr, double clip, double clipValue, long seed,
                            int partitions) {

    static final String TRAINER = "spark";

    /** One Elman layer (recur's U, W, b, V, c model). */
    public TrainSettings(String task, String data, String targets, int hidden, String activation, int seqLen, int batch,
                         String optimizer, double lr, double clip, double clipValue, long seed, int partitions) {
        this(task, data, targets, hidden, 1, Cell.ELMAN.id(), activation, seqLen, batch, optimizer, lr, clip, clipValue, seed,
                partitions);
    }

    /** The same run with windows of {@code steps} steps (sequence data fixes T). */
    TrainSettings withSeqLen(int steps) {
        return new TrainSettings(task, data, targets, hidden, layers, cell, activation, steps, batch, optimizer, lr, clip,
                clipValue, seed, partitions);
    }

    /**
     * The model's shape for data of {@code input} symbols or features and {@code output} classes
     * or values, as recur train builds it: one Elman layer is recur's own model (U, W, b, V, c),
     * anything else PyTorch's unidirectional network (state_dict names).
     */
    Shape shape(int input, int output) {
        Cell c = Cell.parse(cell);
        return layers == 1 && c == Cell.ELMAN ? new Shape(input, hidden, output)
                : Shape.network(input, hidden, output, layers, false, c);
    }

    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("trainer", TRAINER);
        m.put("task", task);
        m.put("data", data);
        if (targets != null) m.put("targets", targets);
        m.put("hidden", (long) hidden);
        m.put("layers", (long) layers);
        m.put("cell", cell);
        m.put("activation", activation);
        m.put("seq_len", (long) seqLen);
        m.put("batch", (long) batch);
        m.put("optimizer", optimizer);
        m.put("lr", lr);
        m.put("clip", clip);
        m.put("clip_value", clipValue);
        m.put("bptt", "full");
        m.put("k1", (long) seqLen);
        m.put("k2", (long) seqLen);
        m.put("val_fraction", 0.0);
        m.put("seed", seed);
        m.put("partitions", (long) partitions);
        m.put("windows", "each task draws its share of the batch from (seed, iteration, partition); h0 = 0");
        return m;
    }

    static TrainSettings fromMap(Map<?, ?> m, String what) {
        if (!TRAINER.equals(m.get("trainer"))) {
            throw CliException.runtime(what + ": meta.train.trainer = " + m.get("trainer") + ", expected \"spark\" (a file "
                    + "saved by recur spark train --save; continue recur train's runs with recur train --resume)");
        }
        try {
            return new TrainSettings(str(m, "task"), m.get("data") == null ? null : str(m, "data"),
                    m.get("targets") == null ? null : str(m, "targets"), integer(m, "hidden"),
                    // layers and cell came later: a run saved before them is one Elman layer
                    m.get("layers") == null ? 1 : integer(m, "layers"), m.get("cell") == null ? "rnn" : str(m, "cell"),
                    str(m, "activation"), integer(m, "seq_len"), integer(m, "batch"), str(m, "optimizer"),
                    number(m, "lr"), number(m, "clip"), number(m, "clip_value"), ((Number) need(m, "seed")).longValue(),
                    integer(m, "partitions"));
        } catch (ClassCastException | ArithmeticException e) {
            throw CliException.runtime(what + ": meta.train has a value of the wrong type (" + e.getMessage() + ")");
        }
    }

    private static Object need(Map<?, ?> m, String k) {
        Object v = m.get(k);
        if (v == null) throw CliException.runtime("meta.train." + k + " is missing, expected a file saved by recur spark train --save");
        return v;
    }

    private static String str(Map<?, ?> m, String k) { return (String) need(m, k); }

    private static int integer(Map<?, ?> m, String k) { return Math.toIntExact(((Number) need(m, k)).longValue()); }

    private static double number(Map<?, ?> m, String k) { return ((Number) need(m, k)).doubleValue(); }
}
