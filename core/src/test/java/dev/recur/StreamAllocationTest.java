package dev.recur;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.recur.kernel.KernelChoice;

import java.lang.management.ManagementFactory;

import org.junit.jupiter.api.Test;

/**
 * An inference stream's step allocates nothing, nor does a training call per row. Runs in a
 * JVM of its own (surefire execution {@code allocation} in core/pom.xml): in the JVM of the whole suite, C2 compiled with the
 * profiles of every other test has been seen to leave a vector helper of the Elman B = 1 path
 * un-inlined, boxing on every step; in a fresh JVM, as an application runs, it does not.
 */
class StreamAllocationTest {

    /**
     * The driver allocates nothing per step (scalar kernels: no JIT needed for that), and once
     * C2 has compiled them neither do the vector kernels of every cell: a vector kernel whose
     * helpers C2 fails to inline boxes its vectors (it happened to the gated cells' steps), so
     * this waits, up to 60 s, for a window of steps that allocates nothing.
     */
    @Test
    void aStepAllocatesNothing() {
        Object mx = ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().threadId();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (Cell cell : Cell.values()) {
                Shape shape = Shape.network(16, 64, 16, 2, false, cell);
                Params p = Params.random(shape, 1);
                float[] x = InferenceStreamTest.random(4 * 16, 2), o = new float[4 * 16];
                try (Rnn rnn = Rnn.builder(shape).kernels(k).build()) {
                    for (int batch : new int[] {1, 4}) {
                        InferenceStream s = rnn.stream(p, batch);
                        long deadline = System.nanoTime() + 60_000_000_000L, bytes;
                        do {
                            long before = allocated(mx, thread);
                            for (int i = 0; i < 2_000; i++) s.step(x, 0, o, 0);
                            bytes = allocated(mx, thread) - before;
                        } while (bytes > 1_000 && System.nanoTime() < deadline);
                        assertTrue(bytes <= 1_000, k + " " + cell + " batch " + batch + ": " + bytes + " bytes over 2000 steps");
                    }
                }
            }
        }
    }

    /**
     * A training call (forward with the softmax loss, backward) on one thread allocates no more
     * per call than the driver's few small objects, whatever the number of rows: the vector
     * softmax once boxed a vector in every row (C2 left its lane sum un-inlined), 3 MB a batch
     * of 6,400 rows. Here 400 rows a call, so a boxing row kernel shows as ~200 KB a call.
     */
    @Test
    void aTrainingCallAllocatesNothingPerRow() {
        Object mx = ManagementFactory.getThreadMXBean();
        long thread = Thread.currentThread().threadId();
        for (KernelChoice k : new KernelChoice[] {KernelChoice.SCALAR, KernelChoice.VECTOR}) {
            for (Cell cell : Cell.values()) {
                Shape shape = cell == Cell.ELMAN ? new Shape(19, 64, 19) : Shape.network(19, 64, 19, 1, false, cell);
                Params p = Params.random(shape, 3);
                for (int B : new int[] {1, 8}) {
                    int T = 400 / B;
                    float[] x = InferenceStreamTest.random(B * T * 19, 4);
                    int[] y = new int[B * T];
                    for (int i = 0; i < y.length; i++) y[i] = (i * 7) % 19;
                    Grads g = Grads.zeros(shape);
                    try (Rnn rnn = Rnn.builder(shape).kernels(k).build()) {
                        Workspace ws = rnn.trainingWorkspace(B, T);
                        Batch b = new Batch(B, T).input(x).targets(y).loss(Loss.CROSS_ENTROPY);
                        long deadline = System.nanoTime() + 60_000_000_000L, perCall;
                        do {
                            long before = allocated(mx, thread);
                            for (int i = 0; i < 50; i++) {
                                rnn.forward(p, ws, b);
                                rnn.backward(p, ws, g, null);
                            }
                            perCall = (allocated(mx, thread) - before) / 50;
                        } while (perCall > 4_000 && System.nanoTime() < deadline);
                        assertTrue(perCall <= 4_000, k + " " + cell + " B = " + B + ": " + perCall + " bytes a call of "
                                + B * T + " rows");
                    }
                }
            }
        }
    }

    /** com.sun.management.ThreadMXBean#getThreadAllocatedBytes, by reflection: core's module does not read jdk.management. */
    static long allocated(Object bean, long thread) {
        try {
            return (long) Class.forName("com.sun.management.ThreadMXBean").getMethod("getThreadAllocatedBytes", long.class)
                    .invoke(bean, thread);
        } catch (ReflectiveOperationException e) {
            throw new AssertionError("this JVM cannot count allocated bytes", e);
        }
    }
}
