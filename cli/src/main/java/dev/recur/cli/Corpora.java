package dev.recur.cli;

/**
 * The character corpora of {@code recur train}'s stream tasks, for other front ends that train
 * on them ({@code recur spark train}): the same text, vocabulary and defaults as the built-in
 * task, so a model from either one fits the other and {@code recur sample} reads both.
 */
public final class Corpora {
    private Corpora() {}

    /** The name of the task {@code recur train} runs when given no data. */
    public static final String DEFAULT_TASK = Tasks.DEFAULT;

    /** Defaults a task suggests for the options not given. */
    public record Defaults(int hidden, int seqLen, int batch, String optimizer, double lr, long iters, long logEvery) {
        static Defaults of(Task.Defaults d) {
            return new Defaults(d.hidden(), d.seqLen(), d.batch(), d.optimizer(), d.lr(), d.iters(), d.logEvery());
        }
    }

    /**
     * A character corpus: {@code train} holds symbol indices into {@code vocabulary} (index to
     * character, as a string of code points); {@code entropyBits} is the source's entropy rate in
     * bits per character, or NaN when not known.
     */
    public record CharCorpus(String name, String vocabulary, int[] train, double entropyBits, Defaults defaults) {}

    /** The default task's corpus: text from the seeded grammar, as {@code recur train --seed SEED} trains on. */
    public static CharCorpus grammar(long seed) {
        StreamTask t = Tasks.grammar(seed, 0.1);
        return new CharCorpus(t.name(), t.vocabulary(), t.train(), t.entropyBits(), Defaults.of(t.defaults()));
    }

    /** The defaults of {@code recur train --data FILE}. */
    public static Defaults textDefaults() { return Defaults.of(Tasks.TEXT_DEFAULTS); }
}
