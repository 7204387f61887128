"""The Sweeps page's configuration as a value, and its URL form (pure logic, no Streamlit).

``parse_sweep_query(query) -> (SweepConfig, notices)`` never raises: unknown, malformed or
out-of-range values fall back to their defaults with a notice, off-grid numbers snap to the
control's grid (with a notice). ``to_sweep_query(cfg)`` writes only what differs from the
defaults, so ``parse_sweep_query(to_sweep_query(c))[0] == c``.

URL scheme (all optional)::

    problem=ravine|…|custom|linreg|logreg   s.kappa=100   f=x**2+y**2   batch=16|full
    opt=gd,momentum,adam   lr=0.0001,1 (range)   n=24 (learning rates)
    axis2=none|beta|b1|decay|rho   n2=6         search=grid|random   samples=64
    starts=1  seeds=1  steps=200  horizon=150   objective=final_loss|…  tol=0.001
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from optlab.config.links import (
    NO_OPTIMIZERS,
    BadValue,
    Reader,
    fmt_num,
    in_range,
    parse_choice,
    parse_float,
    parse_int,
    put_changed,
)
from optlab.config.surfaces import CUSTOM, Pairs
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap, value_grid
from optlab.core.sweeps import OBJECTIVES
from surfaces import SURFACES
from surfaces.custom import DEFAULT_EXPRESSION
from surfaces.data import DATA_LOSSES

PROBLEMS = (*SURFACES, CUSTOM, *DATA_LOSSES)
LR_SPEC = OPTIMIZERS["gd"].hparam("learning_rate")
LR_GRID = value_grid(LR_SPEC)
AXES2 = ("none", "beta", "b1", "decay", "rho")  # momentum β, Adam-family β₁, RMSprop, Adadelta
AXIS2_RANGE = (0.0, 0.99)  # the second axis: β = 1 − geomspace(1 − lo, 1 − hi, n2)
N_LR_RANGE = (3, 48)
N2_RANGE = (2, 10)
SAMPLES_RANGE = (8, 256)
STARTS_RANGE = (1, 4)
SEEDS_RANGE = (1, 4)
STEPS_OPTIONS = (50, 100, 200, 300, 500, 1000)
TOL_GRID = (1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
BATCH_OPTIONS = (1, 2, 4, 8, 16, 32, 64, 128, 0)  # 0: the whole data set
FULL = 0
MAX_RUN_STEPS = 3_000_000  # runs × steps per optimizer the page will start
OBJECTIVE_LABELS = {
    "final_loss": "final loss",
    "mean_loss": "mean loss over the run",
    "steps_to_tol": "steps to tolerance",
    "diverged": "share of runs diverged",
}
DEFAULT_OPTIMIZERS = ("gd", "momentum", "adam")


def problem_label(name: str) -> str:
    if name == CUSTOM:
        return "Your function f(x, y)"
    if name in DATA_LOSSES:
        return f"Data: {DATA_LOSSES[name].display}"
    return SURFACES[name].display


def surface_theta(problem: str) -> Pairs:
    """The surface parameters' defaults, snapped to their slider grids."""
    spec = SURFACES.get(problem)
    return tuple((p.name, snap(p, p.default)) for p in spec.params) if spec else ()


