"""Hyperparameter sweeps for fair comparisons: grids, random samples and objectives.

``run_sweep`` runs every optimizer over a grid (one or two hyperparameter axes, expanded to
their product, or random samples) × seeds × starts in **one** ``engine.sweep`` call, then
reduces the loss curves to objectives with plain numpy. With ``H`` the tuning horizon (the
number of steps considered, ``H ≤ steps``), ``L_t`` a run's full loss before step ``t`` and
``f*`` the target (the best known minimum value):

- ``final_loss``   ``L_H``
- ``mean_loss``    ``(1/H) Σ_{t=1..H} L_t`` (rewards getting low early, not only at the end)
- ``steps_to_tol`` the first ``t ≤ H`` with ``L_t − f* ≤ tol`` (``inf`` if never)
- ``diverged``     the share of runs that diverged within the horizon: the loss turned
  non-finite, or ``L_H − f* > blowup · |L_0 − f*|`` (a slow blow-up that has not overflowed)

Each grid point aggregates its runs (seeds × starts): ``diverged`` is a share, the other
objectives are means over the runs that did *not* diverge (``nan`` when all did). Example::

    from optlab.core.sweeps import lr_grid, run_sweep, best
    table = run_sweep(SURFACES["rosenbrock"], ["gd", "adam"],
                      {"learning_rate": lr_grid(1e-4, 1.0, 32)}, steps=500, horizon=300)
    best(table, "mean_loss")  # {"GD": Best(...), "Adam": Best(...)}
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np

from optlab.core import engine
from optlab.core.engine import OptimizerRun, Settings, SweepResult
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import HParam, value_grid

OBJECTIVES = ("final_loss", "mean_loss", "steps_to_tol", "diverged")
# The live race's batch: each optimizer's slider grid (61 learning rates) and the race's own
# run at the chosen rates are both padded to it, so they are one compiled program per
# (problem, optimizer, step bucket), not two: a first visit or a new surface compiles half as
# much. The price: the run's 63 extra rows, ~2 ms per released lr move on the default race
# (4 optimizers × 200 steps: engine.run 7.5 ms with 8 rows, 9.8 ms with 64, a busy machine).
RACE_BATCH = 64
Axes = Mapping[str, Sequence[float]]


def lr_grid(low: float, high: float, n: int) -> np.ndarray:
    """``n`` learning rates log-spaced from ``low`` to ``high`` (both included)."""
    if not (0 < low <= high and math.isfinite(high)):
        raise ValueError(f"need 0 < low <= high < inf, got {low}, {high}")
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return np.geomspace(low, high, n) if n > 1 else np.asarray([float(low)])


def lr_param(opt: str) -> HParam:
    """Optimizer ``opt``'s learning-rate hyperparameter."""
    return next(h for h in OPTIMIZERS[opt].hparams if h.name == "learning_rate")


def slider_grids(
    problem,
    runs: Sequence[OptimizerRun],
    start: Sequence[float],
    settings: Settings,
    theta: Mapping[str, float] | None = None,
    share: bool = False,
) -> list[SweepResult]:
    """Each registry optimizer over every value its learning-rate slider offers
    (``value_grid``: 61 values, 10 per decade), its other hyperparameters as in ``runs``, from
    one start: what the live race draws from (one vmapped sweep per optimizer, each compiled
    once per (problem, optimizer, step bucket); ``share``: compiled for every member of the
    problem's ``shared.ProblemSet``, see ``engine.sweep``)."""
    if not runs:
        return []
    grids = [{"learning_rate": np.asarray(value_grid(lr_param(r.name)), np.float32)} for r in runs]
    return engine.sweep(
        problem, runs, grids, [start], settings, theta=theta, pad_to=RACE_BATCH, share=share
    )


def race_runs(
    problem,
    runs: Sequence[OptimizerRun],
    start: Sequence[float],
    settings: Settings,
    theta: Mapping[str, float] | None = None,
) -> list[engine.Trajectory]:
    """``engine.run`` for the live race: the chosen rates' trajectories through the compiled
    programs of ``slider_grids`` (``RACE_BATCH``)."""
    return engine.run(problem, runs, start, settings, theta, pad_to=RACE_BATCH)


