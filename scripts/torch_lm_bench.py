#!/usr/bin/env python3
"""torch_lm_bench.py: train our small LLaMA-style language models for a few steps in PyTorch and time them.

The models mirror experiments/lm (model.go, config.go): token embedding N(0, 1/√dim), tied with the output
head; pre-norm blocks h += Attn(RMSNorm(h)); h += FFN(RMSNorm(h)); causal multi-head attention with rotary
positions in the "rotate half" layout; a SwiGLU FFN W2(silu(W1 x) ⊙ W3 x) of hidden 8/3·dim rounded up to a
multiple of 8; a final RMSNorm. Projections are N(0, 1/√fan_in), the residual outputs (attention wo, FFN w2)
further scaled by 1/√(2·layers). Kinds:

  dense    a SwiGLU FFN in every layer;
  memory   the middle layer's FFN (layer layers//2) replaced by a product-key memory layer
           (torch_memory_layer.MemoryLayer: query with bias, two sub-key tables per head, top-knn per half,
           exact top-knn of the knn² sums, softmax, weighted embedding bag);
  memory+  Memory+ in layers {m-s, m, m+s} (m = layers//2, s = max(1, layers//3)): one value table shared
           by the three, each with its own query and keys, qk-norm, and output W2(bag ⊙ silu(W1 x)).

Training is experiments/train's: cross-entropy of the next token; gradients clipped to a global norm (dense
and sparse gradients together); AdamW with decoupled weight decay on tensors of rank >= 2. The value table of
a memory model has a sparse gradient (the rows read) and its own optimizer, torch.optim.SparseAdam (lazy
per-row moments), after the decoupled weight decay of the rows read; with "values": "dense" it is an
ordinary parameter in AdamW instead. The learning rates are constant (the schedule costs nothing to time).

The models are built first, then trained on random tokens: `warmup` untimed steps each, then `steps` timed
steps each, one step of every model in turn so that a busy moment of a shared machine slows them alike.
Tokens/s counts batch·seq_len tokens per step over the fastest step; ratio_to_dense divides by the dense
model's tokens/s from the same run.

Input: a JSON config on stdin, or in the file named by the only argument; absent fields take the small
preset's values (DEFAULTS below). Output: one JSON object on stdout (nothing else is printed there).

    echo '{"steps": 10}' | /usr/bin/python3 scripts/torch_lm_bench.py
    /usr/bin/python3 scripts/torch_lm_bench.py config.json

Needs PyTorch with a tuned BLAS (scripts/setup-torch.sh). Run it in the environment memlab gives it
(bench.RunTorchLM): OPENBLAS_* unset, OMP_WAIT_POLICY=PASSIVE, jemalloc preloaded; docs/pytorch-peer.md
says why each matters.
"""
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
from torch_memory_layer import MemoryLayer, cpu_model

# The small preset (experiments/lab/preset.go) with the vocabulary of its facts corpus, and its optimizer.
DEFAULTS = {
    "vocab": 1254, "dim": 128, "layers": 4, "heads": 4, "seq_len": 64, "batch": 16, "ffn_hidden": 0,
    "tied_embeddings": True, "rope_base": 10000.0, "norm_eps": 1e-5,
    "memory": {"heads": 4, "knn": 16, "n_keys": 64, "k_dim": 128, "v_dim": 0, "query_bias": True},
    "models": [{"kind": "dense"}, {"kind": "memory", "n_keys": 64}, {"kind": "memory", "n_keys": 256},
               {"kind": "memory+", "n_keys": 64}],
    "lr": 2e-3, "value_lr": 2e-3, "weight_decay": 0.1, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8,
    "grad_clip": 1.0, "warmup": 3, "steps": 20, "threads": 2, "seed": 1,
}
KINDS = ("dense", "memory", "memory+")


class ConfigError(ValueError):
    pass


