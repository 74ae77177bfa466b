package dev.recur.cli;

import dev.recur.Activation;
import dev.recur.Grads;
import dev.recur.Params;
import dev.recur.Rnn;
import dev.recur.io.Json;
import dev.recur.io.ModelFile;
import dev.recur.io.NpyArray;
import dev.recur.optim.Adagrad;
import dev.recur.optim.Adam;
import dev.recur.optim.Clipping;
import dev.recur.optim.Optimizer;
import dev.recur.optim.Sgd;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** {@code recur train}: trains a model on a built-in task or a text file. */
@Command(name = "train",
        header = "Train a model on a built-in task or a text file (no arguments: a quick demo that learns).",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Train an Elman RNN. With no arguments: a built-in seeded grammar task on which a small model "
                        + "visibly learns in well under a minute (loss per character falls towards the source's "
                        + "entropy floor).",
                "",
                "Losses are per scored step: nats (and bits) per symbol for the character tasks, 1/2 squared "
                        + "error for the adding problem. An iteration is one batch (one update with full BPTT, one "
                        + "per k1 steps with truncated BPTT).",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur train",
                "  recur train --task list",
                "  recur train --task copy --seq-len 40 --iters 3000",
                "  recur train --data book.txt --hidden 256 --save book.npz --save-every 500",
                "  recur train --save book.npz --resume --iters 10000     (continue that run)",
                "  recur train --bptt truncated --k1 8 --k2 32 --json > result.json"})
final class TrainCommand extends BaseCommand {

    @Option(names = "--task", paramLabel = "NAME", description = "Built-in task: grammar (default), copy, adding; "
            + "'list' lists them.")
    String task;

    @Option(names = "--data", paramLabel = "FILE", description = "Train a character-level model on this UTF-8 text "
            + "file (vocabulary from the file).")
    Path data;

    @Option(names = "--bidirectional", description = "Refused: a language model predicts the next symbol from the past, "
            + "which a reverse direction would see.")
    boolean bidirectional;

    @Mixin TrainModelOptions model;

    @Option(names = "--seq-len", paramLabel = "T", description = "Steps per sequence (task default).")
    Integer seqLen;

    @Option(names = "--batch", paramLabel = "B", description = "Sequences per batch (task default).")
    Integer batch;

    @Option(names = "--lr", paramLabel = "RATE", description = "Learning rate (task default; grammar 0.01).")
    Double lr;

    @Option(names = "--iters", paramLabel = "N", description = "Iterations (batches) to run in total (task default).")
    Long iters;

    @Option(names = "--epochs", paramLabel = "E", description = "Passes over the training text instead of --iters "
            + "(text and grammar tasks).")
    Double epochs;

    @Option(names = "--val-fraction", paramLabel = "F", description = "Share of the data held out for validation, "
            + "0 to 0.5 (default 0.1).")
    Double valFraction;

    @Option(names = "--val-every", paramLabel = "N", description = "Validate every N iterations (default: 5 times a "
            + "run, and at the end).")
    Long valEvery;

    @Option(names = "--bptt", paramLabel = "full|truncated", description = "Backpropagation through time: full (exact "
            + "over each sequence; default) or truncated (an update every k1 steps through the last k2).")
    String bptt;

    @Option(names = "--k1", paramLabel = "K1", description = "Truncated BPTT: steps between updates (default T/4).")
    Integer k1;

    @Option(names = "--k2", paramLabel = "K2", description = "Truncated BPTT: steps back-propagated, >= k1 "
            + "(default T).")
    Integer k2;

    @Mixin ComputeOptions compute;

    @Option(names = "--save", paramLabel = "FILE.npz", description = "Save the model (and the run's state) here at the "
            + "end, every --save-every iterations, and on Ctrl-C. Saves are atomic.")
    Path save;

    @Option(names = "--save-every", paramLabel = "N", description = "Save every N iterations (default: only at the "
            + "end and on Ctrl-C).")
    Long saveEvery;

    @Option(names = "--resume", paramLabel = "FILE.npz", arity = "0..1", fallbackValue = "",
            description = "Continue the run saved in FILE (default: the --save file) to --iters in total: parameters, "
                    + "optimiser state, step and data position, as if never stopped.")
    String resume;

