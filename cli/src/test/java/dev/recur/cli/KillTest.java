package dev.recur.cli;

import dev.recur.io.ModelFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Atomic saves under kill -9: a training process saving after every iteration is killed at
 * seeded random moments; after each kill the model file must be a complete model (an old or a
 * new one, never a torn one) and the next run resumes from it. The chain, finished with a last
 * resume, must reach bitwise the parameters of an uninterrupted run. Bounded (about a minute);
 * {@code -Drecur.kill.rounds=N} runs more rounds.
 */
class KillTest {

    @TempDir Path dir;

    static final int ROUNDS = Integer.getInteger("recur.kill.rounds", 6);
    static final String CONFIG = "--hidden 24 --seq-len 16 --batch 4 --progress none --sample 0 --val-every 100000 --seed 9";
    static final int TOTAL = 4000;

    @Test
    void killedSavesAreAlwaysCompleteAndResumable() throws Exception {
        Path model = dir.resolve("m.npz");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String cp = System.getProperty("java.class.path");
        SplittableRandom rnd = new SplittableRandom(0x6b696c6cL);
        long lastStep = -1;
        int killed = 0;
        for (int round = 0; round < ROUNDS; round++) {
            List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-cp", cp,
                    "dev.recur.cli.Main", "train"));
            cmd.addAll(List.of(CONFIG.split(" ")));
            cmd.addAll(List.of("--iters", Integer.toString(TOTAL), "--save", model.toString(), "--save-every", "1"));
            if (Files.exists(model)) cmd.add("--resume");
            Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(dir.resolve("err" + round + ".txt").toFile()).start();
            // kill at a random moment after this process's first save: counting from its start
            // instead made the test flaky on a loaded machine, where JVM start-up alone took longer
            long before = Files.exists(model) ? Files.getLastModifiedTime(model).toMillis() : -1;
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (p.isAlive() && System.nanoTime() < deadline
                    && (!Files.exists(model) || Files.getLastModifiedTime(model).toMillis() == before)) {
                Thread.sleep(20);
            }
            long waitMs = 50 + rnd.nextInt(1500);
            if (!p.waitFor(waitMs, TimeUnit.MILLISECONDS)) {
                p.destroyForcibly(); // SIGKILL: no shutdown hook runs
                killed++;
            }
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            if (!Files.exists(model)) continue; // killed before the first save
            ModelFile.Model m = ModelFile.read(model); // complete: all CRCs and shapes check
            long step = (Long) m.meta().get("step");
            assertTrue(step >= lastStep, "the saved step never goes back: " + step + " after " + lastStep);
            assertEquals(step, ((Number) ((java.util.Map<?, ?>) m.meta().get("optimizer")).get("steps")).longValue(),
                    "parameters and optimiser state come from the same save");
            lastStep = step;
            if (step >= TOTAL) break;
        }
        assertTrue(killed >= 1, "at least one process was killed mid-run");
        String log = Files.readString(dir.resolve("err0.txt"));
        assertTrue(lastStep > 0, "some progress was saved; first run's stderr: " + log);
        // finish the chain in-process, and compare with an uninterrupted run
        Cli.Result fin = Cli.run(args(CONFIG + " --iters " + TOTAL + " --save " + model + " --resume"));
        assertTrue(fin.code() == 0 || fin.err().contains("already at iteration"), fin::toString);
        Path whole = dir.resolve("whole.npz");
        Cli.Result ref = Cli.run(args(CONFIG + " --iters " + TOTAL + " --save " + whole));
        assertEquals(0, ref.code(), ref::toString);
        assertArrayEquals(ModelFile.read(whole).params().data(), ModelFile.read(model).params().data(),
                "killed and resumed " + killed + " times, the run reaches the uninterrupted parameters");
        // leftover temporaries from killed saves are hidden dot-files, never the model itself
        try (var s = Files.list(dir)) {
            s.filter(f -> f.getFileName().toString().endsWith(".tmp"))
                    .forEach(f -> assertTrue(f.getFileName().toString().startsWith(".m.npz."), f.toString()));
        }
        assertTrue(new File(model.toString()).length() > 0);
    }

    /** SIGTERM (as Ctrl-C's SIGINT) runs the shutdown hook: the run saves where it stopped. */
    @Test
    void terminationSavesBeforeExit() throws Exception {
        Path model = dir.resolve("t.npz");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), "dev.recur.cli.Main",
                "train"));
        cmd.addAll(List.of(CONFIG.split(" ")));
        cmd.addAll(List.of("--iters", "1000000", "--save", model.toString()));
        Path err = dir.resolve("term.txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(err.toFile())
                .start();
        Thread.sleep(4000);
        p.destroy(); // SIGTERM
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        String log = Files.readString(err);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("interrupted at iteration (\\d+); saved").matcher(log);
        assertTrue(m.find(), log);
        assertEquals(Long.parseLong(m.group(1)), ModelFile.read(model).meta().get("step"), log);
    }

    private static String[] args(String s) {
        List<String> a = new ArrayList<>(List.of("train"));
        a.addAll(List.of(s.split(" ")));
        return a.toArray(String[]::new);
    }
}
