"""The step engine: every selected optimizer on one problem, one ``jit``, ``lax.scan`` over steps.

Only the problem, the optimizer and the (bucketed) step count are static: on a deterministic
problem each optimizer runs in its own compiled function, so adding Adam to a race of GD and
momentum compiles Adam alone (a stochastic problem's optimizers share one scan, whose one
vmapped gradient call matters more there). Everything a
slider moves — learning rates and other hyperparameters, the start point, surface parameters, the
schedule's multipliers, clipping thresholds, weight decay, gradient noise, seeds — enters the
compiled function as an array, so moving it never recompiles.

A *problem* is anything with ``loss(params, theta) -> scalar`` over a flat parameter vector
(every ``surfaces.Surface`` is one). A problem with ``stochastic = True`` also has
``sample_value_and_grad(params, theta, step, bits) -> (scalar, gradient)`` (the mini-batch loss
at ``step`` and its gradient; ``bits`` is a ``uint32[steps, 2]`` array of random bits drawn once
per run, so a problem can reshuffle per epoch with ``bits[epoch]``) and the optimizers follow
that gradient while the recorded ``loss`` stays the full loss.

Each run is batched over a leading axis (hyperparameter grid × seeds × starts): ``run`` uses a
batch of one per optimizer, ``sweep`` a batch of many — the same compiled code path.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import numpy as np

from optlab.core import shared
from optlab.core.optimizers import OPTIMIZERS, GradientTransformation
from optlab.core.schedules import SCHEDULES
from optlab.core.stepper import run_all

# Every batch is padded to a multiple of LANES rows. Measured on this machine (x86-64, AVX2: 8
# float32 lanes): XLA's CPU code rounds a row of a batch of one (scalar code) or a row in a
# batch's remainder differently, in the last bits, from a row in a full vector, and a path
# that crosses the map or runs 700 steps on Rosenbrock carries that to 0.2 apart. With full
# vectors only, ``run`` at η and row η of a ``sweep`` are bit for bit the same (what the live
# race draws from its grid is then exactly the run the page's panels show).
LANES = 8
STEP_BUCKETS = (25, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10000)
MAX_STEPS = STEP_BUCKETS[-1]


def bucket_steps(steps: int) -> int:
    """The compiled scan length for ``steps``: the smallest bucket that holds it.

    A slider over the step count then compiles a handful of shapes, not one per value.
    """
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be in [1, {MAX_STEPS}], got {steps}")
    return next(b for b in STEP_BUCKETS if b >= steps)


# ---------------------------------------------------------------------------------------------
# What to run.


@dataclass(frozen=True)
class OptimizerRun:
    """One optimizer to run: a registry name (or any optax-protocol transformation) and values.

    ``hparams`` missing from the mapping take the registry defaults. ``transform`` runs an
    external ``GradientTransformation`` (e.g. from optax) whose hyperparameters are baked in;
    the schedule then scales its updates.
    """

    name: str
    hparams: Mapping[str, float] = field(default_factory=dict)
    label: str = ""
    transform: Any = None

    @property
    def impl(self) -> Any:
        """The static part: which code runs."""
        return self.transform if self.transform is not None else self.name

    def display(self) -> str:
        if self.label:
            return self.label
        return OPTIMIZERS[self.name].display if self.name in OPTIMIZERS else self.name

    def color(self) -> str:
        return OPTIMIZERS[self.name].color if self.name in OPTIMIZERS else "#7f7f7f"

    def values(self) -> dict[str, float]:
        """Hyperparameter values: registry defaults, overridden, clipped to their ranges."""
        if self.transform is not None:
            return {}
        spec = OPTIMIZERS[self.name]
        return {h.name: h.clip(self.hparams.get(h.name, h.default)) for h in spec.hparams}


@dataclass(frozen=True)
class Settings:
    """Run-wide settings shared by every optimizer in a comparison.

    ``clip_norm`` / ``clip_value`` of ``inf`` mean no clipping; ``l2`` is coupled L2 (added to
    the gradient), ``weight_decay`` decoupled decay (``θ ← θ − η λ θ``); ``grad_noise`` adds
    Gaussian noise of that standard deviation to every gradient component. On a stochastic
    problem the full-data loss is recorded every ``full_loss_every`` steps (held in between);
    that one is static (a change recompiles).
    """

    steps: int = 200
    schedule: str = "constant"
    schedule_params: Mapping[str, float] = field(default_factory=dict)
    clip_norm: float = math.inf
    clip_value: float = math.inf
    l2: float = 0.0
    weight_decay: float = 0.0
    grad_noise: float = 0.0
    seed: int = 0
    full_loss_every: int = 1

    def lr_multipliers(self) -> np.ndarray:
        """The schedule's multiplier at each compiled step (the scan runs ``bucket_steps``).

        Evaluated on the bucket's counts, so the schedule's few eager ops compile once per
        (schedule, bucket) — the same buckets the engine compiles for.
        """
        params = tuple(sorted(dict(self.schedule_params).items()))
        return _multipliers(self.schedule, self.steps, params)

    def transform_arrays(self) -> dict[str, np.float32]:
        values = {
            "clip_norm": self.clip_norm,
            "clip_value": self.clip_value,
            "l2": self.l2,
            "weight_decay": self.weight_decay,
            "grad_noise": self.grad_noise,
        }
        return {k: np.float32(v) for k, v in values.items()}


# ---------------------------------------------------------------------------------------------
# What comes back.


class Trajectory(NamedTuple):
    """One optimizer's run, as numpy arrays (``T`` = steps actually run, ``D`` = #params).

    ``params[t]``/``loss[t]`` are before step ``t`` (so ``params[T]`` is the final point);
    ``grad[t]`` is the gradient the optimizer used at step ``t`` (after noise, clipping and L2);
    ``update[t] = params[t+1] - params[t]``. After divergence the arrays end at the last finite
    point and ``diverged_at`` is the step whose result was NaN/inf.
    """

    name: str
    label: str
    color: str
    params: np.ndarray  # [T+1, D]
    loss: np.ndarray  # [T+1] (full loss)
    sample_loss: np.ndarray  # [T] (mini-batch loss; equals loss[:-1] when deterministic)
    grad: np.ndarray  # [T, D]
    update: np.ndarray  # [T, D]
    lr: np.ndarray  # [T]
    grad_norm: np.ndarray  # [T] raw
    clipped_norm: np.ndarray  # [T] after clipping
    moments: dict[str, np.ndarray]  # label -> [T, D]
    diverged_at: int | None

    @property
    def steps(self) -> int:
        return len(self.grad)

    @property
    def eff_step(self) -> np.ndarray:
        """Effective per-coordinate step size ``|Δθ_i| / |g_i|`` (NaN where ``g_i ≈ 0``)."""
        g = np.abs(self.grad)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(g > 1e-12, np.abs(self.update) / np.maximum(g, 1e-30), np.nan)


def _batched_inputs(runs, hp_batch, x0_batch, seeds):
    hps, x0s, rngs = [], [], []
    for i, r in enumerate(runs):
        base = {k: np.float32(v) for k, v in r.values().items()}
        hp = {
            k: np.broadcast_to(np.asarray(v, np.float32), (len(x0_batch),)).copy()
            for k, v in base.items()
        }
        for k, v in hp_batch[i].items():
            hp[k] = np.asarray(v, np.float32)
        hps.append(hp)
        x0s.append(np.asarray(x0_batch, np.float32))
        rngs.append(np.asarray(seeds, np.uint32))
    return hps, x0s, rngs


def _pad_rows(a: np.ndarray, rows: int) -> np.ndarray:
    """``a`` with its first row repeated until it has ``rows`` rows."""
    return np.concatenate([a, np.repeat(a[:1], rows - len(a), axis=0)]) if rows > len(a) else a


@functools.lru_cache(maxsize=512)
def _multipliers(schedule: str, steps: int, params: tuple) -> np.ndarray:
    """``Settings.lr_multipliers``, remembered: a slider move that leaves the schedule alone
    does not evaluate it again (read-only, as it is shared)."""
    fn = SCHEDULES[schedule].schedule(steps, **dict(params))
    counts = np.arange(bucket_steps(steps), dtype=np.int32)
    out = np.broadcast_to(np.asarray(fn(counts), np.float32), counts.shape).copy()
    out.flags.writeable = False
    return out


def _execute(problem, runs, settings, theta, hp_batch, x0_batch, seeds, pad_to=None, share=False):
    """Run the compiled core; with ``pad_to``, the batch is padded to that many entries (and
    the padding dropped again), so batches of different sizes share one compilation. Every
    batch is padded to a multiple of ``LANES`` rows (see there). Each optimizer runs through
    the most shared program compiled for its shape (``shared.program``; ``share``: the most
    shared there is, compiled now); the optimizers of a stochastic problem share one scan."""
    steps = bucket_steps(settings.steps)
    size = len(x0_batch)
    rows = -(-max(pad_to or 0, size) // LANES) * LANES
    hp_batch = [{k: _pad_rows(np.asarray(v), rows) for k, v in h.items()} for h in hp_batch]
    x0_batch = _pad_rows(np.asarray(x0_batch), rows)
    seeds = _pad_rows(np.asarray(seeds), rows)
    hps, x0s, rngs = _batched_inputs(runs, hp_batch, x0_batch, seeds)
    every, scale = settings.full_loss_every, settings.lr_multipliers()
    tp = settings.transform_arrays()
    if getattr(problem, "stochastic", False) and len(runs) > 1:  # one scan steps them all
        th = shared.program(problem, None, theta or {}).theta
        impls = tuple(r.impl for r in runs)
        out = run_all(problem, impls, steps, every, hps, x0s, rngs, th, scale, tp)
    else:  # one compiled function per (problem, optimizer): a new set reuses the others
        out = []
        for r, h, x, g in zip(runs, hps, x0s, rngs, strict=True):
            shape = (steps, rows, every)
            prog = shared.program(problem, r.impl, theta or {}, shape, share)
            hp = {k: np.full(rows, v, np.float32) for k, v in prog.hp.items()} | h
            args = ([hp], [x], [g], prog.theta, scale, tp | prog.tp)
            rec = run_all(prog.problem, (prog.impl,), steps, every, *args)[0]
            if prog.impl is not r.impl:  # an OptimizerSet: its moment slots get their labels
                slots = rec["moments"]
                labels = prog.impl.labels(r.impl)
                rec["moments"] = {m: slots[f"slot {j}"] for j, m in enumerate(labels)}
            if share:
                shared.mark_compiled(prog, shape)
            out.append(rec)
    return jax.tree.map(lambda a: a[:size], out)


# ---------------------------------------------------------------------------------------------
# Public API.


def _as_run(r) -> OptimizerRun:
    if isinstance(r, OptimizerRun):
        return r
    if isinstance(r, str):
        return OptimizerRun(r)
    if hasattr(r, "init") and hasattr(r, "update"):
        return OptimizerRun(name=type(r).__name__, transform=r, label="optax transform")
    raise TypeError(f"not an optimizer: {r!r}")


def _with_final(rec: dict, name: str) -> np.ndarray:
    """``[B, S+1, ...]``: the per-step record (point *before* each step) plus the final point."""
    return np.concatenate([rec[name], rec[f"final_{name}"][:, None]], axis=1)


def _ends(rec: dict, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per batch entry: ``kept`` steps and whether the run diverged.

    A run diverged at step ``d`` when the result of step ``d`` (its new point, or the loss
    there) is not finite; it then keeps ``d`` steps and ends at the last finite point.
    """
    div = rec["diverged_at"]
    kept = np.where((div >= 0) & (div < steps), div, steps)
    loss_there = np.take_along_axis(_with_final(rec, "loss"), kept[:, None], axis=1)[:, 0]
    kept = np.where(np.isfinite(loss_there) | (kept == 0), kept, kept - 1)
    return kept, kept < steps


