package dev.recur.spark;

import dev.recur.Grads;
import dev.recur.cli.CliException;
import dev.recur.optim.Adagrad;
import dev.recur.optim.Adam;
import dev.recur.optim.Clipping;
import dev.recur.optim.Optimizer;
import dev.recur.optim.Sgd;
import dev.recur.cli.Seeds;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.Serializable;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Synchronous data-parallel training on Spark. Each iteration's job carries the parameters
 * in its task (Spark ships a stage's task once per executor, as a broadcast it cleans up
 * itself); the task of partition p draws its share of the global batch from its shard as a
 * pure function of (seed, iteration, p), runs forward and BPTT on its own engine, and returns
 * (loss, scored steps, flat gradient) tagged with p; the driver sums them in index order
 * ({@link IndexOrderedSum}), clips, and takes the optimiser step. Nothing else is carried
 * between iterations, so the bits of a run depend on the data, the settings and the partition
 * count only: not on scheduling, executors or retries.
 */
public final class SparkTrainer {

    /** The data of a run: one shard per partition (cached) and what it implies for the model. */
    public record Data(JavaRDD<Shard> shards, int input, int output, String loss, String vocabulary, long length,
                       int steps, double entropyBits, String description) {}

    /** One iteration as the driver saw it. Times in nanoseconds. */
    public record Iteration(long iter, long total, double loss, long tokens, long wallNanos, long maxComputeNanos,
                            long driverNanos, Map<String, Integer> kernels) {
        /** Wall time not spent computing in the slowest task nor on the driver's sum and step: Spark's share. */
        public long sparkNanos() { return Math.max(0, wallNanos - maxComputeNanos - driverNanos); }
    }

    /** Called on the driver after every iteration. */
    public interface Listener {
        void iteration(Iteration it);
    }

    /** Runs in each task after its gradient is computed (tests inject failures here). */
    public interface TaskHook extends Serializable {
        void afterCompute(long iteration, int partition, int attempt);
    }

    /** A finished run. */
    public record Result(long iters, long startIter, double lossFirst, double lossLast, long tokens, double seconds,
                         long wallNanos, long computeNanos, long driverNanos, Map<String, Integer> kernels,
                         float[] params, long gradientBytesPerIter, long driverGradientBytesPerIter,
                         long parameterBytesPerIter, boolean stopped) {
        public long itersThisRun() { return iters - startIter; }
        public double tokensPerSecond() { return tokens / seconds; }
        public double msPerIter(long nanos) { return itersThisRun() == 0 ? 0 : nanos / 1e6 / itersThisRun(); }
        public long sparkNanos() { return Math.max(0, wallNanos - computeNanos - driverNanos); }
    }

    private final JavaSparkContext sc;
    private final TrainSettings settings;
    private final ModelSpec spec;
    private final Data data;
    private int fanout = IndexOrderedSum.DEFAULT_FANOUT;
    private TaskHook hook;
    private volatile boolean stopRequested;

    public SparkTrainer(JavaSparkContext sc, TrainSettings settings, ModelSpec spec, Data data) {
        if (data.shards().getNumPartitions() != settings.partitions()) {
            throw new IllegalArgumentException("the data has " + data.shards().getNumPartitions() + " partitions, expected "
                    + settings.partitions());
        }
        if (settings.partitions() > settings.batch()) {
            throw CliException.usage("--partitions = " + settings.partitions() + " > --batch = " + settings.batch()
                    + ", expected at most one partition per sequence of the global batch");
        }
        this.sc = sc;
        this.settings = settings;
        this.spec = spec;
        this.data = data;
    }

    /** Sums over a tree of this fanout when there are more partitions (tests). */
    SparkTrainer fanout(int f) {
        this.fanout = f;
        return this;
    }

    /** A hook run in every task after its gradient (tests). */
    SparkTrainer hook(TaskHook h) {
        this.hook = h;
        return this;
    }

    /**
     * Asks the run to stop after the iteration in flight (Ctrl-C): it takes no further step, saves
     * (with {@code save}) at the last completed iteration and returns; an iteration whose job the
     * stop cut short is dropped, as if it had not begun.
     */
    public void requestStop() { stopRequested = true; }

    static Optimizer optimizer(String name, int size, double lr) {
        float rate = (float) lr;
        return switch (name) {
            case "sgd" -> new Sgd(rate);
            case "adagrad" -> new Adagrad(size, rate);
            case "adam" -> new Adam(size, rate);
            default -> throw CliException.usage("--optimizer = '" + name + "', expected one of sgd, adagrad, adam");
        };
    }

