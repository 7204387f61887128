"""Numbers behind the "Data & SGD" page (no Streamlit): K seeds of one optimizer on a data loss
(mini-batch gradients) or on an analytic surface with Gaussian gradient noise, the full-data
loss rendered as the map's background, and what the runs teach (spread of the final iterates).

One ``engine.sweep`` per optimizer over ``seeds = range(K)``, padded to ``SEEDS_CAP`` entries:
moving the seed-count slider, the batch size, the data controls, the learning rate or the noise
level never recompiles (they are all arrays in the compiled scan).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache, partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optlab.config.data import SEEDS_CAP, DataConfig, lr_spec
from optlab.core import engine
from optlab.core.params import snap_grid, value_grid
from optlab.viz import race
from optlab.viz.colormap import SurfaceImage, normalize, png_data_uri, render_indices
from surfaces import SURFACES
from surfaces.base import Surface
from surfaces.data import DATA_LOSSES

Pairs = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class SeedSpec:
    """One optimizer's K-seed run: the hashable cache key of ``run_seeds``."""

    problem: str  # "linreg" | "logreg" | "surface"
    controls: Pairs  # the data controls incl. batch_size (data problems), else ()
    surface: str  # the analytic surface (problem == "surface")
    optimizer: str
    lr: float
    steps: int
    schedule: str
    grad_noise: float
    seeds: int
    start: tuple[float, float]


class SeedRuns(NamedTuple):
    """K runs of one optimizer (``K`` seeds, ``T`` steps, frozen after a divergence)."""

    name: str
    label: str
    color: str
    params: np.ndarray  # [K, T+1, 2]
    loss: np.ndarray  # [K, T+1] full loss
    sample_loss: np.ndarray  # [K, T] the loss the optimizer saw (mini-batch)
    diverged_at: np.ndarray  # [K] (-1: never)


def problem_of(problem: str, surface: str):
    """The engine's problem: a data loss, or a registry surface."""
    return SURFACES[surface] if problem == "surface" else DATA_LOSSES[problem]


@lru_cache(maxsize=32)
def view(problem: str, controls: Pairs, surface: str) -> Surface:
    """The map's surface: the full-data loss around its minimum, or the analytic surface."""
    if problem == "surface":
        return SURFACES[surface]
    return DATA_LOSSES[problem].view(**dict(controls))


def start_of(problem: str, controls: Pairs, surface: str) -> tuple[float, float]:
    s = view(problem, controls, surface).starts[0]
    return round(float(s.x), 4), round(float(s.y), 4)


def specs(cfg: DataConfig) -> list[SeedSpec]:
    """One ``SeedSpec`` per selected optimizer."""
    controls = cfg.controls() if cfg.is_data else ()
    start = start_of(cfg.problem, controls, cfg.surface)
    runs = (*controls, ("batch_size", float(cfg.batch_points))) if cfg.is_data else ()
    return [
        SeedSpec(
            cfg.problem,
            runs,
            cfg.surface if not cfg.is_data else "",
            o,
            cfg.lr(o),
            cfg.steps,
            cfg.schedule,
            cfg.grad_noise,
            cfg.seeds,
            start,
        )
        for o in cfg.optimizers
    ]


SEED_BUCKETS = (8, 16, 32)  # K padded up to one of these: the seed slider compiles 3 shapes


def seed_bucket(k: int) -> int:
    return next((b for b in SEED_BUCKETS if b >= k), SEED_BUCKETS[-1])


def structural(spec: SeedSpec) -> SeedSpec:
    """``spec`` without its learning rate: what the live race's grid depends on."""
    return replace(spec, lr=0.0)


def lr_seed_grid(spec: SeedSpec, share: bool = False) -> engine.SweepResult:
    """``spec.seeds`` runs of one optimizer at every value of its learning-rate slider (rows
    lr-major: ``[lr0 seed0, lr0 seed1, …]``), one vmapped sweep (``share``: through the
    program every optimizer shares, compiled now; see ``engine.sweep``)."""
    problem = problem_of(spec.problem, spec.surface or "bowl")
    settings = engine.Settings(steps=spec.steps, schedule=spec.schedule, grad_noise=spec.grad_noise)
    grid = np.asarray(value_grid(lr_spec(spec.optimizer)), np.float32)
    (res,) = engine.sweep(
        problem, [engine.OptimizerRun(spec.optimizer)], {"learning_rate": grid}, [spec.start],
        settings, seeds=range(spec.seeds),
        theta=dict(spec.controls) if spec.problem != "surface" else None,
        pad_to=len(grid) * seed_bucket(spec.seeds), share=share,
    )  # fmt: skip
    return res


