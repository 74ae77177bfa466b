package dev.recur.bench.dl4j;

import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.distribution.UniformDistribution;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.Bidirectional;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.nativeblas.NativeOpsHolder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

/**
 * A case's network on Deeplearning4j: SimpleRnn (or LSTM) layers, each wrapped in
 * {@code Bidirectional(CONCAT)} for bidirectional cases, then an RnnOutputLayer (dense head,
 * softmax, MCXENT). One iteration is {@link #iteration()}: {@code computeGradientAndScore()},
 * DL4J's forward + loss + full BPTT without an updater step.
 *
 * <p>The loss is summed, as CASES.md asks: RnnOutputLayer's MCXENT adds the per-step losses of all
 * B*T rows and, with {@code miniBatch(false)}, neither the score nor the gradients are divided by
 * the batch size (with the default {@code miniBatch(true)} DL4J divides the score by B in
 * computeScore and the gradients by B in its updater). Packed cases (variable lengths) are padded
 * to T with feature and label masks: DL4J still runs all T steps, the masks zero the padded
 * steps' outputs and losses, and the backward direction starts at each sequence's own last step.
 */
final class Dl4jNet {

    final Dl4jCase c;
    final MultiLayerNetwork net;
    final INDArray x, labels, mask;

    Dl4jNet(Dl4jCase c, int in, int out, long seed) {
        this.c = c;
        int h = c.hidden(), d = c.bidirectional() ? 2 : 1;
        double a = 1 / Math.sqrt(h);
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .miniBatch(false)
                .updater(new NoOp())
                .weightInit(new UniformDistribution(-a, a))
                .trainingWorkspaceMode(WorkspaceMode.ENABLED)
                .inferenceWorkspaceMode(WorkspaceMode.ENABLED)
                .list();
        for (int l = 0; l < c.layers(); l++) {
            Layer cell = recurrent(c.cell(), l == 0 ? in : d * h, h);
            list.layer(c.bidirectional() ? new Bidirectional(Bidirectional.Mode.CONCAT, cell) : cell);
        }
        double ah = 1 / Math.sqrt(d * h);
        list.layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nIn(d * h).nOut(out).activation(Activation.SOFTMAX).dataFormat(RNNFormat.NCW)
                .weightInit(new UniformDistribution(-ah, ah)).build());
        MultiLayerConfiguration conf = list.backpropType(BackpropType.Standard).build();
        net = new MultiLayerNetwork(conf);
        net.init();

        // [batch, features, time]: DL4J's NCW layout, set on every layer (a Bidirectional wrapper
        // otherwise leaves the output layer expecting NWC)
        Random rnd = new Random(seed);
        int b = c.batch(), t = c.steps();
        float[] xs = new float[b * in * t];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) rnd.nextGaussian();
        x = Nd4j.create(xs, new long[] {b, in, t}, 'c');
        labels = Nd4j.zeros(DataType.FLOAT, b, out, t);
        for (int s = 0; s < b; s++)
            for (int k = 0; k < t; k++) labels.putScalar(new long[] {s, rnd.nextInt(out), k}, 1f);
        if (c.lengths() != null) {
            mask = Nd4j.zeros(DataType.FLOAT, b, t);
            for (int s = 0; s < b; s++)
                for (int k = 0; k < c.lengths()[s]; k++) mask.putScalar(s, k, 1f);
        } else {
            mask = null;
        }
        net.setInput(x);
        net.setLabels(labels);
        if (mask != null) net.setLayerMaskArrays(mask, mask);
    }

    private static Layer recurrent(String cell, int in, int h) {
        return switch (cell) {
            case "rnn_tanh" -> new SimpleRnn.Builder().nIn(in).nOut(h).activation(Activation.TANH)
                    .dataFormat(RNNFormat.NCW).build();
            case "rnn_relu" -> new SimpleRnn.Builder().nIn(in).nOut(h).activation(Activation.RELU)
                    .dataFormat(RNNFormat.NCW).build();
            case "lstm" -> new LSTM.Builder().nIn(in).nOut(h).activation(Activation.TANH)
                    .dataFormat(RNNFormat.NCW).build();
            default -> throw new IllegalArgumentException("case cell '" + cell + "': DL4J's nn API has no such layer, "
                    + "expected rnn_tanh, rnn_relu or lstm");
        };
    }

    /** Forward + summed softmax cross-entropy + full BPTT; returns the loss. */
    double iteration() {
        net.computeGradientAndScore();
        return net.score();
    }

    /**
     * Asks ND4J, its OpenMP runtime and OpenBLAS for this many threads; call before the first
     * operation of a JVM. {@link Dl4jBench} then checks what the process really used.
     */
    static void useThreads(int n) {
        Nd4j.getEnvironment().setMaxThreads(n);
        Nd4j.getEnvironment().setMaxMasterThreads(n);
        NativeOpsHolder.getInstance().getDeviceNativeOps().setOmpNumThreads(n);
        Nd4j.factory().blas().setMaxThreads(n);
        // ND4J's setter above reaches the JavaCPP binding's own OpenBLAS, which need not be the
        // library ND4J's kernels were linked against: set it in every OpenBLAS mapped
        for (Path lib : mappedOpenblas()) {
            try {
                MethodHandle set = Linker.nativeLinker().downcallHandle(
                        SymbolLookup.libraryLookup(lib, Arena.global()).find("openblas_set_num_threads").orElseThrow(),
                        FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
                set.invoke(n);
            } catch (Throwable e) {
                throw new IllegalStateException("cannot set the threads of " + lib + ": " + e, e);
            }
        }
    }

    /** The OpenBLAS shared libraries mapped into this process, from /proc/self/maps. */
    static List<Path> mappedOpenblas() {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .map(l -> l.substring(l.lastIndexOf(' ') + 1))
                    .filter(p -> p.contains("libopenblas")).distinct().map(Path::of).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** What every mapped OpenBLAS says its thread count is. */
    static String openblasThreads() {
        StringBuilder b = new StringBuilder();
        for (Path lib : mappedOpenblas()) {
            try {
                MethodHandle get = Linker.nativeLinker().downcallHandle(
                        SymbolLookup.libraryLookup(lib, Arena.global()).find("openblas_get_num_threads").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                b.append(b.isEmpty() ? "" : ", ").append(lib.getFileName()).append(' ').append((int) get.invoke());
            } catch (Throwable e) {
                b.append(b.isEmpty() ? "" : ", ").append(lib.getFileName()).append(" ?");
            }
        }
        return b.toString();
    }

    static String threadReport() {
        return "nd4j maxThreads " + Nd4j.getEnvironment().maxThreads()
                + ", maxMasterThreads " + Nd4j.getEnvironment().maxMasterThreads()
                + ", omp max threads " + NativeOpsHolder.getInstance().getDeviceNativeOps().ompGetMaxThreads()
                + ", BLAS (" + Nd4j.factory().blas().getBlasVendor() + ") threads " + Nd4j.factory().blas().getMaxThreads()
                + ", OpenBLAS libraries: " + openblasThreads();
    }
}
