package dev.recur.cli;

import dev.recur.io.ModelFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code recur grad} against a numpy reference, on files numpy writes (float64/float32,
 * int32/int64, batched and unbatched), and numpy reading what recur saves. Skipped where
 * python3 with numpy is absent (the core's tests read a committed numpy fixture instead).
 */
class NumpyInteropTest {

    @TempDir Path dir;

    static boolean numpy() {
        try {
            Process p = new ProcessBuilder("python3", "-c", "import numpy").redirectErrorStream(true).start();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private String python(String script) throws Exception {
        Path f = dir.resolve("s.py");
        Files.writeString(f, script);
        Process p = new ProcessBuilder("python3", f.toString()).directory(dir.toFile()).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "python finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    static final String REFERENCE = """
            import json, sys
            import numpy as np
            ACT = {'tanh': np.tanh, 'sigmoid': lambda a: 1 / (1 + np.exp(-a)), 'relu': lambda a: np.maximum(a, 0)}
            def ref(P, X, Y, H0, act, loss):
                U, W, b, V, c = [P[k].astype(np.float64) for k in 'UWbVc']
                batched = X.ndim == (3 if X.dtype.kind == 'f' else 2)
                if X.dtype.kind != 'f':
                    X = np.eye(U.shape[1])[X]          # one-hot: the reference may build it
                X = X.astype(np.float64)
                if not batched:
                    X = X[:, None]; Y = Y[:, None]; H0 = None if H0 is None else H0[None]
                T, B = X.shape[:2]; H = W.shape[0]
                h = [np.zeros((B, H)) if H0 is None else H0.astype(np.float64)]
                L = 0.0; dys = []
                for t in range(T):
                    hn = ACT[act](X[t] @ U.T + h[-1] @ W.T + b); h.append(hn); o = hn @ V.T + c
                    if loss == 'xent':
                        m = o.max(1, keepdims=True); p = np.exp(o - m); s = p.sum(1, keepdims=True); p /= s
                        L += np.sum(np.log(s[:, 0]) + m[:, 0] - o[np.arange(B), Y[t]])
                        dy = p.copy(); dy[np.arange(B), Y[t]] -= 1
                    else:
                        e = o - Y[t]; L += 0.5 * np.sum(e * e); dy = e
                    dys.append(dy)
                g = {k: np.zeros_like(v) for k, v in zip('UWbVc', (U, W, b, V, c))}; dn = np.zeros((B, H))
                for t in reversed(range(T)):
                    hh = h[t + 1]; gt = dys[t] @ V + dn
                    d = {'tanh': 1 - hh * hh, 'sigmoid': hh * (1 - hh), 'relu': (hh > 0) * 1.0}[act] * gt
                    g['V'] += dys[t].T @ hh; g['c'] += dys[t].sum(0); g['W'] += d.T @ h[t]; g['U'] += d.T @ X[t]
                    g['b'] += d.sum(0); dn = d @ W
                return L, g, (dn if batched else dn[0])
            """;

    @Test
    void gradMatchesANumpyReference() throws Exception {
        assumeTrue(numpy(), "python3 with numpy is not available");
        String[][] cases = {
                // name, activation, loss, input kind, batched, dtypes
                {"a", "tanh", "xent", "float32", "1"},
                {"b", "sigmoid", "mse", "float64", "0"},
                {"c", "relu", "xent", "int64", "1"},
                {"d", "tanh", "mse", "int32", "0"},
        };
        StringBuilder make = new StringBuilder("import numpy as np, json\nrng = np.random.default_rng(3)\nI, H, O, T, B = 5, 9, 4, 7, 3\n");
        for (String[] c : cases) {
            String n = c[0];
            boolean batched = c[4].equals("1");
            String tI = batched ? "(T, B, I)" : "(T, I)", tO = batched ? "(T, B, O)" : "(T, O)";
            String t = batched ? "(T, B)" : "(T,)", h = batched ? "(B, H)" : "(H,)";
            make.append(String.format("""
                    np.savez('%1$s_p.npz', U=rng.standard_normal((H, I)) * .5, W=rng.standard_normal((H, H)) * .4,
                             b=rng.standard_normal(H) * .1, V=rng.standard_normal((O, H)) * .5, c=rng.standard_normal(O) * .1,
                             meta=np.array(json.dumps({'activation': '%2$s', 'loss': '%3$s'})))
                    """, n, c[1], c[2]));
            make.append(c[3].startsWith("float")
                    ? String.format("np.save('%s_x.npy', rng.standard_normal(%s).astype(np.%s))%n", n, tI, c[3])
                    : String.format("np.save('%s_x.npy', rng.integers(0, I, %s).astype(np.%s))%n", n, t, c[3]));
            make.append(c[2].equals("xent")
                    ? String.format("np.save('%s_y.npy', rng.integers(0, O, %s))%n", n, t)
                    : String.format("np.save('%s_y.npy', rng.standard_normal(%s))%n", n, tO));
            make.append(String.format("np.save('%s_h.npy', rng.standard_normal(%s).astype(np.float32))%n", n, h));
        }
        python(make.toString());
        for (String[] c : cases) {
            String n = c[0];
            Cli.Result r = Cli.run("grad", "--model", dir.resolve(n + "_p.npz").toString(), "--inputs",
                    dir.resolve(n + "_x.npy").toString(), "--targets", dir.resolve(n + "_y.npy").toString(), "--h0",
                    dir.resolve(n + "_h.npy").toString(), "--out", dir.resolve(n + "_g.npz").toString());
            assertEquals(0, r.code(), r::toString);
        }
        StringBuilder check = new StringBuilder(REFERENCE);
        for (String[] c : cases) {
            String n = c[0];
            check.append(String.format("""
                    P = np.load('%1$s_p.npz', allow_pickle=False); G = np.load('%1$s_g.npz', allow_pickle=False)
                    L, g, dh0 = ref(P, np.load('%1$s_x.npy'), np.load('%1$s_y.npy'), np.load('%1$s_h.npy'), '%2$s', '%3$s')
                    assert G['loss'].shape == () and G['loss'].dtype == np.float64, G['loss']
                    assert abs(float(G['loss']) - L) <= 1e-5 * abs(L), (float(G['loss']), L)
                    for k in 'UWbVc':
                        assert G['d' + k].dtype == np.float32 and G['d' + k].shape == P[k].shape, k
                        e = np.linalg.norm(G['d' + k] - g[k]) / max(np.linalg.norm(g[k]), 1e-30)
                        assert e < 1e-5, ('%1$s', k, e)
                    assert G['dh0'].shape == dh0.shape, (G['dh0'].shape, dh0.shape)
                    assert np.linalg.norm(G['dh0'] - dh0) / np.linalg.norm(dh0) < 1e-5
                    print('%1$s ok')
                    """, n, c[1], c[2]));
        }
        String out = python(check.toString());
        assertTrue(out.contains("d ok"), out);
    }

    @Test
    void numpyOpensWhatRecurSaves() throws Exception {
        assumeTrue(numpy(), "python3 with numpy is not available");
        Path m = dir.resolve("m.npz");
        assertEquals(0, Cli.run("train", "--iters", "3", "--save", m.toString(), "--progress", "none").code());
        String out = python("""
                import json, numpy as np
                z = np.load('m.npz', allow_pickle=False)
                meta = json.loads(str(z['meta']))
                assert z['U'].dtype == np.float32 and z['W'].shape == (64, 64)
                assert meta['format_version'] == 2 and meta['activation'] == 'tanh' and meta['step'] == 3
                print('ok', sorted(z.files))
                """);
        assertTrue(out.startsWith("ok"), out);
        // and numpy.savez_compressed output, read back by recur
        python("""
                import numpy as np
                z = dict(np.load('m.npz', allow_pickle=False))
                np.savez_compressed('c.npz', **z)
                """);
        ModelFile.Model a = ModelFile.read(m), b = ModelFile.read(dir.resolve("c.npz"));
        org.junit.jupiter.api.Assertions.assertArrayEquals(a.params().data(), b.params().data());
    }
}
