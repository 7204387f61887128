"""The surfaces-page scenarios (learning rates, momentum, saddles, adaptive methods, schedules,
clipping, Newton) and their checks: each check runs the scenario's query through the engine
and returns ``(passed, evidence)``."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from optlab.config import surfaces_link
from optlab.config.surfaces import Config
from optlab.core import engine, theory
from optlab.core.metrics import nearest_minimum_distance, steps_to_tolerance
from optlab.core.optimizers import OPTIMIZERS
from optlab.scenarios.base import Scenario, run_query
from optlab.scenarios.base import scenario as _s
from surfaces import SURFACES

# ---------------------------------------------------------------------------------------------
# Measurements used by the checks.


def _dist(traj: engine.Trajectory, surface: str, at: int = -1) -> float:
    return nearest_minimum_distance(traj.params[at], SURFACES[surface].minima)


def _sign_changes(x: np.ndarray) -> int:
    return int(np.sum(np.diff(np.sign(x)) != 0))


def _near(traj: engine.Trajectory, point, radius: float) -> int:
    return int(np.sum(np.linalg.norm(traj.params - np.asarray(point), axis=1) < radius))


def _quad(query: Mapping[str, str]) -> theory.Quadratic:
    cfg = surfaces_link.parse_query(query)[0]
    return theory.quadratic(SURFACES[cfg.surface], dict(cfg.theta))


def _cfg(query: Mapping[str, str]) -> Config:
    return surfaces_link.parse_query(query)[0]


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


# ---------------------------------------------------------------------------------------------
# The registry, in teaching order.

_RAVINE = {"surface": "ravine", "opt": "gd", "steps": "200"}
_K100 = {"surface": "ravine", "s.kappa": "100", "steps": "200"}

SCENARIOS: tuple[Scenario, ...] = (
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
)  # fmt: skip