@dataclass(frozen=True)
class SweepConfig:
    """Everything the Sweeps page shows (hashable: it keys the cached sweep)."""

    problem: str = "ravine"
    theta: Pairs = (("kappa", 20.0),)  # the ravine's defaults (``surface_theta``)
    custom: str = DEFAULT_EXPRESSION
    batch: int = 16
    optimizers: tuple[str, ...] = DEFAULT_OPTIMIZERS
    lr_low: float = 1e-4
    lr_high: float = 2.0
    n_lr: int = 24
    axis2: str = "none"
    n2: int = 6
    search: str = "grid"
    samples: int = 64
    starts: int = 1
    seeds: int = 1
    steps: int = 200
    horizon: int = 200
    objective: str = "final_loss"
    tol: float = 1e-3

    @property
    def is_data(self) -> bool:
        return self.problem in DATA_LOSSES

    @property
    def two_axes(self) -> bool:
        return self.axis2 != "none"

    def run_key(self) -> SweepConfig:
        """The part the numbers depend on (the objective only changes what is shown)."""
        return replace(self, objective=DEFAULT.objective)

    def lrs(self) -> np.ndarray:
        return np.geomspace(self.lr_low, self.lr_high, self.n_lr)

    def axis2_values(self) -> np.ndarray:
        lo, hi = AXIS2_RANGE
        return 1.0 - np.geomspace(1.0 - lo, 1.0 - hi, self.n2)

    def points(self) -> int:
        """Grid points (or random samples) per optimizer."""
        if self.search == "random":
            return self.samples
        return self.n_lr * (self.n2 if self.two_axes else 1)

    def runs(self) -> int:
        """Engine runs per optimizer: points × starts × seeds."""
        return self.points() * self.starts * (self.seeds if self.is_data else 1)

    def too_big(self) -> bool:
        return self.runs() * self.steps > MAX_RUN_STEPS


DEFAULT = SweepConfig()


def axis2_choices(optimizers: Sequence[str]) -> tuple[str, ...]:
    """``"none"`` and every second axis that one of ``optimizers`` has."""
    own = {h.name for o in optimizers for h in OPTIMIZERS[o].hparams}
    return tuple(a for a in AXES2 if a == "none" or a in own)


def _int_in(lo: int, hi: int):
    return lambda t: int(in_range(parse_int(t), lo, hi))


