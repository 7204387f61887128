"""The surfaces page's whole configuration as a value, and its URL form (pure logic, no Streamlit).

``parse_query(query) -> (Config, notices)`` never raises: every parameter that is unknown,
malformed, non-finite or out of range falls back to its default and adds a human-readable
notice. ``to_query(config)`` writes only what differs from the defaults, so
``parse_query(to_query(c))[0] == c`` for every configuration the app can produce.

URL scheme (all optional; see the About page)::

    surface=rosenbrock        s.kappa=100              (surface and its parameters)
    surface=custom  f=x**2%2B10*sin(y)  bounds=-4,4,-4,4  minima=0,0;1,2   (your function)
    opt=gd,adam  (opt=none)   adam.lr=0.01  adam.b1=0.8 (optimizers, "lr" = learning_rate)
    steps=300                 start=-1.5,2
    sched=cosine              sched.alpha=0.1
    clip=norm|value|off       clip_at=1
    wd=l2|decoupled|off       wd_at=0.01
    log=0  frame_ms=80  view3d=1  theory=0  inspect=adam  at=40
    present=1                 hide=schedule,clip,wd
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from optlab.optimizers import OPTIMIZERS
from optlab.optimizers.base import HParam
from optlab.schedules import SCHEDULES
from optlab.ui.config import (
    CLIP_AT,
    CLIP_MODES,
    CUSTOM,
    FRAME_MS_RANGE,
    GROUPS,
    STEPS_RANGE,
    WD_AT,
    WD_MODES,
    Bounds,
    Config,
    Custom,
    Pairs,
    RunKey,
    bounds_of,
    default_config,
    default_optimizers,
    default_surface,
    named_surface,
    optimizer_defaults,
    schedule_defaults,
    snap,
    surface_defaults,
    surface_label,
    surface_names,
    surface_of,
    value_grid,
    with_optimizers,
)
from surfaces import SURFACES

__all__ = [
    "CLIP_AT", "CLIP_MODES", "CUSTOM", "FRAME_MS_RANGE", "GROUPS", "STEPS_RANGE", "WD_AT",
    "WD_MODES", "Bounds", "Config", "Custom", "Pairs", "RunKey", "bounds_of", "default_config",
    "default_optimizers", "default_surface", "fmt_num", "named_surface", "optimizer_defaults",
    "parse_bool", "parse_bounds", "parse_minima", "parse_query", "schedule_defaults", "show",
    "snap", "surface_defaults", "surface_label", "surface_names", "surface_of", "to_query",
    "value_grid", "with_optimizers",
]  # fmt: skip

NO_OPTIMIZERS = "none"
IGNORED_KEYS = frozenset({"embed", "embed_options"})  # Streamlit's own
MAX_VALUE_LEN = 200
MAX_NOTICES = 25
LR_ALIAS = "lr"
MAX_COORD = 1e6  # custom bounds and minima
MAX_MINIMA = 10
CUSTOM_KEYS = ("f", "bounds", "minima")


def hp_alias(name: str) -> str:
    return LR_ALIAS if name == "learning_rate" else name


# ---------------------------------------------------------------------------------------------
# Formatting and parsing of single values.


def snap_grid(grid: Sequence[float], value: float, log: bool = False) -> float:
    """The grid value nearest ``value`` (in log distance when ``log`` and both positive)."""
    if log and value > 0:
        return min(grid, key=lambda g: abs(math.log(g) - math.log(value)) if g > 0 else math.inf)
    return min(grid, key=lambda g: abs(g - value))


def put_changed(query: dict[str, str], rows) -> None:
    """Write each ``(key, value, default)`` of ``rows`` whose value is not its default into
    ``query`` (strings as they are, numbers through ``fmt_num``)."""
    for key, value, default in rows:
        if value != default:
            query[key] = value if isinstance(value, str) else fmt_num(float(value))


def fmt_num(v: float) -> str:
    """Shortest exact text for a float (``0.01``, ``1e-08``, ``2``)."""
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def show(text: str, limit: int = 40) -> str:
    """A user-supplied string made safe to show inside Markdown code spans."""
    text = text if len(text) <= limit else text[:limit] + "…"
    return "".join(c if c.isprintable() else "?" for c in text).replace("`", "'")


class _Bad(ValueError):
    pass


def _float(text: str) -> float:
    try:
        v = float(text.strip())
    except ValueError:
        raise _Bad("not a number") from None
    if not math.isfinite(v):
        raise _Bad("not a finite number")
    return v


def _int(text: str) -> int:
    v = _float(text)
    if not v.is_integer():
        raise _Bad("not a whole number")
    return int(v)


def parse_bool(text: str) -> bool:
    """``1/true/yes/on`` or ``0/false/no/off`` (raises ``ValueError`` otherwise)."""
    t = text.strip().lower()
    if t in {"1", "true", "yes", "on"}:
        return True
    if t in {"0", "false", "no", "off"}:
        return False
    raise _Bad("expected 0 or 1")


def _in_range(v: float, lo: float, hi: float) -> float:
    if not lo <= v <= hi:
        raise _Bad(f"out of range [{fmt_num(lo)}, {fmt_num(hi)}]")
    return v


def _hparam_value(h: HParam, text: str) -> tuple[float, str | None]:
    """A URL value for ``h`` snapped to its grid, and a note when snapping moved it."""
    if h.kind == "bool":
        return (1.0 if parse_bool(text) else 0.0), None
    v = _in_range(_float(text), h.low, h.high)
    s = snap(h, v)
    note = None if math.isclose(s, v, rel_tol=1e-6, abs_tol=1e-12) else f"rounded to {fmt_num(s)}"
    return s, note


def _choice(text: str, options: Sequence[str]) -> str:
    t = text.strip()
    if t not in options:
        shown = ", ".join(options[:8]) + (", …" if len(options) > 8 else "")
        raise _Bad(f"unknown value; expected one of {shown}")
    return t


def _list(text: str) -> list[str]:
    out: list[str] = []
    for item in text.split(","):
        item = item.strip()  # noqa: PLW2901
        if item and item not in out:
            out.append(item)
    return out


# ---------------------------------------------------------------------------------------------
# Query <-> Config.


class _Reader:
    """Hands out the query's values once each and collects notices."""

    def __init__(self, query: Mapping[str, str | Sequence[str]]) -> None:
        self.notices: list[str] = []
        self.raw: dict[str, str] = {}
        self.used: set[str] = set()
        for key, value in query.items():
            key = str(key)  # noqa: PLW2901
            values = [value] if isinstance(value, str) else [str(v) for v in value]
            if not values or key in IGNORED_KEYS:
                continue
            if len(key) > 64 or len(values[-1]) > MAX_VALUE_LEN:
                self.note(key, values[-1], "too long; ignored")
                continue
            if len(values) > 1:
                self.note(key, values[-1], f"given {len(values)} times; used the last one")
            self.raw[key] = values[-1]

    def note(self, key: str, text: str | None, why: str) -> None:
        shown = f"{show(key)}={show(text)}" if text is not None else show(key)
        self.notices.append(f"`{shown}`: {why}")

    def take(self, key: str) -> str | None:
        self.used.add(key)
        return self.raw.get(key)

    def get(self, key: str, parse, default, shown_default=None):
        """``parse(text)`` for ``key``, or ``default`` (with a notice when the value is bad)."""
        text = self.take(key)
        if text is None:
            return default
        try:
            return parse(text)
        except _Bad as e:
            dflt = shown_default if shown_default is not None else default
            self.note(key, text, f"{e}; using the default {dflt}")
            return default

    def hparam(self, key: str, h: HParam, default: float) -> float:
        text = self.take(key)
        if text is None:
            return default
        try:
            value, note = _hparam_value(h, text)
        except _Bad as e:
            self.note(key, text, f"{e}; using the default {fmt_num(default)}")
            return default
        if note:
            self.note(key, text, note)
        return value

    def grid(self, key: str, grid: Sequence[float], default, log: bool = False):
        """``key``'s number snapped to the nearest ``grid`` value (a notice when it moved, or
        the default with a notice when it is no number or out of the grid's range)."""
        text = self.take(key)
        if text is None:
            return default
        try:
            v = _in_range(_float(text), min(grid), max(grid))
        except _Bad as e:
            self.note(key, text, f"{e}; using the default {fmt_num(default)}")
            return default
        s = snap_grid(grid, v, log)
        if not math.isclose(s, v, rel_tol=1e-6, abs_tol=1e-12):
            self.note(key, text, f"rounded to {fmt_num(s)}")
        return type(default)(s)

    def optimizers(
        self,
        default: tuple[str, ...],
        allowed: Sequence[str] | None = None,
        most: int | None = None,
        none_known: str = "no known optimizer; using the default selection",
        dropped: str = "unknown optimizer(s) ignored",
    ) -> tuple[str, ...]:
        """The ``opt`` list (``none`` for none): names outside ``allowed`` (default: the whole
        registry) are dropped with a notice, and at most ``most`` are kept."""
        text = self.take("opt")
        if text is None:
            return default
        if text.strip().lower() == NO_OPTIMIZERS:
            return ()
        allowed = tuple(OPTIMIZERS) if allowed is None else tuple(allowed)
        names = _list(text)
        known = tuple(n for n in names if n in allowed)
        if not known:
            self.note("opt", text, none_known)
            return default
        if unknown := [n for n in names if n not in allowed]:
            self.note("opt", ",".join(unknown), dropped)
        if most is not None and len(known) > most:
            self.note("opt", text, f"at most {most} optimizers; kept the first ones")
        return known[:most]

    def unused(self) -> list[str]:
        return [k for k in self.raw if k not in self.used]

    def finish(self) -> list[str]:
        """Note every parameter nobody asked for; the notices, capped at ``MAX_NOTICES``."""
        for key in self.unused():
            self.note(key, self.raw[key], "unknown parameter; ignored")
        notices = self.notices
        if len(notices) > MAX_NOTICES:
            more = len(notices) - MAX_NOTICES + 1
            notices = [*notices[: MAX_NOTICES - 1], f"… and {more} more"]
        return notices


