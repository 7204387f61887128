"""Class mode's challenge: which page setup, what students may tune, the step budget and the
score — as an immutable value with a JSON form (stored) and a link form (the Class page's
creation form) — and scoring through the engine (pure: no Streamlit, no database).

The server never trusts a score from a browser: a student's *settings* (an optimizer and the
values of the open hyperparameters) are checked against the challenge (``parse_settings``)
and the score is recomputed from them (``evaluate``) on the challenge's locked setup.

Scores (lower is better for all three):

- ``final``: the full loss after the step budget, :math:`L(\\theta_T)`;
- ``reach``: the first step :math:`t` with :math:`L(\\theta_t) \\le` target (none: not reached);
- ``at``: the loss at step :math:`k`, :math:`L(\\theta_k)`.

On Data & SGD setups the loss is the mean over the setup's seeds. A run that diverges has no
score (ranked last).

Creation link (the Class page; all optional)::

    from=<a Surfaces or Data & SGD link, URL-encoded>  allow=adam,momentum  open=learning_rate,b1
    steps=200  score=final|reach|at  target=0.01  k=50  title=Ravine%20race  hours=3
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

import numpy as np

from optlab.config import data as data_cfg
from optlab.config import surfaces_link
from optlab.config.links import (
    BadValue,
    Reader,
    fmt_num,
    hparam_value,
    in_range,
    parse_choice,
    parse_float,
    parse_int,
    parse_list,
)
from optlab.config.surfaces import STEPS_RANGE, engine_settings, surface_of
from optlab.core import engine
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import HParam, value_grid
from surfaces import SURFACES
from surfaces.data import DATA_LOSSES

SCORES = {
    "final": "final loss after the step budget (lower is better)",
    "reach": "steps to reach the target loss (fewer is better)",
    "at": "loss at step k (lower is better)",
}
PAGES = {"surfaces": "Surfaces", "data": "Data & SGD"}
TITLE_MAX = 80
PATH_POINTS = 150  # a submission's stored path (the board's map)
DEFAULT_HOURS = 3.0
HOURS_RANGE = (0.25, 72.0)


@dataclass(frozen=True)
class Challenge:
    """A class's task. ``setup`` is the page's link query (its own scheme, non-defaults only)."""

    page: str
    setup: tuple[tuple[str, str], ...]
    optimizers: tuple[str, ...]  # what students may choose
    open: tuple[str, ...]  # hyperparameter names students may tune (registry names)
    steps: int
    score: str = "final"
    target: float = 1e-2  # score == "reach"
    k: int = 50  # score == "at"
    title: str = ""

    def query(self) -> dict[str, str]:
        return dict(self.setup)

    def config(self):
        """The page's configuration (``Config`` / ``DataConfig``) with the challenge's steps."""
        if self.page == "data":
            return replace(data_cfg.parse_data_query(self.query())[0], steps=self.steps)
        return replace(surfaces_link.parse_query(self.query())[0], steps=self.steps)

    def open_params(self, opt: str) -> tuple[HParam, ...]:
        return tuple(h for h in OPTIMIZERS[opt].hparams if h.name in self.open)

    def open_keys(self) -> set[str]:
        """The setup's link keys students tune (``adam.lr``, ``adam.b1``, …): not locked."""
        alias = (lambda n: "lr") if self.page == "data" else surfaces_link.hp_alias
        return {f"{o}.{alias(h.name)}" for o in self.optimizers for h in self.open_params(o)}

    def locked(self) -> tuple[tuple[str, str], ...]:
        """The setup's link without the open values: what every submission runs on."""
        return tuple((k, v) for k, v in self.setup if k not in self.open_keys())

    def score_label(self) -> str:
        if self.score == "reach":
            return f"steps to reach loss ≤ {fmt_num(self.target)} (fewer is better)"
        if self.score == "at":
            return f"loss at step {self.k} (lower is better)"
        return f"loss after {self.steps} steps (lower is better)"

    def page_query(self) -> dict[str, str]:
        """The setup's link for the challenge's page (the step budget included)."""
        return dict(self.setup)

    def to_json(self) -> str:
        d = {"page": self.page, "setup": dict(self.setup), "optimizers": list(self.optimizers),
             "open": list(self.open), "steps": self.steps, "score": self.score,
             "target": self.target, "k": self.k, "title": self.title}  # fmt: skip
        return json.dumps(d, sort_keys=True)


def from_json(text: str) -> Challenge:
    """The stored challenge (checked again: raises ``BadValue`` if it is not one)."""
    try:
        d = json.loads(text)
        setup = {str(k): str(v) for k, v in d["setup"].items()}
        args = (d["optimizers"], d["open"], int(d["steps"]), d["score"], float(d["target"]))
        return make_challenge(d["page"], setup, *args, int(d["k"]), str(d["title"]))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise BadValue(f"not a stored challenge ({e})") from None


