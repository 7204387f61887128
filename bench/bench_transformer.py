"""Benchmark of the Transformer page's training, every figure measured side by side in this run.

    python bench/bench_transformer.py            # everything (about 3 minutes on 2 cores)
    python bench/bench_transformer.py --quick    # fewer timed steps, no second launch

Prints:
(1) ms per training step at the page's default model (2 layers, d=64, 4 heads, ctx 16, batch
    32, Adam) — optlab's jitted chunk (``lax.scan`` over 50 steps, batches drawn on the device,
    per-layer norms) and the same model written in PyTorch eager on CPU (Adam, same sizes, same
    batch size, ``scaled_dot_product_attention``), each PyTorch run in its own process with 1 and
    with 2 intra-op threads (on a busy 2-core machine 2 threads can be far slower: OpenMP waits
    on a descheduled thread), alternated with optlab; target optlab ≤ 1.0× the faster PyTorch.
    PyTorch is a benchmark peer only: if it is missing, that comparison is skipped.
(2) the default comparison (4 optimizers × 1000 steps, the page's defaults) end to end in a
    fresh process, with the final validation loss per optimizer and the exact-match accuracy on
    all held-out sums; target ≤ 60 s.
(3) JAX's persistent compilation cache: (2) is launched twice with one fresh cache directory;
    the first round (compile + first chunk) and the backend compile time of each launch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


# ---------------------------------------------------------------------------------------------
# (1) one training step: optlab vs PyTorch eager.


def optlab_step_ms(steps: int, repeats: int) -> list[float]:
    """ms per step of the page's jitted chunk (Adam, default model), ``repeats`` timings."""
    import jax
    import jax.numpy as jnp

    from optlab.core.optimizers import OPTIMIZERS
    from optlab.transformer import lab
    from optlab.transformer import train as tr
    from optlab.transformer.data import make_data
    from optlab.transformer.model import init_params

    spec = lab.TrainSpec()
    corpus = lab.corpus(spec.corpus)
    cfg = lab.model_config(spec, corpus.tokenizer.vocab_size)
    factory = OPTIMIZERS["adam"].factory
    hp = {k: jnp.float32(v) for k, v in {**OPTIMIZERS["adam"].defaults(),
                                          "learning_rate": 3e-3}.items()}  # fmt: skip
    reg = {"clip_norm": jnp.float32(np.inf), "l2": jnp.float32(0), "weight_decay": jnp.float32(0)}
    data = make_data(corpus.train_ids, cfg.ctx, corpus.line_starts("train"))
    params = init_params(jax.random.key(0), cfg)
    carry = (params, tr._init_state(params, hp, factory=factory), jnp.bool_(True), jnp.int32(-1))
    k = spec.chunk
    kw = {"hp": hp, "reg": reg, "data": data, "seeds": jnp.asarray([0, 1], jnp.int32), "cfg": cfg,
          "factory": factory, "batch_size": spec.batch_size}  # fmt: skip

    def chunk(carry, t0):
        steps_K = jnp.arange(t0, t0 + k, dtype=jnp.int32)
        carry, m = tr._train_chunk(carry, steps_K, jnp.ones(k, jnp.float32), **kw)
        jax.block_until_ready(m["loss"])
        return carry

    carry = chunk(carry, 0)  # compile
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps // k):
            carry = chunk(carry, (i + 1) * k)
        out.append(1e3 * (time.perf_counter() - t0) / (steps // k * k))
    return out


def torch_step_ms(steps: int, repeats: int) -> list[float] | None:
    """ms per step of the same model in PyTorch eager on CPU, or ``None`` without PyTorch."""
    try:
        import torch
        from torch import nn
        from torch.nn import functional as F
    except ImportError:
        return None
    from optlab.transformer import lab
    from optlab.transformer.tokenizer import BOS

    spec = lab.TrainSpec()
    corpus = lab.corpus(spec.corpus)
    V, D, H, L, B = (corpus.tokenizer.vocab_size, spec.d_model, spec.n_head, spec.ctx,
                     spec.batch_size)  # fmt: skip

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(D), nn.LayerNorm(D)
            self.qkv, self.out = nn.Linear(D, 3 * D), nn.Linear(D, D)
            self.fc, self.proj = nn.Linear(D, 4 * D), nn.Linear(4 * D, D)

        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
            q, k, v = (t.view(b, n, H, D // H).transpose(1, 2) for t in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.out(y.transpose(1, 2).reshape(b, n, D))
            return x + self.proj(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, D), nn.Embedding(L, D)
            self.blocks = nn.ModuleList([Block() for _ in range(spec.n_layer)])
            self.ln_f, self.head = nn.LayerNorm(D), nn.Linear(D, V, bias=False)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln_f(x))

    torch.manual_seed(0)
    model = GPT()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3, betas=(0.9, 0.999), eps=1e-8)
    rng = np.random.default_rng(0)
    starts = corpus.line_starts("train")
    starts = starts[starts <= len(corpus.train_ids) - L]
    n_batches = 64
    idx = rng.choice(starts, size=(n_batches, B))[..., None] + np.arange(L)
    seqs = np.concatenate([np.full((n_batches, B, 1), BOS), corpus.train_ids[idx]], axis=2)
    batches = torch.as_tensor(seqs, dtype=torch.long)

    def step(i):
        seq = batches[i % n_batches]
        logits = model(seq[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, V), seq[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for i in range(20):  # warm-up
        step(i)
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for i in range(steps):
            step(i)
        out.append(1e3 * (time.perf_counter() - t0) / steps)
    return out


# ---------------------------------------------------------------------------------------------
# (2) + (3) the default comparison in a fresh process, with a persistent compilation cache.


def child(cache_dir: str) -> None:
    """One launch: the page's default comparison end to end; prints one JSON line."""
    os.environ["OPTLAB_JAX_CACHE"] = cache_dir
    import jax

    from optlab.shell import setup
    from optlab.transformer import insight, lab

    setup.enable_compilation_cache()  # exactly what app.py does
    compile_s = []
    jax.monitoring.register_event_duration_secs_listener(
        lambda e, d, **kw: compile_s.append(d) if e == COMPILE_EVENT else None
    )
    spec = lab.TrainSpec()
    t0 = time.perf_counter()
    training, rounds = lab.Training(spec), []
    while True:  # what the page does on Train: round after round, snapshots kept
        more = training.advance()
        rounds.append(time.perf_counter() - t0)
        if not more:
            break
    total = time.perf_counter() - t0
    last = training.result.report
    t1 = time.perf_counter()
    scores = insight.addition_scores(training.result)
    print(json.dumps({
        "total_s": total, "first_round_s": rounds[0], "compile_s": sum(compile_s),
        "n_compiles": len(compile_s), "accuracy_s": time.perf_counter() - t1,
        "val": {k: float(v[-1]) for k, v in last.val_loss.items()},
        "accuracy": {k: v[0] for k, v in scores.items()},
        "n_prompts": len(next(iter(scores.values()))[1]),
    }))  # fmt: skip


def launch(cache_dir: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", cache_dir],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return (
        "load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f" on {os.cpu_count()} CPUs"
    )


def torch_child_ms(steps: int, threads: int) -> list[float]:
    """PyTorch's ms per step in its own process (``threads`` intra-op threads), or ``[]``."""
    out = subprocess.run(
        [sys.executable, __file__, "--torch-child", str(steps), str(threads)],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def _default_spec():
    from optlab.transformer import lab

    return lab.TrainSpec()


def _fmt(ms: list[float]) -> str:
    return f"{np.median(ms):7.2f} ms/step  (runs: {', '.join(f'{x:.2f}' for x in ms)})"


def bench_step(steps: int, repeats: int) -> None:
    s = _default_spec()
    print(f"\n(1) one training step, default model ({s.n_layer} layers, d={s.d_model}, "
          f"{s.n_head} heads, ctx {s.ctx}, batch {s.batch_size}, Adam)")  # fmt: skip
    ours: list[float] = []
    theirs: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(repeats):  # alternated, so both see the same machine load
        ours += optlab_step_ms(steps, 1)
        for threads, ms in theirs.items():
            ms.extend(torch_child_ms(steps, threads))
    print(f"    optlab (jit + lax.scan, chunk of 50): {_fmt(ours)}")
    if not theirs[1]:
        print("    PyTorch is not installed: comparison skipped (pip install torch to run it)")
        return
    for threads, ms in theirs.items():
        print(
            f"    PyTorch eager, {threads} thread{'s' if threads > 1 else ' '}:         {_fmt(ms)}"
        )
    best = min(float(np.median(ms)) for ms in theirs.values())
    ratio = float(np.median(ours)) / best
    verdict = "met" if ratio <= 1 else "NOT met"
    print(f"    optlab / the faster PyTorch = {ratio:.2f}×  (target ≤ 1.0×: {verdict})")


def bench_default(quick: bool) -> None:
    s = _default_spec()
    print(f"\n(2)+(3) the default comparison ({len(s.runs)} optimizers × {s.steps} steps), "
          f"fresh processes — {load()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="optlab-jax-cache-") as cache:
        runs = [("first launch (empty cache)", launch(cache))]
        if not quick:
            runs.append(("second launch (same cache)", launch(cache)))
    for name, r in runs:
        print(f"    {name}: end to end {r['total_s']:.1f} s (target ≤ 60 s: "
              f"{'met' if r['total_s'] <= 60 else 'NOT met'}); first round (compile + chunk 1) "
              f"{r['first_round_s']:.1f} s; backend compiles {r['n_compiles']} taking "
              f"{r['compile_s']:.1f} s")  # fmt: skip
    r = runs[0][1]
    print("    final validation loss: " + ", ".join(f"{k} {v:.3f}" for k, v in r["val"].items()))
    print(f"    exact match on {r['n_prompts']} held-out sums: "
          + ", ".join(f"{k} {100 * v:.1f} %" for k, v in r["accuracy"].items())
          + f" (measured in {r['accuracy_s']:.1f} s)")  # fmt: skip
    if len(runs) == 2:
        a, b = runs[0][1]["first_round_s"], runs[1][1]["first_round_s"]
        print(f"    persistent cache: first round {a:.1f} s → {b:.1f} s ({a / b:.1f}× faster)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--child", metavar="CACHE_DIR")
    ap.add_argument("--torch-child", nargs=2, type=int, metavar=("STEPS", "THREADS"))
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if args.torch_child:
        steps, threads = args.torch_child
        try:
            import torch
        except ImportError:
            print("[]")
            return
        torch.set_num_threads(threads)
        print(json.dumps(torch_step_ms(steps, 1)))
        return
    print(f"optlab transformer benchmark — {load()}")
    bench_step(*((100, 2) if args.quick else (200, 3)))
    bench_default(args.quick)
    print(f"\n{load()}")


if __name__ == "__main__":
    main()