def load_config(text):
    """DEFAULTS overridden by the JSON object `text`; a ConfigError names the first bad field."""
    try:
        given = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as e:
        raise ConfigError(f"the config is not JSON: {e}")
    if not isinstance(given, dict):
        raise ConfigError("the config must be a JSON object")
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown field {unknown[0]!r}; known: {', '.join(sorted(DEFAULTS))}")
    c = {**DEFAULTS, **given}
    unknown = sorted(set(given.get("memory", {})) - set(DEFAULTS["memory"]))
    if unknown:
        raise ConfigError(f"unknown field memory.{unknown[0]}; known: {', '.join(sorted(DEFAULTS['memory']))}")
    c["memory"] = {**DEFAULTS["memory"], **given.get("memory", {})}
    for k in ("vocab", "dim", "layers", "heads", "seq_len", "batch", "steps", "threads"):
        if not isinstance(c[k], int) or c[k] < 1:
            raise ConfigError(f"{k}={c[k]!r}: must be an integer >= 1")
    for k in ("heads", "knn", "n_keys", "k_dim"):
        if not isinstance(c["memory"][k], int) or c["memory"][k] < 1:
            raise ConfigError(f"memory.{k}={c['memory'][k]!r}: must be an integer >= 1")
    if c["memory"]["k_dim"] % 2:
        raise ConfigError(f"memory.k_dim={c['memory']['k_dim']}: must be even (it is split into two sub-keys)")
    if c["dim"] % c["heads"] or (c["dim"] // c["heads"]) % 2:
        raise ConfigError(f"dim={c['dim']}: must be divisible by heads={c['heads']} into an even head dim")
    if c["warmup"] < 0 or c["ffn_hidden"] < 0 or c["memory"]["v_dim"] < 0:
        raise ConfigError("warmup, ffn_hidden and memory.v_dim must be >= 0")
    if not c["models"]:
        raise ConfigError("models: list at least one model")
    for i, m in enumerate(c["models"]):
        if m.get("kind") not in KINDS:
            raise ConfigError(f"models[{i}].kind={m.get('kind')!r}: must be one of {', '.join(KINDS)}")
        if m.get("values", "sparse") not in ("sparse", "dense"):
            raise ConfigError(f"models[{i}].values={m.get('values')!r}: must be \"sparse\" or \"dense\"")
        n = m.get("n_keys", c["memory"]["n_keys"])
        if m["kind"] != "dense" and not (isinstance(n, int) and c["memory"]["knn"] <= n):
            raise ConfigError(f"models[{i}].n_keys={n!r}: must be an integer >= memory.knn={c['memory']['knn']}")
    return c


def hidden(c):
    """The SwiGLU width: ffn_hidden, or 8/3·dim rounded up to a multiple of 8 (lm.Config.Hidden)."""
    return c["ffn_hidden"] or (8 * c["dim"] // 3 + 7) // 8 * 8


def placement(kind, layers):
    """The layers whose FFN a memory layer replaces (lm.Config.Placement's default rule)."""
    m = layers // 2
    if kind == "dense":
        return []
    if kind == "memory":
        return [m]
    s = max(1, layers // 3)
    return sorted({l for l in (m - s, m, m + s) if 0 <= l < layers})


def normal_linear(fan_in, fan_out, std):
    lin = nn.Linear(fan_in, fan_out, bias=False)
    nn.init.normal_(lin.weight, std=std)
    return lin


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.scale


def rope(x, cos, sin):
    """Rotates x [B, T, H, hd], pairing dimension i with i + hd/2: [x1·cos − x2·sin, x2·cos + x1·sin]."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class Attention(nn.Module):
    def __init__(self, dim, heads, residual_std):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        std = 1 / math.sqrt(dim)
        self.wq, self.wk, self.wv = (normal_linear(dim, dim, std) for _ in range(3))
        self.wo = normal_linear(dim, dim, std * residual_std)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        h, hd = self.heads, self.head_dim
        q = rope(self.wq(x).view(b, t, h, hd), cos, sin).transpose(1, 2)  # [B, H, T, hd]
        k = rope(self.wk(x).view(b, t, h, hd), cos, sin).transpose(1, 2)
        v = self.wv(x).view(b, t, h, hd).transpose(1, 2)
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd) + mask, dim=-1)
        return self.wo((probs @ v).transpose(1, 2).reshape(b, t, d))


class SwiGLU(nn.Module):
    def __init__(self, dim, hidden_dim, residual_std):
        super().__init__()
        self.w1 = normal_linear(dim, hidden_dim, 1 / math.sqrt(dim))
        self.w3 = normal_linear(dim, hidden_dim, 1 / math.sqrt(dim))
        self.w2 = normal_linear(hidden_dim, dim, residual_std / math.sqrt(hidden_dim))

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, c, ffn):
        super().__init__()
        residual_std = 1 / math.sqrt(2 * c["layers"])
        self.attn_norm = RMSNorm(c["dim"], c["norm_eps"])
        self.attn = Attention(c["dim"], c["heads"], residual_std)
        self.ffn_norm = RMSNorm(c["dim"], c["norm_eps"])
        self.ffn = ffn

    def forward(self, h, cos, sin, mask):
        h = h + self.attn(self.attn_norm(h), cos, sin, mask)
        x = self.ffn_norm(h)
        if isinstance(self.ffn, MemoryLayer):  # the memory layer works on [tokens, dim]
            return h + self.ffn(x.reshape(-1, x.shape[-1])).view_as(x)
        return h + self.ffn(x)


class LM(nn.Module):
    def __init__(self, c, kind, n_keys, sparse):
        super().__init__()
        d, mem = c["dim"], c["memory"]
        v_dim = mem["v_dim"] or d
        residual_std = 1 / math.sqrt(2 * c["layers"])
        self.embedding = nn.Parameter(torch.randn(c["vocab"], d) / math.sqrt(d))
        self.head = None if c["tied_embeddings"] else nn.Parameter(torch.randn(d, c["vocab"]) / math.sqrt(d))
        # Memory+ layers share one table; the other kinds' memory layers own theirs.
        shared = nn.Parameter(torch.randn(n_keys * n_keys, v_dim) / math.sqrt(v_dim)) if kind == "memory+" else None
        self.memory_layers = placement(kind, c["layers"])
        blocks = []
        for i in range(c["layers"]):
            if i in self.memory_layers:
                ffn = MemoryLayer(d, mem["heads"], mem["k_dim"], n_keys, mem["knn"], v_dim,
                                  query_bias=mem["query_bias"], qk_norm=kind == "memory+",
                                  swilu=kind == "memory+", values=shared, sparse=sparse)
            else:
                ffn = SwiGLU(d, hidden(c), residual_std)
            blocks.append(Block(c, ffn))
        self.blocks = nn.ModuleList(blocks)
        self.final_norm = RMSNorm(d, c["norm_eps"])

        t, hd = c["seq_len"], d // c["heads"]
        angles = torch.arange(t, dtype=torch.float64)[:, None] * c["rope_base"] ** (
            -2 * torch.arange(hd // 2, dtype=torch.float64) / hd)
        self.register_buffer("cos", angles.cos().float().view(1, t, 1, hd // 2), persistent=False)
        self.register_buffer("sin", angles.sin().float().view(1, t, 1, hd // 2), persistent=False)
        self.register_buffer("mask", torch.full((t, t), -1e9).triu(1).view(1, 1, t, t), persistent=False)

    def value_tables(self):
        """The memory value tables, each once (a shared Memory+ table is one)."""
        tables = {}
        for b in self.blocks:
            if isinstance(b.ffn, MemoryLayer):
                tables[id(b.ffn.values)] = b.ffn.values
        return list(tables.values())

    def forward(self, tokens):
        t = tokens.shape[1]
        h = F.embedding(tokens, self.embedding)
        cos, sin, mask = self.cos[:, :t], self.sin[:, :t], self.mask[..., :t, :t]
        for b in self.blocks:
            h = b(h, cos, sin, mask)
        h = self.final_norm(h)
        return h @ (self.embedding.t() if self.head is None else self.head)


class Trainer:
    """One model with experiments/train's update: global-norm clipping, AdamW with decoupled weight decay on
    rank >= 2 tensors; a sparse value table gets the same decay on the rows read and SparseAdam."""

    def __init__(self, c, model, sparse):
        self.c, self.model = c, model
        betas = (c["beta1"], c["beta2"])
        self.values = model.value_tables() if sparse else []
        value_ids = {id(v) for v in self.values}
        dense = [p for p in model.parameters() if id(p) not in value_ids]
        table_ids = {id(v) for v in model.value_tables()}
        groups = [{"params": [p for p in dense if p.dim() >= 2 and id(p) not in table_ids],
                   "weight_decay": c["weight_decay"], "lr": c["lr"]},
                  {"params": [p for p in dense if p.dim() < 2], "weight_decay": 0.0, "lr": c["lr"]}]
        if not sparse and table_ids:  # dense value tables: AdamW at the value learning rate
            groups.append({"params": [p for p in dense if id(p) in table_ids], "weight_decay": c["weight_decay"],
                           "lr": c["value_lr"] or c["lr"]})
        self.params = list(model.parameters())
        self.dense_params = dense
        self.adamw = torch.optim.AdamW([g for g in groups if g["params"]], betas=betas, eps=c["eps"], foreach=True)
        self.value_lr = c["value_lr"] or c["lr"]
        self.sparse_adam = torch.optim.SparseAdam(self.values, lr=self.value_lr, betas=betas, eps=c["eps"]) \
            if self.values else None

    def clip(self):
        """Scales every gradient by clip/max(norm, clip), norm the global L2 norm of all of them."""
        for v in self.values:
            v.grad = v.grad.coalesce()  # sums the rows read more than once
        dense = [p.grad for p in self.dense_params if p.grad is not None]
        squares = torch.stack(torch._foreach_norm(dense)).pow(2).sum() if dense else torch.zeros(())
        for v in self.values:
            squares = squares + v.grad._values().pow(2).sum()
        norm = squares.sqrt().item()
        if self.c["grad_clip"] > 0 and norm > self.c["grad_clip"]:
            scale = self.c["grad_clip"] / norm
            torch._foreach_mul_(dense, scale)
            for v in self.values:
                v.grad._values().mul_(scale)
        return norm

    def step(self, batch):
        for p in self.params:
            p.grad = None
        logits = self.model(batch[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        loss.backward()
        self.clip()
        self.adamw.step()
        if self.sparse_adam is not None:
            decay = 1 - self.value_lr * self.c["weight_decay"]
            with torch.no_grad():
                for v in self.values:
                    rows = v.grad._indices()[0]
                    v.index_copy_(0, rows, v.index_select(0, rows).mul_(decay))
            self.sparse_adam.step()
        return loss.item()


def load_average():
    """The 1-minute load average (Linux; 0 elsewhere): above the core count, other work shared the cores."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0


def run(c):
    load_start = load_average()
    torch_setup.set_threads(c["threads"])
    torch.manual_seed(c["seed"])
    tokens_per_step = c["batch"] * c["seq_len"]
    batches = [torch.randint(c["vocab"], (c["batch"], c["seq_len"] + 1)) for _ in range(4)]
    runs = []
    for spec in c["models"]:
        kind = spec["kind"]
        n_keys = spec.get("n_keys", c["memory"]["n_keys"]) if kind != "dense" else 0
        sparse = spec.get("values", "sparse") == "sparse"
        model = LM(c, kind, n_keys, sparse)
        record = {"kind": kind, "n_keys": n_keys, "values": ("sparse" if sparse else "dense") if n_keys else "",
                  "memory_layers": model.memory_layers,
                  "params": sum(p.numel() for p in model.parameters()),
                  "value_params": sum(v.numel() for v in model.value_tables()),
                  "losses": [], "step_seconds": []}
        runs.append((record, Trainer(c, model, sparse)))
    for record, trainer in runs:
        for i in range(c["warmup"]):
            record["losses"].append(trainer.step(batches[i % len(batches)]))
    for i in range(c["steps"]):
        for record, trainer in runs:
            start = time.perf_counter()
            loss = trainer.step(batches[(c["warmup"] + i) % len(batches)])
            record["step_seconds"].append(time.perf_counter() - start)
            record["losses"].append(loss)
    dense_tps = None
    for record, _ in runs:
        best, median = min(record["step_seconds"]), statistics.median(record["step_seconds"])
        record.update(min_step_seconds=best, median_step_seconds=median, tokens_per_second=tokens_per_step / best,
                      median_tokens_per_second=tokens_per_step / median)
        if record["kind"] == "dense" and dense_tps is None:
            dense_tps = record["tokens_per_second"]
    for record, _ in runs:
        record["ratio_to_dense"] = record["tokens_per_second"] / dense_tps if dense_tps else None
    return {
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": "cpu",
        "device_name": cpu_model(),
        "threads": torch.get_num_threads(),
        "blas": torch_setup.blas_facts(),
        "runtime": torch_setup.runtime_facts(),
        "tokens_per_step": tokens_per_step,
        "load_average_start": load_start,
        "load_average_end": load_average(),
        "config": c,
        "models": [record for record, _ in runs],
    }


def main():
    if len(sys.argv) > 2 or (len(sys.argv) == 2 and sys.argv[1].startswith("-")):
        print("usage: torch_lm_bench.py [config.json]   (or the JSON config on stdin)", file=sys.stderr)
        sys.exit(2)
    try:
        text = open(sys.argv[1]).read() if len(sys.argv) == 2 else sys.stdin.read()
        c = load_config(text)
    except (OSError, ConfigError) as e:
        print(f"torch_lm_bench: {e}", file=sys.stderr)
        sys.exit(2)
    json.dump(run(c), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
