"""The "Data & SGD" page's configuration as a value, and its URL form (pure logic, no Streamlit).

``parse_data_query(query) -> (DataConfig, notices)`` never raises: unknown, malformed or
out-of-range values fall back to their defaults with a notice; off-grid numbers snap to the
slider's grid (with a notice). ``to_data_query(cfg)`` writes only what differs from the
defaults, so ``parse_data_query(to_data_query(c))[0] == c``.

URL scheme (all optional)::

    problem=linreg|logreg|surface   surface=ravine        (surface: an analytic surface)
    n=200  noise=0.5  scale=3  offset=4  std=1  data_seed=0      (the data set)
    batch=16|full                   grad_noise=0.5        (mini-batch; extra gradient noise σ)
    opt=gd,momentum,adam (opt=none) adam.lr=0.05          (optimizers and learning rates)
    steps=200  sched=cosine  seeds=8  at=40  log=0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from optlab.config import links
from optlab.config.links import (
    NO_OPTIMIZERS,
    BadValue,
    Reader,
    fmt_num,
    in_range,
    lr_spec,
    parse_bool,
    parse_choice,
    parse_int,
    put_changed,
)

# The surfaces page's reader and value parsers (one URL dialect for the whole app).
from optlab.core.params import snap_grid
from optlab.core.schedules import SCHEDULES
from surfaces import SURFACES
from surfaces.data import MAX_POINTS

PROBLEMS = ("linreg", "logreg", "surface")
PROBLEM_LABELS = {
    "linreg": "Linear regression (MSE)",
    "logreg": "Logistic regression (cross-entropy)",
    "surface": "Analytic surface + gradient noise",
}
FULL = 0  # batch size: the whole data set (batch gradient descent)
N_GRID = (10, 20, 50, 100, 200, 500, 1000, 2000)
NOISE_GRID = (0.0, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
SCALE_GRID = (0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
OFFSET_GRID = (-10.0, -8.0, -6.0, -5.0, -4.0, -3.0, -2.0, -1.0, -0.5, 0.0)
OFFSET_GRID += (0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)
GRAD_NOISE_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
STEPS_OPTIONS = (50, 100, 150, 200, 300, 500, 750, 1000)  # 150 shares 200's compiled bucket
SEEDS_RANGE = (1, 32)
SEEDS_CAP = SEEDS_RANGE[1]  # runs are padded to this many seeds: the slider never recompiles
DATA_SEED_RANGE = (0, 9999)
DEFAULT_OPTIMIZERS = ("gd", "momentum", "adam")
DEFAULT_LRS = {"gd": 0.05, "momentum": 0.01}  # others: the registry's defaults
DEFAULT_SURFACE = "ravine"
DEFAULT_GRAD_NOISE = {"linreg": 0.0, "logreg": 0.0, "surface": 1.0}


def batch_options(n: int) -> tuple[int, ...]:
    """The batch-size slider's stops for ``n`` points: 1, 2, 4, … below ``n``, then FULL."""
    return (*(2**k for k in range(12) if 2**k < n), FULL)


def batch_size(batch: int, n: int) -> int:
    """The number of points per step (``FULL`` and anything ≥ n mean all ``n``)."""
    return n if batch == FULL or batch >= n else batch


def regime(batch: int, n: int) -> str:
    b = batch_size(batch, n)
    return "full-batch GD" if b >= n else "SGD" if b == 1 else "mini-batch"


def default_lr(opt: str) -> float:
    return links.default_lr(opt, DEFAULT_LRS)


@dataclass(frozen=True)
class DataConfig:
    """Everything the Data & SGD page shows (hashable; ``lrs`` aligned with ``optimizers``)."""

    problem: str = "linreg"
    n_points: int = 200
    noise: float = 0.5
    scale: float = 3.0
    offset: float = 4.0
    standardize: bool = False
    data_seed: int = 0
    batch: int = 16  # FULL = the whole data set
    surface: str = DEFAULT_SURFACE
    grad_noise: float = 0.0
    optimizers: tuple[str, ...] = DEFAULT_OPTIMIZERS
    lrs: tuple[tuple[str, float], ...] = tuple((o, default_lr(o)) for o in DEFAULT_OPTIMIZERS)
    steps: int = 200
    schedule: str = "constant"
    seeds: int = 8
    at: int = -1  # the step shown in the data panel (-1: the last)
    log_loss: bool = True

    @property
    def is_data(self) -> bool:
        return self.problem != "surface"

    @property
    def batch_points(self) -> int:
        return batch_size(self.batch, self.n_points)

    def lr(self, opt: str) -> float:
        return dict(self.lrs).get(opt, default_lr(opt))

    def step_shown(self) -> int:
        return self.steps if self.at < 0 else min(self.at, self.steps)

    def controls(self) -> tuple[tuple[str, float], ...]:
        """The data loss's controls (``theta=`` of the engine), without the batch size."""
        return (
            ("n_points", float(self.n_points)), ("noise", self.noise), ("scale", self.scale),
            ("offset", self.offset), ("standardize", float(self.standardize)),
            ("data_seed", float(self.data_seed)),
        )  # fmt: skip


