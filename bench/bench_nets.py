"""Benchmark of the Deep nets page's training, every figure measured side by side in this run.

    python bench/bench_nets.py            # about a minute on 2 cores
    python bench/bench_nets.py --quick    # fewer repeats

Prints:
(1) steps per second of one optimizer (Adam) on the depth section's network, at depth 10
    (the default) and 50, as the page trains it — ``optlab.nets.train``'s chunked
    ``lax.scan`` — and as a plain Python loop calling the same ``train_step`` jitted once,
    alternated, best of the repeats; the ratio scan / loop.
(2) the page's defaults end to end: the depth section (GD and Adam, 300 steps, depth 10) and
    the overfitting section (two runs of 2000 steps), the first time in this process
    (compiles included) and again with the compiled programs (new learning rates: no
    compile), with the number of backend compiles each time. Target: warm ≤ 3 s.
The backend and the load average are printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import jax

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from optlab.config import deepnets as dn  # noqa: E402
from optlab.nets import train  # noqa: E402

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class Compiles:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: str, duration: float, **kw) -> None:
        del duration, kw
        self.count += event == COMPILE_EVENT


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def steps_per_second(depth: int, steps: int, repeats: int) -> tuple[float, float]:
    n = replace(dn.DepthConfig(), depth=depth, steps=steps)
    net, data = dn.depth_net(n), dn.depth_data(n)
    run = train.Run("Adam", "adam", {"learning_rate": 0.003})
    settings = train.Settings(steps=steps, chunk=steps)
    train.train(net, data, [run], settings)  # compile both once
    train.python_loop(net, data, run, replace(settings, steps=2))
    best_scan = best_loop = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        train.train(net, data, [run], settings)
        best_scan = min(best_scan, time.perf_counter() - t0)
        t0 = time.perf_counter()
        train.python_loop(net, data, run, settings)
        best_loop = min(best_loop, time.perf_counter() - t0)
    return steps / best_scan, steps / best_loop


def defaults(counter: Compiles, lr_scale: float) -> tuple[float, float, int]:
    cfg = dn.DeepNetsConfig()
    n = cfg.net
    n = replace(n, lrs=tuple((o, lr * lr_scale) for o, lr in n.lrs))
    o = replace(cfg.of, lr=cfg.of.lr * lr_scale)
    before = counter.count
    t0 = time.perf_counter()
    train.train(dn.depth_net(n), dn.depth_data(n), dn.depth_runs(n), dn.depth_settings(n))
    depth_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    train.train(dn.overfit_net(o), dn.overfit_data(o), dn.overfit_runs(o), dn.overfit_settings(o))
    return depth_s, time.perf_counter() - t0, counter.count - before


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    repeats = 2 if args.quick else 4
    counter = Compiles()
    jax.monitoring.register_event_duration_secs_listener(counter)
    print(f"backend {jax.default_backend()}, {load()}")
    cold = defaults(counter, 1.0)
    warm = defaults(counter, 0.5)
    print("(2) the page's defaults (depth section: GD + Adam × 300 steps, depth 10; overfitting "
          "section: 2 runs × 2000 steps)")  # fmt: skip
    for name, (d, o, c) in (("first time", cold), ("new learning rates", warm)):
        print(f"  {name:>18}: depth {d:5.2f} s, overfitting {o:5.2f} s, {c} backend compiles")
    print("(1) Adam steps per second, depth section network (width 32, 200 points, full batch)")
    for depth in (10, 50):
        scan, loop = steps_per_second(depth, 300, repeats)
        print(f"  depth {depth:2d}: scan {scan:7.0f} steps/s, Python loop of a jitted step "
              f"{loop:7.0f} steps/s, scan / loop {scan / loop:4.1f}×")  # fmt: skip
    print(load())


if __name__ == "__main__":
    main()
