package dev.recur.cli;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings that define a training run, saved in a model's {@code meta.train} so that
 * {@code --resume} continues the same run. (The number of iterations is not part of it: a
 * resumed run may go further.)
 */
record TrainConfig(String task, String data, int hidden, int layers, String cell, String activation, int seqLen, int batch,
                   String optimizer, double lr, double clip, double clipValue, String bptt, int k1, int k2, double valFraction,
                   long seed) {

    Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task);
        m.put("data", data);
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
        m.put("bptt", bptt);
        m.put("k1", (long) k1);
        m.put("k2", (long) k2);
        m.put("val_fraction", valFraction);
        m.put("seed", seed);
        return m;
    }

    static TrainConfig fromMap(Map<?, ?> m, String what) {
        try {
            // layers and cell came later: a run saved before them is one Elman layer
            return new TrainConfig(str(m, "task"), m.get("data") == null ? null : str(m, "data"), integer(m, "hidden"),
                    m.get("layers") == null ? 1 : integer(m, "layers"), m.get("cell") == null ? "rnn" : str(m, "cell"),
                    str(m, "activation"), integer(m, "seq_len"), integer(m, "batch"), str(m, "optimizer"),
                    number(m, "lr"), number(m, "clip"), number(m, "clip_value"), str(m, "bptt"), integer(m, "k1"),
                    integer(m, "k2"), number(m, "val_fraction"), ((Number) need(m, "seed")).longValue());
        } catch (ClassCastException e) {
            throw CliException.runtime(what + ": meta.train has a value of the wrong type (" + e.getMessage() + ")");
        } catch (IllegalStateException e) {
            throw CliException.runtime(what + ": " + e.getMessage());
        }
    }

    private static Object need(Map<?, ?> m, String k) {
        Object v = m.get(k);
        if (v == null) throw new IllegalStateException("meta.train." + k + " is missing, expected a file saved by recur train --save");
        return v;
    }

    private static String str(Map<?, ?> m, String k) { return (String) need(m, k); }

    private static int integer(Map<?, ?> m, String k) { return Math.toIntExact(((Number) need(m, k)).longValue()); }

    private static double number(Map<?, ?> m, String k) { return ((Number) need(m, k)).doubleValue(); }
}
