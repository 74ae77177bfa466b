package dev.recur.spark;

import dev.recur.Cell;
import dev.recur.cli.CliException;
import dev.recur.cli.OptionChecks;
import dev.recur.cli.TrainModelOptions;
import dev.recur.cli.Corpora;
import dev.recur.cli.Main;
import dev.recur.io.Json;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.StorageLevel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/** {@code recur spark train}: synchronous data-parallel training on Spark. */
@Command(name = "train",
        header = "Train a model on Spark: data-parallel, synchronous, the same bits on every run.",
        sortOptions = false,
        usageHelpAutoWidth = true,
        description = {
                "Each iteration's job carries the parameters to the tasks; the task of each partition draws its share of the "
                        + "global batch (--batch sequences in all) as windows of --seq-len steps from h0 = 0, chosen by "
                        + "(seed, iteration, partition); it runs forward and exact BPTT; the driver adds the partitions' "
                        + "losses and gradients in partition order, clips and takes the optimiser step.",
                "",
                "With no data option: recur train's default task (the seeded grammar) and its defaults. --data reads a "
                        + "UTF-8 file, folder or glob through Spark (local paths, hdfs://; s3a:// needs Hadoop's S3 "
                        + "connector on the class path). Losses are nats per character.",
                ""},
        footerHeading = "%nExamples:%n",
        footer = {
                "  recur spark train --master local[2] --partitions 2",
                "  recur spark train --data book.txt --hidden 256 --seq-len 100 --batch 64 \\",
                "      --save book.npz --save-every 100",
                "  recur spark train --save book.npz --resume --iters 5000   (continue that run)",
                "  recur spark train --inputs X.npy --targets Y.npy --partitions 4",
                "  recur spark train --conf spark.task.cpus=2 --json > result.json"})
final class SparkTrainCommand extends SparkCommand {

    @Option(names = "--task", paramLabel = "NAME", description = "Built-in task: grammar (default; recur train's); 'list' "
            + "lists what Spark can train.")
    String task;

    @Option(names = "--data", paramLabel = "PATH", description = "Train a character model on this UTF-8 text: a file, "
            + "folder or glob (local, hdfs://, s3a://); files are read whole and joined in path order.")
    String data;

    @Option(names = "--inputs", paramLabel = "X.npy", description = "Train on sequences instead: inputs int (T,N) class "
            + "indices or float (T,N,I), as recur grad reads them (local or hdfs://); needs --targets.")
    String inputs;

    @Option(names = "--targets", paramLabel = "Y.npy", description = "Targets of --inputs: int (T,N) for softmax "
            + "cross-entropy or float (T,N,O) for 1/2 squared error.")
    String targets;

    @Mixin TrainModelOptions model;

    @Option(names = "--seq-len", paramLabel = "T", description = "Steps per window (task default: grammar 32, text 64).")
    Integer seqLen;

    @Option(names = "--batch", paramLabel = "B", description = "Sequences per iteration, over all partitions (task "
            + "default: grammar 16, text 32).")
    Integer batch;

    @Option(names = "--lr", paramLabel = "RATE", description = "Learning rate (task default: grammar 0.01, text 0.003).")
    Double lr;

    @Option(names = "--iters", paramLabel = "N", description = "Iterations in total (task default: grammar 400, text 2000).")
    Long iters;