    /**
     * Trains to iteration {@code totalIters}, from the start or from {@code resume}; saves to
     * {@code save} (if not null) every {@code saveEvery} iterations (if > 0) and at the end.
     */
    public Result run(long totalIters, Checkpoint.Saved resume, Path resumeFile, Path save, long saveEvery,
                      Listener listener) {
        int size = spec.parameterCount();
        float[] params = resume != null ? resume.params().clone()
                : PartitionGradient.initialParameters(spec, Seeds.mix(settings.seed(), 1));
        Optimizer opt = optimizer(settings.optimizer(), size, settings.lr());
        long start = 0;
        if (resume != null) {
            Checkpoint.restore(resume, opt, resumeFile);
            start = resume.step();
        }
        int P = settings.partitions();
        double first = Double.NaN, last = Double.NaN;
        long tokens = 0, wall = 0, compute = 0, driver = 0;
        TreeMap<String, Integer> kernels = new TreeMap<>();
        long iter = start;
        while (iter < totalIters && !stopRequested) {
            long t0 = System.nanoTime();
            Partial sum;
            try {
                sum = gradient(params, iter);
            } catch (RuntimeException e) {
                if (stopRequested) break; // Spark's shutdown hook stopped the context under the job: save what is done
                throw e;
            }
            long t1 = System.nanoTime();
            Grads g = PartitionGradient.grads(spec, sum.grad());
            if (settings.clipValue() > 0) Clipping.byValue(g, (float) settings.clipValue());
            double norm = settings.clip() > 0 ? Clipping.byGlobalNorm(g, settings.clip()) : g.l2Norm();
            if (!Double.isFinite(sum.loss()) || !Double.isFinite(norm)) {
                throw CliException.runtime(String.format(Locale.ROOT, "training diverged at iteration %d (loss %s, gradient "
                        + "norm %s): lower --lr (now %s) or clip with --clip", iter + 1, sum.loss(), norm, settings.lr()));
            }
            opt.step(PartitionGradient.params(spec, params), g);
            iter++;
            long t2 = System.nanoTime();
            double perToken = sum.loss() / sum.tokens();
            if (Double.isNaN(first)) first = perToken;
            last = perToken;
            tokens += sum.tokens();
            wall += t2 - t0;
            compute += sum.maxComputeNanos();
            driver += t2 - t1;
            sum.kernels().forEach((k, n) -> kernels.merge(k, n, Integer::sum));
            if (save != null && saveEvery > 0 && iter % saveEvery == 0 && iter < totalIters) {
                Checkpoint.save(save, spec, params, opt, iter, settings, data.vocabulary());
            }
            if (listener != null) {
                listener.iteration(new Iteration(iter, totalIters, perToken, sum.tokens(), t2 - t0, sum.maxComputeNanos(),
                        t2 - t1, sum.kernels()));
            }
        }
        if (save != null) Checkpoint.save(save, spec, params, opt, iter, settings, data.vocabulary());
        long bytes = (long) size * Float.BYTES;
        return new Result(iter, start, first, last, tokens, wall / 1e9, wall, compute, driver, kernels, params,
                P * bytes, Math.min(P, fanout) * bytes, bytes, iter < totalIters);
    }

    /**
     * Iteration {@code iteration}'s summed loss and gradient at {@code params}: the parameters
     * in the task (a copy: tasks never see a later step's values; a broadcast of our own cost
     * about 3 ms more per iteration, to create and destroy, for the same bytes), every
     * partition's share of the batch computed by its task, the partials added in partition order.
     */
    Partial gradient(float[] params, long iteration) {
        int P = settings.partitions();
        int[] shares = new int[P];
        for (int p = 0; p < P; p++) shares[p] = Shard.share(settings.batch(), P, p);
        return IndexOrderedSum.sum(data.shards(), new IterationTask(spec, params.clone(), settings.seed(), iteration,
                shares, hook), fanout);
    }

    /** What every task of one iteration runs: draw its windows, compute, tag with the partition. */
    private record IterationTask(ModelSpec spec, float[] params, long seed, long iteration, int[] shares,
                                 TaskHook hook) implements PartitionJob.Function<Shard, Partial> {
        @Override
        public Partial apply(int p, Iterator<Shard> shards) {
            Shard shard = shards.next();
            Windows w = shard.draw(seed, iteration, p, shares[p]);
            Partial r = PartitionGradient.compute(p, spec, params, w, false);
            if (hook != null) hook.afterCompute(iteration, p, TaskContext.get().attemptNumber());
            return r;
        }
    }
}