def default_data_config(problem: str = "linreg") -> DataConfig:
    return DataConfig(problem=problem, grad_noise=DEFAULT_GRAD_NOISE[problem])


def with_optimizers(cfg: DataConfig, opts: Sequence[str]) -> DataConfig:
    """``cfg`` with this selection; learning rates kept where known, else the defaults."""
    return replace(cfg, optimizers=tuple(opts), lrs=tuple((o, cfg.lr(o)) for o in opts))


# ---------------------------------------------------------------------------------------------
# Query <-> DataConfig.


def _batch(r: Reader, n: int, default: int) -> int:
    text = r.take("batch")
    if text is None:
        return default
    if text.strip().lower() == "full":
        return FULL
    try:
        v = in_range(parse_int(text), 1, MAX_POINTS)
    except BadValue as e:
        r.note("batch", text, f"{e}; expected 1…{MAX_POINTS} or full; using the default")
        return default
    if v >= n:
        return FULL
    s = int(snap_grid(batch_options(n)[:-1], v, log=True))
    if s != v:
        r.note("batch", text, f"rounded to {s}")
    return s


def _data_seed(text: str) -> int:
    return in_range(parse_int(text), *DATA_SEED_RANGE)


def parse_data_query(query: Mapping[str, str | Sequence[str]]) -> tuple[DataConfig, list[str]]:
    """The configuration a URL asks for, and a notice for every value that was ignored."""
    r = Reader(query)
    problem = r.get("problem", lambda t: parse_choice(t, PROBLEMS), "linreg")
    base = default_data_config(problem)
    n = r.grid("n", N_GRID, base.n_points, log=True)
    opts = r.optimizers(base.optimizers)
    lrs = tuple((o, r.hparam(f"{o}.lr", lr_spec(o), default_lr(o))) for o in opts)
    r.other_optimizer_keys(opts)
    steps = r.grid("steps", STEPS_OPTIONS, base.steps, log=True)
    cfg = DataConfig(
        problem=problem,
        n_points=n,
        noise=r.grid("noise", NOISE_GRID, base.noise),
        scale=r.grid("scale", SCALE_GRID, base.scale, log=True),
        offset=r.grid("offset", OFFSET_GRID, base.offset),
        standardize=r.get("std", parse_bool, base.standardize, "0"),
        data_seed=r.get("data_seed", _data_seed, base.data_seed),
        batch=_batch(r, n, base.batch if base.batch < n else FULL),
        surface=r.get("surface", lambda t: parse_choice(t, list(SURFACES)), base.surface),
        grad_noise=r.grid("grad_noise", GRAD_NOISE_GRID, base.grad_noise),
        optimizers=opts,
        lrs=lrs,
        steps=steps,
        schedule=r.get("sched", lambda t: parse_choice(t, list(SCHEDULES)), base.schedule),
        seeds=r.get("seeds", lambda t: int(in_range(parse_int(t), *SEEDS_RANGE)), base.seeds),
        at=r.get("at", lambda t: int(in_range(parse_int(t), 0, steps)), base.at, "(the last step)"),
        log_loss=r.get("log", parse_bool, base.log_loss, "1"),
    )
    if cfg.at == cfg.steps:  # the last step is the default
        cfg = replace(cfg, at=-1)
    notices = r.finish()
    return cfg, notices


def to_data_query(cfg: DataConfig) -> dict[str, str]:
    """The URL parameters for ``cfg``: only what differs from the defaults."""
    base = default_data_config(cfg.problem)
    q: dict[str, str] = {}
    if cfg.problem != DataConfig.problem:
        q["problem"] = cfg.problem
    put_changed(q, (
        ("n", cfg.n_points, base.n_points),
        ("noise", cfg.noise, base.noise),
        ("scale", cfg.scale, base.scale),
        ("offset", cfg.offset, base.offset),
        ("std", cfg.standardize, base.standardize),
        ("data_seed", cfg.data_seed, base.data_seed),
    ))  # fmt: skip
    if cfg.batch != (base.batch if base.batch < cfg.n_points else FULL):
        q["batch"] = "full" if cfg.batch == FULL else str(cfg.batch)
    if cfg.surface != base.surface:
        q["surface"] = cfg.surface
    if cfg.grad_noise != base.grad_noise:
        q["grad_noise"] = fmt_num(cfg.grad_noise)
    if cfg.optimizers != base.optimizers:
        q["opt"] = ",".join(cfg.optimizers) or NO_OPTIMIZERS
    for o, lr in cfg.lrs:
        if lr != default_lr(o):
            q[f"{o}.lr"] = fmt_num(lr)
    put_changed(q, (
        ("steps", cfg.steps, base.steps),
        ("sched", cfg.schedule, base.schedule),
        ("seeds", cfg.seeds, base.seeds),
        ("at", cfg.at, base.at),
        ("log", cfg.log_loss, base.log_loss),
    ))  # fmt: skip
    return q