    @Option(names = "--log-every", paramLabel = "N", description = "Log a line every N iterations (task default).")
    Long logEvery;

    @Option(names = "--progress", paramLabel = "auto|bar|lines|none", defaultValue = "auto",
            description = "A bar when stderr is a terminal (auto), log lines, or nothing.")
    String progress;

    @Option(names = "--json", description = "Print the result as one JSON object on stdout (progress stays on stderr).")
    boolean json;

    @Option(names = "--sample", paramLabel = "N", defaultValue = "120", description = "Characters to sample from a "
            + "character model at the end (0 = none; default ${DEFAULT-VALUE}).")
    int sampleLength;

    // ---------------------------------------------------------------- state of a run

    private volatile boolean stopRequested;
    private final CountDownLatch stopped = new CountDownLatch(1);

    @Override
    int execute() throws Exception {
        if ("list".equals(task)) {
            out().print(Tasks.listing());
            return Main.EXIT_OK;
        }
        if (bidirectional) {
            throw CliException.usage("--bidirectional: recur train fits a model that predicts each next symbol from the ones "
                    + "before it, and a reverse direction would read the answer from the future; train a bidirectional "
                    + "network through the Java API or PyTorch and check it with recur grad / gradcheck");
        }
        Path resumeFile = resumeFile();
        ModelFile.Model saved = null;
        TrainConfig cfg;
        if (resumeFile != null) {
            saved = readResume(resumeFile);
            cfg = configFromSaved(saved, resumeFile);
        } else {
            cfg = null;
        }
        Task t = buildTask(cfg);
        if (cfg == null) cfg = resolveConfig(t);
        return run(t, cfg, saved, resumeFile);
    }

    // ---------------------------------------------------------------- options

    private Path resumeFile() {
        if (resume == null) return null;
        if (!resume.isEmpty()) return Path.of(resume);
        if (save == null) throw CliException.usage("--resume needs a file: give --resume FILE.npz or --save FILE.npz");
        return save;
    }

    private Task buildTask(TrainConfig cfg) {
        String taskName = cfg != null ? cfg.task() : task;
        Path dataFile = cfg != null ? (cfg.data() == null ? null : Path.of(cfg.data())) : data;
        double vf = cfg != null ? cfg.valFraction() : valFraction != null ? valFraction : 0.1;
        if (!(vf >= 0 && vf <= 0.5)) throw CliException.usage("--val-fraction = " + vf + ", expected a number in [0, 0.5]");
        long seed = cfg != null ? cfg.seed() : compute.seed;
        if (dataFile != null) {
            if (taskName != null && !taskName.equals("text")) {
                throw CliException.usage("--task " + taskName + " and --data both given, expected one of them (--data "
                        + "trains a character model on the file)");
            }
            if (!Files.isRegularFile(dataFile)) {
                throw CliException.runtime("--data " + dataFile + ": " + (Files.exists(dataFile) ? "is not a regular file"
                        : "no such file"));
            }
            return Tasks.text(dataFile, vf);
        }
        return Tasks.builtIn(taskName == null ? Tasks.DEFAULT : taskName, seed, vf);
    }