def _to_trajectory(run: OptimizerRun, rec: dict, b: int, steps: int) -> Trajectory:
    kept, diverged = _ends(rec, steps)
    n = int(kept[b])
    return Trajectory(
        name=run.name,
        label=run.display(),
        color=run.color(),
        params=_with_final(rec, "params")[b, : n + 1],
        loss=_with_final(rec, "loss")[b, : n + 1],
        sample_loss=rec["sample_loss"][b, :n],
        grad=rec["grad"][b, :n],
        update=rec["update"][b, :n],
        lr=rec["lr"][b, :n],
        grad_norm=rec["grad_norm"][b, :n],
        clipped_norm=rec["clipped_norm"][b, :n],
        moments={k: v[b, :n] for k, v in rec["moments"].items()},
        diverged_at=n if diverged[b] else None,
    )


def run(
    problem,
    optimizers: Sequence[OptimizerRun | str | GradientTransformation],
    start: Sequence[float],
    settings: Settings | None = None,
    theta: Mapping[str, float] | None = None,
    pad_to: int | None = None,
    share: bool = False,
) -> list[Trajectory]:
    """Run every optimizer from ``start`` on ``problem``; one ``Trajectory`` each.

    ``pad_to`` runs the one start in a batch of that many rows (copies of it), so that the
    run shares its compiled program with a sweep of that size (``sweeps.RACE_BATCH``);
    ``share`` as for ``sweep``.

    Example::

        from optlab.core.engine import run, OptimizerRun, Settings
        from surfaces import SURFACES
        trajs = run(SURFACES["rosenbrock"], [OptimizerRun("adam", {"learning_rate": 0.05})],
                    start=(-1.5, 2.0), settings=Settings(steps=500))
    """
    settings = settings or Settings()
    runs = [_as_run(r) for r in optimizers]
    if not runs:
        return []
    x0 = np.asarray(start, np.float32)[None]
    out = _execute(
        problem, runs, settings, theta, [{}] * len(runs), x0, [settings.seed], pad_to, share
    )
    return [_to_trajectory(r, rec, 0, settings.steps) for r, rec in zip(runs, out, strict=True)]