def _parse_start(text: str, bounds) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise _Bad("expected two numbers x,y")
    (x0, x1), (y0, y1) = bounds
    return _in_range(_float(parts[0]), x0, x1), _in_range(_float(parts[1]), y0, y1)


def parse_bounds(text: str) -> Bounds:
    """``x0,x1,y0,y1`` with ``x0 < x1``, ``y0 < y1`` (raises ``ValueError``)."""
    parts = text.split(",")
    if len(parts) != 4:
        raise _Bad("expected four numbers xmin,xmax,ymin,ymax")
    x0, x1, y0, y1 = (_in_range(_float(p), -MAX_COORD, MAX_COORD) for p in parts)
    if not (x0 < x1 and y0 < y1):
        raise _Bad("expected xmin < xmax and ymin < ymax")
    return (x0, x1), (y0, y1)


def parse_minima(text: str) -> tuple[tuple[float, float], ...]:
    """``x,y;x,y;...`` (empty text: none; raises ``ValueError``)."""
    points = [p for p in text.replace(" ", "").split(";") if p]
    if len(points) > MAX_MINIMA:
        raise _Bad(f"at most {MAX_MINIMA} points")
    out = []
    for p in points:
        xy = p.split(",")
        if len(xy) != 2:
            raise _Bad("expected points like 0,0;1.5,-2")
        out.append(tuple(_in_range(_float(v), -MAX_COORD, MAX_COORD) for v in xy))
    return tuple(out)