    private TrainConfig resolveConfig(Task t) {
        Task.Defaults d = t.defaults();
        TrainModelOptions.Resolved m = model.resolve(d.hidden(), d.optimizer());
        int T = OptionChecks.positive("--seq-len", seqLen != null ? seqLen : d.seqLen());
        if (t instanceof CopyTask && T < CopyTask.minSeqLen()) {
            throw CliException.usage("--seq-len = " + T + ", expected >= " + CopyTask.minSeqLen() + " for the copy task "
                    + "(" + CopyTask.K + " symbols, a marker, " + CopyTask.K + " recalls)");
        }
        if (t instanceof AddingTask && T < 2) throw CliException.usage("--seq-len = " + T + ", expected >= 2 for the adding task");
        int B = OptionChecks.positive("--batch", batch != null ? batch : d.batch());
        double rate = OptionChecks.learningRate(lr != null ? lr : d.lr());
        String mode = bptt == null ? "full" : bptt.toLowerCase(Locale.ROOT);
        int kk1, kk2;
        switch (mode) {
            case "full" -> {
                if (k1 != null || k2 != null) {
                    throw CliException.usage((k1 != null ? "--k1" : "--k2") + " is for --bptt truncated, expected it only "
                            + "with --bptt truncated");
                }
                kk1 = T;
                kk2 = T;
            }
            case "truncated" -> {
                kk2 = k2 != null ? k2 : T;
                kk1 = k1 != null ? k1 : Math.max(1, (kk2 + 3) / 4);
                OptionChecks.positive("--k1", kk1);
                OptionChecks.positive("--k2", kk2);
                if (kk1 > kk2) throw CliException.usage("--k1 = " + kk1 + " > --k2 = " + kk2 + ", expected k1 <= k2");
                if (kk1 > T) throw CliException.usage("--k1 = " + kk1 + ", expected <= --seq-len = " + T);
            }
            case "checkpointed" -> throw CliException.usage("--bptt checkpointed is not available in this version of "
                    + "the command line, expected full or truncated");
            default -> throw CliException.usage("--bptt = '" + bptt + "', expected full or truncated");
        }
        String dataPath = data == null ? null : data.toAbsolutePath().toString();
        String taskName = data != null ? "text" : t.name();
        return new TrainConfig(taskName, dataPath, m.hidden(), m.layers(), m.cell().id(), m.activation(), T, B, m.optimizer(), rate,
                m.clip(), m.clipValue(), mode, kk1, kk2,
                valFraction != null ? valFraction : 0.1, compute.seed);
    }

    // ---------------------------------------------------------------- resume

    private ModelFile.Model readResume(Path file) throws IOException {
        if (!Files.exists(file)) {
            throw CliException.runtime("--resume " + file + ": no such file (nothing saved yet?)");
        }
        return ModelFile.read(file);
    }

    private TrainConfig configFromSaved(ModelFile.Model m, Path file) {
        Object tr = m.meta().get("train");
        if (!(tr instanceof Map<?, ?> trainMeta)) {
            throw CliException.runtime(file + ": has no training state (meta.train), expected a file saved by "
                    + "recur train --save");
        }
        TrainConfig c = TrainConfig.fromMap(trainMeta, file.toString());
        // options given now must agree with the saved run
        OptionChecks.sameAsSaved("--task", task, c.task(), file);
        OptionChecks.sameAsSaved("--data", data == null ? null : data.toAbsolutePath().toString(), c.data(), file);
        model.sameAsSaved(c.hidden(), c.layers(), c.cell(), c.activation(), c.optimizer(), c.clip(), c.clipValue(), file);
        OptionChecks.sameAsSaved("--seq-len", seqLen, c.seqLen(), file);
        OptionChecks.sameAsSaved("--batch", batch, c.batch(), file);
        OptionChecks.sameAsSaved("--lr", lr, c.lr(), file);
        OptionChecks.sameAsSaved("--bptt", bptt == null ? null : bptt.toLowerCase(Locale.ROOT), c.bptt(), file);
        OptionChecks.sameAsSaved("--k1", k1, c.k1(), file);
        OptionChecks.sameAsSaved("--k2", k2, c.k2(), file);
        OptionChecks.sameAsSaved("--val-fraction", valFraction, c.valFraction(), file);
        OptionChecks.sameAsSaved("--seed", given("--seed") ? compute.seed : null, c.seed(), file);
        if (c.hidden() != m.shape().hidden() || c.layers() != m.shape().layers() || !c.cell().equals(m.shape().cell().id())) {
            throw CliException.runtime(file + ": meta.train says " + c.layers() + " x " + c.cell() + " with hidden = " + c.hidden()
                    + ", but the arrays are a " + m.shape());
        }
        return c;
    }

    // ---------------------------------------------------------------- the run

