"""A library of teaching scenarios: named setups that show one effect each, with a proof.

Each ``Scenario`` is a page (``surfaces``, ``data`` or ``transformer``) plus a URL query for it,
a paragraph on what to notice, one question for students, and a ``check()`` that runs the
engine directly and returns ``(passed, evidence)`` — the stated effect, measured.

Surfaces-page queries use ``optlab.urlstate``'s scheme (``config_to_engine`` turns the parsed
``Config`` into engine inputs). The data and transformer pages use these keys (comma lists, as
``batch=1,64``, mean one run per value, overlaid)::

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

import numpy as np

from optlab import engine, theory, urlstate
from optlab.metrics import nearest_minimum_distance, steps_to_tolerance
from optlab.optimizers import OPTIMIZERS
from optlab.sweeps import best, lr_grid, run_sweep
from surfaces import SURFACES
from surfaces.data import DATA_LOSSES

Check = Callable[[], tuple[bool, str]]
_DATA_PAD = 32  # the data checks pad their sweeps to one batch size: one compile for both


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


# ---------------------------------------------------------------------------------------------
# Queries -> engine inputs.


class EngineInputs(NamedTuple):
    problem: Any
    runs: list[engine.OptimizerRun]
    start: tuple[float, float]
    settings: engine.Settings
    theta: dict[str, float]


def config_to_engine(cfg: urlstate.Config) -> EngineInputs:
    """The engine's view of a surfaces-page ``Config`` (as ``optlab.ui.compute`` runs it)."""
    settings = engine.Settings(
        steps=cfg.steps,
        schedule=cfg.schedule,
        schedule_params=dict(cfg.schedule_params),
        clip_norm=cfg.clip_at if cfg.clip == "norm" else math.inf,
        clip_value=cfg.clip_at if cfg.clip == "value" else math.inf,
        l2=cfg.wd_at if cfg.wd == "l2" else 0.0,
        weight_decay=cfg.wd_at if cfg.wd == "decoupled" else 0.0,
    )
    runs = [engine.OptimizerRun(name, dict(hp)) for name, hp in cfg.hparams]
    surface_of = getattr(urlstate, "surface_of", None)  # newer urlstate: also surface=custom
    problem = surface_of(cfg) if surface_of else SURFACES[cfg.surface]
    return EngineInputs(problem, runs, cfg.start, settings, dict(cfg.theta))


def run_query(query: Mapping[str, str], **changes: Any) -> dict[str, engine.Trajectory]:
    """Run a surfaces-page query (``changes`` replace ``Config`` fields): ``{name: traj}``."""
    cfg, notices = urlstate.parse_query(query)
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
        cfg, notices = urlstate.parse_query(query)
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
        name = "learning_rate" if h == urlstate.LR_ALIAS else h
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


def _page_values(page: str, query: Mapping[str, str]) -> dict[str, Any]:
    values, notices = parse_page_query(page, query)
    if notices:
        raise ValueError(f"query not understood: {notices}")
    return values


def _data_inputs(v: dict[str, Any], batch: int, std: int):
    problem = DATA_LOSSES[v["data"]]
    theta = {"batch_size": batch, "standardize": std, "n_points": v["n"], "noise": v["noise"],
             "scale": v["scale"], "offset": v["offset"], "data_seed": v["data_seed"]}  # fmt: skip
    runs = [engine.OptimizerRun(o, v["hparams"][o]) for o in v["opt"]]
    return problem, runs, theta


# ---------------------------------------------------------------------------------------------
# Measurements used by the checks.


def _dist(traj: engine.Trajectory, surface: str, at: int = -1) -> float:
    return nearest_minimum_distance(traj.params[at], SURFACES[surface].minima)


def _sign_changes(x: np.ndarray) -> int:
    return int(np.sum(np.diff(np.sign(x)) != 0))


def _near(traj: engine.Trajectory, point, radius: float) -> int:
    return int(np.sum(np.linalg.norm(traj.params - np.asarray(point), axis=1) < radius))


def _quad(query: Mapping[str, str]) -> theory.Quadratic:
    cfg = urlstate.parse_query(query)[0]
    return theory.quadratic(SURFACES[cfg.surface], dict(cfg.theta))


def _lr(query: Mapping[str, str], opt: str) -> float:
    return urlstate.parse_query(query)[0].hp(opt)["learning_rate"]