def make_challenge(
    page: str,
    setup: Mapping[str, str],
    optimizers,
    open_,
    steps: int,
    score: str = "final",
    target: float = 1e-2,
    k: int = 50,
    title: str = "",
) -> Challenge:
    """A checked ``Challenge`` (raises ``BadValue`` with a message saying what is wrong)."""
    page = parse_choice(str(page), tuple(PAGES))
    parse = data_cfg.parse_data_query if page == "data" else surfaces_link.parse_query
    write = data_cfg.to_data_query if page == "data" else surfaces_link.to_query
    cfg, notices = parse(dict(setup))
    if notices:
        raise BadValue("the setup link has values the page cannot use: " + "; ".join(notices))
    if page == "surfaces" and cfg.surface not in SURFACES:
        raise BadValue("a class challenge needs a named surface (not your own f(x, y))")
    opts = tuple(o for o in optimizers if o in cfg.optimizers)
    if not opts:
        raise BadValue("choose at least one optimizer of the setup for students to tune")
    known = {h.name for o in opts for h in OPTIMIZERS[o].hparams}
    open_ = tuple(dict.fromkeys(h for h in open_ if h in known))
    if page == "data":
        open_ = tuple(h for h in open_ if h == "learning_rate")
    if not open_:
        raise BadValue("choose at least one hyperparameter students may tune")
    if page == "data" and steps not in data_cfg.STEPS_OPTIONS:
        raise BadValue(f"steps: one of {', '.join(map(str, data_cfg.STEPS_OPTIONS))}")
    in_range(steps, *(STEPS_RANGE if page == "surfaces" else (1, 1000)))
    score = parse_choice(str(score), tuple(SCORES))
    target = float(target)
    if not math.isfinite(target):
        raise BadValue("the target loss must be a finite number")
    if score == "at" and not 1 <= k <= steps:
        raise BadValue(f"k must be a step between 1 and {steps}")
    title = " ".join(str(title).split())[:TITLE_MAX]
    setup_q = tuple(sorted(write(replace(cfg, steps=int(steps))).items()))
    return Challenge(page, setup_q, opts, open_, int(steps), score, target, int(k), title)


def link_source(link: str) -> tuple[str, dict[str, str]]:
    """``(page, query)`` of a pasted lab link (``…/data?…`` is Data & SGD, anything else
    Surfaces; a bare query string works too). Raises ``BadValue`` for an unusable link."""
    text = str(link).strip()
    if len(text) > 4000:
        raise BadValue("this link is too long")
    parts = urlsplit(text if "://" in text or text.startswith(("/", "?")) else "?" + text)
    path = parts.path.rstrip("/").rsplit("/", 1)[-1]
    if path not in ("", "surfaces", "data"):
        raise BadValue("paste a link to the Surfaces or the Data & SGD page")
    query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query.pop("scenario", None)
    return ("data" if path == "data" else "surfaces"), query


def parse_creation_query(query: Mapping[str, str]) -> tuple[dict, list[str]]:
    """The Class page's creation form prefilled from its link (see the module docstring)."""
    r = Reader(query)
    out: dict = {}
    for key in ("from", "title"):
        if (text := r.take(key)) is not None:
            out[key] = text
    if (text := r.take("allow")) is not None:
        out["allow"] = tuple(o for o in parse_list(text) if o in OPTIMIZERS)
    if (text := r.take("open")) is not None:
        out["open"] = tuple(parse_list(text))
    out["steps"] = r.get("steps", lambda t: int(in_range(parse_int(t), 1, STEPS_RANGE[1])), None)
    out["score"] = r.get("score", lambda t: parse_choice(t, tuple(SCORES)), "final")
    out["target"] = r.get("target", parse_float, 1e-2)
    out["k"] = r.get("k", lambda t: int(in_range(parse_int(t), 1, STEPS_RANGE[1])), 50)
    out["hours"] = r.get("hours", lambda t: in_range(parse_float(t), *HOURS_RANGE), DEFAULT_HOURS)
    for key in ("join", "class", "teacher"):
        r.take(key)  # the page's other modes
    return out, r.finish()


# ---------------------------------------------------------------------------------------------
# A student's settings, and the score the server computes from them.


def current_settings(challenge: Challenge, cfg, opt: str) -> dict[str, float]:
    """The open hyperparameters of ``opt`` as the student's page ``cfg`` has them (the
    setup's values where the page does not have ``opt`` selected)."""
    base = _base_hparams(challenge, opt)
    if challenge.page == "data":
        mine = {"learning_rate": cfg.lr(opt)} if opt in getattr(cfg, "optimizers", ()) else {}
    else:
        mine = dict(dict(getattr(cfg, "hparams", ())).get(opt, ()))
    return {h.name: float(mine.get(h.name, base[h.name])) for h in challenge.open_params(opt)}