    private int run(Task t, TrainConfig cfg, ModelFile.Model saved, Path resumeFile) throws IOException {
        final int B = cfg.batch(), T = cfg.seqLen(), L = t.lossSteps(T);
        if (t instanceof CopyTask c) c.evalSeqLen = T;
        if (t instanceof AddingTask a) a.evalSeqLen = T;
        Activation act = Activation.parse(cfg.activation());
        dev.recur.Cell cellKind = dev.recur.Cell.parse(cfg.cell());
        dev.recur.Shape shape = cfg.layers() == 1 && cellKind == dev.recur.Cell.ELMAN
                ? new dev.recur.Shape(t.input(), cfg.hidden(), t.output())
                : dev.recur.Shape.network(t.input(), cfg.hidden(), t.output(), cfg.layers(), false, cellKind);
        if (saved != null && !saved.shape().equals(shape)) {
            throw CliException.runtime(resumeFile + ": model shape " + saved.shape() + " does not fit the task's " + shape
                    + " (was the data file changed?)");
        }
        if (saved != null && t.vocabulary() != null) {
            Object v = saved.meta().get("vocabulary");
            if (v != null && !t.vocabulary().equals(v)) {
                throw CliException.runtime(resumeFile + ": the saved vocabulary differs from the data's (was "
                        + cfg.data() + " changed?)");
            }
        }
        Task.Defaults d = t.defaults();
        long totalIters = totalIters(t, cfg, d);
        long startIter = saved != null ? savedStep(saved, resumeFile) : 0;
        if (saved != null && startIter >= totalIters) {
            throw CliException.usage("--iters = " + totalIters + ", but the saved run is already at iteration "
                    + startIter + ", expected more to continue");
        }
        long logN = logEvery != null ? OptionChecks.positive("--log-every", logEvery) : Math.max(1, d.logEvery());
        long valN = valEvery != null ? OptionChecks.positive("--val-every", valEvery) : Math.max(1, (totalIters + 4) / 5);
        if (saveEvery != null) {
            OptionChecks.positive("--save-every", saveEvery);
            if (save == null) throw CliException.usage("--save-every needs --save FILE.npz");
        }
        if (sampleLength < 0) throw CliException.usage("--sample = " + sampleLength + ", expected a whole number >= 0");
        if (save != null) OptionChecks.savePath(save);
        int threads = compute.threadCount();

        Params params = saved != null ? saved.params() : Params.random(shape, Seeds.mix(cfg.seed(), 1));
        Optimizer opt = optimizer(cfg, shape.size());
        float[] carried = t.stateful() ? new float[cfg.layers() * B * cfg.hidden()] : null;
        // an LSTM carries its cell state beside h: both, or the next batch starts from a different state
        float[] carriedCell = t.stateful() && cellKind == dev.recur.Cell.LSTM ? new float[carried.length] : null;
        if (saved != null) restore(saved, opt, carried, carriedCell, resumeFile);

        Progress.Mode mode = Progress.resolve(progress);
        Progress prog = new Progress(err(), mode, totalIters);
        List<Map<String, Object>> history = new ArrayList<>();

        try (Rnn rnn = Engines.build(shape, act, compute.kernelChoice(), threads)) {
            SequenceGrad sg = new SequenceGrad(rnn, B, T, L, cfg.bptt().equals("truncated"), cfg.k1(), cfg.k2());
            Task.Batch batchBuf = new Task.Batch(t, B, T);
            Grads clipped = Grads.zeros(shape);
            final double[] lastNorm = {0};
            SequenceGrad.Update update = g -> {
                if (cfg.clipValue() > 0) Clipping.byValue(g, (float) cfg.clipValue());
                double norm = cfg.clip() > 0 ? Clipping.byGlobalNorm(g, cfg.clip()) : g.l2Norm();
                lastNorm[0] = norm;
                if (!Double.isFinite(norm)) return; // reported below, before any harm is done
                opt.step(params, g);
            };

            String kernelName = rnn.kernels().name();
            int effThreads = Engines.effectiveThreads(threads);
            if (!json || mode != Progress.Mode.NONE) {
                prog.line(t.describe(T));
                prog.line(String.format(Locale.ROOT, "model: %s, %s, %d parameters; %s lr %s, clip %s; %s BPTT%s; batch %d x "
                                + "%d steps; kernels %s, %d thread%s%s",
                        shape, act.id(), shape.size(), cfg.optimizer(), num(cfg.lr()),
                        cfg.clip() > 0 ? num(cfg.clip()) : "off", cfg.bptt(),
                        cfg.bptt().equals("truncated") ? " (k1 " + cfg.k1() + ", k2 " + cfg.k2() + ")" : "", B, T,
                        kernelName, effThreads, effThreads == 1 ? "" : "s",
                        threads != effThreads ? " (--threads " + threads + ": this core runs one thread per engine)" : ""));
                if (saved != null) prog.line("resuming " + resumeFile + " at iteration " + startIter + " of " + totalIters);
            }

            Thread hook = new Thread(this::onShutdown, "recur-train-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            boolean interrupted = false;
            double tokensPerIter = (double) B * L;
            double firstLoss = Double.NaN, lastLoss = Double.NaN, windowSum = 0, smooth = Double.NaN;
            long windowN = 0;
            Task.Eval lastEval = null;
            long trainNanos = 0;
            long iter = startIter;
            try {
                if (startIter == 0) {
                    lastEval = t.evaluate(rnn, params);
                    logEval(prog, t, 0, lastEval, history);
                }
                while (iter < totalIters) {
                    long t0 = System.nanoTime();
                    t.fill(iter, batchBuf);
                    double loss = sg.run(params, batchBuf, carried, carriedCell, carried, carriedCell, update);
                    trainNanos += System.nanoTime() - t0;
                    if (!Double.isFinite(loss) || !Double.isFinite(lastNorm[0])) {
                        throw CliException.runtime(String.format(Locale.ROOT, "training diverged at iteration %d (loss %s, "
                                + "gradient norm %s): lower --lr (now %s) or clip with --clip", iter + 1, loss,
                                lastNorm[0], num(cfg.lr())));
                    }
                    iter++;
                    double perTok = loss / tokensPerIter;
                    if (Double.isNaN(firstLoss)) firstLoss = perTok;
                    lastLoss = perTok;
                    smooth = Double.isNaN(smooth) ? perTok : 0.95 * smooth + 0.05 * perTok;
                    windowSum += perTok;
                    windowN++;
                    double itPerS = (iter - startIter) / (trainNanos / 1e9);
                    double eta = (totalIters - iter) / itPerS;
                    prog.bar(iter, String.format(Locale.ROOT, "loss %s%s  %s it/s  %s tok/s", f4(smooth),
                            t.reportsBits() ? " (" + f4(smooth / Math.log(2)) + " bits)" : "", f1(itPerS),
                            Progress.count(itPerS * B * T)), eta);
                    if (iter % logN == 0 || iter == totalIters) {
                        double mean = windowSum / windowN;
                        if (mode == Progress.Mode.LINES) {
                            prog.line(String.format(Locale.ROOT, "iter %" + digits(totalIters) + "d/%d  loss %s%s  %s it/s  "
                                            + "%s tok/s  ETA %s", iter, totalIters, f4(mean),
                                    t.reportsBits() ? " (" + f4(mean / Math.log(2)) + " bits/sym)" : "", f1(itPerS),
                                    Progress.count(itPerS * B * T), Progress.duration(eta)));
                        }
                        Map<String, Object> h = new LinkedHashMap<>();
                        h.put("iter", iter);
                        h.put("loss", mean);
                        history.add(h);
                        windowSum = 0;
                        windowN = 0;
                    }
                    if (iter % valN == 0 || iter == totalIters) {
                        lastEval = t.evaluate(rnn, params);
                        logEval(prog, t, iter, lastEval, history);
                    }
                    if (save != null && saveEvery != null && iter % saveEvery == 0 && iter < totalIters) {
                        saveModel(t, cfg, params, opt, carried, carriedCell, iter);
                    }
                    if (stopRequested) {
                        interrupted = true;
                        break;
                    }
                }
                if (save != null) saveModel(t, cfg, params, opt, carried, carriedCell, iter);
                if (interrupted) {
                    // print before releasing the shutdown hook: the JVM halts as soon as it returns
                    prog.finish();
                    err().println("interrupted at iteration " + iter + (save != null ? "; saved " + save
                            + " (continue with --resume)" : "; nothing saved (no --save)"));
                    err().flush();
                }
            } finally {
                stopped.countDown();
                if (!interrupted) {
                    try {
                        Runtime.getRuntime().removeShutdownHook(hook);
                    } catch (IllegalStateException ignored) {
                        // the JVM is already shutting down
                    }
                }
            }
            if (interrupted) return 130;
            prog.finish();

            double seconds = trainNanos / 1e9;
            long doneIters = iter - startIter;
            double itPerS = doneIters / seconds;
            String sample = null;
            if (t.vocabulary() != null && sampleLength > 0) {
                sample = new Sampler(rnn, params, t.vocabulary().codePoints().toArray())
                        .sample("", sampleLength, 0.7, Seeds.mix(cfg.seed(), 7));
            }
            if (json) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("task", t.name());
                r.put("iters", iter);
                r.put("iters_this_run", doneIters);
                r.put("updates", opt.steps());
                r.put("tokens", (long) (doneIters * (double) B * T));
                r.put("seconds", seconds);
                r.put("iters_per_s", itPerS);
                r.put("tokens_per_s", itPerS * B * T);
                r.put("loss_first", firstLoss);
                r.put("loss_last", lastLoss);
                r.put("loss_unit", t.reportsBits() ? "nats/symbol" : "1/2 squared error per scored step");
                r.put("val_loss", lastEval == null ? null : lastEval.loss());
                if (lastEval != null && lastEval.metricName() != null) r.put("val_" + key(lastEval.metricName()), lastEval.metric());
                if (t.reportsBits() && lastEval != null) r.put("val_bits_per_symbol", lastEval.loss() / Math.log(2));
                r.put("entropy_floor_bits", Double.isNaN(t.entropyBits()) ? null : t.entropyBits());
                r.put("kernels", kernelName);
                r.put("threads", effThreads);
                r.put("config", cfg.toMap());
                r.put("saved", save == null ? null : save.toString());
                if (sample != null) r.put("sample", sample);
                r.put("history", history);
                out().println(Json.write(r));
            } else {
                summary(t, cfg, iter, doneIters, seconds, itPerS, firstLoss, lastLoss, lastEval, kernelName, effThreads,
                        sample);
            }
            return Main.EXIT_OK;
        }
    }

