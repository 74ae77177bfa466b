package dev.recur.cli;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The default task's source: sentences from a small seeded grammar,
 *
 * <pre>
 *   sentence = NP " " VERB " " NP ". "
 *   NP       = DET " " [ADJ " "] NOUN        (the adjective with probability 1/2)
 * </pre>
 *
 * over word lists made of seeded pronounceable syllables (2 determiners, 4 adjectives, 6 nouns,
 * 5 verbs, all distinct). Every choice is uniform and independent, and the text determines the
 * choices (the word classes are disjoint and words are space-separated), so the entropy rate of
 * the character stream is exactly H(sentence) / E[length of a sentence] bits per character:
 * the floor no model can beat, printed next to the training loss.
 */
final class Grammar {
    private static final String CONSONANTS = "bdfgklmnprstvz";
    private static final String VOWELS = "aeiou";
    private static final double P_ADJ = 0.5;

    final List<String> det = new ArrayList<>(), adj = new ArrayList<>(), noun = new ArrayList<>(),
            verb = new ArrayList<>();

    Grammar(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x6772616d6d6172L);
        LinkedHashSet<String> used = new LinkedHashSet<>();
        fill(det, 2, 1, 1, rnd, used);
        fill(adj, 4, 2, 2, rnd, used);
        fill(noun, 6, 1, 2, rnd, used);
        fill(verb, 5, 2, 3, rnd, used);
    }

    private static void fill(List<String> list, int n, int minSyl, int maxSyl, SplittableRandom rnd,
                             LinkedHashSet<String> used) {
        while (list.size() < n) {
            int syl = minSyl + rnd.nextInt(maxSyl - minSyl + 1);
            StringBuilder w = new StringBuilder();
            for (int k = 0; k < syl; k++) {
                w.append(CONSONANTS.charAt(rnd.nextInt(CONSONANTS.length())));
                w.append(VOWELS.charAt(rnd.nextInt(VOWELS.length())));
            }
            if (rnd.nextInt(3) == 0) w.append(CONSONANTS.charAt(rnd.nextInt(CONSONANTS.length())));
            if (used.add(w.toString())) list.add(w.toString());
        }
    }

    /** Appends sentences to {@code out} until it holds at least {@code chars} characters. */
    String generate(int chars, SplittableRandom rnd) {
        StringBuilder b = new StringBuilder(chars + 64);
        while (b.length() < chars) sentence(b, rnd);
        return b.substring(0, chars);
    }

    void sentence(StringBuilder b, SplittableRandom rnd) {
        nounPhrase(b, rnd);
        b.append(' ').append(pick(verb, rnd)).append(' ');
        nounPhrase(b, rnd);
        b.append(". ");
    }

    private void nounPhrase(StringBuilder b, SplittableRandom rnd) {
        b.append(pick(det, rnd)).append(' ');
        if (rnd.nextDouble() < P_ADJ) b.append(pick(adj, rnd)).append(' ');
        b.append(pick(noun, rnd));
    }

    private static String pick(List<String> words, SplittableRandom rnd) { return words.get(rnd.nextInt(words.size())); }

    /** Entropy rate of the character stream, bits per character. */
    double entropyBitsPerChar() {
        double npBits = log2(det.size()) + binaryEntropy(P_ADJ) + P_ADJ * log2(adj.size()) + log2(noun.size());
        double sentenceBits = 2 * npBits + log2(verb.size());
        double npLen = meanLength(det) + 1 + P_ADJ * (meanLength(adj) + 1) + meanLength(noun);
        double sentenceLen = 2 * npLen + 1 + meanLength(verb) + 1 + 2;
        return sentenceBits / sentenceLen;
    }

    private static double meanLength(List<String> words) {
        double s = 0;
        for (String w : words) s += w.length();
        return s / words.size();
    }

    private static double log2(double x) { return Math.log(x) / Math.log(2); }

    private static double binaryEntropy(double p) { return -(p * log2(p) + (1 - p) * log2(1 - p)); }
}