def _cfg(query: Mapping[str, str]) -> urlstate.Config:
    return urlstate.parse_query(query)[0]


# ---------------------------------------------------------------------------------------------
# Checks: each takes its scenario's query and returns (passed, evidence).


def _lr_small(q):
    t, cfg = run_query(q)["gd"], _cfg(q)
    rate = _quad(q).gd_rate(cfg.hp("gd")["learning_rate"])
    left = _dist(t, cfg.surface) / _dist(t, cfg.surface, 0)
    need = math.log(0.01) / math.log(rate)
    return left > 0.75 and need > 10 * t.steps, (
        f"after {t.steps} steps GD is still {left:.0%} of its start's distance from the minimum; "
        f"at |1 − ηλ| = {rate:.4f} per step it needs ≈ {need:.0f} steps to get within 1%"
    )


def _lr_good(q):
    t, cfg, quad = run_query(q)["gd"], _cfg(q), _quad(q)
    lr = cfg.hp("gd")["learning_rate"]
    pred = quad.predicted_loss(cfg.start, lr, t.steps)
    match = np.allclose(t.loss[:51], pred[:51], rtol=1e-3)
    measured = math.sqrt(t.loss[100] / t.loss[99])
    ok = t.diverged_at is None and t.loss[-1] < 1e-6 * t.loss[0] and match
    return ok, (
        f"η = {lr:g} < 2/L = {quad.gd_max_lr:g}: loss {t.loss[0]:.3g} → {t.loss[-1]:.2e} in "
        f"{t.steps} steps; contraction {measured:.4f}/step vs theory {quad.gd_rate(lr):.4f}; "
        f"curve matches the prediction: {match}"
    )


def _lr_large(q):
    t, cfg, quad = run_query(q)["gd"], _cfg(q), _quad(q)
    lr = cfg.hp("gd")["learning_rate"]
    ok = t.diverged_at is not None and lr > quad.gd_max_lr
    return ok, (
        f"η = {lr:g} > 2/L = {quad.gd_max_lr:g}: the steep direction grows ×{quad.gd_rate(lr):.2f}"
        f" per step and the loss overflowed at step {t.diverged_at}"
    )


def _momentum_ravine(q):
    r = run_query(q)
    g, m = r["gd"].loss[-1], r["momentum"].loss[-1]
    return m < 1e-3 * g, f"final loss: GD {g:.2e}, momentum {m:.2e} (same η, β = 0.9)"


def _nesterov(q):
    r = run_query(q)
    zm, zn = (_sign_changes(r[k].params[:, 1]) for k in ("momentum", "nesterov"))
    fm, fn = r["momentum"].loss[-1], r["nesterov"].loss[-1]
    return zn * 2 < zm and fn < fm, (
        f"y changed sign {zm}× for momentum, {zn}× for Nesterov; final loss {fm:.1e} vs {fn:.1e}"
    )


def _saddle(q):
    r, s = run_query(q), SURFACES["saddle"]
    sp = (s.saddles[0].x, s.saddles[0].y)
    kind = theory.inspect_point(s, sp).kind
    lg, lm = _near(r["gd"], sp, 0.3), _near(r["momentum"], sp, 0.3)
    done = all(abs(t.loss[-1] - s.minima[0].value) < 1e-3 for t in r.values())
    return kind == "saddle" and done and lg >= 20 and 2 * lm <= lg, (
        f"the origin is a {kind} (Hessian eigenvalues −2, 2); steps within 0.3 of it: GD {lg}, "
        f"momentum {lm}; both reach f = −1: {done}"
    )


def _adagrad(q):
    r, surface = run_query(q), _cfg(q).surface
    shrink = {k: t.eff_step[-1, 0] / t.eff_step[0, 0] for k, t in r.items()}
    dist = {k: _dist(t, surface) for k, t in r.items()}
    ok = shrink["adagrad"] < 1 / 30 and shrink["rmsprop"] > 0.5
    ok = ok and dist["adagrad"] > 0.2 and dist["rmsprop"] < 0.05
    return ok, (
        f"effective step in x, last/first: AdaGrad {shrink['adagrad']:.3f}, RMSprop "
        f"{shrink['rmsprop']:.2f}; distance to the minimum: AdaGrad {dist['adagrad']:.2f}, "
        f"RMSprop {dist['rmsprop']:.3f}"
    )