    private void summary(Task t, TrainConfig cfg, long iter, long done, double seconds, double itPerS, double first,
                         double last, Task.Eval ev, String kernels, int threads, String sample) {
        var o = out();
        int B = cfg.batch(), T = cfg.seqLen();
        o.printf(Locale.ROOT, "done: %d iterations (%s tokens) in %.1f s: %s it/s, %s tokens/s [kernels %s, %d thread%s]%n",
                done, Progress.count(done * (double) B * T), seconds, f1(itPerS), Progress.count(itPerS * B * T),
                kernels, threads, threads == 1 ? "" : "s");
        if (t.reportsBits()) {
            o.printf(Locale.ROOT, "training loss %s -> %s nats/symbol (%s -> %s bits/symbol)%n", f4(first), f4(last),
                    f4(first / Math.log(2)), f4(last / Math.log(2)));
        } else {
            o.printf(Locale.ROOT, "training loss %s -> %s per scored step%n", f4(first), f4(last));
        }
        if (ev != null && Double.isFinite(ev.loss())) {
            StringBuilder b = new StringBuilder("validation loss " + f4(ev.loss()));
            if (t.reportsBits()) b.append(" nats/symbol = ").append(f4(ev.loss() / Math.log(2))).append(" bits/symbol");
            if (ev.metricName() != null) b.append(String.format(Locale.ROOT, ", %s %.1f%%", ev.metricName(), 100 * ev.metric()));
            if (!Double.isNaN(t.entropyBits())) b.append(String.format(Locale.ROOT, " (source entropy floor %.4f bits/symbol)",
                    t.entropyBits()));
            else if (Double.isFinite(t.memorylessLoss(T))) b.append(String.format(Locale.ROOT, " (memoryless baseline %s%s)",
                    f4(t.memorylessLoss(T)), t.reportsBits() ? " nats/symbol" : ""));
            o.println(b);
        }
        if (sample != null) o.println("sample (temperature 0.7): " + printable(sample));
        if (save != null) o.println("saved " + save + " at iteration " + iter);
    }

