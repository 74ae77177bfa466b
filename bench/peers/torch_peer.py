#!/usr/bin/python3
"""PyTorch peer of recur: the cases of cases.json (defined in CASES.md) on nn.RNN / nn.LSTM /
nn.GRU + nn.Linear + cross_entropy(reduction='sum') + backward(), float32, CPU.

Run it with the Debian python that has python3-torch, OpenBLAS in front of the system BLAS and
glibc malloc tuned (without the tuning, torch's backward at B = 1, large H page-faults a fresh
H x H gradient buffer every step and measures the kernel's page handling, not the RNN):

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=4294967296 MALLOC_TOP_PAD_=268435456 \\
    LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp \\
      /usr/bin/python3 bench/peers/torch_peer.py --threads 1 --cases 0,5,bi64 --out torch-t1.json

    /usr/bin/python3 bench/peers/torch_peer.py --check     # the set-up against a float64 numpy BPTT

Output: a JSON object {"peer": "pytorch", "threads", "versions", "env", "results": [...]}, one
result per case with its id, threads, steps/s, GFLOP/s (CASES.md's convention) and the times.
"""
import argparse
import ctypes
import json
import math
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
MALLOC_TUNING = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "4294967296",
                 "MALLOC_TOP_PAD_": "268435456"}


def fail(msg):
    """Bad input: one line naming the argument, the value and what was expected; exit status 2."""
    print(f"torch_peer: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_args():
    ap = argparse.ArgumentParser(description="PyTorch peer benchmark over bench/peers/cases.json")
    ap.add_argument("--threads", type=int, default=1, help="intra-op threads (torch and OpenBLAS)")
    ap.add_argument("--cases", default="", help="comma list of case ids (default: all)")
    ap.add_argument("--min-time", type=float, default=2.0, help="seconds of timed repetitions per case")
    ap.add_argument("--min-reps", type=int, default=5, help="at least this many timed repetitions")
    ap.add_argument("--warmup", type=int, default=2, help="untimed iterations before timing")
    ap.add_argument("--out", help="write the JSON here (default: stdout)")
    ap.add_argument("--cases-file", default=os.path.join(HERE, "cases.json"))
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--check", action="store_true", help="check the set-up on tiny cases and exit")
    a = ap.parse_args()
    if a.threads < 1:
        fail(f"--threads {a.threads}: expected an integer >= 1")
    if not a.min_time > 0:
        fail(f"--min-time {a.min_time}: expected seconds > 0")
    if a.min_reps < 1:
        fail(f"--min-reps {a.min_reps}: expected an integer >= 1")
    if a.warmup < 0:
        fail(f"--warmup {a.warmup}: expected an integer >= 0")
    return a


def load_cases(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except FileNotFoundError:
        fail(f"--cases-file {path}: not found, expected bench/peers/cases.json")
    except json.JSONDecodeError as e:
        fail(f"--cases-file {path}: not JSON ({e})")
    if doc.get("format") != 1:
        fail(f"--cases-file {path}: format {doc.get('format')!r}, expected 1")
    return doc


def select(doc, spec):
    by_id = {c["id"]: c for c in doc["cases"]}
    if not spec:
        return list(doc["cases"])
    out = []
    for cid in spec.split(","):
        cid = cid.strip()
        if cid not in by_id:
            fail(f"--cases: unknown case id '{cid}', expected some of {','.join(by_id)}")
        out.append(by_id[cid])
    return out


# ------------------------------------------------------------------ the network of a case

def build(case, I, O, seed):
    """Modules, inputs and one training iteration for a case, exactly as CASES.md defines it.

    The --check mode calls this with tiny shapes, so the code it checks is the code that is timed.
    Returns (iteration, modules, data) where iteration() runs forward + loss + backward and
    returns the loss as a tensor.
    """
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.rnn import pack_padded_sequence

    torch.manual_seed(seed)
    H, B, T, L = case["hidden"], case["batch"], case["steps"], case["layers"]
    bi = case["bidirectional"]
    D = 2 if bi else 1
    cell = case["cell"]
    if cell in ("rnn_tanh", "rnn_relu"):
        rnn = nn.RNN(I, H, num_layers=L, nonlinearity=cell[4:], bidirectional=bi)
    elif cell == "lstm":
        rnn = nn.LSTM(I, H, num_layers=L, bidirectional=bi)
    elif cell == "gru":
        rnn = nn.GRU(I, H, num_layers=L, bidirectional=bi)
    else:
        fail(f"case {case['id']}: cell '{cell}', expected rnn_tanh, rnn_relu, lstm or gru")
    head = nn.Linear(D * H, O)
    with torch.no_grad():  # CASES.md's initialisation (PyTorch's default, made explicit)
        for p in rnn.parameters():
            p.uniform_(-1 / math.sqrt(H), 1 / math.sqrt(H))
        for p in head.parameters():
            p.uniform_(-1 / math.sqrt(D * H), 1 / math.sqrt(D * H))
    x = torch.randn(T, B, I)
    y = torch.randint(0, O, (T, B))
    lengths = case.get("lengths")
    if lengths:
        # Packed once, like the input itself: packing is data preparation, not the iteration.
        # The head and the loss then run on the packed rows, i.e. on the valid steps only.
        lt = torch.tensor(lengths, dtype=torch.int64)
        xin = pack_padded_sequence(x, lt, enforce_sorted=False)
        target = pack_padded_sequence(y, lt, enforce_sorted=False).data
    else:
        xin, target = x, y.reshape(-1)
    params = list(rnn.parameters()) + list(head.parameters())

    def iteration():
        for p in params:
            p.grad = None  # fresh gradients every iteration, as an optimiser loop would zero them
        out, _ = rnn(xin)  # no initial state given: h0 (and c0) = 0
        feats = out.data if lengths else out
        logits = head(feats).reshape(-1, O)
        loss = F.cross_entropy(logits, target, reduction="sum")
        loss.backward()
        return loss

    return iteration, (rnn, head), dict(x=x, y=y, lengths=lengths)


# ------------------------------------------------------------------ timing

def time_case(case, args):
    iteration, _, _ = build(case, 64, 64, args.seed)
    loss = float(iteration())
    if not math.isfinite(loss):
        raise RuntimeError(f"case {case['id']}: loss {loss} is not finite")
    t0 = time.perf_counter()
    iteration()
    probe = time.perf_counter() - t0
    # a case slower than 3 s per iteration gets fewer repetitions, not a 15-s minimum
    min_reps = 3 if probe > 3.0 else args.min_reps
    for _ in range(max(0, args.warmup - 1)):
        iteration()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < args.min_time:
        t0 = time.perf_counter()
        iteration()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    steps = case["steps_per_iteration"]
    return dict(peer="pytorch", case=case["id"], threads=args.threads, steps_per_s=steps / med,
                gflops=steps * case["flops_per_step"] / med / 1e9, median_s=med, min_s=min(times),
                max_s=max(times), reps=len(times), steps_per_iteration=steps,
                lengths="packed" if case.get("lengths") else "equal", loss=loss, times=times)


# ------------------------------------------------------------------ versions and threads

def openblas_info():
    """The OpenBLAS actually mapped into this process (None if another BLAS is)."""
    blas = set()
    with open("/proc/self/maps") as f:
        for line in f:
            p = line.split()[-1]
            if "blas" in p or "lapack" in p or "dnnl" in p or "gomp" in p:
                blas.add(os.path.realpath(p))
    info = dict(loaded=sorted(blas))
    for p in sorted(blas):
        if "libopenblas" in os.path.basename(p):
            lib = ctypes.CDLL(p)
            lib.openblas_get_config.restype = ctypes.c_char_p
            lib.openblas_get_corename.restype = ctypes.c_char_p
            info.update(openblas=lib.openblas_get_config().decode(),
                        openblas_core=lib.openblas_get_corename().decode(),
                        openblas_threads=lib.openblas_get_num_threads(), openblas_path=p)
    return info


def versions(torch):
    import numpy
    v = dict(torch=torch.__version__, python=platform.python_version(), numpy=numpy.__version__,
             mkldnn=torch.backends.mkldnn.is_available(), torch_threads=torch.get_num_threads(),
             torch_interop_threads=torch.get_num_interop_threads(),
             cpu_capability=torch.backends.cpu.get_cpu_capability() if hasattr(torch.backends, "cpu") else None)
    for line in torch.__config__.show().splitlines():
        if "MKL-DNN" in line or "oneDNN" in line:
            v["onednn_in_torch"] = line.strip(" -")
    v.update(openblas_info())
    # torch.__version__ of Debian's build says 1.13.0a0; the package version says which release
    try:
        import subprocess
        pkg = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-torch"],
                             capture_output=True, text=True, timeout=10)
        if pkg.returncode == 0:
            v["debian_python3_torch"] = pkg.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return v


def environment():
    keys = ["LD_LIBRARY_PATH", "OMP_NUM_THREADS", *MALLOC_TUNING]
    return {k: os.environ.get(k) for k in keys}


def warn_setup():
    """The figures mean something only with OpenBLAS and the malloc tuning: say when either is off."""
    if OPENBLAS_DIR not in os.environ.get("LD_LIBRARY_PATH", ""):
        print(f"torch_peer: warning: LD_LIBRARY_PATH does not name {OPENBLAS_DIR}; "
              "Debian's torch then uses the netlib reference BLAS (~3 GFLOP/s)", file=sys.stderr)
    missing = [k for k, v in MALLOC_TUNING.items() if os.environ.get(k) != v]
    if missing:
        print(f"torch_peer: warning: glibc malloc not tuned ({', '.join(missing)} unset); "
              "B = 1, large-H cases then measure page faults", file=sys.stderr)


# ------------------------------------------------------------------ --check

def splitmix_lengths(seed, n, lo, hi):
    m = (1 << 64) - 1
    s, out = seed & m, []
    for _ in range(n):
        s = (s + 0x9E3779B97F4A7C15) & m
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & m
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & m
        z ^= z >> 31
        out.append(lo + (((z >> 11) * (hi - lo + 1)) >> 53))
    return out


def check_cases_file(doc):
    """cases.json's derived numbers against CASES.md's definitions."""
    I, O = doc["input"], doc["output"]
    bad = []
    for c in doc["cases"]:
        G = {"rnn_tanh": 1, "rnn_relu": 1, "gru": 3, "lstm": 4}[c["cell"]]
        D, H = (2 if c["bidirectional"] else 1), c["hidden"]
        f = sum(D * G * (6 * H * H + 6 * H * (I if l == 0 else D * H)) for l in range(c["layers"])) + 6 * O * D * H
        steps = sum(c["lengths"]) if c.get("lengths") else c["batch"] * c["steps"]
        if f != c["flops_per_step"] or steps != c["steps_per_iteration"]:
            bad.append(c["id"])
        if c.get("lengths"):
            T = c["steps"]
            if c["lengths"] != splitmix_lengths(c["lengths_seed"], c["batch"], T // 2, T):
                bad.append(c["id"] + " (lengths)")
    print(f"cases.json: {len(doc['cases'])} cases, derived fields and lengths "
          + ("agree with CASES.md" if not bad else f"WRONG for {bad}"))
    return not bad


def numpy_reference(rnn, head, x, y, lengths, act):
    """float64 BPTT of a (multi-layer, bi)directional Elman network + head + summed softmax CE,
    one sequence at a time over its own length, written independently of torch's autograd.
    Returns the loss and a dict of gradients keyed like rnn.named_parameters()/head's."""
    import numpy as np
    P = {k: v.detach().double().numpy() for k, v in rnn.named_parameters()}
    V, c = head.weight.detach().double().numpy(), head.bias.detach().double().numpy()
    f = np.tanh if act == "tanh" else (lambda a: np.maximum(a, 0.0))
    df = (lambda a, h: 1 - h * h) if act == "tanh" else (lambda a, h: (a > 0).astype(np.float64))
    L, D = rnn.num_layers, 2 if rnn.bidirectional else 1
    suffix = ["", "_reverse"][:D]
    G = {k: np.zeros_like(v) for k, v in P.items()}
    dV, dc, loss = np.zeros_like(V), np.zeros_like(c), 0.0
    X = x.double().numpy()
    Y = y.numpy()
    for b in range(X.shape[1]):
        n = lengths[b] if lengths else X.shape[0]
        inp, saved = X[:n, b], []
        for l in range(L):
            outs = []
            for d in range(D):
                k = f"l{l}{suffix[d]}"
                xs = inp if d == 0 else inp[::-1]  # the reverse direction reads its own sequence backwards
                Wi, Wh, bias = P["weight_ih_" + k], P["weight_hh_" + k], P["bias_ih_" + k] + P["bias_hh_" + k]
                h, a = np.zeros((n + 1, Wh.shape[0])), np.zeros((n, Wh.shape[0]))
                for t in range(n):
                    a[t] = Wi @ xs[t] + Wh @ h[t] + bias
                    h[t + 1] = f(a[t])
                saved.append((k, xs, h, a))
                outs.append(h[1:] if d == 0 else h[1:][::-1])
            inp = np.concatenate(outs, axis=1)
        logits = inp @ V.T + c
        z = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
        loss += -np.log(p[np.arange(n), Y[:n, b]]).sum()
        p[np.arange(n), Y[:n, b]] -= 1  # dL/dlogits
        dV += p.T @ inp
        dc += p.sum(axis=0)
        dout = p @ V
        for l in reversed(range(L)):
            H = P[f"weight_hh_l{l}"].shape[0]
            din = None
            for d in range(D):
                k, xs, h, a = saved[l * D + d]
                dh = dout[:, d * H:(d + 1) * H]
                if d == 1:
                    dh = dh[::-1]
                Wi, Wh = P["weight_ih_" + k], P["weight_hh_" + k]
                dx, dnext = np.zeros_like(xs), np.zeros(H)
                for t in reversed(range(n)):
                    da = (dh[t] + dnext) * df(a[t], h[t + 1])
                    G["weight_ih_" + k] += np.outer(da, xs[t])
                    G["weight_hh_" + k] += np.outer(da, h[t])
                    G["bias_ih_" + k] += da
                    G["bias_hh_" + k] += da
                    dx[t] = Wi.T @ da
                    dnext = Wh.T @ da
                dx = dx if d == 0 else dx[::-1]
                din = dx if din is None else din + dx
            dout = din
    G["head.weight"], G["head.bias"] = dV, dc
    return loss, G


def check_network(name, case, I, O, tol=1e-4):
    iteration, (rnn, head), data = build(case, I, O, seed=7)
    loss = float(iteration())
    ref_loss, ref = numpy_reference(rnn, head, data["x"], data["y"], data["lengths"], case["cell"][4:])
    got = {k: p.grad.double().numpy() for k, p in rnn.named_parameters()}
    got["head.weight"], got["head.bias"] = head.weight.grad.double().numpy(), head.bias.grad.double().numpy()
    errs = {"loss": abs(loss - ref_loss) / abs(ref_loss)}
    for k, r in ref.items():
        errs[k] = float(abs(got[k] - r).max() / max(abs(r).max(), 1e-30))
    worst = max(errs.values())
    ok = worst < tol
    print(f"{name}: I={I} H={case['hidden']} O={O} B={case['batch']} T={case['steps']} "
          f"layers={case['layers']} bidirectional={case['bidirectional']} lengths={data['lengths']}")
    print(f"  loss torch float32 {loss:.9g}, numpy float64 {ref_loss:.9g}")
    print("  relative error (max |torch - numpy| / max |numpy|): "
          + ", ".join(f"{k} {v:.2e}" for k, v in errs.items()))
    print(f"  worst {worst:.2e} {'<' if ok else '>='} {tol:g}: {'PASS' if ok else 'FAIL'}")
    return ok


def run_check(doc, threads):
    import torch
    ok = check_cases_file(doc)
    tiny = dict(id="tiny", layers=1, bidirectional=False, hidden=7, batch=2, steps=6)
    ok &= check_network("Elman tanh", dict(tiny, cell="rnn_tanh"), 5, 3)
    ok &= check_network("Elman relu", dict(tiny, cell="rnn_relu"), 5, 3)
    # bi64's set-up in small: 2 layers, both directions, a packed batch of different lengths
    bi = dict(id="tiny-bi", cell="rnn_tanh", layers=2, bidirectional=True, hidden=4, batch=3, steps=6,
              lengths=[6, 3, 5])
    ok &= check_network("2-layer bidirectional Elman, packed", bi, 5, 3)
    n = torch.get_num_threads()
    print(f"threads: requested {threads}, torch.get_num_threads() {n}, "
          f"OpenBLAS {openblas_info().get('openblas_threads', 'not loaded')}")
    ok &= n == threads
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def main():
    args = parse_args()
    doc = load_cases(args.cases_file)
    cases = select(doc, args.cases)
    # Before torch loads: the OpenMP runtime (torch's and OpenBLAS's) reads it at start-up.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import torch
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    if args.check:
        sys.exit(run_check(doc, args.threads))
    warn_setup()
    results = []
    for c in cases:
        r = time_case(c, args)
        results.append(r)
        print(f"torch_peer t={args.threads} case {c['id']}: {r['median_s'] * 1e3:.2f} ms/iter, "
              f"{r['steps_per_s']:,.0f} steps/s, {r['gflops']:.2f} GFLOP/s, reps {r['reps']}",
              file=sys.stderr, flush=True)
    v = versions(torch)
    if v["torch_threads"] != args.threads:
        raise RuntimeError(f"torch runs {v['torch_threads']} threads, {args.threads} requested")
    short = {k: v.get(k) for k in ("torch", "debian_python3_torch", "openblas", "openblas_core", "python")}
    for r in results:  # each result stands alone too; the file's "versions" has the detail
        r["versions"] = short
    doc_out = dict(peer="pytorch", format=1, threads=args.threads, versions=v, env=environment(),
                   machine=platform.machine(), results=results)
    text = json.dumps(doc_out, indent=1)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
