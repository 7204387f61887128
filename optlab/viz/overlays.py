"""What the theory overlays say (pure: no Streamlit), from ``optlab.core.theory``.

- under a learning-rate slider, on a quadratic surface (``lr_note``): the Hessian's eigenvalues,
  the optimizer's stability bound (``lr < 2/L`` for GD), its optimal setting, its current rate,
  and a warning when the learning rate is past the bound;
- in the loss panel (``predictions``): the loss the theory predicts for each covered optimizer,
  drawn dashed beside the measured curve;
- under the optimizer-state panel, on any surface (``point_note``): the Hessian at the inspected
  point, its curvature class and condition number.

Registries, keyed by optimizer: ``RATES`` (the asymptotic contraction per step; the keys are
also ``Quadratic.predicted_loss``'s methods), ``BOUNDS`` (the largest stable learning rate) and
``OPTIMA`` (the best setting, where the theory knows it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import numpy as np

from optlab.core.optimizers import OPTIMIZERS
from optlab.core.theory import PointInfo, Quadratic

Pairs = tuple[tuple[str, float], ...]

# (q, lr, β) -> max over the eigenvalues of the distance contraction per step.
RATES: dict[str, Callable[[Quadratic, float, float], float]] = {
    "gd": lambda q, lr, beta: q.gd_rate(lr),
    "momentum": Quadratic.momentum_rate,
    "nesterov": Quadratic.nesterov_rate,
}


class Bound(NamedTuple):
    """The largest stable learning rate: its formula as text and its value ``(q, β) -> η``."""

    formula: str
    value: Callable[[Quadratic, float], float]


BOUNDS: dict[str, Bound] = {
    "gd": Bound("2/L", lambda q, beta: q.gd_max_lr),
    "momentum": Bound("2(1 + β)/L", lambda q, beta: 2 * (1 + beta) / q.L),
    "nesterov": Bound(
        "2(1 + β)/((1 + 2β) L)", lambda q, beta: 2 * (1 + beta) / ((1 + 2 * beta) * q.L)
    ),
}

OPTIMA: dict[str, Callable[[Quadratic], str]] = {
    "gd": lambda q: f"fastest at 2/(μ + L) = {q.gd_opt_lr:.4g} (ρ = {q.gd_opt_rate:.3g})",
    "momentum": lambda q: (
        f"optimal heavy ball α = 4/(√L + √μ)² = {q.hb_lr:.4g}, "
        f"β = ((√κ − 1)/(√κ + 1))² = {q.hb_beta:.3g} (ρ = {q.hb_rate:.3g})"
    ),
}


def spectrum(q: Quadratic) -> str:
    """``Hessian eigenvalues μ = 1, L = 20 (κ = 20)``."""
    return f"Hessian eigenvalues μ = {q.mu:.4g}, L = {q.L:.4g} (κ = {q.kappa:.4g})"


def past_bound(lr: float, limit: float) -> str | None:
    """``">"`` or ``"="`` when ``lr`` is past or at the stability bound (no convergence)."""
    if math.isclose(lr, limit, rel_tol=1e-6):
        return "="
    return ">" if lr > limit else None


def lr_note(opt: str, q: Quadratic, hp: Mapping[str, float]) -> str | None:
    """The caption under ``opt``'s learning-rate slider (Markdown, one fact per line), or
    ``None`` when the quadratic theory does not cover ``opt``."""
    if opt not in BOUNDS:
        return None
    lr, beta = float(hp["learning_rate"]), float(hp.get("beta", 0.0))
    bound = BOUNDS[opt]
    limit = bound.value(q, beta)
    at_beta = f" at β = {beta:.3g}" if "β" in bound.formula else ""
    lines = [spectrum(q), f"stable for lr < {bound.formula} = {limit:.4g}{at_beta}"]
    if opt in OPTIMA:
        lines.append(OPTIMA[opt](q))
    if (sign := past_bound(lr, limit)) is not None:
        verb = "diverges" if sign == ">" else "does not converge"
        display = OPTIMIZERS[opt].display
        lines.append(
            f":red[⚠ lr {lr:.4g} {sign} {bound.formula} = {limit:.4g}: {display} {verb} here]"
        )
    else:
        lines.append(f"at lr {lr:.4g}: ρ = {RATES[opt](q, lr, beta):.4g} per step")
    return "  \n".join(lines)


# ---------------------------------------------------------------------------------------------
# Predicted loss curves.


class Prediction(NamedTuple):
    """One optimizer's predicted loss before each step (``[steps + 1]``), for the loss panel
    (``plots.lab_spec(overlays=...)`` reads ``label``, ``color`` and ``loss``)."""

    name: str
    label: str
    color: str
    loss: np.ndarray
    rate: float


def prediction_label(opt: str, rate: float, constant: bool) -> str:
    """``GD predicted (rate ρ=0.905)``; ``at the base lr`` under a schedule."""
    where = "" if constant else " at the base lr"
    return f"{OPTIMIZERS[opt].display} predicted (rate ρ={rate:.3g}{where})"


def predictions(
    q: Quadratic,
    hparams: Sequence[tuple[str, Pairs]],
    start: Sequence[float],
    multipliers: np.ndarray,
    steps: int,
) -> tuple[Prediction, ...]:
    """The predicted loss of every covered optimizer in ``hparams`` (``(name, pairs)``, as a
    ``RunKey`` holds them) from ``start`` with the schedule's ``multipliers``.

    Exact for the engine's run when nothing else changes the gradient (no clipping, no weight
    decay): the caller decides that. A diverging prediction overflows to ``inf`` (not drawn).
    """
    mult = np.asarray(multipliers, np.float64)[:steps]
    constant = bool(np.all(mult == 1.0))
    out = []
    for name, pairs in hparams:
        if name not in RATES:
            continue
        hp = dict(pairs)
        lr, beta = float(hp["learning_rate"]), float(hp.get("beta", 0.0))
        with np.errstate(over="ignore", invalid="ignore"):
            loss = q.predicted_loss(start, lr * mult, steps, name, beta)
        rate = RATES[name](q, lr, beta)
        label = prediction_label(name, rate, constant)
        out.append(Prediction(name, label, OPTIMIZERS[name].color, loss, rate))
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# The Hessian at a point.

SHAPES = {
    "minimum": "a **minimum** (bowl-shaped)",
    "maximum": "a **maximum** (cap-shaped)",
    "saddle": "a **saddle**",
    "flat": "**flat** (degenerate: the second-order test says nothing)",
}


def condition_number(eigvals: Sequence[float]) -> float:
    """``max|λ| / min|λ|`` (``inf`` when some ``λ = 0``)."""
    a = np.abs(np.asarray(eigvals, np.float64))
    return float(a.max() / a.min()) if a.min() > 0 else math.inf


def point_note(info: PointInfo, step: int) -> str:
    """One Markdown line: the Hessian at the inspected point, its class and condition number."""
    lam = ", ".join(f"{v:.4g}" for v in info.eigvals)
    where = ", ".join(f"{v:.4g}" for v in info.point)
    if info.stationary:
        kind = f"a critical point: {SHAPES[info.kind]}"
    else:
        norm = float(np.linalg.norm(info.grad))
        kind = f"curvature of {SHAPES[info.kind]}, not a critical point (‖∇f‖ = {norm:.3g})"
    return (
        f"**Hessian at step {step}**, θ = ({where}): eigenvalues {lam} → {kind} · "
        f"condition number max|λ|/min|λ| = {condition_number(info.eigvals):.4g}"
    )