def random_samples(
    spec_ranges: Mapping[str, HParam | tuple], n: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """``n`` random configurations: ``{name: values[n]}``, ready for ``run_sweep(expand=False)``.

    Each range is an ``HParam`` (its ``low``/``high``/``log``; bools draw 0 or 1) or a tuple
    ``(low, high)`` (uniform) / ``(low, high, log)``. Log ranges are sampled log-uniformly,
    ``exp(U(log low, log high))``, the right prior for learning rates and ε.
    """
    rng = np.random.default_rng(seed)
    out = {}
    for name, r in spec_ranges.items():
        if isinstance(r, HParam):
            if r.kind == "bool":
                out[name] = rng.integers(0, 2, n).astype(np.float64)
                continue
            low, high, log = r.low, r.high, r.log
        else:
            low, high, log = (*r, False) if len(r) == 2 else r
        if log and low <= 0:
            raise ValueError(f"{name}: a log range needs low > 0, got {low}")
        u = rng.uniform(size=n)
        out[name] = (
            np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
            if log
            else low + u * (high - low)
        )
    return out


# ---------------------------------------------------------------------------------------------
# The table.


class Best(NamedTuple):
    """The best grid point of one optimizer: its hyperparameters, objective value and index."""

    hparams: dict[str, float]
    value: float
    index: tuple[int, ...]
    diverged: float


@dataclass(frozen=True, eq=False)
class SweepRow:
    """One optimizer's sweep. Arrays have the table's ``shape`` (``R`` = seeds × starts).

    ``values`` are the 1-D values per axis; ``grid`` the value at every grid point;
    ``axes_used`` the axes this optimizer has (e.g. GD ignores ``beta``: its results repeat
    along that axis); ``objectives[name]`` the aggregate, ``per_run[name]`` ``[*shape, R]``.
    """

    key: str
    name: str
    label: str
    color: str
    values: tuple[np.ndarray, ...]
    grid: dict[str, np.ndarray]
    axes_used: tuple[str, ...]
    objectives: dict[str, np.ndarray]
    per_run: dict[str, np.ndarray]
    result: SweepResult


@dataclass(frozen=True, eq=False)
class SweepTable:
    """Every optimizer's sweep: ``rows`` in the order given, keyed by their unique ``key``."""

    axes: tuple[str, ...]
    shape: tuple[int, ...]
    expanded: bool
    steps: int
    horizon: int
    tol: float
    target: float
    runs_per_point: int
    rows: tuple[SweepRow, ...]

    def row(self, key: str) -> SweepRow:
        for r in self.rows:
            if key in (r.key, r.name):
                return r
        raise KeyError(f"no optimizer {key!r} in this sweep; have {[r.key for r in self.rows]}")

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per (optimizer, grid point): for a dataframe or a CSV."""
        recs = []
        for r in self.rows:
            for idx in np.ndindex(*self.shape):
                rec: dict[str, Any] = {"optimizer": r.key}
                rec |= {a: float(r.grid[a][idx]) for a in self.axes}
                rec |= {o: float(r.objectives[o][idx]) for o in OBJECTIVES}
                recs.append(rec)
        return recs


# ---------------------------------------------------------------------------------------------
# Running.


def _as_run(o: OptimizerRun | str) -> OptimizerRun:
    run = o if isinstance(o, OptimizerRun) else OptimizerRun(o)
    if run.transform is not None or run.name not in OPTIMIZERS:
        raise ValueError(f"sweeps need registry optimizers, got {run.name!r}")
    return run


def _expand(axes: Axes, expand: bool) -> tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]:
    """The 1-D values per axis and the flattened grid (product, or zipped samples)."""
    if not 1 <= len(axes) <= 2:
        raise ValueError(f"sweep 1 or 2 hyperparameters, got {list(axes)}")
    values = tuple(np.asarray(v, np.float32).ravel() for v in axes.values())
    if any(v.size == 0 for v in values):
        raise ValueError("every axis needs at least one value")
    if expand:
        mesh = np.meshgrid(*values, indexing="ij")
        return values, {a: m.ravel() for a, m in zip(axes, mesh, strict=True)}
    if len({v.size for v in values}) != 1:
        raise ValueError("random samples (expand=False) need equally long value arrays")
    return values, dict(zip(axes, values, strict=True))


def _default_target(problem) -> float | None:
    known = [m.value for m in getattr(problem, "minima", ()) if m.value is not None]
    return float(min(known)) if known else None


def _per_run(loss: np.ndarray, div_at: np.ndarray, horizon: int, target: float, tol: float,
             blowup: float) -> dict[str, np.ndarray]:  # fmt: skip
    """Objectives of every run: ``loss [M, T+1]``, ``div_at [M]`` -> ``{objective: [M]}``."""
    curve = loss[:, : horizon + 1].astype(np.float64)
    end = curve[:, horizon]
    gap0 = np.abs(curve[:, 0] - target)
    with np.errstate(invalid="ignore", over="ignore"):
        blown = ~np.isfinite(end) | (end - target > blowup * gap0 + 1e-12)
    diverged = ((div_at >= 0) & (div_at < horizon)) | blown
    hit = curve - target <= tol
    first = np.where(hit.any(axis=1), hit.argmax(axis=1), np.inf)
    mean = curve[:, 1:].mean(axis=1) if horizon > 0 else curve[:, 0]
    return {
        "final_loss": np.where(diverged, np.nan, end),
        "mean_loss": np.where(diverged, np.nan, mean),
        "steps_to_tol": np.where(diverged, np.nan, first),
        "diverged": diverged.astype(np.float64),
    }


def _aggregate(per_run: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Means over the last axis (runs): a share for ``diverged``, else over surviving runs."""
    ok = per_run["diverged"] < 0.5
    count = ok.sum(axis=-1)
    out = {"diverged": per_run["diverged"].mean(axis=-1)}
    for name in ("final_loss", "mean_loss", "steps_to_tol"):
        total = np.where(ok, per_run[name], 0.0).sum(axis=-1)
        out[name] = np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)
    return out