def _parse_custom(r: _Reader, surface: str) -> Custom:
    """The user's function (``f``, ``bounds``, ``minima``). The text is kept as given, even
    when the parser refuses it: the page shows why, next to the text, so it can be fixed."""
    base = Custom()
    if surface != CUSTOM:
        for key in CUSTOM_KEYS:
            if (text := r.take(key)) is not None:
                r.note(key, text, "only used with surface=custom; ignored")
        return base
    text = r.take("f")
    bounds = r.get("bounds", parse_bounds, base.bounds,
                   ",".join(fmt_num(v) for b in base.bounds for v in b))  # fmt: skip
    minima = r.get("minima", parse_minima, base.minima, "(none)")
    return Custom(base.text if text is None else text.strip(), bounds, minima)


def _parse_hparams(r: _Reader, opts: tuple[str, ...]) -> tuple[tuple[str, Pairs], ...]:
    out = []
    for o in opts:
        pairs = []
        for h, (name, dflt) in zip(OPTIMIZERS[o].hparams, optimizer_defaults(o), strict=True):
            pairs.append((name, r.hparam(f"{o}.{hp_alias(h.name)}", h, dflt)))
        out.append((o, tuple(pairs)))
    for key in r.unused():
        prefix, _, name = key.partition(".")
        if prefix in OPTIMIZERS:
            r.used.add(key)
            if prefix not in opts:
                r.note(key, r.raw[key], f"{OPTIMIZERS[prefix].display} is not selected; ignored")
            else:
                r.note(key, r.raw[key], f"{OPTIMIZERS[prefix].display} has no hyperparameter "
                       f"{show(name)!r}; ignored")  # fmt: skip
    return tuple(out)