class SweepResult(NamedTuple):
    """One optimizer's sweep: arrays with a leading axis ``N`` over the grid (× seeds × starts).

    ``grid`` holds the swept hyperparameter values per batch entry; ``seed``/``start`` which
    seed and start index each entry used.
    """

    name: str
    label: str
    color: str
    grid: dict[str, np.ndarray]  # name -> [N]
    seed: np.ndarray  # [N]
    start: np.ndarray  # [N, D]
    loss: np.ndarray  # [N, T+1] (frozen at the last finite value after divergence)
    sample_loss: np.ndarray  # [N, T] (mini-batch loss; equals loss[:, :-1] when deterministic)
    params: np.ndarray  # [N, T+1, D]
    diverged_at: np.ndarray  # [N] (-1 = never)


def sweep(
    problem,
    optimizers: Sequence[OptimizerRun | str],
    grid: Mapping[str, Sequence[float]] | Sequence[Mapping[str, Sequence[float]]],
    starts: Sequence[Sequence[float]],
    settings: Settings | None = None,
    seeds: Sequence[int] = (0,),
    theta: Mapping[str, float] | None = None,
    pad_to: int | None = None,
    share: bool = False,
) -> list[SweepResult]:
    """Every optimizer over the product (grid entries) × seeds × starts, vmapped in one jit.

    ``grid`` maps hyperparameter names to equally long value arrays (a grid already expanded,
    or random samples); one mapping for all optimizers or one per optimizer. ``pad_to`` pads
    the batch to a fixed size so that, e.g., a seed-count slider up to that cap never
    recompiles. ``share`` runs through the most shared program there is (``shared.program``:
    the problem's ``ProblemSet`` and ``OPTIMIZER_SET``, where they hold them) and compiles it:
    every later run of that shape on any of their members then uses it.
    """
    settings = settings or Settings()
    runs = [_as_run(r) for r in optimizers]
    grids = [grid] * len(runs) if isinstance(grid, Mapping) else list(grid)
    starts_arr = np.asarray(starts, np.float32).reshape(len(starts), -1)
    seeds_arr = np.asarray(seeds, np.int64)
    hp_batch, x0_batch, seed_batch, grid_out = [], None, None, []
    for g in grids:
        n = len(next(iter(g.values()))) if g else 1
        idx_g, idx_s, idx_x = np.meshgrid(
            np.arange(n), np.arange(len(seeds_arr)), np.arange(len(starts_arr)), indexing="ij"
        )
        idx_g, idx_s, idx_x = idx_g.ravel(), idx_s.ravel(), idx_x.ravel()
        vals = {k: np.asarray(v, np.float32)[idx_g] for k, v in g.items()}
        hp_batch.append(vals)
        grid_out.append(vals)
        x0_batch, seed_batch = starts_arr[idx_x], seeds_arr[idx_s]
    sizes = {len(h[next(iter(h))]) if h else len(x0_batch) for h in hp_batch}
    if len(sizes) != 1:
        raise ValueError("every optimizer's grid must have the same number of points")
    out = _execute(problem, runs, settings, theta, hp_batch, x0_batch, seed_batch, pad_to, share)
    results = []
    for r, rec, g in zip(runs, out, grid_out, strict=True):
        kept, diverged = _ends(rec, settings.steps)
        results.append(
            SweepResult(
                r.name,
                r.display(),
                r.color(),
                g,
                seed_batch,
                x0_batch,
                _with_final(rec, "loss")[:, : settings.steps + 1],
                rec["sample_loss"][:, : settings.steps],
                _with_final(rec, "params")[:, : settings.steps + 1],
                np.where(diverged, kept, -1),
            )
        )
    return results