def parse_settings(challenge: Challenge, settings: Mapping) -> tuple[str, dict[str, float]]:
    """``(optimizer, open values)`` of submitted settings ``{"optimizer": name, <hparam>:
    value, …}``; raises ``BadValue`` for anything the challenge does not allow."""
    if not isinstance(settings, Mapping):
        raise BadValue("settings must be a mapping")
    opt = settings.get("optimizer")
    if opt not in challenge.optimizers:
        raise BadValue(f"this class tunes {', '.join(challenge.optimizers)} only")
    values = {}
    for h in challenge.open_params(opt):
        text = settings.get(h.name)
        if text is None:
            raise BadValue(f"missing {h.label}")
        try:
            v, _ = hparam_value(h, str(float(text)))
        except (BadValue, TypeError, ValueError) as e:
            raise BadValue(f"{h.label}: {e}") from None
        values[h.name] = v
    extra = set(settings) - {"optimizer"} - set(values)
    if extra:
        raise BadValue(f"locked or unknown settings: {', '.join(sorted(map(str, extra)))[:80]}")
    return opt, values


class Result(NamedTuple):
    score: float | None  # None: diverged, or the target was never reached
    final_loss: float
    path: np.ndarray  # [P, 2] (subsampled)
    loss: np.ndarray  # [T+1]
    diverged_at: int | None


def _base_hparams(challenge: Challenge, opt: str) -> dict[str, float]:
    cfg = challenge.config()
    if challenge.page == "data":
        return {"learning_rate": cfg.lr(opt)}
    return dict(dict(cfg.hparams).get(opt, ())) or dict(surfaces_link.optimizer_defaults(opt))


def score_of(challenge: Challenge, loss: np.ndarray) -> float | None:
    """The score of one loss curve ``[T+1]`` (``None`` where there is none)."""
    loss = np.asarray(loss, np.float64)
    if challenge.score == "reach":
        hit = np.flatnonzero(np.isfinite(loss) & (loss <= challenge.target))
        return float(hit[0]) if hit.size else None
    value = loss[min(challenge.k, len(loss) - 1)] if challenge.score == "at" else loss[-1]
    return float(value) if np.isfinite(value) else None


def _data_inputs(cfg, opt: str, hp: Mapping[str, float], extra_grid=None):
    problem = SURFACES[cfg.surface] if not cfg.is_data else DATA_LOSSES[cfg.problem]
    controls = dict(cfg.controls()) if cfg.is_data else {}
    view = problem if not cfg.is_data else DATA_LOSSES[cfg.problem].view(**controls)
    start = (float(view.starts[0].x), float(view.starts[0].y))
    theta = {**controls, "batch_size": float(cfg.batch_points)} if cfg.is_data else None
    settings = engine.Settings(steps=cfg.steps, schedule=cfg.schedule, grad_noise=cfg.grad_noise)
    pad = None if extra_grid else data_cfg.SEEDS_CAP  # a single run: the page's compilation
    (res,) = engine.sweep(
        problem,
        [engine.OptimizerRun(opt, dict(hp))],
        extra_grid or {},
        [start],
        settings,
        seeds=range(cfg.seeds),
        theta=theta,
        pad_to=pad,
    )
    return res


def evaluate(challenge: Challenge, opt: str, values: Mapping[str, float]) -> Result:
    """Run the student's settings on the challenge's locked setup (the engine) and score it."""
    hp = {**_base_hparams(challenge, opt), **values}
    cfg = challenge.config()
    if challenge.page == "data":
        res = _data_inputs(cfg, opt, hp)
        with np.errstate(invalid="ignore", over="ignore"):
            loss, path = res.loss.mean(axis=0), res.params.mean(axis=0)
        div = int(res.diverged_at.min()) if np.any(res.diverged_at >= 0) else None
    else:
        (t,) = engine.run(surface_of(cfg), [engine.OptimizerRun(opt, hp)], cfg.start,
                          engine_settings(cfg), theta=dict(cfg.theta))  # fmt: skip
        loss, path, div = t.loss, t.params, t.diverged_at
    score = None if div is not None else score_of(challenge, loss)
    keep = np.unique(np.linspace(0, len(path) - 1, min(PATH_POINTS, len(path))).astype(int))
    final = float(loss[-1]) if np.isfinite(loss[-1]) else math.inf
    return Result(score, final, np.asarray(path, np.float64)[keep], np.asarray(loss), div)


def reference_sweep(challenge: Challenge, opt: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The engine's own sweep of hyperparameter ``name`` of ``opt`` over its slider grid (the
    others at the setup's values): ``(values [N], scores [N])`` (NaN: no score)."""
    h = next(h for h in OPTIMIZERS[opt].hparams if h.name == name)
    grid = np.asarray(value_grid(h), np.float64)
    base = _base_hparams(challenge, opt)
    cfg = challenge.config()
    if challenge.page == "data":
        res = _data_inputs(cfg, opt, base, {name: grid})
        loss = res.loss.reshape(len(grid), cfg.seeds, -1).mean(axis=1)
        div = (res.diverged_at.reshape(len(grid), cfg.seeds) >= 0).any(axis=1)
    else:
        (res,) = engine.sweep(surface_of(cfg), [engine.OptimizerRun(opt, base)], {name: grid},
                              [cfg.start], engine_settings(cfg), theta=dict(cfg.theta))  # fmt: skip
        loss, div = res.loss, res.diverged_at >= 0
    scores = [None if d else score_of(challenge, row) for row, d in zip(loss, div, strict=True)]
    return grid, np.asarray([np.nan if s is None else s for s in scores], np.float64)
