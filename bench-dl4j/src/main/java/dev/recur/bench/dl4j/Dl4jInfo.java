package dev.recur.bench.dl4j;

import dev.recur.io.Json;
import org.bytedeco.openblas.global.openblas_nolapack;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URL;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the DL4J peer runs on, as one JSON object for the report: the jars (by file name, which
 * carries the version), the OpenBLAS actually loaded, the thread settings ND4J reports, and a
 * check of the loss set-up on tiny networks.
 *
 * <pre>
 *   java -cp bench-dl4j/target/benchmarks-dl4j.jar dev.recur.bench.dl4j.Dl4jInfo [THREADS]
 * </pre>
 *
 * The check: DL4J's score must equal the summed softmax cross-entropy over the valid steps,
 * recomputed here from the network's own output probabilities, and the output bias's gradient
 * must equal the sum over valid steps of (p - onehot(y)). Both fail if DL4J averaged over the
 * batch, or counted masked (padded) steps. For the masked bidirectional network, each sequence's
 * output probabilities must also equal those of the same network run on that sequence alone,
 * cut to its length.
 */
public final class Dl4jInfo {

    private Dl4jInfo() {}

    public static void main(String[] args) {
        int threads = 1;
        if (args.length > 0) {
            try {
                threads = Integer.parseInt(args[0]);
            } catch (NumberFormatException e) {
                threads = 0;
            }
            if (threads < 1) {
                System.err.println("Dl4jInfo: THREADS '" + args[0] + "': expected an integer >= 1");
                System.exit(2);
            }
        }
        Dl4jNet.useThreads(threads);
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("deeplearning4j_nn", jarOf(MultiLayerNetwork.class.getProtectionDomain().getCodeSource().getLocation()));
        v.put("nd4j_api", jarOf(Nd4j.class.getProtectionDomain().getCodeSource().getLocation()));
        v.put("nd4j_backend", Nd4j.getBackend().getClass().getSimpleName());
        v.put("nd4j_native", jarOf(Nd4j.getBackend().getClass().getProtectionDomain().getCodeSource().getLocation()));
        v.put("blas_vendor", String.valueOf(Nd4j.factory().blas().getBlasVendor()));
        v.put("openblas_natives", jarOf(openblas_nolapack.class.getResource("/org/bytedeco/openblas/linux-x86_64/libopenblas.so.0")));
        v.put("openblas_classes", jarOf(openblas_nolapack.class.getProtectionDomain().getCodeSource().getLocation()));
        v.putAll(loadedOpenblas());
        v.put("jdk", Runtime.version().toString());

        Map<String, Object> check = new LinkedHashMap<>();
        boolean ok = check("elman_tanh", new Dl4jCase("tiny", "rnn_tanh", 1, false, 7, 2, 6, null, 12, 0), check);
        ok &= check("elman_2layer_bidirectional_masked",
                new Dl4jCase("tiny-bi", "rnn_tanh", 2, true, 4, 3, 6, new int[] {6, 3, 5}, 14, 0), check);
        check.put("pass", ok);

        Map<String, Object> out = new LinkedHashMap<>();
        out.put("peer", "dl4j");
        out.put("kind", "info");
        out.put("threads", threads);
        out.put("threads_report", Dl4jNet.threadReport());
        out.put("cases", Dl4jCase.supported());
        out.put("versions", v);
        out.put("check", check);
        System.out.println(Json.write(out));
        System.exit(ok ? 0 : 1);
    }