def run_sweep(
    problem,
    optimizers: Sequence[OptimizerRun | str],
    axes: Axes | Sequence[Axes],
    starts: Sequence[Sequence[float]] | None = None,
    seeds: Sequence[int] = (0,),
    steps: int | None = None,
    settings: Settings | None = None,
    theta: Mapping[str, float] | None = None,
    horizon: int | None = None,
    *,
    tol: float = 1e-3,
    target: float | None = None,
    expand: bool = True,
    blowup: float = 10.0,
    pad_to: int | None = None,
) -> SweepTable:
    """Sweep ``axes`` for every optimizer (one ``engine.sweep`` call) and tabulate objectives.

    Args:
        problem: a surface or data loss (anything ``engine.sweep`` takes).
        optimizers: registry names or ``OptimizerRun`` (whose ``hparams`` fix the rest).
        axes: ``{hparam: values}`` with one or two entries (``learning_rate`` etc.), or one
            such mapping per optimizer (e.g. a per-optimizer lr range) with equal sizes.
        starts: start points (default: the problem's first start); seeds: run seeds.
        steps: run length (default ``settings.steps``); horizon: steps considered by the
            objectives, ``≤ steps`` (default ``steps``).
        tol, target: ``steps_to_tol`` counts steps until ``L_t − target ≤ tol``; ``target``
            defaults to the best known minimum, else the lowest loss any run reached.
        expand: two axes expand to their product (else zipped, for ``random_samples``).
        blowup: a run whose final gap exceeds ``blowup`` × its initial gap has diverged.
        pad_to: pad the engine batch (a grid-size slider below it never recompiles).
    """
    settings = settings or Settings()
    if steps is not None:
        settings = replace(settings, steps=int(steps))
    horizon = settings.steps if horizon is None else int(horizon)
    if not 0 <= horizon <= settings.steps:
        raise ValueError(f"horizon must be in [0, steps={settings.steps}], got {horizon}")
    runs = [_as_run(o) for o in optimizers]
    if not runs:
        raise ValueError("no optimizers to sweep")
    per_opt = [axes] * len(runs) if isinstance(axes, Mapping) else list(axes)
    if len(per_opt) != len(runs) or len({tuple(a) for a in per_opt}) != 1:
        raise ValueError("give one axes mapping, or one per optimizer with the same names")
    names = tuple(per_opt[0])
    if not any(a in {h.name for r in runs for h in OPTIMIZERS[r.name].hparams} for a in names):
        raise ValueError(f"no optimizer has any of the hyperparameters {list(names)}")
    if starts is None:
        if not getattr(problem, "starts", None):
            raise ValueError("this problem has no default start: pass starts=[(x, y)]")
        starts = [(problem.starts[0].x, problem.starts[0].y)]
    elif np.ndim(starts) == 1:
        starts = [starts]  # one point given bare
    expanded = [_expand(a, expand) for a in per_opt]
    shapes = {tuple(v.size for v in vals) if expand else (vals[0].size,) for vals, _ in expanded}
    if len(shapes) != 1:
        raise ValueError("every optimizer's grid must have the same shape")
    shape = shapes.pop()
    grids, used = [], []
    for r, (_, flat) in zip(runs, expanded, strict=True):
        own = {h.name for h in OPTIMIZERS[r.name].hparams}
        used.append(tuple(a for a in names if a in own))
        grid = {a: flat[a] for a in used[-1]}
        grids.append(
            grid or {"learning_rate": np.full(math.prod(shape), r.values()["learning_rate"])}
        )
    results = engine.sweep(problem, runs, grids, starts, settings, seeds, theta, pad_to)
    n_runs = len(starts) * len(seeds)
    if target is None:
        target = _default_target(problem)
    if target is None:
        finite = [r.loss[:, : horizon + 1] for r in results]
        finite = np.concatenate([f[np.isfinite(f)] for f in finite])
        target = float(finite.min()) if finite.size else 0.0
    rows, keys = [], set()
    for r, res, (values, flat), axes_used in zip(runs, results, expanded, used, strict=True):
        per = _per_run(res.loss, res.diverged_at, horizon, target, tol, blowup)
        per = {k: v.reshape(*shape, n_runs) for k, v in per.items()}
        key = r.label or res.label
        while key in keys:
            key += "′"
        keys.add(key)
        rows.append(SweepRow(key, r.name, res.label, res.color, values,
                             {a: flat[a].reshape(shape) for a in names}, axes_used,
                             _aggregate(per), per, res))  # fmt: skip
    return SweepTable(names, shape, expand, settings.steps, horizon, tol, float(target), n_runs,
                      tuple(rows))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Reading the table.