def _adaptive(q):
    f = {k: t.loss[-1] for k, t in run_query(q).items()}
    ok = f["rmsprop"] < f["gd"] / 50 and f["adam"] < f["gd"] / 50
    return ok, "final loss: " + ", ".join(f"{OPTIMIZERS[k].display} {v:.2e}" for k, v in f.items())


def _banana(q):
    r = run_query(q)
    g = r["gd"].params
    floor = int(np.argmax(np.abs(g[:, 1] - g[:, 0] ** 2) < 0.1))
    dg, fg, fm = _dist(r["gd"], "rosenbrock"), r["gd"].loss[-1], r["momentum"].loss[-1]
    ok = floor <= 10 and dg > 1 and fm < fg / 100
    return ok, (
        f"GD is on the valley floor (|y − x²| < 0.1) at step {floor} but still {dg:.2f} from "
        f"(1, 1) after {r['gd'].steps} steps (loss {fg:.2f}); momentum's loss {fm:.1e}"
    )


def _rastrigin(q):
    t = run_query(q)["gd"]
    info = theory.inspect_point(SURFACES["rastrigin"], t.params[-1])
    ok = info.stationary and info.kind == "minimum" and t.loss[-1] > 10
    return ok, (
        f"GD stopped at ({t.params[-1][0]:.2f}, {t.params[-1][1]:.2f}) with loss "
        f"{t.loss[-1]:.2f} (global minimum 0): {info.describe()}"
    )


def _schedule(q):
    cfg = _cfg(q)
    dec = run_query(q)["gd"].loss[-1]
    const = run_query(q, schedule="constant", schedule_params=())["gd"].loss[-1]
    return dec < 1e-6 and const > 1, (
        f"final loss with the {cfg.schedule} schedule {dec:.1e}; constant η {const:.2f} (GD "
        f"bounces across the ravine: |1 − ηκ| = 1 at η = 2/κ)"
    )


def _clip(q):
    s = SURFACES["cliff"]
    c, u = run_query(q)["gd"], run_query(q, clip="off")["gd"]
    x_floor, f_star = s.minima[0].x, s.minima[0].value
    lc, lu = c.params[:, 0].min(), u.params[:, 0].min()
    ok = lc > x_floor - 0.2 and c.loss[-1] - f_star < 1e-3 and lu < x_floor - 3
    return ok, (
        f"valley floor at x = {x_floor}; leftmost x reached: unclipped GD {lu:.2f} (thrown past, "
        f"off the map), clipped GD {lc:.2f}; clipped final gap {c.loss[-1] - f_star:.1e}"
    )


def _newton(q):
    r = run_query(q)
    sn, sg = (steps_to_tolerance(r[k].loss, 0.0, 1e-6) for k in ("newton", "gd"))
    ok = sn is not None and sn <= 20 and sg is None
    return ok, (
        f"steps to loss < 1e-6 on Rosenbrock: Newton {sn}, GD {sg or 'never'} in "
        f"{r['gd'].steps} steps (final {r['gd'].loss[-1]:.2f})"
    )


def _batch_noise(q):
    v = _page_values("data", q)
    excess, spread = {}, {}
    for b in v["batch"]:
        problem, runs, theta = _data_inputs(v, b, v["std"][0])
        settings = engine.Settings(steps=v["steps"])
        res = engine.sweep(problem, runs, {}, [v["start"]], settings, range(v["seeds"]), theta,
                           pad_to=_DATA_PAD)  # fmt: skip
        final = res[0].loss[:, -1].astype(np.float64)
        excess[b] = float(np.mean(final) - problem.view(**theta).minima[0].value)
        spread[b] = float(np.std(final))
    lo, hi = min(v["batch"]), max(v["batch"])
    ok = excess[lo] > 10 * excess[hi] and spread[lo] > spread[hi]
    return ok, (
        f"final loss above the optimum (mean over {v['seeds']} seeds): batch {lo} "
        f"{excess[lo]:.2e}, batch {hi} {excess[hi]:.2e}; spread {spread[lo]:.1e} vs "
        f"{spread[hi]:.1e}"
    )