    private static String key(String metricName) {
        return metricName.replaceAll("[^A-Za-z0-9]+", "_").replaceAll("^_|_$", "").toLowerCase(Locale.ROOT);
    }

    static String printable(String s) {
        StringBuilder b = new StringBuilder();
        s.codePoints().forEach(c -> {
            if (c == '\n') b.append("\\n");
            else if (c == '\t') b.append("\\t");
            else if (c < 0x20) b.append(String.format("\\x%02x", c));
            else b.appendCodePoint(c);
        });
        return b.toString();
    }

    private void logEval(Progress prog, Task t, long iter, Task.Eval ev, List<Map<String, Object>> history) {
        if (!Double.isFinite(ev.loss())) return;
        StringBuilder b = new StringBuilder(String.format(Locale.ROOT, "val  @ %d: loss %s", iter, f4(ev.loss())));
        if (t.reportsBits()) b.append(" (").append(f4(ev.loss() / Math.log(2))).append(" bits/sym");
        if (!Double.isNaN(t.entropyBits())) b.append(String.format(Locale.ROOT, "; floor %.4f", t.entropyBits()));
        if (t.reportsBits()) b.append(")");
        if (ev.metricName() != null) b.append(String.format(Locale.ROOT, "  %s %.1f%%", ev.metricName(), 100 * ev.metric()));
        prog.line(b.toString());
        Map<String, Object> h = new LinkedHashMap<>();
        h.put("iter", iter);
        h.put("val_loss", ev.loss());
        if (ev.metricName() != null) h.put("val_" + key(ev.metricName()), ev.metric());
        history.add(h);
    }