def _parse_params(r: _Reader, prefix: str, specs: Sequence[HParam], what: str) -> Pairs:
    pairs = tuple((p.name, r.hparam(f"{prefix}.{p.name}", p, snap(p, p.default))) for p in specs)
    for key in r.unused():
        if key.startswith(prefix + "."):
            r.used.add(key)
            r.note(key, r.raw[key], f"{what} has no such parameter; ignored")
    return pairs


def parse_query(query: Mapping[str, str | Sequence[str]]) -> tuple[Config, list[str]]:
    """The configuration a URL asks for, and a notice for every value that was ignored.

    ``query`` maps parameter names to a value or to all its values (repeated keys); the last
    value counts. Never raises on user input.
    """
    r = _Reader(query)
    surface = r.get("surface", lambda t: _choice(t, surface_names()), default_surface())
    custom = _parse_custom(r, surface)
    base = default_config(surface, custom)
    spec = SURFACES.get(surface)  # None: the user's own function
    bounds = spec.bounds if spec else custom.bounds
    theta = _parse_params(r, "s", spec.params if spec else (),
                          spec.display if spec else "Your function")  # fmt: skip
    opts = r.optimizers(base.optimizers)
    hparams = _parse_hparams(r, opts)
    steps = r.get("steps", lambda t: int(_in_range(_int(t), *STEPS_RANGE)), base.steps)
    start = r.get("start", lambda t: _parse_start(t, bounds), base.start,
                  ",".join(map(fmt_num, base.start)))  # fmt: skip
    schedule = r.get("sched", lambda t: _choice(t, list(SCHEDULES)), base.schedule)
    sched_params = _parse_params(r, "sched", SCHEDULES[schedule].params,
                                 f"The {SCHEDULES[schedule].display} schedule")  # fmt: skip
    clip = r.get("clip", lambda t: _choice(t, CLIP_MODES), base.clip)
    clip_at = r.hparam("clip_at", CLIP_AT, base.clip_at)
    wd = r.get("wd", lambda t: _choice(t, WD_MODES), base.wd)
    wd_at = r.hparam("wd_at", WD_AT, base.wd_at)
    log_loss = r.get("log", parse_bool, base.log_loss, "1")
    frame_ms = r.get("frame_ms", lambda t: int(_in_range(_int(t), *FRAME_MS_RANGE)),
                     base.frame_ms)  # fmt: skip
    view3d = r.get("view3d", parse_bool, base.view3d, "0")
    theory = r.get("theory", parse_bool, base.theory, "1")
    inspect = r.get("inspect", lambda t: _choice(t, opts or ("(none)",)), "", "(the first)")
    at = r.get("at", lambda t: int(_in_range(_int(t), 0, steps)), 0)
    present = r.get("present", parse_bool, False, "0")
    hide_text = r.take("hide")
    hide: tuple[str, ...] = ()
    if hide_text is not None:
        groups = _list(hide_text)
        if bad := [g for g in groups if g not in GROUPS]:
            r.note("hide", ",".join(bad), "unknown control group(s) ignored; known: "
                   + ", ".join(GROUPS))  # fmt: skip
        hide = tuple(g for g in GROUPS if g in groups)
    notices = r.finish()
    cfg = Config(
        surface=surface, theta=theta, optimizers=opts, hparams=hparams, steps=steps,
        start=start, schedule=schedule, schedule_params=sched_params, clip=clip,
        clip_at=clip_at, wd=wd, wd_at=wd_at, log_loss=log_loss, frame_ms=frame_ms,
        view3d=view3d, theory=theory, inspect=inspect, at=at, present=present, hide=hide,
        custom=custom,
    )  # fmt: skip
    return cfg, notices