    @Option(names = "--epochs", paramLabel = "E", description = "Instead of --iters: iterations that draw E times the "
            + "corpus's characters.")
    Double epochs;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "1", description = "Seed for the grammar, the "
            + "initialisation and the windows (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--save", paramLabel = "FILE.npz", description = "Save the model and the run's state here (on the "
            + "driver) at the end and every --save-every iterations; atomic, the .npz of recur train.")
    Path save;

    @Option(names = "--save-every", paramLabel = "N", description = "Save every N iterations (default: only at the end).")
    Long saveEvery;

    @Option(names = "--resume", paramLabel = "FILE.npz", arity = "0..1", fallbackValue = "", description = "Continue the "
            + "run saved in FILE (default: the --save file) to --iters in total, bit for bit as if never stopped.")
    String resume;

    @Option(names = "--log-every", paramLabel = "N", description = "A progress line every N iterations (task default: "
            + "grammar 25, text 50).")
    Long logEvery;

    @Option(names = "--progress", paramLabel = "auto|lines|none", defaultValue = "auto", description = "Progress lines "
            + "on stderr (auto = lines), or none.")
    String progress;

    @Option(names = "--json", description = "Print the result as one JSON object on stdout (progress stays on stderr).")
    boolean json;

    @Option(names = "--overlap", negatable = true, description = "Submit each iteration's job while the previous "
            + "one computes, its tasks waiting for the parameters as a block (default for local masters, where it "
            + "measured faster), or with --no-overlap after the optimiser step with the parameters in its tasks "
            + "(default elsewhere). The same bits either way; see docs/spark.md.")
    Boolean overlap;

    @Option(names = "--long-tasks", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "On a local master with a task slot for every partition, run one job whose tasks serve "
            + "every iteration, exchanging parameters and gradients as blocks (the default; the same bits as a job "
            + "per iteration, see docs/spark.md).")
    boolean longTasks;

    @Option(names = "--bptt", paramLabel = "full", hidden = true)
    String bptt;

    @Option(names = "--threads", paramLabel = "N", hidden = true)
    String threads;

    private static final String[][] TASKS = {
            {"grammar", "(default) next-character prediction on recur train's seeded grammar text"},
            {"text", "character model on a UTF-8 file, folder or glob: use --data PATH"},
            {"npy", "sequences from .npy arrays: use --inputs X.npy --targets Y.npy"}};

    @Override
    int execute() {
        if ("list".equals(task)) {
            StringBuilder b = new StringBuilder("Tasks recur spark train runs (--task NAME):\n");
            for (String[] t : TASKS) b.append(String.format("  %-8s %s%n", t[0], t[1]));
            b.append("(copy and adding: use recur train)\n");
            out().print(b);
            return Main.EXIT_OK;
        }
        rejectUnsupported();
        int P = partitions();
        String kernelChoice = kernels();
        Path resumeFile = resumeFile();
        Checkpoint.Saved saved = resumeFile == null ? null : Checkpoint.load(resumeFile);
        TrainSettings s = saved == null ? null : agree(saved.settings(), resumeFile);
        if ((inputs == null) != (targets == null)) {
            throw CliException.usage((inputs == null ? "--targets" : "--inputs") + " given alone, expected --inputs X.npy "
                    + "and --targets Y.npy together");
        }
        if (inputs != null && data != null) throw CliException.usage("--data and --inputs both given, expected one of them");
        String given = data != null ? "text" : inputs != null ? "npy" : null;
        if (given != null && task != null && !task.equals(given)) {
            throw CliException.usage("--task " + task + " and " + (given.equals("text") ? "--data" : "--inputs")
                    + " both given, expected one of them");
        }
        String taskName = s != null ? s.task() : given != null ? given : task == null ? Corpora.DEFAULT_TASK : task;
        long runSeed = s != null ? s.seed() : seed;
        Corpora.CharCorpus grammar = null;
        Corpora.Defaults d;
        switch (taskName) {
            case "grammar" -> {
                grammar = Corpora.grammar(runSeed);
                d = grammar.defaults();
            }
            case "text" -> {
                if (s == null && data == null) throw CliException.usage("--task text needs --data PATH (UTF-8 text)");
                d = Corpora.textDefaults();
            }
            case "npy" -> {
                if (s == null && inputs == null) throw CliException.usage("--task npy needs --inputs X.npy --targets Y.npy");
                d = Corpora.textDefaults();
            }
            case "copy", "adding" -> throw CliException.usage("--task " + taskName + " is not available on Spark yet, "
                    + "expected grammar or --data PATH (train it with recur train)");
            default -> throw CliException.usage("--task = '" + taskName + "', expected grammar, text, npy or list");
        }
        if (s == null) s = resolve(taskName, d, P);
        long logN = logEvery != null ? OptionChecks.positive("--log-every", logEvery) : Math.max(1, d.logEvery());
        if (saveEvery != null) {
            OptionChecks.positive("--save-every", saveEvery);
            if (save == null) throw CliException.usage("--save-every needs --save FILE.npz");
        }
        if (save != null) OptionChecks.savePath(save);
        boolean lines = switch (progress.toLowerCase(Locale.ROOT)) {
            case "auto", "lines", "bar" -> true;
            case "none", "off" -> false;
            default -> throw CliException.usage("--progress = '" + progress + "', expected one of auto, lines, none");
        };
        if (iters != null && epochs != null) throw CliException.usage("--iters and --epochs both given, expected one of them");
        if (iters != null) OptionChecks.positive("--iters", iters);
        if (epochs != null && !(epochs > 0 && Double.isFinite(epochs))) {
            throw CliException.usage("--epochs = " + epochs + ", expected a number > 0");
        }

        SparkConf conf = SparkContexts.conf(master, "recur spark train", this.conf);
        long t0 = System.nanoTime();
        try (JavaSparkContext sc = SparkContexts.start(conf)) {
            double startSeconds = (System.nanoTime() - t0) / 1e9;
            final TrainSettings settings = s;
            final Corpora.CharCorpus g = grammar;
            long t1 = System.nanoTime();
            SparkTrainer.Data train = Jobs.run(() -> prepare(sc, settings, g));
            double loadSeconds = (System.nanoTime() - t1) / 1e9;
            if (train.steps() != s.seqLen()) {
                if (seqLen != null && seqLen != train.steps()) {
                    throw CliException.usage("--seq-len = " + seqLen + ", but the sequences of " + s.data() + " have "
                            + train.steps() + " steps, expected the same or the option left out");
                }
                s = s.withSeqLen(train.steps());
            }
            if (saved != null && saved.vocabulary() != null && !saved.vocabulary().equals(train.vocabulary())) {
                throw CliException.runtime(resumeFile + ": the saved vocabulary differs from the data's (was " + s.data()
                        + " changed?)");
            }
            ModelSpec spec = ModelSpec.of(s.shape(train.input(), train.output()), s.activation(), train.loss(), kernelChoice,
                    SparkContexts.taskCpus(conf));
            if (saved != null && !saved.shape().equals(spec.shape())) {
                throw CliException.runtime(resumeFile + ": model " + saved.shape() + " does not fit the run's "
                        + spec.shape() + " (I and O from the data)");
            }
            long total = iters != null ? iters : epochs != null
                    ? Math.max(1, (long) Math.ceil(epochs * train.length() / ((double) s.batch() * s.seqLen()))) : d.iters();
            long startIter = saved != null ? saved.step() : 0;
            if (saved != null && startIter >= total) {
                throw CliException.usage("--iters = " + total + ", but the saved run is already at iteration " + startIter
                        + ", expected more to continue");
            }
            Progress prog = new Progress(lines, logN, spec.classTargets());
            if (lines) {
                err().println(train.description());
                err().printf(Locale.ROOT, "model: I=%d, H=%d, O=%d, %s, %d parameters; %s lr %s, clip %s; batch %d x %d "
                                + "steps over %d partition%s (%s); master %s, %d engine thread%s per task, kernels %s%n",
                        spec.input(), spec.hidden(), spec.output(), (spec.layers() == 1 ? "" : spec.layers() + " layers, ")
                                + (spec.cell().equals("rnn") ? spec.activation() : spec.cell()), spec.parameterCount(), s.optimizer(),
                        num(s.lr()), s.clip() > 0 ? num(s.clip()) : "off", s.batch(), s.seqLen(), s.partitions(),
                        s.partitions() == 1 ? "" : "s", sharesText(s.batch(), s.partitions()), conf.get("spark.master"), spec.threads(),
                        spec.threads() == 1 ? "" : "s", kernelChoice);
                err().printf(Locale.ROOT, "spark: started in %.1f s; data ready in %.1f s%n", startSeconds, loadSeconds);
                if (saved != null) err().println("resuming " + resumeFile + " at iteration " + startIter + " of " + total);
                err().flush();
            }
            SparkTrainer trainer = new SparkTrainer(sc, s, spec, train).longTasks(longTasks)
                    .overlap(overlap != null ? overlap : sc.isLocal());
            // Ctrl-C: stop after the iteration in flight, save, and let the JVM go on exiting
            CountDownLatch done = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                trainer.requestStop();
                try {
                    if (!done.await(60, TimeUnit.SECONDS)) System.err.println("recur spark train: gave up waiting for the save");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "recur-spark-train-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            SparkTrainer.Result r;
            try {
                r = Jobs.run(() -> trainer.run(total, saved, resumeFile, save, saveEvery == null ? 0 : saveEvery, prog));
            } finally {
                done.countDown();
            }
            if (r.stopped()) {
                err().println("interrupted at iteration " + r.iters() + (save != null ? "; saved " + save
                        + " (continue with --resume)" : "; nothing saved (no --save)"));
                err().flush();
                return 130;
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down
            }
            String warning = Reports.scalarWarning(r.kernels(), kernelChoice);
            if (json) {
                out().println(Json.write(result(r, s, spec, train, conf, startSeconds, loadSeconds, warning, prog.history)));
            } else {
                summary(r, train, spec, s.partitions());
            }
            return Main.EXIT_OK;
        }
    }

    // ---------------------------------------------------------------- options

    private void rejectUnsupported() {
        if (threads != null) {
            throw CliException.usage("--threads = " + threads + ": engine threads per task come from spark.task.cpus, "
                    + "expected --conf spark.task.cpus=N instead");
        }
        if (bptt != null && !bptt.equalsIgnoreCase("full")) {
            throw CliException.usage("--bptt = '" + bptt + "', expected full (Spark tasks run exact BPTT over windows "
                    + "that start from h0 = 0)");
        }
    }

    private Path resumeFile() {
        if (resume == null) return null;
        if (!resume.isEmpty()) return Path.of(resume);
        if (save == null) throw CliException.usage("--resume needs a file: give --resume FILE.npz or --save FILE.npz");
        return save;
    }

    /** Local paths are made absolute (a resumed run finds them from any folder); URIs stay as given. */
    static String dataPath(String p) {
        if (p == null) return null;
        if (p.isBlank()) throw CliException.usage("--data = '', expected a file, folder or glob");
        return p.contains("://") || p.startsWith("file:") ? p : Path.of(p).toAbsolutePath().normalize().toString();
    }

    private TrainSettings resolve(String taskName, Corpora.Defaults d, int P) {
        TrainModelOptions.Resolved m = model.resolve(d.hidden(), d.optimizer());
        int T = OptionChecks.positive("--seq-len", seqLen != null ? seqLen : d.seqLen());
        int B = OptionChecks.positive("--batch", batch != null ? batch : d.batch());
        if (P > B) {
            throw CliException.usage("--partitions = " + P + " > --batch = " + B + ", expected at most one partition per "
                    + "sequence of the global batch");
        }
        double rate = OptionChecks.learningRate(lr != null ? lr : d.lr());
        return new TrainSettings(taskName, dataPath(inputs != null ? inputs : data), dataPath(targets), m.hidden(), m.layers(),
                m.cell().id(), m.activation(), T, B, m.optimizer(), rate, m.clip(), m.clipValue(), seed, P);
    }

    /** Options given with --resume must agree with the saved run. */
    private TrainSettings agree(TrainSettings c, Path file) {
        OptionChecks.sameAsSaved("--task", task, c.task(), file);
        OptionChecks.sameAsSaved("--data", dataPath(data), c.data(), file);
        OptionChecks.sameAsSaved("--inputs", dataPath(inputs), c.task().equals("npy") ? c.data() : null, file);
        OptionChecks.sameAsSaved("--targets", dataPath(targets), c.targets(), file);
        model.sameAsSaved(c.hidden(), c.layers(), c.cell(), c.activation(), c.optimizer(), c.clip(), c.clipValue(), file);
        OptionChecks.sameAsSaved("--seq-len", seqLen, c.seqLen(), file);
        OptionChecks.sameAsSaved("--batch", batch, c.batch(), file);
        OptionChecks.sameAsSaved("--lr", lr, c.lr(), file);
        OptionChecks.sameAsSaved("--seed", given("--seed") ? seed : null, c.seed(), file);
        OptionChecks.sameAsSaved("--partitions", given("--partitions") ? partitions : null, c.partitions(), file);
        return c;
    }

    // ---------------------------------------------------------------- data

    /** The partitions' shards, cached and computed once before the first iteration. */
    static SparkTrainer.Data prepare(JavaSparkContext sc, TrainSettings s, Corpora.CharCorpus grammar) {
        int P = s.partitions(), T = s.seqLen();
        SparkTrainer.Data d;
        if (s.task().equals("npy")) {
            NpySequences.Arrays a = NpySequences.read(sc.hadoopConfiguration(), s.data(), s.targets());
            if (P > a.sequences()) {
                throw CliException.usage("--partitions = " + P + " > the " + a.sequences() + " sequences of " + s.data()
                        + ", expected at most one partition per sequence");
            }
            Broadcast<NpySequences.Arrays> all = sc.broadcast(a);
            JavaRDD<Shard> shards = sc.parallelize(IntStream.range(0, P).boxed().toList(), P)
                    .mapPartitionsWithIndex((p, it) -> List.<Shard>of(SequenceShard.of(all.value(), P, p)).iterator(), true);
            d = new SparkTrainer.Data(shards, a.input(), a.output(), a.loss(), null, (long) a.sequences() * a.steps(),
                    a.steps(), Double.NaN, String.format(Locale.ROOT, "sequences %s -> %s: %d of %d steps, I=%d, O=%d, %s",
                    s.data(), s.targets(), a.sequences(), a.steps(), a.input(), a.output(),
                    a.loss().equals("xent") ? "softmax cross-entropy" : "1/2 squared error"));
        } else if (grammar != null) {
            int[] stream = grammar.train();
            if (stream.length < T + 1) {
                throw CliException.usage("--seq-len = " + T + ", expected at most " + (stream.length - 1) + " for the "
                        + grammar.name() + " corpus");
            }
            // the stream travels once, as a broadcast; the cached shards are cut from it on the executors
            Broadcast<int[]> all = sc.broadcast(stream);
            JavaRDD<Shard> shards = sc.parallelize(IntStream.range(0, P).boxed().toList(), P)
                    .mapPartitionsWithIndex((p, it) -> List.<Shard>of(StreamShard.of(all.value(), T, P, p)).iterator(), true);
            int V = grammar.vocabulary().codePointCount(0, grammar.vocabulary().length());
            d = new SparkTrainer.Data(shards, V, V, "xent", grammar.vocabulary(), stream.length, T, grammar.entropyBits(),
                    String.format(Locale.ROOT, "%s task: %d characters, vocabulary %d; entropy floor of the source %.4f "
                            + "bits/char", grammar.name(), stream.length, V, grammar.entropyBits()));
        } else {
            TextCorpus.Prepared c = TextCorpus.read(sc, s.data(), P, T);
            int V = c.vocabulary().codePointCount(0, c.vocabulary().length());
            d = new SparkTrainer.Data(c.shards(), V, V, "xent", c.vocabulary(), c.length(), T, Double.NaN,
                    String.format(Locale.ROOT, "text %s: %d characters in %d file%s, vocabulary %d", s.data(), c.length(),
                            c.files(), c.files() == 1 ? "" : "s", V));
        }
        d.shards().persist(StorageLevel.MEMORY_AND_DISK());
        d.shards().count();
        return d;
    }

    private static String sharesText(int B, int P) {
        int lo = Shard.share(B, P, P - 1), hi = Shard.share(B, P, 0);
        return lo == hi ? hi + " sequences each" : lo + "-" + hi + " sequences each";
    }

    // ---------------------------------------------------------------- output

    /** Progress lines on stderr, and the history for --json. */
    private final class Progress implements SparkTrainer.Listener {
        final boolean lines, bits;
        final long every;
        final List<Map<String, Object>> history = new ArrayList<>();
        double lossSum;
        long n, tokens, wall, compute, driver;
        boolean kernelsShown;

        /** {@code bits}: the loss is cross-entropy, also shown in bits per symbol. */
        Progress(boolean lines, long every, boolean bits) {
            this.lines = lines;
            this.every = every;
            this.bits = bits;
        }

        @Override
        public void iteration(SparkTrainer.Iteration it) {
            if (!kernelsShown) {
                kernelsShown = true;
                if (lines) err().println("executors run kernels: " + Reports.kernels(it.kernels()));
                Reports.warnScalar(err(), it.kernels(), kernels());
            }
            lossSum += it.loss();
            n++;
            tokens += it.tokens();
            wall += it.wallNanos();
            compute += it.maxComputeNanos();
            driver += it.driverNanos();
            if (it.iter() % every != 0 && it.iter() != it.total()) return;
            double mean = lossSum / n;
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("iter", it.iter());
            h.put("loss", mean);
            h.put("ms_per_iter", wall / 1e6 / n);
            history.add(h);
            if (lines) {
                double ms = wall / 1e6 / n, c = compute / 1e6 / n, dr = driver / 1e6 / n;
                err().printf(Locale.ROOT, "iter %d/%d  loss %.4f%s  %s tok/s  %.1f ms/iter = compute %.1f + spark %.1f + "
                                + "driver %.1f%n", it.iter(), it.total(), mean,
                        bits ? String.format(Locale.ROOT, " (%.4f bits/symbol)", mean / Math.log(2)) : "",
                        count(tokens / (wall / 1e9)), ms, c, Math.max(0, ms - c - dr), dr);
                err().flush();
            }
            lossSum = 0;
            n = tokens = wall = compute = driver = 0;
        }
    }

    private Map<String, Object> result(SparkTrainer.Result r, TrainSettings s, ModelSpec spec, SparkTrainer.Data d,
                                       SparkConf conf, double startSeconds, double loadSeconds, String warning,
                                       List<Map<String, Object>> history) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", s.task());
        m.put("iters", r.iters());
        m.put("iters_this_run", r.itersThisRun());
        m.put("partitions", (long) s.partitions());
        m.put("master", conf.get("spark.master"));
        m.put("task_cpus", (long) spec.threads());
        m.put("jobs", r.jobs());
        m.put("loss_first", r.lossFirst());
        m.put("loss_last", r.lossLast());
        m.put("loss_unit", spec.classTargets() ? "nats/symbol" : "1/2 squared error per step");
        m.put("tokens", r.tokens());
        m.put("seconds", r.seconds());
        m.put("iters_per_s", r.itersThisRun() / r.seconds());
        m.put("tokens_per_s", r.tokensPerSecond());
        m.put("ms_per_iter", r.msPerIter(r.wallNanos()));
        m.put("compute_ms_per_iter", r.msPerIter(r.computeNanos()));
        m.put("spark_overhead_ms_per_iter", r.msPerIter(r.sparkNanos()));
        m.put("driver_ms_per_iter", r.msPerIter(r.driverNanos()));
        m.put("parameters", (long) spec.parameterCount());
        m.put("gradient_bytes_per_iter", r.gradientBytesPerIter());
        m.put("driver_gradient_bytes_per_iter", r.driverGradientBytesPerIter());
        m.put("parameter_bytes_per_iter", r.parameterBytesPerIter());
        m.put("kernels", new LinkedHashMap<String, Object>(r.kernels()));
        m.put("kernels_warning", warning);
        m.put("spark_start_seconds", startSeconds);
        m.put("data_seconds", loadSeconds);
        m.put("entropy_floor_bits", Double.isNaN(d.entropyBits()) ? null : d.entropyBits());
        m.put("config", s.toMap());
        m.put("saved", save == null ? null : save.toString());
        m.put("history", history);
        return m;
    }

    private void summary(SparkTrainer.Result r, SparkTrainer.Data d, ModelSpec spec, int partitions) {
        var o = out();
        o.printf(Locale.ROOT, "done: %d iterations (%s tokens) in %.1f s: %s tokens/s; per iteration %.1f ms = compute %.1f "
                        + "(slowest task) + spark %.1f + driver %.1f [%d partition%s, kernels %s]%n", r.itersThisRun(),
                count(r.tokens()), r.seconds(), count(r.tokensPerSecond()), r.msPerIter(r.wallNanos()),
                r.msPerIter(r.computeNanos()), r.msPerIter(r.sparkNanos()), r.msPerIter(r.driverNanos()),
                partitions, partitions == 1 ? "" : "s", Reports.kernels(r.kernels()));
        if (spec.classTargets()) {
            o.printf(Locale.ROOT, "training loss %.4f -> %.4f nats/symbol (%.4f -> %.4f bits/symbol)%s%n", r.lossFirst(),
                    r.lossLast(), r.lossFirst() / Math.log(2), r.lossLast() / Math.log(2),
                    Double.isNaN(d.entropyBits()) ? "" : String.format(Locale.ROOT, "; source entropy floor %.4f bits/symbol",
                            d.entropyBits()));
        } else {
            o.printf(Locale.ROOT, "training loss %.4g -> %.4g (1/2 squared error per step)%n", r.lossFirst(), r.lossLast());
        }
        o.printf(Locale.ROOT, "gradient bytes per iteration: %s from the tasks, %s into the driver; parameters %s to the tasks%n",
                bytes(r.gradientBytesPerIter()), bytes(r.driverGradientBytesPerIter()), bytes(r.parameterBytesPerIter()));
        if (save != null) o.println("saved " + save + " at iteration " + r.iters());
    }

    static String num(double v) {
        if (v == Math.rint(v) && Math.abs(v) < 1e9) return Long.toString((long) v);
        return String.format(Locale.ROOT, "%.6g", v).replaceAll("0+(e|$)", "$1").replaceAll("\\.(e|$)", "$1");
    }

    static String count(double v) {
        if (v >= 1e9) return String.format(Locale.ROOT, "%.2fG", v / 1e9);
        if (v >= 1e6) return String.format(Locale.ROOT, "%.2fM", v / 1e6);
        if (v >= 1e4) return String.format(Locale.ROOT, "%.1fk", v / 1e3);
        return String.format(Locale.ROOT, "%.0f", v);
    }

    static String bytes(long b) {
        if (b >= 1L << 20) return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        if (b >= 1L << 10) return String.format(Locale.ROOT, "%.1f KiB", b / (double) (1L << 10));
        return b + " B";
    }
}
