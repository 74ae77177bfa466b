#!/usr/bin/env python3
"""recur grad against PyTorch, on random networks that PyTorch builds.

For each case: PyTorch builds nn.RNN/nn.GRU/nn.LSTM (layers, directions, bias or not), a
Linear head, a batch of sequences of different lengths packed with pack_padded_sequence
(enforce_sorted=False), targets with some ignore_index (-100) entries, random h0 (and c0); it
computes the summed cross-entropy (or 1/2 squared error) over the valid steps and every
gradient. The same model (state_dict names plus V, c) and data go through `recur grad`, and
every gradient is compared, norm-wise relative to PyTorch's (float32 on both sides).

Needs Debian's python3-torch (1.13) and a built recur (./recur builds it). Run from the
repository root:  /usr/bin/python3 scripts/pytorch_interop_check.py [--cases N] [--seed S]
Exit status 1 if any relative error is above --tol (default 1e-4).
"""
import argparse, os, subprocess, sys, tempfile
import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

ap = argparse.ArgumentParser()
ap.add_argument("--cases", type=int, default=24)
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--tol", type=float, default=1e-4)
ap.add_argument("--recur", default="./recur")
ap.add_argument("--cells", default="rnn", help="comma list of rnn, gru, lstm")
args = ap.parse_args()
rng = np.random.default_rng(args.seed)
torch.manual_seed(args.seed)
cells = args.cells.split(",")
worst = 0.0
failed = 0
with tempfile.TemporaryDirectory() as d:
    for case in range(args.cases):
        cell = cells[case % len(cells)]
        L = int(rng.integers(1, 4)); bi = bool(rng.integers(0, 2)); bias = bool(rng.integers(0, 4) > 0)
        I = int(rng.integers(1, 9)); H = int(rng.integers(1, 40)); O = int(rng.integers(2, 9))
        B = int(rng.integers(1, 6)); T = int(rng.integers(1, 80))
        act = ["tanh", "relu"][int(rng.integers(0, 2))] if cell == "rnn" else "tanh"
        mse = rng.random() < 0.3
        classes = (not mse) and rng.random() < 0.3
        D = 2 if bi else 1
        if cell == "rnn":
            net = nn.RNN(I, H, num_layers=L, nonlinearity=act, bias=bias, bidirectional=bi)
        elif cell == "gru":
            net = nn.GRU(I, H, num_layers=L, bias=bias, bidirectional=bi)
        else:
            net = nn.LSTM(I, H, num_layers=L, bias=bias, bidirectional=bi)
        head = nn.Linear(D * H, O)
        lengths = rng.integers(1, T + 1, size=B)
        lengths[int(rng.integers(0, B))] = T
        if classes:
            xi = rng.integers(0, I, size=(T, B))
            x = torch.nn.functional.one_hot(torch.from_numpy(xi), I).float()
        else:
            x = torch.from_numpy(rng.normal(size=(T, B, I)).astype(np.float32))
        h0 = torch.from_numpy(rng.normal(0, 0.5, size=(L * D, B, H)).astype(np.float32)).requires_grad_()
        c0 = torch.from_numpy(rng.normal(0, 0.5, size=(L * D, B, H)).astype(np.float32)).requires_grad_()
        packed = pack_padded_sequence(x, torch.from_numpy(lengths), enforce_sorted=False)
        out, _ = net(packed, (h0, c0) if cell == "lstm" else h0)
        out, _ = pad_packed_sequence(out, total_length=T)          # (T, B, D*H), zero past each length
        o = head(out)
        valid = torch.arange(T)[:, None] < torch.from_numpy(lengths)[None, :]
        if mse:
            y = rng.normal(size=(T, B, O)).astype(np.float32)
            e = (o - torch.from_numpy(y)) * valid[:, :, None]
            loss = 0.5 * (e ** 2).sum()
        else:
            y = rng.integers(0, O, size=(T, B))
            y[rng.random((T, B)) < 0.1] = -100
            yt = torch.from_numpy(np.where(valid.numpy(), y, -100))
            loss = nn.functional.cross_entropy(o.reshape(T * B, O), yt.reshape(-1), reduction="sum", ignore_index=-100)
        loss.backward()
        sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
        np.savez(f"{d}/m.npz", **sd, V=head.weight.detach().numpy(), c=head.bias.detach().numpy())
        np.save(f"{d}/x.npy", xi.astype(np.int64) if classes else x.numpy())
        np.save(f"{d}/y.npy", y)
        np.save(f"{d}/len.npy", lengths.astype(np.int64))
        np.save(f"{d}/h0.npy", h0.detach().numpy())
        np.save(f"{d}/c0.npy", c0.detach().numpy())
        cmd = [args.recur, "grad", "--model", f"{d}/m.npz", "--inputs", f"{d}/x.npy", "--targets", f"{d}/y.npy",
               "--lengths", f"{d}/len.npy", "--h0", f"{d}/h0.npy", "--loss", "mse" if mse else "xent",
               "--out", f"{d}/g.npz"]
        if cell == "rnn": cmd += ["--activation", act]
        if cell == "lstm": cmd += ["--c0", f"{d}/c0.npy"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"case {case}: recur grad failed: {r.stderr.strip().splitlines()[-1]}")
            failed += 1
            continue
        g = np.load(f"{d}/g.npz")
        want = {k: p.grad.numpy() for k, p in net.named_parameters()}
        want["V"] = head.weight.grad.numpy(); want["c"] = head.bias.grad.numpy(); want["dh0"] = h0.grad.numpy()
        if cell == "lstm": want["dc0"] = c0.grad.numpy()
        errs = {"loss": abs(float(g["loss"]) - loss.item()) / max(abs(loss.item()), 1e-30)}
        for k, w in want.items():
            errs[k] = float(np.linalg.norm(g[k] - w) / max(np.linalg.norm(w), 1e-30))
        m = max(errs.values()); worst = max(worst, m)
        desc = f"{cell} {act if cell == 'rnn' else ''} L={L} {'bi' if bi else 'uni'} bias={bias} I={I} H={H} O={O} B={B} T={T} " \
               f"lengths={list(lengths)} {'mse' if mse else 'xent'}{' class-in' if classes else ''}"
        print(f"case {case}: max rel err {m:.2e} ({max(errs, key=errs.get)})  {desc}")
        if m > args.tol:
            failed += 1
            print("   ", {k: f"{v:.1e}" for k, v in errs.items()})
print(f"{args.cases - failed}/{args.cases} cases within {args.tol:g}; worst relative error {worst:.2e}")
sys.exit(1 if failed else 0)
