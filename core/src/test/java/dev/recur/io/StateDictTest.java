package dev.recur.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.Cell;
import dev.recur.Params;
import dev.recur.Shape;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Models with PyTorch's state_dict names: layers, directions, the cell and the sizes come from
 * the keys and shapes; a model recur writes reads back to the same bits; every malformed model is
 * refused with a message naming the key.
 */
class StateDictTest {

    @TempDir Path dir;

    /** The arrays PyTorch's state_dict of such a network would hold (plus V, c), with distinct values. */
    static Map<String, NpyArray> stateDict(Shape s) {
        Params p = Params.random(s, 3);
        for (int k = 0; k < p.data().length; k++) p.data()[k] += 0.001f * k;
        Map<String, NpyArray> a = new LinkedHashMap<>(ModelFile.toArrays(p, null, null));
        a.remove("meta");
        return a;
    }

    @Test
    void shapesComeFromKeysAndShapes() throws IOException {
        for (Cell cell : Cell.values()) {
            for (int layers : new int[] {1, 3}) {
                for (boolean bi : new boolean[] {false, true}) {
                    Shape s = Shape.network(5, 7, 4, layers, bi, cell);
                    Map<String, NpyArray> a = stateDict(s);
                    ModelFile.Model m = ModelFile.fromArrays(a, "m.npz");
                    assertEquals(s, m.shape(), "from the keys of " + s);
                    for (Shape.Block b : s.blocks()) {
                        assertArrayEquals(a.get(b.name()).toFloats(), m.params().copyOf(b.name()), b.name());
                    }
                }
            }
        }
        // bias=False: no bias keys, no biases; no head: no V, c
        Shape noBias = new Shape(5, 7, 4, 2, 2, Cell.GRU, 0);
        assertEquals(noBias, ModelFile.fromArrays(stateDict(noBias), "m").shape());
        Shape headless = Shape.network(5, 7, 0, 2, false, Cell.LSTM);
        assertEquals(headless, ModelFile.fromArrays(stateDict(headless), "m").shape());
    }

    @Test
    void writeThenReadIsBitwiseAndKeepsExtrasOutOfTheStateDict() throws IOException {
        Shape s = Shape.network(3, 5, 2, 2, true, Cell.ELMAN);
        Params p = Params.random(s, 11);
        Path f = dir.resolve("net.npz");
        ModelFile.write(f, p, Map.of("activation", "relu"), Map.of("adam_m", NpyArray.of(new float[] {1, 2}, 2)));
        Map<String, NpyArray> raw = Npz.read(f);
        assertTrue(raw.containsKey("meta.adam_m"), "extras of a network model are stored under meta.*: " + raw.keySet());
        for (String k : raw.keySet()) {
            assertTrue(k.startsWith("weight_") || k.startsWith("bias_") || k.equals("V") || k.equals("c") || k.startsWith("meta"), k);
        }
        ModelFile.Model m = ModelFile.read(f);
        assertEquals(s, m.shape());
        assertArrayEquals(p.data(), m.params().data());
        assertEquals("relu", m.meta().get("activation"));
        assertArrayEquals(new float[] {1, 2}, m.extra().get("adam_m").toFloats());
        // recur's single-layer model keeps its own names
        Path g = dir.resolve("one.npz");
        ModelFile.write(g, Params.random(new Shape(3, 5, 2), 1), null, Map.of("train_h", NpyArray.of(new float[] {1}, 1)));
        assertEquals(List.of("U", "W", "b", "V", "c", "meta", "train_h"), List.copyOf(Npz.read(g).keySet()));
    }

    static void refused(Map<String, NpyArray> a, String... fragments) {
        NpyFormatException e = assertThrows(NpyFormatException.class, () -> ModelFile.fromArrays(a, "m.npz"));
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + e.getMessage() + "' lacks '" + f + "'");
        assertTrue(e.getMessage().startsWith("m.npz: "), e.getMessage());
    }

    @Test
    void malformedStateDictsAreRefusedNamingTheKey() {
        Shape s = Shape.network(3, 5, 2, 2, true, Cell.LSTM);
        Map<String, NpyArray> missing = stateDict(s);
        missing.remove("weight_hh_l1_reverse");
        refused(missing, "has no array 'weight_hh_l1_reverse'", "2-layer bidirectional");
        Map<String, NpyArray> oneBias = stateDict(s);
        oneBias.remove("bias_hh_l0");
        refused(oneBias, "'bias_hh_l0'");
        Map<String, NpyArray> extra = stateDict(s);
        extra.put("running_mean", NpyArray.of(new float[] {0}, 1));
        refused(extra, "unexpected key 'running_mean'");
        Map<String, NpyArray> wrong = stateDict(s);
        wrong.put("weight_ih_l1", NpyArray.of(new float[20 * 7], 20, 7));
        refused(wrong, "weight_ih_l1 has shape (20, 7)", "expected (20, 10)");
        Map<String, NpyArray> proj = stateDict(s);
        proj.put("weight_hr_l0", NpyArray.of(new float[15], 3, 5));
        refused(proj, "weight_hr_l0", "proj_size");
        Map<String, NpyArray> noC = stateDict(s);
        noC.remove("c");
        refused(noC, "V but no c");
        Map<String, NpyArray> badV = stateDict(s);
        badV.put("V", NpyArray.of(new float[10], 2, 5));
        refused(badV, "V has shape (2, 5)", "expected (O, 10)", "both directions'");
        Map<String, NpyArray> gates = stateDict(Shape.network(3, 5, 2, 1, false, Cell.ELMAN));
        gates.put("weight_hh_l0", NpyArray.of(new float[10 * 5], 10, 5));
        refused(gates, "weight_hh_l0 has shape (10, 5)", "G = 1 (rnn), 3 (gru) or 4 (lstm)");
        Map<String, NpyArray> ints = stateDict(Shape.network(3, 5, 2, 1, false, Cell.ELMAN));
        ints.put("bias_ih_l0", NpyArray.of(new int[5], 5));
        refused(ints, "bias_ih_l0 is int32", "float32 or float64");
        Map<String, NpyArray> nan = stateDict(Shape.network(3, 5, 2, 1, false, Cell.ELMAN));
        float[] v = nan.get("weight_hh_l0").toFloats();
        v[4] = Float.NaN;
        nan.put("weight_hh_l0", NpyArray.of(v, 5, 5));
        refused(nan, "weight_hh_l0 holds NaN at flat index 4");
        Map<String, NpyArray> meta = stateDict(s);
        meta.put("meta", NpyArray.ofString("{\"shape\": {\"cell\": \"gru\"}}"));
        refused(meta, "meta.shape.cell = \"gru\"", "\"lstm\"");
    }

    @Test
    void aNumpyStateDictFileReads() throws IOException {
        // the file numpy.savez(**state_dict, V=..., c=...) writes: plain float32 arrays, no meta
        Shape s = Shape.network(4, 6, 3, 2, true, Cell.GRU);
        Path f = dir.resolve("torch.npz");
        Npz.write(f, stateDict(s), false);
        assertFalse(Files.size(f) == 0);
        assertEquals(s, ModelFile.read(f).shape());
    }
}
