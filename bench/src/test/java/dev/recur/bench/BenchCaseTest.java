package dev.recur.bench;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** cases.json agrees with the definitions in CASES.md, so no peer reads a wrong derived number. */
class BenchCaseTest {

    @Test
    void derivedFieldsFollowTheConvention() {
        List<BenchCase> all = BenchCase.all();
        for (String id : List.of("0", "1", "2", "3", "4", "5", "6", "7", "8", "bi1", "bi64",
                "lstm1", "lstm3", "lstm5", "lstm6", "gru1", "gru3", "gru5", "gru6")) {
            assertTrue(BenchCase.exists(id), "case " + id);
        }
        for (BenchCase c : all) {
            assertEquals(c.conventionFlopsPerStep(), c.flopsPerStep(), "flops_per_step of case " + c.id());
            long steps = c.lengths() == null ? (long) c.batch() * c.steps()
                    : c.lengths().stream().mapToLong(Integer::longValue).sum();
            assertEquals(steps, c.stepsPerIteration(), "steps_per_iteration of case " + c.id());
        }
        // the one-layer Elman formula of CASES.md, written out
        BenchCase c6 = BenchCase.byId("6");
        assertEquals(6L * 1024 * 1024 + 6L * 1024 * 64 + 6L * 1024 * 64, c6.flopsPerStep());
    }

    @Test
    void classicCasesMatchTheReferenceConfigs() {
        for (PeerConfigs p : PeerConfigs.ALL) {
            BenchCase c = BenchCase.byId(Integer.toString(p.index()));
            assertEquals(p.hidden(), c.hidden());
            assertEquals(p.batch(), c.batch());
            assertEquals(p.steps(), c.steps());
            assertEquals(p.activation(), c.activation());
            assertEquals(1, c.layers());
            assertNull(c.lengths());
        }
    }

    @Test
    void packedLengthsAreTheSeededDraw() {
        BenchCase c = BenchCase.byId("bi64");
        assertNotNull(c.lengths());
        int lo = c.steps() / 2, hi = c.steps();
        long state = 2026;
        List<Integer> expected = new ArrayList<>();
        for (int b = 0; b < c.batch(); b++) {
            // SplitMix64, as CASES.md defines the draw
            state += 0x9E3779B97F4A7C15L;
            long z = state;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z = z ^ (z >>> 31);
            expected.add(lo + (int) (((z >>> 11) * (hi - lo + 1)) >>> 53));
        }
        assertEquals(expected, c.lengths());
        assertTrue(c.lengths().stream().allMatch(l -> l >= lo && l <= hi));
    }

    @Test
    void unknownIdIsAClearError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BenchCase.byId("9"));
        assertTrue(e.getMessage().contains("'9'") && e.getMessage().contains("bi64"), e.getMessage());
    }
}