def to_query(cfg: Config) -> dict[str, str]:
    """The URL parameters for ``cfg``: only what differs from the defaults."""
    base = default_config(cfg.surface, cfg.custom)
    q: dict[str, str] = {}
    if cfg.surface != default_surface():
        q["surface"] = cfg.surface
    if cfg.surface == CUSTOM:
        q["f"] = cfg.custom.text
        if cfg.custom.bounds != Custom().bounds:
            q["bounds"] = ",".join(fmt_num(v) for b in cfg.custom.bounds for v in b)
        if cfg.custom.minima:
            q["minima"] = ";".join(",".join(map(fmt_num, p)) for p in cfg.custom.minima)
    for (k, v), (_, d) in zip(cfg.theta, base.theta, strict=True):
        if v != d:
            q[f"s.{k}"] = fmt_num(v)
    if cfg.optimizers != base.optimizers:
        q["opt"] = ",".join(cfg.optimizers) or NO_OPTIMIZERS
    for o, pairs in cfg.hparams:
        for (k, v), (_, d) in zip(pairs, optimizer_defaults(o), strict=True):
            if v != d:
                q[f"{o}.{hp_alias(k)}"] = fmt_num(v)
    if cfg.steps != base.steps:
        q["steps"] = str(cfg.steps)
    if cfg.start != base.start:
        q["start"] = ",".join(fmt_num(v) for v in cfg.start)
    if cfg.schedule != base.schedule:
        q["sched"] = cfg.schedule
    for (k, v), (_, d) in zip(cfg.schedule_params, schedule_defaults(cfg.schedule), strict=True):
        if v != d:
            q[f"sched.{k}"] = fmt_num(v)
    put_changed(q, (
        ("clip", cfg.clip, base.clip),
        ("clip_at", cfg.clip_at, base.clip_at),
        ("wd", cfg.wd, base.wd),
        ("wd_at", cfg.wd_at, base.wd_at),
        ("log", cfg.log_loss, base.log_loss),
        ("frame_ms", cfg.frame_ms, base.frame_ms),
        ("view3d", cfg.view3d, base.view3d),
        ("theory", cfg.theory, base.theory),
        ("inspect", cfg.inspect, base.inspect),
        ("at", cfg.at, base.at),
        ("present", cfg.present, base.present),
    ))  # fmt: skip
    if cfg.hide:
        q["hide"] = ",".join(cfg.hide)
    return q