    private long totalIters(Task t, TrainConfig cfg, Task.Defaults d) {
        if (iters != null && epochs != null) throw CliException.usage("--iters and --epochs both given, expected one of them");
        if (epochs != null) {
            if (!(epochs > 0) || !Double.isFinite(epochs)) {
                throw CliException.usage("--epochs = " + epochs + ", expected a number > 0");
            }
            long per = t.itersPerEpoch(cfg.batch(), cfg.seqLen());
            if (per < 0) {
                throw CliException.usage("--epochs is for tasks with a fixed text (grammar, --data); the " + t.name()
                        + " task generates data without end, expected --iters");
            }
            return Math.max(1, (long) Math.ceil(epochs * per));
        }
        return iters != null ? OptionChecks.positive("--iters", iters) : d.iters();
    }

    private static Optimizer optimizer(TrainConfig cfg, int size) {
        float rate = (float) cfg.lr();
        return switch (cfg.optimizer()) {
            case "sgd" -> new Sgd(rate);
            case "adagrad" -> new Adagrad(size, rate);
            case "adam" -> new Adam(size, rate);
            default -> throw CliException.usage("--optimizer = '" + cfg.optimizer() + "', expected one of sgd, adagrad, adam");
        };
    }

    // ---------------------------------------------------------------- save and restore

    private static final String CARRIED = "train_h";
    private static final String CARRIED_CELL = "train_c";

    private static String[] stateNames(Optimizer opt) {
        return switch (opt.name()) {
            case "adam" -> new String[] {"adam_m", "adam_v"};
            case "adagrad" -> new String[] {"adagrad_sum_squares"};
            default -> new String[0];
        };
    }

    private void saveModel(Task t, TrainConfig cfg, Params params, Optimizer opt, float[] carried, float[] carriedCell,
                           long iter)
            throws IOException {
        Map<String, Object> meta = new LinkedHashMap<>();
        meta.put("activation", cfg.activation());
        meta.put("loss", t.classTargets() ? "xent" : "mse");
        if (t.vocabulary() != null) meta.put("vocabulary", t.vocabulary());
        Map<String, Object> om = new LinkedHashMap<>();
        om.put("name", opt.name());
        om.put("lr", cfg.lr());
        om.put("steps", opt.steps());
        om.put("state", List.of((Object[]) stateNames(opt)));
        meta.put("optimizer", om);
        meta.put("step", iter);
        Map<String, Object> rng = new LinkedHashMap<>();
        rng.put("seed", cfg.seed());
        rng.put("scheme", "batch i is drawn from SplittableRandom(mix(seed, i)); position = next batch");
        rng.put("position", iter);
        meta.put("rng", rng);
        meta.put("train", cfg.toMap());
        meta.put("recur_version", Main.version());
        Map<String, NpyArray> extra = new LinkedHashMap<>();
        String[] names = stateNames(opt);
        float[][] state = opt.state();
        for (int k = 0; k < names.length; k++) extra.put(names[k], NpyArray.of(state[k].clone(), state[k].length));
        if (carried != null) extra.put(CARRIED, carriedArray(cfg, carried));
        if (carriedCell != null) extra.put(CARRIED_CELL, carriedArray(cfg, carriedCell));
        try {
            ModelFile.write(save, params, meta, extra);
        } catch (IOException e) {
            throw CliException.runtime("--save " + save + ": cannot write it (" + e.getMessage() + ")", e);
        }
    }

