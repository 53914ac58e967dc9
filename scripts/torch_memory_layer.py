#!/usr/bin/env python3
"""torch_memory_layer.py: our own small PyTorch product-key memory layer, timed like `memlab bench`.

The layer is the same as memlayer.Layer with QueryBias (Berges et al. 2024, §3; Lample et al. 2019):
query Linear with bias -> [T, heads, k_dim]; each half of a head's query scores its n_keys sub-keys;
top-knn per half; the knn² sums of the two halves' survivors; top-knn of those; softmax over the knn
scores; F.embedding_bag(mode='sum', per_sample_weights) over the n_keys² value table; and a Linear
v_dim -> dim when v_dim != dim. The SwiGLU FFN W2(silu(W1 x) * W3 x) of the same width is timed too.

Forward and forward+backward (gradients of sum(out * dy) w.r.t. the input and every parameter) are timed as
the minimum over --repeats calls after --warmup calls. The value table's gradient is sparse, the rows read
(--value-grad sparse; what torch.optim.SparseAdam takes), or dense, the whole table (--value-grad dense,
nn.Embedding's default); by default (best) both are timed at each size and the faster forward+backward is
kept in "memory" ("value_grads" says which, "memory_variants" holds both). One JSON object is printed on
stdout, with torch_setup's facts about the BLAS torch ran on; nothing else is printed there.

    /usr/bin/python3 scripts/torch_memory_layer.py --n-keys 128,256 --tokens 2048 --threads 2
    python3 scripts/torch_memory_layer.py --device cuda --n-keys 128,256,512,1024

Needs PyTorch with a tuned BLAS (scripts/setup-torch.sh; without libopenblas0-pthread torch multiplies with
the reference BLAS, 30-60x slower) and torch_setup.py beside it. Run it in the environment memlab gives it
(`memlab bench --torch`): OPENBLAS_* unset, OMP_WAIT_POLICY=PASSIVE, jemalloc preloaded
(docs/pytorch-peer.md).
"""
import argparse
import json
import math
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn

import torch_setup


