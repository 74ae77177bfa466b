package dev.recur.spark;

import dev.recur.Shape;
import dev.recur.cli.CliException;
import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import dev.recur.io.NpyArray;
import dev.recur.optim.Optimizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A Spark run saved on the driver as {@code recur train} saves its runs: the model {@code .npz}
 * (atomic: temporary file, fsync, rename, by the core's writer) with the optimiser's state
 * arrays, the step and the run's settings in {@code meta}, so that {@code recur sample} reads it
 * and {@code --resume} continues bit for bit. The one place that knows the model file's names.
 */
final class Checkpoint {
    private Checkpoint() {}

    /** A saved run as read back. */
    record Saved(TrainSettings settings, Shape shape, String loss, float[] params, long step,
                 String vocabulary, Map<String, Object> meta, Map<String, NpyArray> extra) {}

    static String[] stateNames(Optimizer opt) {
        return switch (opt.name()) {
            case "adam" -> new String[] {"adam_m", "adam_v"};
            case "adagrad" -> new String[] {"adagrad_sum_squares"};
            default -> new String[0];
        };
    }

    static void save(Path file, ModelSpec spec, float[] params, Optimizer opt, long step, TrainSettings s,
                     String vocabulary) {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("activation", spec.activation());
        meta.put("loss", spec.loss());
        if (vocabulary != null) meta.put("vocabulary", vocabulary);
        Map<String, Object> om = new LinkedHashMap<>();
        om.put("name", opt.name());
        om.put("lr", s.lr());
        om.put("steps", opt.steps());
        om.put("state", List.of((Object[]) stateNames(opt)));
        meta.put("optimizer", om);
        meta.put("step", step);
        Map<String, Object> rng = new LinkedHashMap<>();
        rng.put("seed", s.seed());
        rng.put("scheme", "iteration i, partition p draws from SplittableRandom(mix(mix(mix(seed, 0x5ba4c), i), p)); "
                + "position = next iteration");
        rng.put("position", step);
        meta.put("rng", rng);
        meta.put("train", s.toMap());
        meta.put("recur_version", SparkMain.version());
        Map<String, NpyArray> extra = new LinkedHashMap<>();
        String[] names = stateNames(opt);
        float[][] state = opt.state();
        for (int k = 0; k < names.length; k++) extra.put(names[k], NpyArray.of(state[k].clone(), state[k].length));
        try {
            ModelFile.write(file, PartitionGradient.params(spec, params), meta, extra);
        } catch (IOException e) {
            throw CliException.runtime("--save " + file + ": cannot write it (" + e.getMessage() + ")", e);
        }
    }

    static Saved load(Path file) {
        if (!Files.exists(file)) throw CliException.runtime("--resume " + file + ": no such file (nothing saved yet?)");
        ModelFile.Model m;
        try {
            m = ModelFile.read(file);
        } catch (IOException e) {
            throw CliException.runtime("--resume " + file + ": cannot read it (" + e.getMessage() + ")", e);
        }
        if (!(m.meta().get("train") instanceof Map<?, ?> train)) {
            throw CliException.runtime(file + ": has no training state (meta.train), expected a file saved by recur spark "
                    + "train --save");
        }
        TrainSettings s = TrainSettings.fromMap(train, file.toString());
        Object st = m.meta().get("step");
        if (!(st instanceof Long step) || step < 0) {
            throw CliException.runtime(file + ": meta.step = " + Json.write(st) + ", expected a whole number >= 0");
        }
        Object v = m.meta().get("vocabulary");
        return new Saved(s, m.shape(),
                String.valueOf(m.meta().getOrDefault("loss", "xent")), m.params().data(), step,
                v instanceof String str ? str : null, m.meta(), m.extra());
    }

    /** Restores the optimiser's state arrays and step count from a saved run. */
    static void restore(Saved saved, Optimizer opt, Path file) {
        Object o = saved.meta().get("optimizer");
        if (!(o instanceof Map<?, ?> om) || !opt.name().equals(om.get("name"))) {
            throw CliException.runtime(file + ": meta.optimizer does not name " + opt.name() + ", expected the optimiser "
                    + "of the saved run");
        }
        if (!(om.get("steps") instanceof Long steps) || steps < 0) {
            throw CliException.runtime(file + ": meta.optimizer.steps = " + Json.write(om.get("steps"))
                    + ", expected a whole number");
        }
        String[] names = stateNames(opt);
        float[][] state = opt.state();
        for (int k = 0; k < names.length; k++) {
            NpyArray a = saved.extra().get(names[k]);
            if (a == null) throw CliException.runtime(file + ": has no '" + names[k] + "' array (optimiser state)");
            if (a.dtype() != NpyArray.DType.FLOAT32 || a.size() != state[k].length) {
                throw CliException.runtime(file + ": '" + names[k] + "' is " + a + ", expected float32 of "
                        + state[k].length + " values");
            }
            System.arraycopy(a.toFloats(), 0, state[k], 0, state[k].length);
        }
        opt.setSteps(steps);
    }
}