def _scaling(q):
    v = _page_values("data", q)
    found = {}
    for s in v["std"]:
        problem, runs, theta = _data_inputs(v, v["batch"][0], s)
        target = problem.view(**theta).minima[0].value
        grid = {"learning_rate": lr_grid(1e-3, 2.0, 24)}
        table = run_sweep(problem, runs, grid, [v["start"]], steps=v["steps"], theta=theta,
                          target=target, pad_to=_DATA_PAD)  # fmt: skip
        found[s] = next(iter(best(table, "steps_to_tol").values()))
    raw, std = found[0], found[1]
    ok = raw is not None and std is not None and 10 * std.value <= raw.value
    return ok, (
        f"steps to within 1e-3 of the optimum, each at its best swept η: raw features "
        f"{raw.value:.0f} (η = {raw.hparams['learning_rate']:.3g}), standardized "
        f"{std.value:.0f} (η = {std.hparams['learning_rate']:.3g})"
    )


@functools.lru_cache(maxsize=16)
def _train(v_items: tuple, opt: str, hp: tuple, dropout: float):
    """One transformer run (cached: a second ``check()`` call costs nothing)."""
    from optlab.transformer import train as tr
    from optlab.transformer.corpus import CORPORA, Corpus
    from optlab.transformer.model import Config
    from optlab.transformer.tokenizer import CharTokenizer

    v = dict(v_items)
    corpus = CORPORA[v["corpus"]].builder()
    if v["train_chars"]:
        text = corpus.train_text[: v["train_chars"]]
        corpus = Corpus(corpus.name, text, corpus.val_text, CharTokenizer.from_text(text))
    cfg = Config(corpus.tokenizer.vocab_size, v["layers"], v["d"], v["heads"], v["ctx"], dropout)
    tcfg = tr.TrainConfig(steps=v["steps"], chunk=25, batch_size=v["batch"], init_seed=v["seed"])
    return tr.train(corpus, cfg, [tr.OptimizerRun(opt, opt, dict(hp))], tcfg)


def _transformer_runs(q, pairs):
    v = _page_values("transformer", q)
    items = tuple((k, v[k]) for k in PAGE_KEYS["transformer"] if k not in {"opt", "dropout"})
    return [_train(items, o, tuple(sorted(v["hparams"][o].items())), d) for o, d in pairs]


def _tail(report, opt: str) -> float:
    return float(np.mean(report.metrics[opt]["loss"][-20:]))


def _adam_vs_sgd(q):
    opts = _page_values("transformer", q)["opt"]
    a, s = _transformer_runs(q, [(o, 0.0) for o in opts])
    la, ls = _tail(a, opts[0]), _tail(s, opts[1])
    va, vs = a.val_loss[opts[0]][-1], s.val_loss[opts[1]][-1]
    return la < ls - 0.15 and va < vs, (
        f"training loss (last 20 steps): {opts[0]} {la:.2f}, {opts[1]} {ls:.2f}; validation "
        f"{va:.2f} vs {vs:.2f}"
    )


def _dropout(q):
    v = _page_values("transformer", q)
    o = v["opt"][0]
    (plain, drop), (d0, d1) = _transformer_runs(q, [(o, d) for d in v["dropout"]]), v["dropout"]
    vp, vd = plain.val_loss[o], drop.val_loss[o]
    rise = vp[-1] - vp.min()
    ok = rise > 0.1 and vd[-1] < vp[-1] and vd[-1] - vd.min() < rise
    return ok, (
        f"validation loss, best → final: dropout {d0:g} {vp.min():.2f} → {vp[-1]:.2f} (train "
        f"{_tail(plain, o):.2f}); dropout {d1:g} {vd.min():.2f} → {vd[-1]:.2f} (train "
        f"{_tail(drop, o):.2f})"
    )


# ---------------------------------------------------------------------------------------------
# The registry, in teaching order.

_RAVINE = {"surface": "ravine", "opt": "gd", "steps": "200"}
_K100 = {"surface": "ravine", "s.kappa": "100", "steps": "200"}
_TINY = {"corpus": "rhymes", "train_chars": "1500", "steps": "150", "layers": "1", "d": "32",
         "heads": "2", "ctx": "32", "batch": "16", "adam.lr": "0.01"}  # fmt: skip


def _s(key, title, page, query, notice, question, check) -> Scenario:
    return Scenario(key, title, page, query, notice, question, functools.partial(check, query))