def best(
    table: SweepTable, objective: str = "final_loss", max_diverged: float = 0.0
) -> dict[str, Best | None]:
    """The best grid point per optimizer (lowest ``objective``), among points where at most
    ``max_diverged`` of the runs diverged; ties go to the lower mean loss, then final loss.
    ``None`` where no point qualifies (everything diverged)."""
    if objective not in OBJECTIVES[:3]:
        raise ValueError(f"objective must be one of {OBJECTIVES[:3]}, got {objective!r}")
    out: dict[str, Best | None] = {}
    for r in table.rows:
        obj = r.objectives[objective].ravel()
        share = r.objectives["diverged"].ravel()
        ok = (share <= max_diverged) & ~np.isnan(obj)
        if not ok.any():
            out[r.key] = None
            continue
        keys = [r.objectives[k].ravel() for k in ("final_loss", "mean_loss")] + [obj]
        order = np.lexsort([np.where(ok, k, np.inf) for k in keys])
        i = int(order[0])
        idx = np.unravel_index(i, table.shape)
        hp = {a: float(r.grid[a][idx]) for a in r.axes_used}
        out[r.key] = Best(hp, float(obj[i]), tuple(int(k) for k in idx), float(share[i]))
    return out


def divergence_threshold(
    table: SweepTable, share: float = 0.5, axis: str = "learning_rate"
) -> dict[str, float | np.ndarray]:
    """The smallest value of ``axis`` at which at least ``share`` of the runs diverge (``nan``
    if none), per optimizer — the edge to shade on a learning-rate plot. On a 2-axis grid it
    is an array over the other axis; for random samples the smallest diverging sample."""
    if axis not in table.axes:
        raise ValueError(f"{axis!r} is not an axis of this sweep {table.axes}")
    a = table.axes.index(axis)
    out: dict[str, float | np.ndarray] = {}
    for r in table.rows:
        bad = r.objectives["diverged"] >= share
        vals = r.grid[axis].astype(np.float64)
        if not table.expanded:
            out[r.key] = float(vals[bad].min()) if bad.any() else math.nan
            continue
        bad, vals = np.moveaxis(bad, a, -1), np.moveaxis(vals, a, -1)
        edge = np.where(bad, vals, np.inf).min(axis=-1)
        edge = np.where(np.isinf(edge), np.nan, edge)
        out[r.key] = float(edge) if edge.ndim == 0 else edge
    return out
