"""Benchmark of the numerical core, every figure measured side by side in this one run.

    python bench/bench_core.py            # full run (about a minute on 2 cores)
    python bench/bench_core.py --quick    # fewer repeats

Prints: (1) 8 optimizers × 1000 steps on Rosenbrock — a NumPy Python loop, optax's update jitted
per step in a Python loop, and the engine (one jit, lax.scan) — with the ratios; (2) an lr sweep
of 13 optimizers × 64 learning rates × 500 steps — a NumPy loop vectorised over the 64 lrs, and
the engine's vmapped sweep; (3) compile time; (4) a 300×300 grid evaluation; (5) backend compiles
across 20 hyperparameter changes. Targets: (1) ≥ 50× the NumPy loop, (2) ≤ 1 s warm, (5) zero.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from optlab.core.engine import OptimizerRun, Settings, run, sweep
from optlab.core.optimizers import OPTIMIZERS
from surfaces import SURFACES

EIGHT = ("gd", "momentum", "nesterov", "adagrad", "rmsprop", "adadelta", "adam", "nadam")
# Learning rates at which each converges on Rosenbrock from START (so no run is cut short).
LRS = {
    "gd": 1e-3,
    "momentum": 2e-4,
    "nesterov": 2e-4,
    "adagrad": 0.3,
    "rmsprop": 1e-2,
    "adadelta": 1.0,
    "adam": 2e-2,
    "nadam": 2e-2,
}
START = (-1.5, 2.0)


# ---------------------------------------------------------------------------------------------
# The NumPy baseline: the same update rules written plainly, vectorised over a batch axis [B, 2].


def rosen_grad(p):
    x, y = p[..., 0], p[..., 1]
    return np.stack([-2 * (1 - x) - 400 * x * (y - x**2), 200 * (y - x**2)], axis=-1)


def np_step(name, g, s, lr):
    """One update of optimizer ``name`` (optax conventions, default hyperparameters)."""
    b1, b2, eps = 0.9, 0.999, 1e-8
    s["t"] = s.get("t", 0) + 1
    t = s["t"]
    if name == "gd":
        return -lr * g
    if name in ("momentum", "nesterov"):
        s["v"] = g + 0.9 * s.get("v", 0 * g)
        return -lr * (g + 0.9 * s["v"]) if name == "nesterov" else -lr * s["v"]
    if name == "adagrad":
        s["a"] = s.get("a", 0 * g + 0.1) + g * g
        return -lr * g / np.sqrt(s["a"] + 1e-7)
    if name == "rmsprop":
        s["n"] = 0.9 * s.get("n", 0 * g) + 0.1 * g * g
        return -lr * g / (np.sqrt(s["n"]) + eps)
    if name == "adadelta":
        s["e"] = 0.9 * s.get("e", 0 * g) + 0.1 * g * g
        d = -np.sqrt(s.get("d", 0 * g) + 1e-6) / np.sqrt(s["e"] + 1e-6) * g
        s["d"] = 0.9 * s.get("d", 0 * g) + 0.1 * d * d
        return lr * d
    s["m"] = b1 * s.get("m", 0 * g) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0 * g) + (1 - b2) * g * g
    vhat = s["v"] / (1 - b2**t)
    if name == "nadam":
        mhat = b1 * s["m"] / (1 - b1 ** (t + 1)) + (1 - b1) * g / (1 - b1**t)
    else:  # adam and the rest of its family, as a stand-in of equal cost
        mhat = s["m"] / (1 - b1**t)
    return -lr * mhat / (np.sqrt(vhat) + eps)


def numpy_loop(names, lrs, steps):
    """Every optimizer for ``steps`` steps, each over a batch of learning rates ``lrs``."""
    finals = {}
    for name in names:
        p = np.tile(np.asarray(START, np.float32), (len(lrs), 1))
        s, lr = {}, np.asarray(lrs, np.float32)[:, None]
        for _ in range(steps):
            p = p + np_step(name, rosen_grad(p), s, lr)
        finals[name] = p
    return finals


def optax_loop(names, steps):
    import optax

    makers = {
        "gd": lambda: optax.sgd(LRS["gd"]),
        "momentum": lambda: optax.sgd(LRS["momentum"], momentum=0.9),
        "nesterov": lambda: optax.sgd(LRS["nesterov"], momentum=0.9, nesterov=True),
        "adagrad": lambda: optax.adagrad(LRS["adagrad"]),
        "rmsprop": lambda: optax.rmsprop(LRS["rmsprop"]),
        "adadelta": lambda: optax.adadelta(LRS["adadelta"]),
        "adam": lambda: optax.adam(LRS["adam"]),
        "nadam": lambda: optax.nadam(LRS["nadam"]),
    }
    grad = jax.jit(jax.grad(SURFACES["rosenbrock"].loss))
    for name in names:
        tx = makers[name]()
        update = jax.jit(tx.update)
        p = jnp.asarray(START, jnp.float32)
        state = tx.init(p)
        for _ in range(steps):
            u, state = update(grad(p), state, p)
            p = p + u
        p.block_until_ready()


def compile_log() -> list[str]:
    """A list that fills with one entry per XLA backend compile from now on."""
    compiles: list[str] = []

    def listen(event: str, duration: float, **kwargs) -> None:
        if event == "/jax/core/compile/backend_compile_duration":
            compiles.append(event)

    jax.monitoring.register_event_duration_secs_listener(listen)
    return compiles


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    reps = 2 if args.quick else 5
    rosen = SURFACES["rosenbrock"]
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, {len(OPTIMIZERS)} optimizers")

    # (1) one recompute: 8 optimizers x 1000 steps.
    lrs = LRS
    runs = [OptimizerRun(n, {"learning_rate": LRS[n]}) for n in EIGHT]
    t0 = time.perf_counter()
    run(rosen, runs, START, Settings(steps=1000))
    compile_s = time.perf_counter() - t0
    t_engine = best_of(lambda: run(rosen, runs, START, Settings(steps=1000)), reps * 4)
    t_numpy = best_of(lambda: [numpy_loop([n], [lrs[n]], 1000) for n in EIGHT], reps)
    optax_loop(EIGHT, 5)
    t_optax = best_of(lambda: optax_loop(EIGHT, 1000), 1)
    print("\n(1) one recompute: 8 optimizers x 1000 steps on Rosenbrock")
    print(f"  NumPy Python loop            {t_numpy * 1e3:9.1f} ms")
    print(f"  optax update jit per step    {t_optax * 1e3:9.1f} ms")
    print(
        f"  engine (jit + lax.scan)      {t_engine * 1e3:9.2f} ms   (first call incl. compile "
        f"{compile_s:.2f} s)"
    )
    ratio = t_numpy / t_engine
    print(
        f"  engine vs NumPy: {ratio:.0f}x, vs optax loop: {t_optax / t_engine:.0f}x   "
        f"target >= 50x: {'PASS' if ratio >= 50 else 'MISS'}"
    )

    # (2) sweep: 13 optimizers x 64 lrs x 500 steps.
    names = list(OPTIMIZERS)
    grids = [{"learning_rate": np.geomspace(1e-4, 1.0, 64).astype(np.float32)} for _ in names]
    t0 = time.perf_counter()
    sweep(rosen, names, grids, [START], Settings(steps=500))
    sweep_compile = time.perf_counter() - t0
    t_sweep = best_of(lambda: sweep(rosen, names, grids, [START], Settings(steps=500)), reps)
    np_names = [n for n in names if n in EIGHT]
    t_np_sweep = best_of(lambda: numpy_loop(np_names, grids[0]["learning_rate"], 500), 1)
    t_np_sweep *= len(names) / len(np_names)
    print(f"\n(2) sweep: {len(names)} optimizers x 64 lrs x 500 steps on Rosenbrock")
    print(
        f"  NumPy loop vectorised over lrs {t_np_sweep * 1e3:9.1f} ms (measured on "
        f"{len(np_names)} optimizers, scaled to {len(names)})"
    )
    print(
        f"  engine sweep (vmap in scan)    {t_sweep * 1e3:9.1f} ms   (first call "
        f"{sweep_compile:.2f} s)"
    )
    print(
        f"  ratio {t_np_sweep / t_sweep:.0f}x   target <= 1 s warm: "
        f"{'PASS' if t_sweep <= 1.0 else 'MISS'}"
    )

    # (4) 300 x 300 grid.
    grid_fn = jax.jit(lambda theta: rosen.grid(300, theta)[2])
    theta = rosen.theta()
    grid_fn(theta).block_until_ready()
    t_grid = best_of(lambda: grid_fn(theta).block_until_ready(), reps * 4)
    xs = np.linspace(-2, 2, 300)
    t_np_grid = best_of(
        lambda: (1 - xs[None]) ** 2 + 100 * (xs[:, None] - xs[None] ** 2) ** 2, reps * 4
    )
    print("\n(3) 300 x 300 grid evaluation of Rosenbrock")
    print(f"  jitted vmap grid {t_grid * 1e3:.2f} ms, NumPy broadcast {t_np_grid * 1e3:.2f} ms")

    # (5) recompiles across hyperparameter changes.
    compiles = compile_log()
    rng = np.random.default_rng(0)
    for _ in range(20):
        changed = [
            OptimizerRun(n, {"learning_rate": float(lrs[n] * rng.uniform(0.2, 2))}) for n in EIGHT
        ]
        run(
            rosen,
            changed,
            tuple(rng.uniform(-2, 2, 2)),
            Settings(steps=int(rng.integers(751, 1000))),
        )
    print(
        f"\n(4) backend compiles across 20 hyperparameter/start/step changes: {len(compiles)}"
        f"   target 0: {'PASS' if not compiles else 'MISS'}"
    )


if __name__ == "__main__":
    main()