def seeds_at(res: engine.SweepResult, spec: SeedSpec) -> SeedRuns:
    """The K runs at ``spec.lr`` out of its optimizer's grid (``lr_seed_grid``)."""
    grid = value_grid(lr_spec(spec.optimizer))
    g, k = grid.index(snap_grid(grid, spec.lr, log=True)), spec.seeds
    rows = slice(g * k, (g + 1) * k)
    return SeedRuns(res.name, res.label, res.color, res.params[rows], res.loss[rows],
                    res.sample_loss[rows], res.diverged_at[rows])  # fmt: skip


def run_seeds(spec: SeedSpec) -> SeedRuns:
    """``spec.seeds`` runs of one optimizer from the same start (one vmapped engine call)."""
    problem = problem_of(spec.problem, spec.surface or "bowl")
    settings = engine.Settings(steps=spec.steps, schedule=spec.schedule, grad_noise=spec.grad_noise)
    (res,) = engine.sweep(
        problem,
        [engine.OptimizerRun(spec.optimizer, {"learning_rate": spec.lr})],
        {},
        [spec.start],
        settings,
        seeds=range(spec.seeds),
        theta=dict(spec.controls) if spec.problem != "surface" else None,
        pad_to=SEEDS_CAP,
    )
    return SeedRuns(res.name, res.label, res.color, res.params, res.loss, res.sample_loss,
                    res.diverged_at)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The map's background.


@partial(jax.jit, static_argnames=("problem", "n"))
def _loss_grid(problem, n: int, window, theta):
    """``Z[i, j] = L(w = xs[j], b = ys[i])`` over ``window`` (row by row: bounded memory)."""
    xs = jnp.linspace(window[0], window[1], n)
    ys = jnp.linspace(window[2], window[3], n)
    row = jax.vmap(lambda w, b: problem.loss(jnp.stack([w, b]), theta), in_axes=(0, None))
    return xs, ys, jax.lax.map(lambda b: row(xs, b), ys)


def loss_image(problem: str, controls: Pairs, surface: str, n: int = 160) -> SurfaceImage:
    """The full-data loss (or the analytic surface) as the map's background image.

    Data losses are evaluated by one function compiled once per loss (data and window are
    arrays), not by the per-view surface, so a new data set costs no compilation."""
    v = view(problem, controls, surface)
    if problem == "surface":
        return race.surface_image(v)
    loss = DATA_LOSSES[problem]
    (x0, x1), (y0, y1) = v.bounds
    window = np.asarray([x0, x1, y0, y1], np.float32)
    out = _loss_grid(loss, n, window, loss.theta(**dict(controls)))
    xs, ys, z = (np.asarray(a, np.float64) for a in jax.device_get(out))
    finite = z[np.isfinite(z)]
    fmin = v.minima[0].value if v.minima else float(finite.min())
    t = normalize(z, v.log_color, min(fmin, float(finite.min())) if finite.size else 0.0)
    zmin, zmax = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return SurfaceImage(png_data_uri(render_indices(t[::-1])), xs, ys, z, zmin, zmax, True)


# ---------------------------------------------------------------------------------------------
# What the runs show.


def spread(points: np.ndarray) -> float:
    """RMS distance of points ``[K, 2]`` from their mean (the size of the noise ball)."""
    p = np.asarray(points, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return float(np.sqrt(np.mean(np.sum((p - p.mean(axis=0)) ** 2, axis=1))))


def summary(runs: SeedRuns, minimum: tuple[float, float] | None) -> dict:
    """One table row: final full loss (mean ± std over seeds), the mean end point's distance
    to the minimum, and the spread of the final iterates."""
    final = np.asarray(runs.params[:, -1], np.float64)
    loss = np.asarray(runs.loss[:, -1], np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # diverged seeds may hold inf
        mean_end = final.mean(axis=0)
        far = np.linalg.norm(mean_end - np.asarray(minimum)) if minimum else np.nan
        row = {
            "optimizer": runs.label,
            "final loss (mean)": float(np.mean(loss)),
            "± std over seeds": float(np.std(loss)),
            "mean end → minimum": float(far),
            "spread of end points": spread(final),
        }
    return row | {"diverged seeds": f"{int(np.sum(runs.diverged_at >= 0))} / {len(loss)}"}
