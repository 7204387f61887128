"""The pages' only way to numbers: cached calls into the engine, plots and metrics.

``compute`` is keyed by ``RunKey`` (the hashable part of the configuration that the numbers
depend on), so revisiting a setting is a cache hit and moving a slider never recompiles (the
engine takes hyperparameters as arrays and buckets the step count). The theory overlays'
numbers are cached the same way: the quadratic form per (surface, parameters), the predicted
curves per run, the Hessian per inspected point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import streamlit as st

from optlab.config.surfaces import Custom, Pairs, RunKey, named_surface, surface_of
from optlab.config.surfaces import engine_settings as settings
from optlab.core import engine, metrics, sweeps, theory
from optlab.core.params import value_grid
from optlab.core.schedules import SCHEDULES
from optlab.core.sweeps import lr_param
from optlab.shell.widgets import fmt_value
from optlab.viz import live, overlays, race

__all__ = [
    "background", "background_id", "compute", "lr_param", "lr_race", "lr_sweeps", "multipliers",
    "point_info", "predicted", "quadratic", "results", "settings", "structure",
]  # fmt: skip
LR = "learning_rate"


@st.cache_data(max_entries=64, show_spinner=False)
def compute(key: RunKey) -> list[engine.Trajectory]:
    """Every selected optimizer's trajectory for this configuration (one engine call)."""
    runs = [engine.OptimizerRun(name, dict(hp)) for name, hp in key.optimizers]
    return sweeps.race_runs(surface_of(key), runs, key.start, settings(key), dict(key.theta))


def structure(key: RunKey) -> RunKey:
    """``key`` without the learning rates: what the live race's grids depend on (a change
    here is a structural change; a learning-rate move is not)."""
    opts = tuple((o, tuple((k, v) for k, v in hp if k != LR)) for o, hp in key.optimizers)
    return replace(key, optimizers=opts)


@st.cache_resource(max_entries=32, show_spinner=False)
def lr_sweeps(skey: RunKey) -> tuple[engine.SweepResult, ...]:
    """Every selected optimizer over its whole learning-rate grid (the slider's values), the
    other settings as in ``skey``: one vmapped sweep per optimizer (shared between sessions,
    read-only)."""
    runs = [engine.OptimizerRun(name, dict(hp)) for name, hp in skey.optimizers]
    return tuple(
        sweeps.slider_grids(surface_of(skey), runs, skey.start, settings(skey), dict(skey.theta))
    )


@st.cache_resource(max_entries=32, show_spinner=False)
def lr_race(skey: RunKey, log_loss: bool, theory: bool = False) -> tuple[str, tuple[dict, dict]]:
    """The live race's id and data (``optlab.viz.live.race_data``) for ``skey``; with
    ``theory``, the theory's predicted loss at every grid lr where it is exact (``pred{i}``:
    GD / momentum / Nesterov on a quadratic surface, no clipping or weight decay)."""
    grids = [value_grid(lr_param(o)) for o, _ in skey.optimizers]
    meta, arrays = live.race_data(
        lr_sweeps(skey), grids, [[fmt_value(v) for v in g] for g in grids], surface_of(skey),
        skey.start, skey.steps, log_loss=log_loss,
    )  # fmt: skip
    for i in range(len(skey.optimizers)) if theory else ():
        if (bound := stability_bound(skey, i)) is not None:
            meta["opts"][i]["bound"] = bound
        if (curves := grid_predictions(skey, i, grids[i])) is not None:
            idx = arrays[f"steps{i}"]
            pred = np.full(arrays[f"loss{i}"].shape, np.nan, np.float32)
            with np.errstate(over="ignore", invalid="ignore"):  # a diverging prediction: inf
                pred[:, : len(idx)] = curves[:, idx]
            arrays[f"pred{i}"] = pred
    live.add_schedule(meta, arrays, skey.schedule, skey.steps, dict(skey.schedule_params))
    return live.digest("surfaces", skey, log_loss, theory), (meta, arrays)


