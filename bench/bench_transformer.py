"""Benchmark of the Transformer page's training, every figure measured side by side in this run.

    python bench/bench_transformer.py            # everything (about 3 minutes on 2 cores)
    python bench/bench_transformer.py --quick    # fewer timed steps, no second launch

Prints:
(1) ms per training step at the page's default model (2 layers, d=64, 4 heads, ctx 16, batch
    32, Adam) — optlab's training program as the page runs it (``lax.scan`` over 50 steps,
    batches drawn on the device, per-layer norms, validation at each chunk end) and the same
    model written in PyTorch eager on CPU (Adam, same sizes, same
    batch size, ``scaled_dot_product_attention``), each PyTorch run in its own process with 1 and
    with 2 intra-op threads (on a busy 2-core machine 2 threads can be far slower: OpenMP waits
    on a descheduled thread), alternated with optlab; target optlab ≤ 1.0× the faster PyTorch.
    PyTorch is a benchmark peer only: if it is missing, that comparison is skipped.
(2) the default comparison (4 optimizers × 1000 steps, the page's defaults) end to end in a
    fresh process (targets ≤ 20 s with an empty JAX cache, ≤ 12 s warm), its backend compiles
    (target ≤ 8), the time to the first curve point, the same press of Train again in the
    now-warm process (target: first point ≤ 6 s), the final validation loss per optimizer and
    the exact-match accuracy on all held-out sums.
(3) JAX's persistent compilation cache: (2) is launched twice with one fresh cache directory.
The backend JAX runs on (CPU, or an accelerator when it finds one) is printed.
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
    """ms per step of the page's training program (Adam alone, default model), ``repeats``
    timings of ``steps`` steps each (after one compiled, untimed round)."""
    import dataclasses

    from optlab.transformer import lab

    spec = dataclasses.replace(lab.TrainSpec(), runs=(("adam", 3e-3),), steps=steps + 50)
    out = []
    for _ in range(repeats):
        trainer = lab.trainer(spec)
        trainer.compile()
        rounds = trainer.rounds()
        next(rounds)  # setup + the first chunk, untimed
        t0 = time.perf_counter()
        for _ in rounds:
            pass
        out.append(1e3 * (time.perf_counter() - t0) / steps)
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

    def press_train():
        """What the page does on Train: stage after stage, round after round."""
        t0, training, first = time.perf_counter(), lab.Training(spec), None
        while training.advance():
            if first is None and training.result is not None:
                first = time.perf_counter() - t0
        return training, time.perf_counter() - t0, first

    training, total, first = press_train()
    n_train = len(compile_s)
    train_compile_s = sum(compile_s)
    last = training.result.report
    t1 = time.perf_counter()
    scores = insight.addition_scores(training.result)
    accuracy_s = time.perf_counter() - t1
    _, warm_total, warm_first = press_train()  # a second press in this (now warm) server
    print(json.dumps({
        "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
        "total_s": total, "first_point_s": first, "compile_s": train_compile_s,
        "n_compiles": n_train, "warm_server_total_s": warm_total,
        "warm_server_first_point_s": warm_first, "accuracy_s": accuracy_s,
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


def _met(value: float, target: float, unit: str = " s") -> str:
    return f"target ≤ {target:g}{unit}: {'met' if value <= target else 'NOT met'}"


def bench_default(quick: bool) -> None:
    s = _default_spec()
    print(f"\n(2)+(3) the default comparison ({len(s.runs)} optimizers × {s.steps} steps), "
          f"fresh processes — {load()}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="optlab-jax-cache-") as cache:
        runs = [("first launch (empty JAX cache)", launch(cache))]
        if not quick:
            runs.append(("second launch (same cache)", launch(cache)))
    r0 = runs[0][1]
    print(f"    backend: {r0['backend']} ({', '.join(r0['devices'])})")
    for (name, r), target in zip(runs, (20, 12), strict=False):
        n, secs = r["n_compiles"], r["compile_s"]
        print(f"    {name}: end to end {r['total_s']:.1f} s ({_met(r['total_s'], target)}); "
              f"first curve point {r['first_point_s']:.1f} s; backend compiles {n} "
              f"({_met(n, 8, '')}) taking {secs:.1f} s")  # fmt: skip
    w = runs[-1][1]
    print(f"    warm server (Train pressed again in that process): first curve point "
          f"{w['warm_server_first_point_s']:.1f} s ({_met(w['warm_server_first_point_s'], 6)}), "
          f"end to end {w['warm_server_total_s']:.1f} s")  # fmt: skip
    print("    final validation loss: " + ", ".join(f"{k} {v:.3f}" for k, v in r0["val"].items()))
    print(f"    exact match on {r0['n_prompts']} held-out sums: "
          + ", ".join(f"{k} {100 * v:.1f} %" for k, v in r0["accuracy"].items())
          + f" (measured in {r0['accuracy_s']:.1f} s)")  # fmt: skip
    if len(runs) == 2:
        a, b = runs[0][1]["total_s"], runs[1][1]["total_s"]
        print(f"    persistent cache: end to end {a:.1f} s → {b:.1f} s ({a / b:.1f}× faster)")


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
