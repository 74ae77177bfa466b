package dev.recur.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.MalformedInputException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.TreeSet;

/** The built-in tasks and the text-file task. */
final class Tasks {
    private Tasks() {}

    static final String DEFAULT = "grammar";
    /** Characters of generated grammar text used for training. */
    static final int GRAMMAR_CHARS = 100_000;
    /** Largest text file accepted (the stream is held as an int per character). */
    static final long MAX_TEXT_BYTES = 512L << 20;

    static final String[][] LIST = {
            {"grammar", "(default) next-character prediction on text from a small seeded grammar; prints the source's "
                    + "entropy floor"},
            {"copy", "copy task: remember 5 symbols over --seq-len steps, recall after a marker (long memory)"},
            {"adding", "adding problem: sum the two marked values of --seq-len (long memory, squared error)"},
            {"text", "character-level language model on a UTF-8 file: use --data FILE"}};

    static String listing() {
        StringBuilder b = new StringBuilder("Built-in tasks (recur train --task NAME):\n");
        for (String[] t : LIST) b.append(String.format("  %-8s %s%n", t[0], t[1]));
        return b.toString();
    }

    static Task builtIn(String name, long seed, double valFraction) {
        return switch (name) {
            case "grammar" -> grammar(seed, valFraction);
            case "copy" -> new CopyTask(seed);
            case "adding" -> new AddingTask(seed);
            case "text" -> throw CliException.usage("--task text needs --data FILE (a UTF-8 text file)");
            default -> throw CliException.usage("--task = '" + name + "', expected one of grammar, copy, adding, text, "
                    + "list");
        };
    }

    static StreamTask grammar(long seed, double valFraction) {
        Grammar g = new Grammar(seed);
        SplittableRandom rnd = new SplittableRandom(Seeds.mix(seed, 0x5e9));
        String train = g.generate(GRAMMAR_CHARS, rnd);
        int valChars = (int) Math.round(GRAMMAR_CHARS * valFraction);
        String val = valChars >= 2 ? g.generate(valChars, rnd) : "";
        int[] vocab = vocabulary(train + val);
        StringBuilder example = new StringBuilder();
        g.sentence(example, new SplittableRandom(seed));
        String desc = String.format("grammar task: %d training characters (%d validation), vocabulary %d, e.g. \"%s\"%n"
                        + "entropy floor of the source: %.4f bits/char",
                train.length(), val.length(), vocab.length, example.toString().strip(), g.entropyBitsPerChar());
        return new StreamTask("grammar", vocab, encode(train, vocab), encode(val, vocab), g.entropyBitsPerChar(), desc,
                new Task.Defaults(64, 32, 16, "adam", 1e-2, 400, 25));
    }

    /** Defaults of the text-file task. */
    static final Task.Defaults TEXT_DEFAULTS = new Task.Defaults(128, 64, 32, "adam", 3e-3, 2000, 50);

    /** A character-level task on a UTF-8 file; the last {@code valFraction} of it is held out. */
    static StreamTask text(Path file, double valFraction) {
        String s = readUtf8(file);
        int[] cps = s.codePoints().toArray();
        if (cps.length < 2) {
            throw CliException.runtime("--data " + file + ": has " + cps.length + " characters, expected at least 2");
        }
        int[] vocab = vocabulary(s);
        int valN = (int) Math.min(cps.length - 2, Math.round(cps.length * valFraction));
        if (valFraction > 0 && valN < 2) valN = 0;
        int trainN = cps.length - valN;
        int[] all = encode(cps, vocab);
        String desc = String.format("text %s: %d characters (%d for training, %d for validation), vocabulary %d",
                file, cps.length, trainN, valN, vocab.length);
        return new StreamTask("text", vocab, Arrays.copyOf(all, trainN), Arrays.copyOfRange(all, trainN, all.length),
                Double.NaN, desc, TEXT_DEFAULTS);
    }

    static String readUtf8(Path file) {
        long size;
        try {
            size = Files.size(file);
        } catch (IOException e) {
            throw CliException.runtime("--data " + file + ": cannot read it (" + describe(e) + ")");
        }
        if (size > MAX_TEXT_BYTES) {
            throw CliException.runtime("--data " + file + ": is " + size + " bytes, expected at most " + MAX_TEXT_BYTES);
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw CliException.runtime("--data " + file + ": cannot read it (" + describe(e) + ")");
        }
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        var result = dec.decode(in, out, true);
        if (result.isError()) {
            throw CliException.runtime("--data " + file + ": is not UTF-8 text (invalid bytes at offset " + in.position()
                    + "), expected a UTF-8 text file");
        }
        dec.flush(out);
        out.flip();
        String s = out.toString();
        if (!s.isEmpty() && s.charAt(0) == '\uFEFF') s = s.substring(1); // byte-order mark
        return s;
    }

    static String describe(IOException e) {
        if (e instanceof java.nio.file.NoSuchFileException) return "no such file";
        if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
        if (e instanceof CharacterCodingException || e instanceof MalformedInputException) return "not valid UTF-8";
        return e.getMessage() != null ? e.getMessage() : e.toString();
    }

    /** Distinct code points, sorted. */
    static int[] vocabulary(String s) {
        TreeSet<Integer> set = new TreeSet<>();
        s.codePoints().forEach(set::add);
        return set.stream().mapToInt(Integer::intValue).toArray();
    }

    static int[] encode(String s, int[] vocab) { return encode(s.codePoints().toArray(), vocab); }

    static int[] encode(int[] cps, int[] vocab) {
        int[] out = new int[cps.length];
        for (int k = 0; k < cps.length; k++) {
            int i = Arrays.binarySearch(vocab, cps[k]);
            if (i < 0) throw new IllegalStateException("code point " + cps[k] + " is not in the vocabulary");
            out[k] = i;
        }
        return out;
    }
}
