"""The Surfaces page's whole configuration as one immutable value, its defaults and its engine
settings (pure logic, no Streamlit). ``optlab.config.surfaces_link`` turns it into a URL and back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from optlab.core import engine
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import HParam, snap
from optlab.core.schedules import SCHEDULES
from surfaces import SURFACES, Surface
from surfaces.custom import DEFAULT_BOUNDS, DEFAULT_EXPRESSION, custom_surface

STEPS_RANGE = (10, 2000)
FRAME_MS_RANGE = (20, 1000)
CLIP_MODES = ("off", "norm", "value")
WD_MODES = ("off", "l2", "decoupled")
CLIP_AT = HParam("clip_at", "clipping threshold", 1.0, 1e-3, 1e3, log=True)
WD_AT = HParam("wd_at", "weight decay λ", 1e-2, 1e-5, 10.0, log=True)
# Control groups that ``hide=`` can take away (their values still come from the URL).
GROUPS = (
    "surface", "optimizers", "hparams", "steps", "start", "schedule",
    "clip", "wd", "display", "state", "results", "exports", "share",
)  # fmt: skip
PREFERRED_SURFACE = "himmelblau"  # the four default optimizers race without diverging
PREFERRED_OPTIMIZERS = ("gd", "momentum", "rmsprop", "adam")

Pairs = tuple[tuple[str, float], ...]
Bounds = tuple[tuple[float, float], tuple[float, float]]
CUSTOM = "custom"  # the surface name of the user's own f(x, y) (not in ``SURFACES``)


# ---------------------------------------------------------------------------------------------
# The configuration.


@dataclass(frozen=True)
class Custom:
    """The user's own surface: the text of ``f(x, y)`` (kept even when the parser refuses it,
    so it can be shown and fixed), its plotting bounds and optional known minima."""

    text: str = DEFAULT_EXPRESSION
    bounds: Bounds = DEFAULT_BOUNDS
    minima: tuple[tuple[float, float], ...] = ()

    def surface(self) -> Surface:
        """The compiled surface (cached; raises ``optlab.core.expr.ExprError`` for refused text)."""
        return custom_surface(self.text, self.bounds, self.minima)

    def start(self) -> tuple[float, float]:
        (x0, x1), (y0, y1) = self.bounds
        return round(x0 + 0.8 * (x1 - x0), 6), round(y0 + 0.8 * (y1 - y0), 6)


@dataclass(frozen=True)
class RunKey:
    """The part of a configuration that the numbers depend on (the cache key of a run)."""

    surface: str
    theta: Pairs
    optimizers: tuple[tuple[str, Pairs], ...]
    steps: int
    start: tuple[float, float]
    schedule: str
    schedule_params: Pairs
    clip: str
    clip_at: float
    wd: str
    wd_at: float
    custom: Custom | None = None  # set only when ``surface == CUSTOM``

    def single(self, index: int) -> RunKey:
        """The key of optimizer ``index``'s own run (the runs are independent)."""
        return replace(self, optimizers=(self.optimizers[index],))


@dataclass(frozen=True)
class Config:
    """Everything the surfaces page shows. Parameter tuples are complete (defaults filled in)."""

    surface: str
    theta: Pairs
    optimizers: tuple[str, ...]
    hparams: tuple[tuple[str, Pairs], ...]  # one entry per selected optimizer, same order
    steps: int = 200
    start: tuple[float, float] = (0.0, 0.0)
    schedule: str = "constant"
    schedule_params: Pairs = ()
    clip: str = "off"
    clip_at: float = CLIP_AT.default
    wd: str = "off"
    wd_at: float = WD_AT.default
    log_loss: bool = True
    frame_ms: int = 60
    view3d: bool = False
    theory: bool = True  # theory overlays (quadratic surfaces; the Hessian at the inspected point)
    inspect: str = ""
    at: int = 0
    present: bool = False
    hide: tuple[str, ...] = field(default=())
    custom: Custom = Custom()  # the user's function (used when ``surface == CUSTOM``)

    def hp(self, opt: str) -> dict[str, float]:
        return dict(dict(self.hparams).get(opt, ()))

    def run_key(self) -> RunKey:
        return RunKey(
            self.surface, self.theta, self.hparams, self.steps, self.start, self.schedule,
            self.schedule_params, self.clip, self.clip_at, self.wd, self.wd_at,
            self.custom if self.surface == CUSTOM else None,
        )  # fmt: skip

    def hidden(self, group: str) -> bool:
        return group in self.hide