class MemoryLayer(nn.Module):
    """A product-key memory layer on x [T, dim] -> [T, dim].

    values: a shared [n_keys², v_dim] Parameter (Memory+), or None for a table of the layer's own.
    sparse: the value table's gradient is a sparse tensor of the rows read (for torch.optim.SparseAdam)
    instead of a dense one of the whole table.
    qk_norm: queries and sub-keys scaled to unit length per half before scoring (Memory+).
    swilu: the output is W2(bag ⊙ silu(W1 x)) (Memory+); otherwise a Linear v_dim -> dim when v_dim != dim.
    """

    def __init__(self, dim, heads, k_dim, n_keys, knn, v_dim, query_bias=True, qk_norm=False, swilu=False,
                 values=None, sparse=True):
        super().__init__()
        if k_dim % 2:
            raise ValueError(f"k_dim={k_dim}: must be even")
        if not 1 <= knn <= n_keys:
            raise ValueError(f"knn={knn}: must be in 1..n_keys ({n_keys})")
        self.heads, self.k_dim, self.n_keys, self.knn = heads, k_dim, n_keys, knn
        self.qk_norm, self.sparse = qk_norm, sparse
        self.query = nn.Linear(dim, heads * k_dim, bias=query_bias)
        nn.init.xavier_uniform_(self.query.weight)
        if query_bias:
            nn.init.zeros_(self.query.bias)
        bound = 1 / math.sqrt(k_dim)
        self.keys = nn.Parameter(torch.empty(heads, 2, n_keys, k_dim // 2).uniform_(-bound, bound))
        if values is None:
            values = nn.Parameter(torch.randn(n_keys * n_keys, v_dim) / math.sqrt(v_dim))
        if values.shape != (n_keys * n_keys, v_dim):
            raise ValueError(f"shared values {tuple(values.shape)}: this layer needs {(n_keys * n_keys, v_dim)}")
        self.values = values

        def normal(i, o):
            lin = nn.Linear(i, o, bias=False)
            nn.init.normal_(lin.weight, std=1 / math.sqrt(dim))
            return lin

        self.w1 = normal(dim, v_dim) if swilu else None
        self.w2 = normal(v_dim, dim) if swilu else None
        self.proj = normal(v_dim, dim) if not swilu and v_dim != dim else None

    def forward(self, x):
        t = x.shape[0]
        h, n, k, half = self.heads, self.n_keys, self.knn, self.k_dim // 2
        q = self.query(x).view(t, h, 2, half)
        keys = self.keys
        if self.qk_norm:
            q = q / (q.norm(dim=-1, keepdim=True) + 1e-6)
            keys = keys / (keys.norm(dim=-1, keepdim=True) + 1e-6)
        scores = torch.einsum("thpd,hpnd->thpn", q, keys)  # [T, H, 2, n_keys]
        top, idx = scores.topk(k, dim=-1)  # [T, H, 2, knn] each
        s1, s2 = top[:, :, 0], top[:, :, 1]
        i1, i2 = idx[:, :, 0], idx[:, :, 1]
        all_scores = (s1.unsqueeze(-1) + s2.unsqueeze(-2)).view(t, h, k * k)
        all_idx = (i1.unsqueeze(-1) * n + i2.unsqueeze(-2)).view(t, h, k * k)
        best, pos = all_scores.topk(k, dim=-1)  # [T, H, knn]
        slots = all_idx.gather(-1, pos)
        weights = F.softmax(best.float(), dim=-1).type_as(best)
        out = F.embedding_bag(slots.view(t, h * k), self.values, per_sample_weights=weights.view(t, h * k),
                              mode="sum", sparse=self.sparse)
        if self.w1 is not None:
            return self.w2(out * F.silu(self.w1(x)))
        return self.proj(out) if self.proj is not None else out


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w3 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and value.strip():
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def timed(fn, device, warmup, repeats):
    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return {"seconds": max(min(times), 1e-9), "median_seconds": max(statistics.median(times), 1e-9),
            "repeats": repeats}


def measure(module, x, dy, device, warmup, repeats):
    params = list(module.parameters())

    def forward():
        with torch.no_grad():
            module(x)

    def forward_backward():
        out = module(x)
        torch.autograd.grad((out * dy).sum(), [x] + params)

    tokens = x.shape[0]
    fwd = timed(forward, device, warmup, repeats)
    fb = timed(forward_backward, device, warmup, repeats)
    return {
        "params": sum(p.numel() for p in params),
        "forward": fwd, "forward_backward": fb,
        "forward_tokens_per_second": tokens / fwd["seconds"],
        "forward_backward_tokens_per_second": tokens / fb["seconds"],
    }


def int_list(s):
    try:
        values = [int(v) for v in s.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r}: want comma-separated integers, e.g. 128,256")
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{s!r}: want positive integers")
    return values


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--k-dim", type=int, default=256)
    ap.add_argument("--knn", type=int, default=32)
    ap.add_argument("--v-dim", type=int, default=256)
    ap.add_argument("--tokens", type=int, default=2048)
    ap.add_argument("--ffn-hidden", type=int, default=0, help="SwiGLU hidden width (0: 4*dim; -1: skip the FFN)")
    ap.add_argument("--n-keys", type=int_list, default=[128, 256, 512, 1024])
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (CPU)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--value-grad", choices=["best", "sparse", "dense"], default="best",
                    help="the value table's gradient: sparse (the rows read), dense (nn.Embedding's default), or "
                         "best: both timed, the faster forward+backward kept at each size")
    ap.add_argument("--no-blas-probe", action="store_true", help="skip the one-second BLAS speed probe")
    a = ap.parse_args()
    if min(a.dim, a.heads, a.k_dim, a.knn, a.v_dim, a.tokens, a.repeats, a.threads) < 1 or a.warmup < 0:
        ap.error("sizes, --repeats and --threads must be >= 1, --warmup >= 0")

    torch_setup.set_threads(a.threads)
    torch.manual_seed(a.seed)
    device = torch.device(a.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print(f"torch_memory_layer: --device {a.device}: CUDA is not available to this torch", file=sys.stderr)
        sys.exit(2)
    x = torch.randn(a.tokens, a.dim, device=device, requires_grad=True)
    dy = torch.randn(a.tokens, a.dim, device=device)

    result = {
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else cpu_model(),
        "threads": torch.get_num_threads(),
        "blas": torch_setup.blas_facts(probe=not a.no_blas_probe),
        "runtime": torch_setup.runtime_facts(),
        "value_grad": a.value_grad,
        "config": {"dim": a.dim, "heads": a.heads, "k_dim": a.k_dim, "knn": a.knn, "v_dim": a.v_dim,
                   "tokens": a.tokens, "warmup": a.warmup, "repeats": a.repeats},
        "memory": [],
        "value_grads": [],
        "memory_variants": [],
    }
    if a.ffn_hidden >= 0:
        hidden = a.ffn_hidden or 4 * a.dim
        ffn = SwiGLU(a.dim, hidden).to(device)
        result["ffn"] = dict(model="swiglu", hidden=hidden, **measure(ffn, x, dy, device, a.warmup, a.repeats))
        del ffn
    # "best" times both value gradients at each size and keeps the faster forward+backward: a sparse
    # gradient of the rows read is uncoalesced (one row per read), so on small tables PyTorch is faster with
    # the dense one.
    variants = ["dense", "sparse"] if a.value_grad == "best" else [a.value_grad]
    for n in a.n_keys:
        points = []
        for vg in variants:
            torch.manual_seed(a.seed * 7919 + n)  # the same layer for every variant
            layer = MemoryLayer(a.dim, a.heads, a.k_dim, n, a.knn, a.v_dim, sparse=vg == "sparse").to(device)
            points.append(dict(model="memory", n_keys=n, value_grad=vg,
                               **measure(layer, x, dy, device, a.warmup, a.repeats)))
            del layer
            if device.type == "cuda":
                torch.cuda.empty_cache()
        best = min(points, key=lambda p: p["forward_backward"]["seconds"])
        result["memory"].append(best)
        result["value_grads"].append(best["value_grad"])
        result["memory_variants"].extend(points)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
