"""The scenario type, the adapters from a scenario's query to engine inputs, and the page-query
readers shared by every scenario module.

Surfaces-page queries use ``optlab.config.surfaces_link``'s scheme (``config_to_engine``
turns the parsed ``Config`` into engine inputs). The data and transformer pages use these keys
(comma lists, as ``batch=1,64``, mean one run per value, overlaid)::

    data:        data=linreg|logreg  opt=gd,adam  gd.lr=0.1 (any <opt>.<hparam>)  steps=300
                 seeds=8  batch=1,64  std=0,1  n=200  noise=0.5  scale=3  offset=4
                 data_seed=0  start=0,0
    transformer: corpus=rhymes  train_chars=1500 (0 = all)  opt=adam,gd  adam.lr=0.01
                 steps=150  dropout=0,0.3  layers=1  d=32  heads=2  ctx=32  batch=16  seed=0

``parse_page_query(page, query)`` reads any of the three into ``(values, notices)``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from optlab.config import surfaces_link
from optlab.config.surfaces import Config, engine_settings
from optlab.core import engine
from optlab.core.optimizers import OPTIMIZERS
from surfaces import SURFACES
from surfaces.data import DATA_LOSSES

Check = Callable[[], tuple[bool, str]]
PAGES = ("surfaces", "data", "transformer")


@dataclass(frozen=True, eq=False)
class Scenario:
    """A registry entry; ``check()`` returns ``(passed, evidence)``."""

    key: str
    title: str
    page: str
    query: Mapping[str, str]
    what_to_notice: str
    question: str
    check: Check


def scenario(key, title, page, query, notice, question, check) -> Scenario:
    """A registry entry whose ``check()`` runs ``check(query)``."""
    return Scenario(key, title, page, query, notice, question, functools.partial(check, query))


# ---------------------------------------------------------------------------------------------
# Queries -> engine inputs.


class EngineInputs(NamedTuple):
    problem: Any
    runs: list[engine.OptimizerRun]
    start: tuple[float, float]
    settings: engine.Settings
    theta: dict[str, float]


def config_to_engine(cfg: Config) -> EngineInputs:
    """The engine's view of a surfaces-page ``Config`` (as the page's ``compute`` runs it)."""
    settings = engine_settings(cfg)
    runs = [engine.OptimizerRun(name, dict(hp)) for name, hp in cfg.hparams]
    surface_of = getattr(surfaces_link, "surface_of", None)  # newer urlstate: also surface=custom
    problem = surface_of(cfg) if surface_of else SURFACES[cfg.surface]
    return EngineInputs(problem, runs, cfg.start, settings, dict(cfg.theta))


def run_query(query: Mapping[str, str], **changes: Any) -> dict[str, engine.Trajectory]:
    """Run a surfaces-page query (``changes`` replace ``Config`` fields): ``{name: traj}``."""
    cfg, notices = surfaces_link.parse_query(query)
    if notices:
        raise ValueError(f"query not understood: {notices}")
    p, runs, start, settings, theta = config_to_engine(replace(cfg, **changes))
    return {
        r.name: t for r, t in zip(runs, engine.run(p, runs, start, settings, theta), strict=True)
    }


def _ints(lo, hi):
    return lambda t: tuple(_num(v, lo, hi, whole=True) for v in t.split(","))


def _floats(lo, hi):
    return lambda t: tuple(_num(v, lo, hi) for v in t.split(","))


def _num(text: str, lo: float, hi: float, whole: bool = False) -> float:
    v = float(text)
    if not (math.isfinite(v) and lo <= v <= hi and (v.is_integer() or not whole)):
        raise ValueError(f"expected a {'whole ' if whole else ''}number in [{lo}, {hi}]")
    return int(v) if whole else v


def _pair(t: str) -> tuple[float, ...]:
    v = _floats(-1e3, 1e3)(t)
    return v if len(v) == 2 else _fail("expected two numbers x,y")


def _one(parse):
    return lambda t: parse(t)[0] if "," not in t else _fail("expected one value")


def _fail(why: str):
    raise ValueError(why)


def _choice(options):
    return lambda t: t if t in options else _fail(f"expected one of {', '.join(options)}")


def _opts(t: str) -> tuple[str, ...]:
    names = tuple(t.split(","))
    return names if all(n in OPTIMIZERS for n in names) else _fail("unknown optimizer")


PAGE_KEYS: dict[str, dict[str, tuple[Callable[[str], Any], Any]]] = {
    "data": {
        "data": (_choice(tuple(DATA_LOSSES)), "linreg"),
        "opt": (_opts, ("gd",)),
        "steps": (_one(_ints(1, engine.MAX_STEPS)), 200),
        "seeds": (_one(_ints(1, 64)), 1),
        "batch": (_ints(1, 2000), (16,)),
        "std": (_ints(0, 1), (0,)),
        "n": (_one(_ints(10, 2000)), 200),
        "noise": (_one(_floats(0, 3)), 0.5),
        "scale": (_one(_floats(0.1, 10)), 3.0),
        "offset": (_one(_floats(-10, 10)), 4.0),
        "data_seed": (_one(_ints(0, 9999)), 0),
        "start": (_pair, (0.0, 0.0)),
    },
    "transformer": {
        "corpus": (_choice(("addition", "rhymes", "sentences")), "rhymes"),
        "train_chars": (_one(_ints(0, 200_000)), 0),
        "opt": (_opts, ("adam",)),
        "steps": (_one(_ints(1, 5000)), 300),
        "dropout": (_floats(0, 0.9), (0.0,)),
        "layers": (_one(_ints(1, 8)), 2),
        "d": (_one(_ints(8, 512)), 64),
        "heads": (_one(_ints(1, 16)), 4),
        "ctx": (_one(_ints(8, 256)), 64),
        "batch": (_one(_ints(1, 256)), 32),
        "seed": (_one(_ints(0, 9999)), 0),
    },
}


def parse_page_query(page: str, query: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """A scenario query read for its page: ``({key: value}, notices)``; never raises on values.

    ``surfaces`` gives ``{"config": Config}``; the others their keys' typed values (defaults
    filled in) plus ``hparams = {opt: {hparam: value}}`` from ``<opt>.<hparam>`` (``lr`` =
    ``learning_rate``).
    """
    if page == "surfaces":
        cfg, notices = surfaces_link.parse_query(query)
        return {"config": cfg}, notices
    keys, notices = PAGE_KEYS[page], []
    out: dict[str, Any] = {k: d for k, (_, d) in keys.items()}
    for k, text in query.items():
        if k in keys:
            try:
                out[k] = keys[k][0](text)
            except ValueError as e:
                notices.append(f"`{k}={text}`: {e}")
    out["hparams"] = {o: {} for o in out["opt"]}
    for k, text in query.items():
        o, _, h = k.partition(".")
        name = "learning_rate" if h == surfaces_link.LR_ALIAS else h
        if k in keys:
            continue
        if o not in out["hparams"] or name not in {p.name for p in OPTIMIZERS[o].hparams}:
            notices.append(f"`{k}`: unknown parameter")
            continue
        spec = OPTIMIZERS[o].hparam(name)
        try:
            out["hparams"][o][name] = _num(text, spec.low, spec.high)
        except ValueError as e:
            notices.append(f"`{k}={text}`: {e}")
    return out, notices


def page_values(page: str, query: Mapping[str, str]) -> dict[str, Any]:
    values, notices = parse_page_query(page, query)
    if notices:
        raise ValueError(f"query not understood: {notices}")
    return values


def data_inputs(v: dict[str, Any], batch: int, std: int):
    problem = DATA_LOSSES[v["data"]]
    theta = {"batch_size": batch, "standardize": std, "n_points": v["n"], "noise": v["noise"],
             "scale": v["scale"], "offset": v["offset"], "data_seed": v["data_seed"]}  # fmt: skip
    runs = [engine.OptimizerRun(o, v["hparams"][o]) for o in v["opt"]]
    return problem, runs, theta
