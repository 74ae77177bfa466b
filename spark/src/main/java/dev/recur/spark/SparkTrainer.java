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
 * Synchronous data-parallel training on Spark. The task of partition p draws its share of the
 * global batch from its shard as a pure function of (seed, iteration, p), runs forward and BPTT
 * on its own engine at the iteration's parameters, and returns (loss, scored steps, flat
 * gradient) tagged with p; the driver sums them in index order ({@link IndexOrderedSum}), clips,
 * and takes the optimiser step. The tasks get the parameters from a block the driver publishes
 * after its step, their job submitted while the previous iteration computes ({@link Pipeline}),
 * or, with {@link #overlap overlap} off, in the task of a job submitted after the step. Nothing
 * else is carried between iterations, so the bits of a run depend on the data, the settings and
 * the partition count only: not on scheduling, executors, retries or overlap.
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
                         long parameterBytesPerIter, boolean stopped, String jobs) {
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
    private boolean overlap = true, longTasks = true;
    /** The run's count of failed task attempts per job (while {@link #run} runs). */
    private TaskFailures failures;
    private long waitLimitNanos = -1;
    private TaskHook hook;
    private volatile boolean stopRequested;
    /** Partitions the driver computed itself because their overlapped tasks gave up waiting (tests). */
    private long recomputed;

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

    /**
     * Whether each iteration's job is submitted while the previous one computes, its tasks
     * waiting for the parameters (the default), or submitted after the step with the parameters
     * in its task. The same bits either way.
     */
    public SparkTrainer overlap(boolean on) {
        this.overlap = on;
        return this;
    }

    /**
     * Whether one job with long-lived tasks may serve all iterations (the default) where it can:
     * a local master with a task slot for every partition ({@link Loop}).
     */
    public SparkTrainer longTasks(boolean on) {
        this.longTasks = on;
        return this;
    }

    /** How this run's iterations get their tasks: "run" (one job for the run), "overlapped" or "per-iteration". */
    public String jobs() {
        if (longTasks && sc.isLocal() && settings.partitions() <= SparkContexts.localSlots(sc.getConf())
                && settings.partitions() <= fanout) return "run";
        return overlapping() ? "overlapped" : "per-iteration";
    }

    /** Whether the iterations overlap: asked for, and at most {@code fanout} partitions (the tree sum runs jobs of its own). */
    public boolean overlapping() { return overlap && settings.partitions() <= fanout; }

    /** How long an overlapped task waits for its parameters before the driver computes its partition itself (tests). */
    SparkTrainer waitLimit(long nanos) {
        this.waitLimitNanos = nanos;
        return this;
    }

    /** Partitions computed in a job of their own after their overlapped tasks gave up waiting (tests). */
    long recomputed() { return recomputed; }

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
        String jobs = jobs();
        failures = new TaskFailures();
        sc.sc().addSparkListener(failures);
        Loop loop = jobs.equals("run") ? new Loop() : null;
        Pipeline pipeline = jobs.equals("overlapped") ? new Pipeline() : null;
        long t0 = System.nanoTime(); // the end of the previous iteration: an iteration's wall time is the gap between ends
        try {
            while (iter < totalIters && !stopRequested) {
                Partial sum;
                try {
                    sum = loop != null && !loop.broken ? loop.gradient(params, iter, totalIters)
                            : pipeline != null ? pipeline.gradient(params, iter, totalIters) : gradient(params, iter);
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
                // the next iteration's tasks are waiting for these
                if (loop != null && !loop.broken && iter < totalIters) loop.stepped(params, iter);
                if (pipeline != null) pipeline.stepped(params, iter);
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
                t0 = t2;
            }
        } finally {
            if (pipeline != null) pipeline.close();
            if (loop != null) loop.close();
            sc.sc().removeSparkListener(failures);
        }
        if (save != null) Checkpoint.save(save, spec, params, opt, iter, settings, data.vocabulary());
        long bytes = (long) size * Float.BYTES;
        return new Result(iter, start, first, last, tokens, wall / 1e9, wall, compute, driver, kernels, params,
                P * bytes, Math.min(P, fanout) * bytes, bytes, iter < totalIters,
                loop != null && loop.broken ? jobs + ", then per-iteration" : jobs);
    }

    /**
     * Iteration {@code iteration}'s summed loss and gradient at {@code params}: the parameters
     * in the task (a copy: tasks never see a later step's values; a broadcast of our own cost
     * about 3 ms more per iteration, to create and destroy, for the same bytes), every
     * partition's share of the batch computed by its task, the partials added in partition order.
     */
    Partial gradient(float[] params, long iteration) {
        return IndexOrderedSum.sum(data.shards(), task(params, iteration), fanout);
    }

    /** The least time an overlapped task waits for its parameters, and the multiple of the slowest iteration so far. */
    static final long MIN_WAIT_LIMIT_NANOS = 60_000_000_000L, WAIT_LIMIT_ITERATIONS = 4;
    /** How often the driver, waiting for an iteration's job, asks whether one of its tasks failed. */
    static final long FAILURE_CHECK_NANOS = 50_000_000L;

    /**
     * Iterations that overlap: iteration k+1's job is submitted as soon as iteration k's is, so
     * Spark serialises and schedules it while k computes and launches its tasks on the cores k's
     * tasks free; those tasks draw their windows and wait for their parameters, which the driver
     * publishes as a block ({@link ParameterBlocks}) the moment its step is done. What an
     * iteration then waits for is the results' way back, the sum and step, and the block's way
     * out, not a job's submission and launch (3-5 ms a job on the 2-core machine the figures in
     * docs/spark.md come from).
     *
     * <p>It does not deadlock: Spark's scheduler serves jobs in submission order, so k+1's tasks
     * take a core only when none of k's is pending. A task of k that fails is retried, and its
     * retry needs a core that k+1's waiting tasks may already hold (Spark frees the failed
     * task's core before it puts the task back in line): the driver, waiting for k, looks every
     * 50 ms for failed tasks of k's job ({@link TaskFailures}) and cancels k+1, which goes again
     * after k. Should waiting
     * tasks still starve k of cores (an executor lost without a failure reported in time), they
     * give up after {@link #MIN_WAIT_LIMIT_NANOS} or four times the slowest iteration, return no
     * result, and the driver computes their partitions in a job of its own with the parameters
     * in the task. Every way, each partition's gradient is computed from the same values, so the
     * bits do not change.
     */
    private final class Pipeline {
        private final int size = spec.parameterCount();
        private final ParameterBlocks.Outbox out = new ParameterBlocks.Outbox(size, !sc.isLocal());
        /** The jobs of iteration {@code iter} and of the one after it (null when not submitted). */
        private PartitionJob.InFlight<Partial> current, next;
        private long lastEnd = System.nanoTime(), slowest;

        /** Iteration {@code iter}'s summed loss and gradient at {@code params}, its successor's job submitted meanwhile. */
        Partial gradient(float[] params, long iter, long totalIters) {
            if (current == null) {
                out.publish(iter, params);
                current = submit(iter);
            }
            if (next == null && iter + 1 < totalIters) next = submit(iter + 1);
            while (!current.awaitEnd(FAILURE_CHECK_NANOS)) {
                if (next != null && failures.failed(current) > 0) {
                    // its retry needs a core, which the next job's waiting tasks may hold: that job goes again later
                    next.cancel();
                    next = null;
                }
            }
            java.util.List<Partial> parts = new java.util.ArrayList<>(current.get());
            current = next;
            next = null;
            out.withdraw(iter);
            int missing = 0;
            for (Partial p : parts) if (p.missing()) missing++;
            if (missing > 0) {
                recomputed += missing;
                // the next job's waiting tasks would hold the cores this job needs: it is submitted again next time
                if (current != null) current.cancel();
                current = null;
                int[] partitions = new int[missing];
                int k = 0;
                for (Partial p : parts) if (p.missing()) partitions[k++] = p.index();
                parts.removeIf(Partial::missing);
                parts.addAll(PartitionJob.run(data.shards(), task(params, iter), Partial.class, partitions));
            }
            long now = System.nanoTime();
            slowest = Math.max(slowest, now - lastEnd);
            lastEnd = now;
            return IndexOrderedSum.combineInOrder(-1, parts, settings.partitions());
        }

        /** The driver's step made {@code params} iteration {@code iter}'s: they go out to its waiting tasks. */
        void stepped(float[] params, long iter) {
            if (current != null) out.publish(iter, params);
        }

        private PartitionJob.InFlight<Partial> submit(long iter) {
            long limit = waitLimitNanos >= 0 ? waitLimitNanos
                    : Math.max(MIN_WAIT_LIMIT_NANOS, WAIT_LIMIT_ITERATIONS * slowest);
            return PartitionJob.submit(data.shards(), new WaitingTask(spec, out.run, iter, size, limit, settings.seed(),
                    shares(), hook));
        }

        /** Cancels the jobs in flight and drops the blocks (at the end, a stop, or a failure). */
        void close() {
            try {
                if (current != null) current.cancel();
                if (next != null) next.cancel();
                out.withdrawAll();
            } catch (RuntimeException e) {
                // a stop (Ctrl-C) may have stopped the context under us: there is nothing left to clean
                if (!sc.sc().isStopped()) throw e;
            }
        }
    }

    /**
     * One job for the run, its tasks long-lived (a local master with a task slot for every
     * partition): the task of partition p loops over the iterations, waiting for each one's
     * parameters (published by the driver as in {@link Pipeline}), computing, and delivering its
     * result as a block; the driver waits for the P blocks, adds them in partition order, steps
     * and publishes. No job, task launch or result message per iteration: a probe of this loop
     * measured under 1 ms of Spark per iteration where a job per iteration left 3.5-7 ms, and the
     * tasks' compute back at one task's own speed (docs/spark.md).
     *
     * <p>Every task must run at once (a slot per partition), or the first ones would wait for
     * the rest for ever. A task that fails is retried by Spark from its job's first iteration,
     * whose parameters are gone: the driver, seeing a new failed attempt, cancels the job and
     * starts another at the current iteration (its tasks recompute the partitions already
     * delivered; a second delivery keeps the first, the same bits). If no gradient comes for
     * {@link #MIN_WAIT_LIMIT_NANOS} or four times the slowest iteration, the driver cancels the
     * job and goes on with a job per iteration.
     */
    private final class Loop {
        private final int size = spec.parameterCount(), partitions = settings.partitions();
        private final ParameterBlocks.Outbox out = new ParameterBlocks.Outbox(size, false); // local masters only
        private PartitionJob.InFlight<Partial> job;
        /** The iteration the job's tasks began at, and the failed attempts (of any job) seen so far. */
        private long jobStart;
        private int failuresSeen;
        private long lastEnd = System.nanoTime(), slowest;
        /** Set when the loop gave up: the run goes on with a job per iteration. */
        boolean broken;
        /** Set when the job's last iteration has been collected: its tasks end by themselves. */
        private boolean lastIterationDone;

        Partial gradient(float[] params, long iter, long totalIters) {
            if (job == null) {
                if (!out.isPublished(iter)) out.publish(iter, params);
                start(iter, totalIters);
            }
            Partial[] parts = new Partial[partitions];
            long waitStart = System.nanoTime();
            while (!ParameterBlocks.awaitDeliveries(() -> collect(iter, parts), FAILURE_CHECK_NANOS)) {
                if (job.isDone()) {
                    job.get(); // a failed job throws Spark's exception, as a job per iteration would
                    start(iter, totalIters); // ended without this iteration (cannot happen): go on in a new one
                    continue;
                }
                // any failed attempt (not only this job's, as Spark's events name it): a restart costs little
                int failed = failures.failedAnywhere();
                if (failed > failuresSeen) {
                    failuresSeen = failed;
                    // a retry starts at the job's first iteration, whose parameters are gone
                    if (jobStart < iter) start(iter, totalIters);
                    continue;
                }
                long limit = waitLimitNanos >= 0 ? waitLimitNanos
                        : Math.max(MIN_WAIT_LIMIT_NANOS, WAIT_LIMIT_ITERATIONS * slowest);
                if (System.nanoTime() - waitStart > limit) {
                    close();
                    broken = true;
                    return SparkTrainer.this.gradient(params, iter);
                }
            }
            for (int p = 0; p < partitions; p++) ParameterBlocks.discard(ParameterBlocks.gradientId(out.run, iter, p));
            out.withdraw(iter);
            lastIterationDone = iter + 1 == totalIters;
            long now = System.nanoTime();
            slowest = Math.max(slowest, now - lastEnd);
            lastEnd = now;
            return IndexOrderedSum.combineInOrder(-1, new java.util.ArrayList<>(java.util.Arrays.asList(parts)), partitions);
        }

        /** Iteration {@code iter}'s delivered results into {@code parts}; true when all are there. */
        private boolean collect(long iter, Partial[] parts) {
            boolean all = true;
            for (int p = 0; p < partitions; p++) {
                if (parts[p] == null) parts[p] = ParameterBlocks.delivered(ParameterBlocks.gradientId(out.run, iter, p));
                all &= parts[p] != null;
            }
            return all;
        }

        /** The driver's step made {@code params} iteration {@code iter}'s: they go out to the waiting tasks. */
        void stepped(float[] params, long iter) {
            out.publish(iter, params);
        }

        private void start(long iter, long totalIters) {
            if (job != null) job.cancel();
            job = PartitionJob.submit(data.shards(), new LoopTask(spec, out.run, iter, totalIters, size, settings.seed(),
                    shares(), hook));
            jobStart = iter;
            failuresSeen = failures.failedAnywhere();
        }

        /** Cancels the job and drops the blocks (at the end, a stop, a failure, or giving up). */
        void close() {
            try {
                // at the end the tasks are returning: let them, so no result reaches a stopped context
                if (job != null && lastIterationDone) job.awaitEnd(2_000_000_000L);
                if (job != null) job.cancel();
                job = null;
                out.withdrawAll();
            } catch (RuntimeException e) {
                if (!sc.sc().isStopped()) throw e; // a stop (Ctrl-C) may have stopped the context under us
            }
        }
    }

    /** What each long-lived task runs: iterations {@code first} to {@code end} of partition p. */
    private record LoopTask(ModelSpec spec, long run, long first, long end, int size, long seed, int[] shares,
                            TaskHook hook) implements PartitionJob.Function<Shard, Partial> {
        @Override
        public Partial apply(int p, Iterator<Shard> shards) {
            Shard shard = shards.next();
            for (long k = first; k < end; k++) {
                Windows w = shard.draw(seed, k, p, shares[p]);
                float[] params = ParameterBlocks.await(ParameterBlocks.id(run, k), size, Long.MAX_VALUE / 4, shares.length);
                Partial r = PartitionGradient.compute(p, spec, params, w, false);
                if (hook != null) hook.afterCompute(k, p, TaskContext.get().attemptNumber());
                ParameterBlocks.deliver(ParameterBlocks.gradientId(run, k, p), r);
            }
            return Partial.missing(p); // the results went out as blocks
        }
    }

    private int[] shares() {
        int P = settings.partitions();
        int[] shares = new int[P];
        for (int p = 0; p < P; p++) shares[p] = Shard.share(settings.batch(), P, p);
        return shares;
    }

    private IterationTask task(float[] params, long iteration) {
        return new IterationTask(spec, params.clone(), settings.seed(), iteration, shares(), hook);
    }

    /**
     * What every task of an overlapped iteration runs: draw its windows, wait for the
     * iteration's parameters, compute, tag with the partition; or, when they do not come in
     * time, return {@link Partial#missing} for the driver to compute.
     */
    private record WaitingTask(ModelSpec spec, long run, long iteration, int size, long limitNanos, long seed,
                               int[] shares, TaskHook hook) implements PartitionJob.Function<Shard, Partial> {
        @Override
        public Partial apply(int p, Iterator<Shard> shards) {
            Shard shard = shards.next();
            Windows w = shard.draw(seed, iteration, p, shares[p]);
            float[] params = ParameterBlocks.await(ParameterBlocks.id(run, iteration), size, limitNanos, shares.length);
            if (params == null) return Partial.missing(p);
            Partial r = PartitionGradient.compute(p, spec, params, w, false);
            if (hook != null) hook.afterCompute(iteration, p, TaskContext.get().attemptNumber());
            return r;
        }
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