def _lr_range(text: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise BadValue("expected two learning rates low,high")
    lo, hi = (snap(LR_SPEC, in_range(parse_float(p), LR_GRID[0], LR_GRID[-1])) for p in parts)
    if not lo < hi:
        raise BadValue("expected low < high")
    return lo, hi


def _batch(text: str) -> int:
    if text.strip().lower() == "full":
        return FULL
    return int(parse_choice(text, [str(b) for b in BATCH_OPTIONS[:-1]]))


def _theta(r: Reader, problem: str) -> Pairs:
    spec = SURFACES.get(problem)
    params = spec.params if spec else ()
    pairs = tuple((p.name, r.hparam(f"s.{p.name}", p, snap(p, p.default))) for p in params)
    for key in r.unused():
        if key.startswith("s."):
            r.used.add(key)
            r.note(key, r.raw[key], f"{problem_label(problem)} has no such parameter; ignored")
    return pairs


def parse_sweep_query(query: Mapping[str, str | Sequence[str]]) -> tuple[SweepConfig, list[str]]:
    """The configuration a URL asks for, and a notice for every value that was ignored."""
    r = Reader(query)
    problem = r.get("problem", lambda t: parse_choice(t, PROBLEMS), DEFAULT.problem)
    theta = _theta(r, problem)
    custom = r.take("f") if problem == CUSTOM else None
    if problem != CUSTOM and (text := r.take("f")) is not None:
        r.note("f", text, "only used with problem=custom; ignored")
    batch = DEFAULT.batch
    if problem in DATA_LOSSES:
        batch = r.get("batch", _batch, DEFAULT.batch)
    opts = r.optimizers(DEFAULT.optimizers)
    lr_low, lr_high = r.get("lr", _lr_range, (DEFAULT.lr_low, DEFAULT.lr_high),
                            f"{fmt_num(DEFAULT.lr_low)},{fmt_num(DEFAULT.lr_high)}")  # fmt: skip
    steps = r.grid("steps", STEPS_OPTIONS, DEFAULT.steps, log=True)
    axis2 = r.get("axis2", lambda t: parse_choice(t, axis2_choices(opts)), DEFAULT.axis2)
    cfg = SweepConfig(
        problem=problem,
        theta=theta,
        custom=(custom or DEFAULT.custom).strip(),
        batch=batch,
        optimizers=opts,
        lr_low=lr_low,
        lr_high=lr_high,
        n_lr=r.get("n", _int_in(*N_LR_RANGE), DEFAULT.n_lr),
        axis2=axis2,
        n2=r.get("n2", _int_in(*N2_RANGE), DEFAULT.n2),
        search=r.get("search", lambda t: parse_choice(t, ("grid", "random")), DEFAULT.search),
        samples=r.get("samples", _int_in(*SAMPLES_RANGE), DEFAULT.samples),
        starts=r.get("starts", _int_in(*STARTS_RANGE), DEFAULT.starts),
        seeds=r.get("seeds", _int_in(*SEEDS_RANGE), DEFAULT.seeds),
        steps=steps,
        horizon=r.get("horizon", _int_in(1, steps), steps, f"{steps} (all steps)"),
        objective=r.get("objective", lambda t: parse_choice(t, OBJECTIVES), DEFAULT.objective),
        tol=r.grid("tol", TOL_GRID, DEFAULT.tol, log=True),
    )
    notices = r.finish()
    return cfg, notices


def to_sweep_query(cfg: SweepConfig) -> dict[str, str]:
    """The URL parameters for ``cfg``: only what differs from the defaults."""
    q: dict[str, str] = {}
    if cfg.problem != DEFAULT.problem:
        q["problem"] = cfg.problem
    for (k, v), (_, d) in zip(cfg.theta, surface_theta(cfg.problem), strict=True):
        if v != d:
            q[f"s.{k}"] = fmt_num(v)
    if cfg.problem == CUSTOM and cfg.custom != DEFAULT.custom:
        q["f"] = cfg.custom
    if cfg.is_data and cfg.batch != DEFAULT.batch:
        q["batch"] = "full" if cfg.batch == FULL else str(cfg.batch)
    if cfg.optimizers != DEFAULT.optimizers:
        q["opt"] = ",".join(cfg.optimizers) or NO_OPTIMIZERS
    if (cfg.lr_low, cfg.lr_high) != (DEFAULT.lr_low, DEFAULT.lr_high):
        q["lr"] = f"{fmt_num(cfg.lr_low)},{fmt_num(cfg.lr_high)}"
    put_changed(q, (
        ("n", cfg.n_lr, DEFAULT.n_lr),
        ("axis2", cfg.axis2, DEFAULT.axis2),
        ("n2", cfg.n2, DEFAULT.n2),
        ("search", cfg.search, DEFAULT.search),
        ("samples", cfg.samples, DEFAULT.samples),
        ("starts", cfg.starts, DEFAULT.starts),
        ("seeds", cfg.seeds, DEFAULT.seeds),
        ("steps", cfg.steps, DEFAULT.steps),
        ("horizon", cfg.horizon, cfg.steps),
        ("objective", cfg.objective, DEFAULT.objective),
        ("tol", cfg.tol, DEFAULT.tol),
    ))  # fmt: skip
    return q


def with_optimizers(cfg: SweepConfig, opts: Sequence[str]) -> SweepConfig:
    """``cfg`` with this selection (the second axis dropped if no optimizer has it)."""
    axis2 = cfg.axis2 if cfg.axis2 in axis2_choices(opts) else "none"
    return replace(cfg, optimizers=tuple(opts), axis2=axis2)


def with_problem(cfg: SweepConfig, problem: str) -> SweepConfig:
    return replace(cfg, problem=problem, theta=surface_theta(problem))


def with_steps(cfg: SweepConfig, steps: int) -> SweepConfig:
    """New step count; a horizon that was "all steps" stays so, else it is kept (clamped)."""
    horizon = steps if cfg.horizon == cfg.steps else min(cfg.horizon, steps)
    return replace(cfg, steps=steps, horizon=horizon)