def surface_names() -> tuple[str, ...]:
    """Every surface the selector offers: the registry, then the user's own function."""
    return (*SURFACES, CUSTOM)


def named_surface(name: str, custom: Custom | None = None) -> Surface:
    """The registry's surface ``name``, or the user's function (raises ``ExprError`` for a
    custom text the parser refuses)."""
    return (custom or Custom()).surface() if name == CUSTOM else SURFACES[name]


def bounds_of(obj) -> Bounds:
    """The plotting bounds of the surface a ``Config`` names (no compilation)."""
    return obj.custom.bounds if obj.surface == CUSTOM else SURFACES[obj.surface].bounds


def surface_label(name: str) -> str:
    return "Your function f(x, y)" if name == CUSTOM else SURFACES[name].display


def surface_of(obj) -> Surface:
    """The ``Surface`` a ``Config`` or ``RunKey`` names (see ``named_surface``)."""
    return named_surface(obj.surface, obj.custom)


def surface_defaults(
    surface: str, custom: Custom | None = None
) -> tuple[Pairs, tuple[float, float]]:
    if surface == CUSTOM:
        return (), (custom or Custom()).start()
    s = SURFACES[surface]
    start = (float(s.starts[0].x), float(s.starts[0].y)) if s.starts else (0.0, 0.0)
    return tuple((p.name, float(p.default)) for p in s.params), start


def optimizer_defaults(opt: str, surface: str | None = None) -> Pairs:
    """``opt``'s default hyperparameters (on their slider grids); on ``surface``, with that
    surface's own default learning rate for ``opt`` where it has one (``default_lrs``), so
    that every surface opens on a race that converges."""
    spec = SURFACES.get(surface) if surface else None
    lr = dict(spec.default_lrs).get(opt) if spec else None
    return tuple(
        (h.name, snap(h, lr if h.name == "learning_rate" and lr is not None else h.default))
        for h in OPTIMIZERS[opt].hparams
    )


def schedule_defaults(schedule: str) -> Pairs:
    return tuple((p.name, snap(p, p.default)) for p in SCHEDULES[schedule].params)


def default_surface() -> str:
    return PREFERRED_SURFACE if PREFERRED_SURFACE in SURFACES else next(iter(SURFACES))


def default_optimizers() -> tuple[str, ...]:
    chosen = tuple(o for o in PREFERRED_OPTIMIZERS if o in OPTIMIZERS)
    return chosen or tuple(OPTIMIZERS)[:4]


def default_config(surface: str | None = None, custom: Custom | None = None) -> Config:
    surface = surface or default_surface()
    theta, start = surface_defaults(surface, custom)
    opts = default_optimizers()
    return Config(
        surface=surface,
        theta=tuple((k, snap(_surface_param(surface, k), v)) for k, v in theta),
        optimizers=opts,
        hparams=tuple((o, optimizer_defaults(o, surface)) for o in opts),
        start=start,
        schedule_params=schedule_defaults("constant") if "constant" in SCHEDULES else (),
        schedule="constant" if "constant" in SCHEDULES else next(iter(SCHEDULES)),
        custom=custom or Custom(),
    )


def _surface_param(surface: str, name: str) -> HParam:
    return next(p for p in SURFACES[surface].params if p.name == name)


def with_optimizers(cfg: Config, opts: Sequence[str]) -> Config:
    """``cfg`` with this optimizer selection; hyperparameters kept where known, else defaults."""
    old = dict(cfg.hparams)
    hparams = tuple((o, old.get(o, optimizer_defaults(o, cfg.surface))) for o in opts)
    inspect = cfg.inspect if cfg.inspect in opts else ""
    return replace(cfg, optimizers=tuple(opts), hparams=hparams, inspect=inspect)


def engine_settings(cfg) -> engine.Settings:
    """The run-wide ``engine.Settings`` of a ``Config`` or ``RunKey`` (steps, schedule and its
    parameters, clipping, weight decay; ``off`` modes become no-ops)."""
    return engine.Settings(
        steps=cfg.steps,
        schedule=cfg.schedule,
        schedule_params=dict(cfg.schedule_params),
        clip_norm=cfg.clip_at if cfg.clip == "norm" else math.inf,
        clip_value=cfg.clip_at if cfg.clip == "value" else math.inf,
        l2=cfg.wd_at if cfg.wd == "l2" else 0.0,
        weight_decay=cfg.wd_at if cfg.wd == "decoupled" else 0.0,
    )