SCENARIOS: dict[str, Scenario] = {s.key: s for s in (
    _s("lr-too-small", "Learning rate too small", "surfaces",
       {"surface": "bowl", "opt": "gd", "gd.lr": "0.001", "steps": "200"},
       "On a round bowl every step shrinks the distance to the minimum by the factor 1 − η. "
       "With η = 0.001 that is 0.1% per step: after 200 steps GD has barely left the start. "
       "Nothing is wrong with the direction — only with the step length.",
       "How many steps would GD need here to get within 1% of the minimum?", _lr_small),
    _s("lr-good", "A good learning rate", "surfaces", {**_RAVINE, "gd.lr": "0.08"},
       "On the ravine (curvatures 1 and κ = 20) GD is stable for η < 2/κ = 0.1. At η = 0.08 the "
       "steep direction shrinks by |1 − 0.08·20| = 0.6 per step and the flat one by 0.92, so the "
       "loss falls exponentially, exactly as the quadratic theory predicts.",
       "Which direction limits the speed here, and why can't a larger η fix it?", _lr_good),
    _s("lr-too-large", "Learning rate too large: divergence", "surfaces",
       {**_RAVINE, "gd.lr": "0.12"},
       "Just above the stability limit 2/L = 0.1, the steep direction is multiplied by "
       "|1 − 0.12·20| = 1.4 each step: GD overshoots further every time and the loss explodes, "
       "while the flat direction still converges. One direction is enough to diverge.",
       "What is the largest learning rate that still converges, and what sets it?", _lr_large),
    _s("momentum-ravine", "Momentum in a ravine", "surfaces",
       {**_K100, "opt": "gd,momentum", "gd.lr": "0.015", "momentum.lr": "0.015"},
       "With κ = 100 GD must keep η below 0.02 and then crawls along the flat valley. Momentum "
       "adds up consistent gradients (an effective step η/(1 − β) = 10η along the valley) while "
       "the zig-zag across it cancels out.",
       "Why does the velocity grow along the valley but not across it?", _momentum_ravine),
    _s("nesterov-vs-momentum", "Nesterov vs heavy-ball momentum", "surfaces",
       {**_K100, "opt": "momentum,nesterov", "momentum.lr": "0.01", "nesterov.lr": "0.01"},
       "Same η and β. Heavy ball keeps swinging across the steep direction; Nesterov's look-ahead "
       "corrects with the gradient at the point it is about to reach, which damps the swings.",
       "Count the crossings of the valley floor for each: where does the difference come from?",
       _nesterov),
    _s("saddle-escape", "Escaping a saddle point", "surfaces",
       {"surface": "saddle", "opt": "gd,momentum", "gd.lr": "0.05", "momentum.lr": "0.05",
        "steps": "300"},
       "Started 0.001 off the ridge, GD slides into the saddle (gradient ≈ 0) and lingers there "
       "until the tiny y offset has grown by (1 + 2η) per step. Momentum carries speed through "
       "the flat region and escapes far sooner. Start exactly on the ridge and GD never leaves.",
       "Why does the escape take longer the closer the start is to y = 0?", _saddle),
    _s("adagrad-shrinking", "AdaGrad's shrinking steps", "surfaces",
       {"surface": "cliff", "opt": "adagrad,rmsprop", "adagrad.lr": "0.5", "rmsprop.lr": "0.05",
        "steps": "200"},
       "AdaGrad divides by the root of the *sum* of all past squared gradients. One step on the "
       "cliff face (gradient 40) stays in that sum for ever, so afterwards AdaGrad crawls along "
       "the valley floor. RMSprop's moving average forgets the cliff within a few dozen steps.",
       "Watch the effective step size: why can AdaGrad's never grow again?", _adagrad),
    _s("adaptive-ill-conditioning", "RMSprop and Adam on an ill-conditioned ravine", "surfaces",
       {"surface": "ravine", "s.kappa": "1000", "opt": "gd,rmsprop,adam", "gd.lr": "0.0015",
        "rmsprop.lr": "0.01", "adam.lr": "0.05", "steps": "300"},
       "With κ = 1000 GD's stable step is tiny, so the flat x direction barely moves. RMSprop "
       "and Adam divide each coordinate by its own gradient scale, taking similar-sized steps in "
       "both — on an axis-aligned ravine that undoes the ill-conditioning.",
       "Would this still work if the ravine were rotated by 45° (try Matyas)?", _adaptive),
    _s("rosenbrock-banana", "The Rosenbrock banana", "surfaces",
       {"surface": "rosenbrock", "opt": "gd,momentum", "gd.lr": "0.001",
        "momentum.lr": "0.001", "steps": "500"},
       "GD drops into the curved valley within a few steps and then creeps along its nearly "
       "flat, bending floor. Momentum builds speed along the floor and reaches (1, 1).",
       "Why is finding the valley easy but following it hard?", _banana),
    _s("rastrigin-local-minima", "Rastrigin's local minima", "surfaces",
       {"surface": "rastrigin", "opt": "gd", "gd.lr": "0.002", "steps": "300"},
       "Rastrigin's egg-box is covered in local minima. GD converges — the gradient vanishes and "
       "the Hessian is positive definite — but to the nearest dip, far above the global minimum.",
       "Which start points lead GD to the global minimum at (0, 0)?", _rastrigin),
    _s("schedule-decay", "Decaying the learning rate", "surfaces",
       {**_RAVINE, "gd.lr": "0.1", "sched": "cosine"},
       "At η = 0.1 = 2/κ, constant-rate GD bounces between y = ±1 for ever. Cosine decay starts "
       "at the same η but lowers it, so the bouncing dies out and GD settles in the minimum.",
       "Compare step decay with cosine: when does each one stop the bouncing?", _schedule),
    _s("clip-cliff", "Gradient clipping tames a cliff", "surfaces",
       {"surface": "cliff", "opt": "gd", "gd.lr": "0.2", "clip": "norm", "clip_at": "1"},
       "Without clipping, one step on the cliff face (slope 40) moves GD by 8 units, flinging it "
       "far past the valley. Clipping the gradient norm to 1 caps every step at η: GD walks "
       "down the face and stops on the valley floor. Switch clipping off to compare.",
       "Clipping changes the step length but not its direction: why is that enough?", _clip),
    _s("newton-vs-first-order", "Newton vs first-order methods", "surfaces",
       {"surface": "rosenbrock", "opt": "gd,newton", "gd.lr": "0.001", "steps": "500"},
       "Newton's method rescales the step by the inverse Hessian, so it follows the curved "
       "valley and converges in a handful of steps; GD needs thousands. The price: a Hessian "
       "per step, which is out of reach with millions of parameters.",
       "What does a Newton step cost for a model with n parameters?", _newton),
    _s("sgd-batch-noise", "SGD noise and the batch size", "data",
       {"data": "linreg", "opt": "gd", "gd.lr": "0.1", "std": "1", "batch": "1,64",
        "seeds": "8", "steps": "300"},
       "Mini-batch gradients are noisy estimates of the full gradient. With batch 1 SGD keeps "
       "jittering in a 'noise ball' around the optimum, and every seed ends somewhere else; "
       "batch 64 averages the noise away (variance ∝ 1/B) and all seeds agree.",
       "How could you shrink the noise ball without a larger batch?", _batch_noise),
    _s("feature-scaling", "Feature scaling", "data",
       {"data": "linreg", "opt": "gd", "gd.lr": "0.05", "batch": "200", "std": "0,1",
        "steps": "300"},
       "With raw features (mean 4, spread 3) the loss is a narrow tilted ravine (κ ≈ 70) and GD "
       "needs a small step. Standardizing makes it round (κ = 1): at its best step GD converges "
       "in a couple of steps. Each is compared at its own best learning rate.",
       "Why does a feature's offset (its mean) make the problem ill-conditioned?", _scaling),
    _s("transformer-adam-vs-sgd", "Adam vs SGD on a transformer", "transformer",
       {**_TINY, "train_chars": "0", "opt": "adam,gd", "gd.lr": "0.1"},
       "The same tiny transformer, init and batches. Adam adapts the step of every weight to "
       "its own gradient scale (embeddings, attention and MLP differ by orders of magnitude); "
       "plain SGD with one global step is far slower.",
       "Which layers' gradients are largest, and what does that do to SGD?", _adam_vs_sgd),
    _s("transformer-dropout", "Overfitting and dropout", "transformer",
       {**_TINY, "opt": "adam", "dropout": "0,0.3"},
       "Trained on only 1500 characters, the model memorises them: training loss keeps falling "
       "while validation loss turns up. Dropout randomly silences units while training, so the "
       "model cannot rely on memorised paths, and the validation loss stays near its best.",
       "Why is the training loss with dropout higher — and why is that fine?", _dropout),
)}  # fmt: skip
