package dev.recur;

import dev.recur.kernel.KernelChoice;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A stack of unidirectional layers with fewer sequences than threads runs as a wavefront (the
 * lower layers on one worker, the upper ones and the head on another, a block of steps apart)
 * and gives bitwise what one thread gives: loss, outputs, every gradient, dL/dx, dL/dh0 and an
 * LSTM's dL/dc0, with dL/dh_T coming in. Every cell, 2-4 layers (both stage splits), dense and
 * class inputs, sequences of different lengths over several time blocks, 2 and 3 threads.
 */
class WavefrontTest {

    static Stream<Arguments> cases() {
        List<Arguments> list = new ArrayList<>();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (Cell c : Cell.values()) {
                list.add(Arguments.of(k, c, 33, 2, 1, 2, false));
                list.add(Arguments.of(k, c, 40, 3, 1, 2, true));
                list.add(Arguments.of(k, c, 17, 4, 2, 3, false));   // B = 2 on 3 threads, two lengths
            }
        }
        return list.stream();
    }

    @ParameterizedTest(name = "{0} {1} H={2} layers={3} B={4} threads={5} classes={6}")
    @MethodSource("cases")
    void wavefrontIsBitwiseOneThread(KernelChoice k, Cell cell, int h, int layers, int batch, int threads, boolean classes) {
        Shape shape = Shape.network(5, h, 4, layers, false, cell);
        Params params = Params.random(shape, 13);
        // T = 150: several blocks of steps at B = 1 and 2
        ThreadedRun.Problem p = ThreadedRun.Problem.of(shape, batch, 150, 37, classes, 8);
        float[][] one = ThreadedRun.run(p, params, k, 1, Rnn.DEFAULT_SPLIT_HIDDEN);
        float[][] wave = ThreadedRun.run(p, params, k, threads, Rnn.DEFAULT_SPLIT_HIDDEN);
        ThreadedRun.assertBitwise(one, wave);
    }
}