def stability_bound(skey: RunKey, i: int) -> tuple[str, float] | None:
    """Optimizer ``i``'s largest stable learning rate on a quadratic surface (``("2/L",
    0.1)``; ``overlays.BOUNDS``), drawn on its sensitivity strip; ``None`` where the theory
    has none (not a quadratic, an optimizer it does not cover, or clipping or weight decay,
    which the bound does not know)."""
    opt, pairs = skey.optimizers[i]
    q = quadratic(skey.surface, skey.theta, skey.custom)
    if q is None or opt not in overlays.BOUNDS or skey.clip != "off" or skey.wd != "off":
        return None
    bound = overlays.BOUNDS[opt]
    return bound.formula, float(bound.value(q, float(dict(pairs).get("beta", 0.0))))


def grid_predictions(skey: RunKey, i: int, grid) -> np.ndarray | None:
    """Optimizer ``i``'s predicted loss ``[G, steps + 1]`` at every lr of ``grid`` (``None``
    where the theory does not cover it: see ``predicted``)."""
    q = quadratic(skey.surface, skey.theta, skey.custom)
    if q is None or skey.clip != "off" or skey.wd != "off":
        return None
    mult = multipliers(skey.schedule, skey.steps, skey.schedule_params)
    opt, pairs = skey.optimizers[i]
    curves = []
    for lr in grid:
        hp = ((opt, (*pairs, ("learning_rate", float(lr)))),)
        if not (p := overlays.predictions(q, hp, skey.start, mult, skey.steps)):
            return None
        curves.append(p[0].loss)
    return np.stack(curves)


def background_id(surface: str, theta: Pairs, custom: Custom | None = None) -> str:
    return live.digest("bg", surface, theta, custom)


@st.cache_data(max_entries=32, show_spinner=False)
def background(surface: str, theta: Pairs, custom: Custom | None = None) -> race.SurfaceImage:
    """The surface rendered once per (surface, parameters[, user's function]) as the map's
    background image."""
    return race.surface_image(named_surface(surface, custom), dict(theta))


@st.cache_data(max_entries=64, show_spinner=False)
def multipliers(schedule: str, steps: int, params: Pairs) -> np.ndarray:
    """The schedule's learning-rate multiplier per step."""
    return SCHEDULES[schedule].multipliers(steps, **dict(params))


@st.cache_data(max_entries=64, show_spinner=False)
def results(key: RunKey) -> list[dict]:
    """One results-table row per optimizer."""
    minima = surface_of(key).minima
    return [metrics.summarize(t, minima) for t in compute(key)]


@st.cache_resource(max_entries=64, show_spinner=False)
def quadratic(surface: str, theta: Pairs, custom: Custom | None = None) -> theory.Quadratic | None:
    """The surface's exact quadratic form, or ``None`` when it is not a quadratic with a
    minimum (shared between sessions: read-only)."""
    try:
        return theory.quadratic(named_surface(surface, custom), dict(theta))
    except (ValueError, np.linalg.LinAlgError):
        return None


@st.cache_data(max_entries=64, show_spinner=False)
def predicted(key: RunKey) -> tuple[overlays.Prediction, ...]:
    """The theory's loss curves for this run's GD / momentum / Nesterov, on a quadratic
    surface and when they are exact (no clipping, no weight decay); else none."""
    q = quadratic(key.surface, key.theta, key.custom)
    if q is None or key.clip != "off" or key.wd != "off":
        return ()
    mult = multipliers(key.schedule, key.steps, key.schedule_params)
    return overlays.predictions(q, key.optimizers, key.start, mult, key.steps)


@st.cache_data(max_entries=256, show_spinner=False)
def point_info(
    surface: str, theta: Pairs, custom: Custom | None, point: Sequence[float]
) -> theory.PointInfo | None:
    """Value, gradient and Hessian eigen-decomposition at ``point`` (``None`` where the
    Hessian is not finite)."""
    info = theory.inspect_point(named_surface(surface, custom), point, dict(theta))
    return info if np.all(np.isfinite(info.eigvals)) else None
