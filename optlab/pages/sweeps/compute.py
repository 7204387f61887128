"""The Sweeps page's numbers: a ``SweepConfig`` in, one ``run_sweep`` call, a light
``SweepOutcome`` out; plus the theory lines and the "tuned values" links to the other pages.
The page reads them through the two cached entry points at the end (``outcome``,
``quadratic``); everything above them is plain functions.

The outcome drops the engine's per-run arrays (paths, per-step losses) and keeps the objective
tables and, per objective, the mean loss curve at each optimizer's best point, so it is cheap
to cache and to copy out of ``st.cache_data``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import streamlit as st

from optlab.config.surfaces import (
    CUSTOM,
    STEPS_RANGE,
    Config,
    Custom,
    default_config,
    with_optimizers,
)
from optlab.config.sweeps import FULL, SweepConfig
from optlab.core import theory
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap, snap_grid
from optlab.core.sweeps import OBJECTIVES, Best, SweepTable, best, divergence_threshold, run_sweep
from optlab.viz.style import subsample
from surfaces import SURFACES
from surfaces import quadratic as quadratic_surfaces
from surfaces.custom import custom_surface
from surfaces.data import DATA_LOSSES

QUADRATIC = frozenset(s.name for s in quadratic_surfaces.SURFACES)
CURVE_POINTS = 240  # steps kept per best-point loss curve


@dataclass(frozen=True, eq=False)
class SweepOutcome:
    """``table`` (rows without engine results), the start points used, and
    ``curves[objective][row key] = (steps, mean loss)`` at that row's best point."""

    table: SweepTable
    starts: tuple[tuple[float, float], ...]
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]


def data_controls(cfg: SweepConfig) -> dict[str, float]:
    """The data loss's controls (``theta=``): the defaults, with this batch size."""
    n = next(p.default for p in DATA_LOSSES[cfg.problem].params if p.name == "n_points")
    return {"batch_size": n if cfg.batch == FULL else cfg.batch}


def problem_of(cfg: SweepConfig) -> tuple[Any, dict[str, float], Any, float | None]:
    """``(problem, theta, surface, target)``: the engine's problem and parameters, a
    ``Surface`` to draw/start from, and the best known loss (``None``: the lowest reached).
    Raises ``optlab.core.expr.ExprError`` for a refused custom function."""
    if cfg.is_data:
        problem, theta = DATA_LOSSES[cfg.problem], data_controls(cfg)
        surface = problem.view(**theta)
        return problem, theta, surface, surface.minima[0].value
    if cfg.problem == CUSTOM:
        surface = custom_surface(cfg.custom)
        return surface, {}, surface, None
    surface = SURFACES[cfg.problem]
    return surface, dict(cfg.theta), surface, None


def starts_of(cfg: SweepConfig, surface) -> list[tuple[float, float]]:
    """The surface's listed start points first, then random points in its bounds (seed 0)."""
    pts = [(float(p.x), float(p.y)) for p in surface.starts[: cfg.starts]]
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(0)
    while len(pts) < cfg.starts:
        u, v = rng.uniform(0.1, 0.9, 2)
        pts.append((float(x0 + u * (x1 - x0)), float(y0 + v * (y1 - y0))))
    return pts


def axes_of(cfg: SweepConfig) -> tuple[dict[str, np.ndarray], bool]:
    """The swept axes and whether they expand to a grid (``False``: random samples)."""
    lo, hi = cfg.lr_low, cfg.lr_high
    if cfg.search == "random":
        rng = np.random.default_rng(0)
        axes = {"learning_rate": np.exp(rng.uniform(np.log(lo), np.log(hi), cfg.samples))}
        if cfg.two_axes:
            b_lo, b_hi = cfg.axis2_values()[[0, -1]]
            axes[cfg.axis2] = rng.uniform(b_lo, b_hi, cfg.samples)
        return axes, False
    axes = {"learning_rate": cfg.lrs()}
    if cfg.two_axes:
        axes[cfg.axis2] = cfg.axis2_values()
    return axes, True


def pad_size(runs: int) -> int:
    """The engine batch padded to a power of two (≥ 32): few distinct sizes, few compiles."""
    return max(32, 1 << (runs - 1).bit_length())


def run(cfg: SweepConfig) -> SweepOutcome:
    """One ``run_sweep`` call for ``cfg`` (every optimizer, every point, start and seed)."""
    problem, theta, surface, target = problem_of(cfg)
    starts = starts_of(cfg, surface)
    axes, expand = axes_of(cfg)
    seeds = range(cfg.seeds) if cfg.is_data else (0,)
    table = run_sweep(
        problem, list(cfg.optimizers), axes, starts, seeds, cfg.steps, theta=theta,
        horizon=cfg.horizon, tol=cfg.tol, target=target, expand=expand,
        pad_to=pad_size(cfg.runs()),
    )  # fmt: skip
    idx = subsample(cfg.steps + 1, CURVE_POINTS)
    curves: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for objective in OBJECTIVES:
        curves[objective] = {}
        for key, b in best_points(table, objective).items():
            if b is not None:
                loss = table.row(key).result.loss.reshape(*table.shape, -1, cfg.steps + 1)
                curves[objective][key] = (idx, loss[b.index].mean(axis=0)[idx])
    rows = tuple(replace(r, result=None) for r in table.rows)
    return SweepOutcome(replace(table, rows=rows), tuple(starts), curves)