    private static boolean check(String name, Dl4jCase c, Map<String, Object> into) {
        int in = 5, outN = 3;
        Dl4jNet n = new Dl4jNet(c, in, outN, 7);
        double score = n.iteration();
        INDArray p = n.net.output(n.x, false, n.mask, n.mask);   // [B, O, T] softmax outputs
        INDArray dc = n.net.gradient().getGradientFor(biasKey(n.net));
        double loss = 0;
        double[] sumDc = new double[outN];
        for (int b = 0; b < c.batch(); b++) {
            int len = c.lengths() == null ? c.steps() : c.lengths()[b];
            for (int t = 0; t < len; t++) {
                for (int k = 0; k < outN; k++) {
                    double pk = p.getDouble(b, k, t), yk = n.labels.getDouble(b, k, t);
                    if (yk == 1) loss -= Math.log(pk);
                    sumDc[k] += pk - yk;
                }
            }
        }
        double dcErr = 0, dcMax = 0;
        for (int k = 0; k < outN; k++) {
            dcErr = Math.max(dcErr, Math.abs(dc.getDouble(k) - sumDc[k]));
            dcMax = Math.max(dcMax, Math.abs(sumDc[k]));
        }
        double lossErr = Math.abs(score - loss) / Math.abs(loss), biasErr = dcErr / dcMax;
        // A masked sequence must give what it gives alone at its own length: the backward
        // direction has to start at the sequence's last valid step, not at the padding.
        double unpaddedErr = 0;
        if (c.lengths() != null) {
            for (int b = 0; b < c.batch(); b++) {
                int len = c.lengths()[b];
                INDArray alone = n.net.output(n.x.get(NDArrayIndex.interval(b, b + 1), NDArrayIndex.all(),
                        NDArrayIndex.interval(0, len)).dup(), false);
                INDArray masked = p.get(NDArrayIndex.interval(b, b + 1), NDArrayIndex.all(), NDArrayIndex.interval(0, len));
                unpaddedErr = Math.max(unpaddedErr, alone.sub(masked).amaxNumber().doubleValue());
            }
        }
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("score", score);
        r.put("summed_ce_valid_steps", loss);
        r.put("loss_rel_err", lossErr);
        r.put("output_bias_grad_rel_err", biasErr);
        if (c.lengths() != null) r.put("masked_vs_alone_max_abs_diff", unpaddedErr);
        into.put(name, r);
        return lossErr < 1e-4 && biasErr < 1e-4 && unpaddedErr < 1e-5;
    }

    /** The output layer's bias gradient key, e.g. "2_b" for a network of two recurrent layers. */
    private static String biasKey(MultiLayerNetwork net) {
        return (net.getnLayers() - 1) + "_b";
    }

    /**
     * Every OpenBLAS library this process mapped (JavaCPP extracts them to its cache; ND4J's
     * native jar and the openblas artifact each bring one) and what each says about itself. The
     * Java bindings ND4J ships have no openblas_get_config, so it is called through the JDK's
     * foreign function API.
     */
    private static Map<String, Object> loadedOpenblas() {
        Map<String, Object> r = new LinkedHashMap<>();
        int i = 0;
        for (Path lib : Dl4jNet.mappedOpenblas()) {
            String k = "openblas" + (i++ == 0 ? "" : "_" + i);
            r.put(k + "_library", lib.toString());
            try {
                SymbolLookup blas = SymbolLookup.libraryLookup(lib, Arena.global());
                r.put(k, cString(blas, "openblas_get_config"));
                r.put(k + "_core", cString(blas, "openblas_get_corename"));
                MethodHandle n = Linker.nativeLinker().downcallHandle(blas.find("openblas_get_num_threads").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT));
                r.put(k + "_threads", (int) n.invoke());
            } catch (Throwable e) {
                r.put(k + "_error", String.valueOf(e));
            }
        }
        return r;
    }

    private static String cString(SymbolLookup lib, String function) throws Throwable {
        MethodHandle h = Linker.nativeLinker().downcallHandle(lib.find(function).orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS));
        return ((MemorySegment) h.invoke()).reinterpret(4096).getString(0);
    }

    private static String jarOf(URL u) {
        if (u == null) return "not found";
        String s = u.toString();
        int bang = s.indexOf("!/");
        if (bang >= 0) s = s.substring(0, bang);
        return s.substring(s.lastIndexOf('/') + 1);
    }
}
