package dev.recur;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * The flat parameter layout is the documented one: PyTorch's state_dict order and names, blocks
 * that tile the array without gaps or overlaps. Offsets here are written out by hand, so the
 * tests that hand parameters to the reference by block name rest on a checked layout.
 */
class ShapeLayoutTest {

    @Test
    void recurSingleLayerModel() {
        Shape s = new Shape(5, 7, 3);
        assertEquals(List.of("U (7, 5)", "W (7, 7)", "b (7,)", "V (3, 7)", "c (3,)"), names(s));
        assertEquals(0, s.inputWeights(0, 0));
        assertEquals(35, s.recurrentWeights(0, 0));
        assertEquals(35 + 49, s.inputBias(0, 0));
        assertEquals(-1, s.recurrentBias(0, 0));
        assertEquals(35 + 49 + 7, s.headWeights());
        assertEquals(35 + 49 + 7 + 21, s.headBias());
        assertEquals(35 + 49 + 7 + 21 + 3, s.size());
        float[] d = new float[s.size()];
        for (int k = 0; k < d.length; k++) d[k] = k;
        Params p = Params.wrap(s, d);
        assertEquals(2 * 5 + 4, p.get("U", 2, 4));
        assertEquals(35 + 3 * 7 + 6, p.get("W", 3, 6));
        assertEquals(35 + 49 + 6, p.get("b", 6, 0));
        assertEquals(35 + 49 + 7 + 2 * 7 + 1, p.get("V", 2, 1));
        assertThrows(IndexOutOfBoundsException.class, () -> p.get("W", 7, 0));
    }

    @Test
    void bidirectionalLstmStackInStateDictOrder() {
        // I = 3, H = 2, O = 4, 2 layers, 2 directions, LSTM (G = 4): G*H = 8 rows per weight
        Shape s = Shape.network(3, 2, 4, 2, true, Cell.LSTM);
        assertEquals(List.of(
                "weight_ih_l0 (8, 3)", "weight_hh_l0 (8, 2)", "bias_ih_l0 (8,)", "bias_hh_l0 (8,)",
                "weight_ih_l0_reverse (8, 3)", "weight_hh_l0_reverse (8, 2)", "bias_ih_l0_reverse (8,)", "bias_hh_l0_reverse (8,)",
                "weight_ih_l1 (8, 4)", "weight_hh_l1 (8, 2)", "bias_ih_l1 (8,)", "bias_hh_l1 (8,)",
                "weight_ih_l1_reverse (8, 4)", "weight_hh_l1_reverse (8, 2)", "bias_ih_l1_reverse (8,)", "bias_hh_l1_reverse (8,)",
                "V (4, 4)", "c (4,)"), names(s));
        int l0 = 24 + 16 + 8 + 8, l1 = 32 + 16 + 8 + 8;     // one direction of layer 0, of layer 1
        assertEquals(0, s.inputWeights(0, 0));
        assertEquals(24, s.recurrentWeights(0, 0));
        assertEquals(40, s.inputBias(0, 0));
        assertEquals(48, s.recurrentBias(0, 0));
        assertEquals(l0, s.inputWeights(0, 1));
        assertEquals(2 * l0, s.inputWeights(1, 0));
        assertEquals(2 * l0 + l1 + 32, s.recurrentWeights(1, 1));
        assertEquals(2 * l0 + 2 * l1, s.headWeights());
        assertEquals(2 * l0 + 2 * l1 + 16 + 4, s.size());
        assertEquals(4, s.layerInput(1));
        assertEquals(4, s.stateBlocks());
        tiles(s);
    }

    @Test
    void noBiasesAndNoHead() {
        Shape s = new Shape(3, 2, 0, 2, 1, Cell.GRU, 0);
        assertEquals(List.of("weight_ih_l0 (6, 3)", "weight_hh_l0 (6, 2)", "weight_ih_l1 (6, 2)", "weight_hh_l1 (6, 2)"), names(s));
        assertEquals(-1, s.inputBias(1, 0));
        assertEquals(18 + 12 + 12 + 12, s.size());
        tiles(s);
    }

    /** Every float of the array belongs to exactly one block, in order. */
    static void tiles(Shape s) {
        int next = 0;
        for (Shape.Block b : s.blocks()) {
            assertEquals(next, b.offset(), b.name() + " starts where the one before ends");
            next += b.length();
        }
        assertEquals(s.size(), next, "the blocks cover the array");
    }

    static List<String> names(Shape s) {
        return s.blocks().stream().map(Shape.Block::toString).toList();
    }
}