def best_points(table: SweepTable, objective: str) -> dict[str, Best | None]:
    """Each optimizer's best point (lowest objective among points where no run diverged);
    for ``diverged`` (a share, not a score) the best final loss."""
    return best(table, "final_loss" if objective == "diverged" else objective)


def divergence_edges(table: SweepTable) -> dict[str, float]:
    """The learning rate from which at least half the runs diverge, per optimizer. On a
    two-axis grid: from which they diverge for *every* value of the other axis (``nan``
    where some value never diverges)."""
    out = {}
    for key, edge in divergence_threshold(table).items():
        arr = np.atleast_1d(np.asarray(edge, np.float64))
        out[key] = float("nan") if np.isnan(arr).any() else float(arr.max())
    return out


def quadratic_of(cfg: SweepConfig) -> theory.Quadratic | None:
    """The exact quadratic form of the problem (quadratic surfaces, linear regression, a
    quadratic custom function), else ``None``."""
    try:
        if cfg.is_data:
            if cfg.problem != "linreg":
                return None
            return theory.quadratic(DATA_LOSSES[cfg.problem], data_controls(cfg))
        if cfg.problem == CUSTOM:
            return theory.quadratic(custom_surface(cfg.custom))
        if cfg.problem in QUADRATIC:
            return theory.quadratic(SURFACES[cfg.problem], dict(cfg.theta))
    except ValueError:  # not quadratic, no minimum, or a refused function
        return None
    return None


# ---------------------------------------------------------------------------------------------
# "Use tuned values": the best point per optimizer, snapped to the target page's slider grid.
# A learning rate snaps down, never up: the best one often sits just under the divergence
# edge (GD's best 0.0914 on the ravine, whose edge 2/L is 0.1, the next grid value), and a
# lesson must not open on a race that diverges where the sweep promised convergence.


def _best_by_name(table: SweepTable, bests: dict[str, Best | None]) -> dict[str, Best]:
    return {r.name: bests[r.key] for r in table.rows if bests.get(r.key) is not None}


def tuned_config(cfg: SweepConfig, table: SweepTable, bests) -> Config:
    """A surfaces-page ``Config`` racing the swept optimizers at their best values."""
    custom = Custom(cfg.custom) if cfg.problem == CUSTOM else None
    base = default_config(cfg.problem, custom)
    base = with_optimizers(base, cfg.optimizers)
    found = _best_by_name(table, bests)
    hparams = []
    for o, pairs in base.hparams:
        tuned = found[o].hparams if o in found else {}
        spec = OPTIMIZERS[o]
        hparams.append((o, tuple(
            (k, snap(spec.hparam(k), tuned[k], below=k == "learning_rate") if k in tuned else v)
            for k, v in pairs
        )))  # fmt: skip
    lo, hi = STEPS_RANGE
    return replace(base, theta=cfg.theta if cfg.problem in SURFACES else base.theta,
                   hparams=tuple(hparams), steps=min(max(cfg.steps, lo), hi))  # fmt: skip


def tuned_data_query(cfg: SweepConfig, table: SweepTable, bests) -> dict[str, str]:
    """The Data & SGD page's URL racing the swept optimizers at their best learning rates."""
    from optlab.config import data as du

    found = _best_by_name(table, bests)
    lrs = tuple(
        (o, snap(du.lr_spec(o), found[o].hparams["learning_rate"], below=True) if o in found
         else du.default_lr(o))
        for o in cfg.optimizers
    )  # fmt: skip
    dcfg = replace(
        du.default_data_config(cfg.problem), batch=cfg.batch, optimizers=cfg.optimizers,
        lrs=lrs, steps=int(snap_grid(du.STEPS_OPTIONS, cfg.steps, log=True)),
    )  # fmt: skip
    return du.to_data_query(dcfg)


# ---------------------------------------------------------------------------------------------
# The page's cached entry points.


@st.cache_data(max_entries=16, show_spinner=False)
def outcome(key: SweepConfig) -> SweepOutcome:
    """The whole sweep for this configuration: one ``run_sweep`` call."""
    return run(key)


@st.cache_data(max_entries=32, show_spinner=False)
def quadratic(key: SweepConfig) -> theory.Quadratic | None:
    return quadratic_of(key)