    private static NpyArray carriedArray(TrainConfig cfg, float[] state) {
        return cfg.layers() == 1 ? NpyArray.of(state.clone(), cfg.batch(), cfg.hidden())
                : NpyArray.of(state.clone(), cfg.layers(), cfg.batch(), cfg.hidden());
    }

    private static long savedStep(ModelFile.Model m, Path file) {
        Object s = m.meta().get("step");
        if (!(s instanceof Long l) || l < 0) {
            throw CliException.runtime(file + ": meta.step = " + Json.write(s) + ", expected a whole number >= 0");
        }
        return l;
    }

    private static void restore(ModelFile.Model m, Optimizer opt, float[] carried, float[] carriedCell, Path file) {
        Object o = m.meta().get("optimizer");
        if (!(o instanceof Map<?, ?> om) || !opt.name().equals(om.get("name"))) {
            throw CliException.runtime(file + ": meta.optimizer does not name " + opt.name() + ", expected the optimiser "
                    + "of the saved run");
        }
        Object steps = om.get("steps");
        if (!(steps instanceof Long st) || st < 0) {
            throw CliException.runtime(file + ": meta.optimizer.steps = " + Json.write(steps) + ", expected a whole number");
        }
        String[] names = stateNames(opt);
        float[][] state = opt.state();
        for (int k = 0; k < names.length; k++) {
            NpyArray a = m.extra().get(names[k]);
            if (a == null) throw CliException.runtime(file + ": has no '" + names[k] + "' array (optimiser state)");
            if (a.dtype() != NpyArray.DType.FLOAT32 || a.size() != state[k].length) {
                throw CliException.runtime(file + ": '" + names[k] + "' is " + a + ", expected float32 of "
                        + state[k].length + " values");
            }
            System.arraycopy(a.toFloats(), 0, state[k], 0, state[k].length);
        }
        opt.setSteps(st);
        if (carried != null) restoreCarried(m, CARRIED, carried, "hidden", file);
        if (carriedCell != null) restoreCarried(m, CARRIED_CELL, carriedCell, "cell", file);
    }

    private static void restoreCarried(ModelFile.Model m, String name, float[] into, String what, Path file) {
        NpyArray a = m.extra().get(name);
        if (a == null || a.dtype() != NpyArray.DType.FLOAT32 || a.size() != into.length) {
            throw CliException.runtime(file + ": '" + name + "' is " + (a == null ? "missing" : a) + ", expected "
                    + "float32 of " + into.length + " values (the carried " + what + " state)");
        }
        System.arraycopy(a.toFloats(), 0, into, 0, into.length);
    }

    /** Shutdown hook (Ctrl-C, SIGTERM): ask the loop to stop at the next iteration and wait for its save. */
    private void onShutdown() {
        stopRequested = true;
        try {
            if (!stopped.await(60, TimeUnit.SECONDS)) {
                System.err.println("recur train: gave up waiting for the save after 60 s");
            }
        } catch (InterruptedException ignored) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- formatting

    static String f4(double v) { return String.format(Locale.ROOT, "%.4f", v); }

    static String f1(double v) { return String.format(Locale.ROOT, "%.1f", v); }

    static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) return Long.toString((long) v);
        return String.format(Locale.ROOT, "%.6g", v).replaceAll("0+(e|$)", "$1").replaceAll("\\.(e|$)", "$1");
    }

    private static int digits(long n) { return Long.toString(n).length(); }
}
