package dev.recur;

import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A step split among threads by rows of W (B below the thread count; a gated cell's by hidden
 * unit, every gate's rows of each) gives bitwise what one thread gives: loss, the top layer's states, every gradient, dL/dx and dL/dh0 (with dL/dh_T in), for both kernel paths, hidden
 * sizes that are and are not multiples of the vector panels, stacks and sequences of
 * different lengths (unidirectional: a bidirectional network at B < threads runs its two
 * directions side by side instead, see DirectionLanesTest). (The shares are whole panels, and each output is computed
 * by the same fma sequence whichever thread owns it.)
 */
class RowSplitTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (int h : new int[] {1, 7, 33, 64, 100, 257}) list.add(Arguments.of(k, Cell.ELMAN, h, 1, false, 1, 2));
            list.add(Arguments.of(k, Cell.ELMAN, 96, 2, false, 1, 2));
            list.add(Arguments.of(k, Cell.ELMAN, 130, 2, false, 2, 3));      // B = 2 on 3 threads, two lengths
            // gated cells split by hidden unit when H is a whole number of panels (33: they do not split)
            for (Cell c : new Cell[] {Cell.LSTM, Cell.GRU}) {
                for (int h : new int[] {33, 64, 96}) list.add(Arguments.of(k, c, h, 1, false, 1, 2));
                list.add(Arguments.of(k, c, 64, 2, false, 1, 2));
                list.add(Arguments.of(k, c, 96, 1, false, 2, 3));        // B = 2 on 3 threads, two lengths
            }
            // (bidirectional networks at B < threads run their directions side by side instead: DirectionLanesTest)
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} {1} H={2} layers={3} bi={4} B={5} threads={6}")
    @MethodSource("cases")
    void splitStepIsBitwiseTheSingleThreadStep(KernelChoice k, Cell cell, int h, int layers, boolean bi, int batch, int threads) {
        Shape shape = Shape.network(5, h, 4, layers, bi, cell);
        Params params = Params.random(shape, 7);
        ThreadedRun.Problem p = ThreadedRun.Problem.of(shape, batch, 23, 5, false, 3);
        // splitHiddenMin(1): every hidden size splits when B < threads
        float[][] one = ThreadedRun.run(p, params, k, 1, 1);
        float[][] split = ThreadedRun.run(p, params, k, threads, 1);
        ThreadedRun.assertBitwise(one, split);
    }
}
