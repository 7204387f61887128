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

from collections.abc import Mapping, Sequence

from optlab.config.links import (
    NO_OPTIMIZERS,
    BadValue,
    Reader,
    fmt_num,
    in_range,
    parse_bool,
    parse_choice,
    parse_float,
    parse_int,
    parse_list,
    put_changed,
)
from optlab.config.surfaces import (
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
    default_config,
    default_surface,
    optimizer_defaults,
    schedule_defaults,
    surface_names,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import HParam, snap
from optlab.core.schedules import SCHEDULES
from surfaces import SURFACES

LR_ALIAS = "lr"
MAX_COORD = 1e6  # custom bounds and minima
MAX_MINIMA = 10
CUSTOM_KEYS = ("f", "bounds", "minima")


def hp_alias(name: str) -> str:
    return LR_ALIAS if name == "learning_rate" else name


# ---------------------------------------------------------------------------------------------
# Query <-> Config.


def _parse_start(text: str, bounds) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise BadValue("expected two numbers x,y")
    (x0, x1), (y0, y1) = bounds
    return in_range(parse_float(parts[0]), x0, x1), in_range(parse_float(parts[1]), y0, y1)


def parse_bounds(text: str) -> Bounds:
    """``x0,x1,y0,y1`` with ``x0 < x1``, ``y0 < y1`` (raises ``ValueError``)."""
    parts = text.split(",")
    if len(parts) != 4:
        raise BadValue("expected four numbers xmin,xmax,ymin,ymax")
    x0, x1, y0, y1 = (in_range(parse_float(p), -MAX_COORD, MAX_COORD) for p in parts)
    if not (x0 < x1 and y0 < y1):
        raise BadValue("expected xmin < xmax and ymin < ymax")
    return (x0, x1), (y0, y1)


def parse_minima(text: str) -> tuple[tuple[float, float], ...]:
    """``x,y;x,y;...`` (empty text: none; raises ``ValueError``)."""
    points = [p for p in text.replace(" ", "").split(";") if p]
    if len(points) > MAX_MINIMA:
        raise BadValue(f"at most {MAX_MINIMA} points")
    out = []
    for p in points:
        xy = p.split(",")
        if len(xy) != 2:
            raise BadValue("expected points like 0,0;1.5,-2")
        out.append(tuple(in_range(parse_float(v), -MAX_COORD, MAX_COORD) for v in xy))
    return tuple(out)


def _parse_custom(r: Reader, surface: str) -> Custom:
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


def _parse_hparams(r: Reader, opts: tuple[str, ...], surface: str) -> tuple[tuple[str, Pairs], ...]:
    out = []
    for o in opts:
        pairs = []
        defaults = optimizer_defaults(o, surface)
        for h, (name, dflt) in zip(OPTIMIZERS[o].hparams, defaults, strict=True):
            pairs.append((name, r.hparam(f"{o}.{hp_alias(h.name)}", h, dflt)))
        out.append((o, tuple(pairs)))
    r.other_optimizer_keys(opts, lacks="has no hyperparameter {!r}")
    return tuple(out)


def parse_params(r: Reader, prefix: str, specs: Sequence[HParam], what: str) -> Pairs:
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
    r = Reader(query, shell_keys=True)  # this page keeps present= and hide= in its Config
    surface = r.get("surface", lambda t: parse_choice(t, surface_names()), default_surface())
    custom = _parse_custom(r, surface)
    base = default_config(surface, custom)
    spec = SURFACES.get(surface)  # None: the user's own function
    bounds = spec.bounds if spec else custom.bounds
    theta = parse_params(r, "s", spec.params if spec else (),
                          spec.display if spec else "Your function")  # fmt: skip
    opts = r.optimizers(base.optimizers)
    hparams = _parse_hparams(r, opts, surface)
    steps = r.get("steps", lambda t: int(in_range(parse_int(t), *STEPS_RANGE)), base.steps)
    start = r.get("start", lambda t: _parse_start(t, bounds), base.start,
                  ",".join(map(fmt_num, base.start)))  # fmt: skip
    schedule = r.get("sched", lambda t: parse_choice(t, list(SCHEDULES)), base.schedule)
    sched_params = parse_params(r, "sched", SCHEDULES[schedule].params,
                                 f"The {SCHEDULES[schedule].display} schedule")  # fmt: skip
    clip = r.get("clip", lambda t: parse_choice(t, CLIP_MODES), base.clip)
    clip_at = r.hparam("clip_at", CLIP_AT, base.clip_at)
    wd = r.get("wd", lambda t: parse_choice(t, WD_MODES), base.wd)
    wd_at = r.hparam("wd_at", WD_AT, base.wd_at)
    log_loss = r.get("log", parse_bool, base.log_loss, "1")
    frame_ms = r.get("frame_ms", lambda t: int(in_range(parse_int(t), *FRAME_MS_RANGE)),
                     base.frame_ms)  # fmt: skip
    view3d = r.get("view3d", parse_bool, base.view3d, "0")
    theory = r.get("theory", parse_bool, base.theory, "1")
    inspect = r.get("inspect", lambda t: parse_choice(t, opts or ("(none)",)), "", "(the first)")
    at = r.get("at", lambda t: int(in_range(parse_int(t), 0, steps)), 0)
    present = r.get("present", parse_bool, False, "0")
    hide_text = r.take("hide")
    hide: tuple[str, ...] = ()
    if hide_text is not None:
        groups = parse_list(hide_text)
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
        for (k, v), (_, d) in zip(pairs, optimizer_defaults(o, cfg.surface), strict=True):
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
