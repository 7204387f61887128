"""Benchmark of a full learning-rate sweep, every figure measured side by side in this one run.

    python bench/bench_sweep.py            # 5 repeats
    python bench/bench_sweep.py --quick    # 2 repeats

Every registry optimizer (13) × 64 learning rates × 500 steps on Rosenbrock, through
``optlab.core.sweeps.run_sweep`` (one ``engine.sweep`` call, vmapped over the learning rates inside
each optimizer's scan, plus the numpy objectives). Baseline: the NumPy Python loop of
``bench_core`` vectorised over the 64 learning rates (measured on the 8 optimizers it implements,
scaled to 13). Target: ≤ 1 s warm. Also prints the first-call (compile) time, the backend
compiles when the lr range moves (target 0), and the tuned learning rate per optimizer.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_core import EIGHT, START, best_of, numpy_loop  # noqa: E402

from optlab.core.engine import Settings, sweep  # noqa: E402
from optlab.core.optimizers import OPTIMIZERS  # noqa: E402
from optlab.core.sweeps import best, divergence_threshold, lr_grid, run_sweep  # noqa: E402
from surfaces import SURFACES  # noqa: E402

N_LR, STEPS = 64, 500


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    reps = 2 if ap.parse_args().quick else 5
    rosen = SURFACES["rosenbrock"]
    names = list(OPTIMIZERS)
    axes = {"learning_rate": lr_grid(1e-4, 1.0, N_LR)}
    settings = Settings(steps=STEPS)
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {len(names)} optimizers")

    def table(lo=1e-4, hi=1.0):
        return run_sweep(rosen, names, {"learning_rate": lr_grid(lo, hi, N_LR)}, [START],
                         settings=settings)  # fmt: skip

    t0 = time.perf_counter()
    table()
    first = time.perf_counter() - t0
    t_table = best_of(table, reps)
    t_engine = best_of(lambda: sweep(rosen, names, axes, [START], settings), reps)
    np_names = [n for n in names if n in EIGHT]
    with np.errstate(all="ignore"):  # the large learning rates overflow, as they should
        t_np = best_of(lambda: numpy_loop(np_names, axes["learning_rate"], STEPS), 1)
    t_np_all = t_np * len(names) / len(np_names)

    compiles: list[str] = []
    event = "/jax/core/compile/backend_compile_duration"
    listener = lambda ev, d, **kw: compiles.append(ev) if ev == event else None  # noqa: E731
    jax.monitoring.register_event_duration_secs_listener(listener)
    for lo, hi in ((1e-5, 0.1), (1e-3, 3.0), (3e-4, 0.3)):
        table(lo, hi)
    jax.monitoring.unregister_event_duration_listener(listener)

    print(f"\nsweep: {len(names)} optimizers x {N_LR} lrs x {STEPS} steps on Rosenbrock")
    print(
        f"  NumPy loop vectorised over lrs {t_np_all * 1e3:9.1f} ms  (measured on "
        f"{len(np_names)} optimizers: {t_np * 1e3:.1f} ms, scaled to {len(names)})"
    )
    print(f"  engine.sweep alone             {t_engine * 1e3:9.1f} ms")
    print(
        f"  run_sweep (sweep + objectives) {t_table * 1e3:9.1f} ms  (first call incl. compile "
        f"{first:.2f} s)"
    )
    print(
        f"  ratio NumPy / run_sweep {t_np_all / t_table:.1f}x   target <= 1 s warm: "
        f"{'PASS' if t_table <= 1.0 else 'MISS'}"
    )
    print(f"  backend compiles over 3 new lr ranges: {len(compiles)}   target 0: "
          f"{'PASS' if not compiles else 'MISS'}")  # fmt: skip

    result = table()
    picks, edges = best(result, "final_loss"), divergence_threshold(result)
    print(f"\n  {'optimizer':22s} {'best lr':>9s} {'final loss':>11s} {'diverges from':>14s}")
    for key, pick in picks.items():
        edge = edges[key]
        lr = f"{pick.hparams['learning_rate']:.3g}" if pick else "-"
        loss = f"{pick.value:.2e}" if pick else "-"
        div = "-" if np.isnan(edge) else f"{edge:.3g}"
        print(f"  {key:22s} {lr:>9s} {loss:>11s} {div:>14s}")


if __name__ == "__main__":
    main()
