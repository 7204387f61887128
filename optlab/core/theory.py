r"""Second-order theory for the overlays: Hessians, curvature classes, quadratic convergence.

Near a point :math:`p` every surface looks like its quadratic model

.. math:: f(p + d) \approx f(p) + \nabla f(p)^\top d + \tfrac12 d^\top H d,
    \qquad H = \nabla^2 f(p) = V \Lambda V^\top,

so the eigenvalues :math:`\lambda_1 \le \lambda_2` of :math:`H` classify it (``classify``): both
positive, a bowl (a minimum where the gradient vanishes); both negative, a cap (maximum); mixed
signs, a saddle; one about zero, flat (the second-order test says nothing).

On a quadratic surface (the bowl, the ravine, Booth, Matyas) the model is exact:
:math:`f(x) = f^* + \tfrac12 (x - x^*)^\top H (x - x^*)`, and with :math:`L = \lambda_{max}`,
:math:`\mu = \lambda_{min}`, :math:`\kappa = L / \mu` (``Quadratic``):

- GD :math:`x_{t+1} = x_t - \eta \nabla f(x_t)` acts on each eigen-coordinate
  :math:`c_i = v_i^\top (x - x^*)` separately: :math:`c_{i,t} = (1 - \eta\lambda_i)^t c_{i,0}`,
  so :math:`f(x_t) - f^* = \sum_i \tfrac12 \lambda_i (1 - \eta\lambda_i)^{2t} c_{i,0}^2`. It is
  stable iff :math:`\eta < 2 / L`; its rate :math:`\max_i |1 - \eta\lambda_i|` is smallest at
  :math:`\eta^* = 2 / (\mu + L)`, where it equals :math:`(\kappa - 1) / (\kappa + 1)`.
- Heavy ball :math:`x_{t+1} = x_t - \alpha \nabla f(x_t) + \beta (x_t - x_{t-1})` (the engine's
  momentum with :math:`\eta = \alpha`) is fastest at :math:`\alpha^* = 4 / (\sqrt L + \sqrt\mu)^2`,
  :math:`\beta^* = \big((\sqrt\kappa - 1) / (\sqrt\kappa + 1)\big)^2`, with rate
  :math:`(\sqrt\kappa - 1) / (\sqrt\kappa + 1)`: :math:`\sqrt\kappa` instead of :math:`\kappa`.

References: Polyak, *Introduction to Optimization*, 1987, §1.4 and §3.2; Goh, *Why Momentum
Really Works*, Distill 2017.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

KINDS = ("minimum", "maximum", "saddle", "flat")


@functools.lru_cache(maxsize=64)
def _derivatives(surface):
    """``(value, gradient, Hessian)`` of ``surface.loss``, jitted once per surface."""
    return jax.jit(lambda p, th: (surface.loss(p, th), *_grad_hess(surface, p, th)))


def _grad_hess(surface, p, theta):
    return jax.grad(surface.loss)(p, theta), jax.hessian(surface.loss)(p, theta)


def _theta(surface, theta: Mapping[str, float] | None):
    if hasattr(surface, "theta"):
        return surface.theta(**(theta or {}))
    return dict(theta or {})


def _eval(surface, point, theta) -> tuple[float, np.ndarray, np.ndarray]:
    f, g, h = _derivatives(surface)(jnp.asarray(point, jnp.float32), _theta(surface, theta))
    h = np.asarray(h, np.float64)
    return float(f), np.asarray(g, np.float64), 0.5 * (h + h.T)


def hessian(surface, point: Sequence[float], theta: Mapping[str, float] | None = None):
    """:math:`\\nabla^2 f` at ``point`` (float64 copy of JAX's float32 ``jax.hessian``)."""
    return _eval(surface, point, theta)[2]


def hessian_eigs(
    surface, point: Sequence[float], theta: Mapping[str, float] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors (columns) of the Hessian at ``point``."""
    return np.linalg.eigh(hessian(surface, point, theta))


def classify(eigvals: Sequence[float], rtol: float = 1e-5) -> str:
    """``"minimum"`` (all λ > 0), ``"maximum"`` (all < 0), ``"saddle"`` (mixed signs) or
    ``"flat"`` (some λ ≈ 0, i.e. ``|λ| ≤ rtol · max(1, max|λ|)``, and no sign change)."""
    lam = np.asarray(eigvals, np.float64)
    tol = rtol * max(1.0, float(np.max(np.abs(lam))))
    if lam.min() < -tol and lam.max() > tol:
        return "saddle"
    if lam.min() > tol:
        return "minimum"
    if lam.max() < -tol:
        return "maximum"
    return "flat"


class PointInfo(NamedTuple):
    """The local picture at a point, for the state panel.

    ``kind`` classifies the curvature (the shape of the quadratic model); it names a critical
    point only when ``stationary`` (the gradient vanishes, see ``inspect_point``).
    """

    point: np.ndarray
    value: float
    grad: np.ndarray
    eigvals: np.ndarray
    eigvecs: np.ndarray
    kind: str
    stationary: bool

    def describe(self) -> str:
        lam = ", ".join(f"{v:.3g}" for v in self.eigvals)
        if self.stationary:
            return f"{self.kind} (Hessian eigenvalues {lam}; gradient ≈ 0)"
        shape = {"minimum": "bowl-shaped", "maximum": "cap-shaped", "saddle": "saddle-shaped",
                 "flat": "flat (degenerate)"}  # fmt: skip
        return f"{shape[self.kind]} curvature (eigenvalues {lam}), not a critical point"


def inspect_point(
    surface, point: Sequence[float], theta: Mapping[str, float] | None = None, gtol=1e-4
) -> PointInfo:
    """Value, gradient, Hessian eigen-decomposition and curvature class at ``point``.

    ``stationary`` means ``‖∇f‖ ≤ gtol · max(1, max|λ|)``: on steep surfaces that is "within
    about ``gtol`` of a critical point" (``‖∇f‖ ≈ λ · distance``), not a raw gradient bound.
    """
    f, g, h = _eval(surface, point, theta)
    lam, vec = np.linalg.eigh(h)
    stationary = float(np.linalg.norm(g)) <= gtol * max(1.0, float(np.max(np.abs(lam))))
    return PointInfo(np.asarray(point, np.float64), f, g, lam, vec, classify(lam), stationary)


# ---------------------------------------------------------------------------------------------
# Quadratics.


@dataclass(frozen=True, eq=False)
class Quadratic:
    """:math:`f(x) = f^* + \\tfrac12 (x - x^*)^\\top H (x - x^*)` with ``H = V diag(λ) Vᵀ``."""

    hessian: np.ndarray
    eigvals: np.ndarray  # ascending
    eigvecs: np.ndarray  # columns
    minimizer: np.ndarray
    min_value: float

    @property
    def L(self) -> float:
        return float(self.eigvals[-1])

    @property
    def mu(self) -> float:
        return float(self.eigvals[0])

    @property
    def kappa(self) -> float:
        return self.L / self.mu if self.mu > 0 else math.inf

    @property
    def gd_max_lr(self) -> float:
        """The stability bound: GD converges iff ``η < 2 / L``."""
        return 2.0 / self.L

    @property
    def gd_opt_lr(self) -> float:
        """``2 / (μ + L)``, the step with the smallest worst-case contraction."""
        return 2.0 / (self.mu + self.L)

    @property
    def gd_opt_rate(self) -> float:
        """``(κ − 1) / (κ + 1)``: distance contraction per step at ``gd_opt_lr``."""
        return (self.kappa - 1.0) / (self.kappa + 1.0)

    @property
    def hb_lr(self) -> float:
        """Polyak's optimal heavy-ball step ``α = 4 / (√L + √μ)²``."""
        return 4.0 / (math.sqrt(self.L) + math.sqrt(self.mu)) ** 2

    @property
    def hb_beta(self) -> float:
        """Polyak's optimal momentum ``β = ((√κ − 1) / (√κ + 1))²``."""
        return self.hb_rate**2

    @property
    def hb_rate(self) -> float:
        """``(√κ − 1) / (√κ + 1)``: the heavy ball's asymptotic contraction per step."""
        s = math.sqrt(self.kappa)
        return (s - 1.0) / (s + 1.0)

    def gd_rate(self, lr: float) -> float:
        """``max_i |1 − η λ_i|``: GD's distance contraction per step (≥ 1: no convergence)."""
        return float(np.max(np.abs(1.0 - lr * self.eigvals)))

    def momentum_rate(self, lr: float, beta: float) -> float:
        """Spectral radius of the heavy ball's iteration ``[[1 + β − ηλ, −β], [1, 0]]``,
        worst over the eigenvalues (the asymptotic contraction per step)."""
        return _worst_radius([[1 + beta - lr * lam, -beta], [1, 0]] for lam in self.eigvals)

    def nesterov_rate(self, lr: float, beta: float) -> float:
        """Spectral radius of Nesterov's iteration in the engine's form (``v ← βv + g``,
        ``x ← x − η(g + βv)``) on ``(c, v)``: ``[[1 − ηλ(1 + β), −ηβ²], [λ, β]]``, worst over
        the eigenvalues. Below 1 iff ``η L < 2(1 + β) / (1 + 2β)``."""
        return _worst_radius(
            [[1 - lr * lam * (1 + beta), -lr * beta**2], [lam, beta]] for lam in self.eigvals
        )

    def coords(self, start: Sequence[float]) -> np.ndarray:
        """The start's coordinates in the eigenbasis: ``c = Vᵀ (x₀ − x*)``."""
        return self.eigvecs.T @ (np.asarray(start, np.float64) - self.minimizer)

    def predicted_loss(
        self,
        start: Sequence[float],
        lr: float | Sequence[float],
        steps: int,
        method: str = "gd",
        beta: float = 0.0,
    ) -> np.ndarray:
        """The loss before each step ``t = 0 … steps`` (``[steps + 1]``), exactly.

        ``method`` is ``"gd"`` (closed form :math:`\\sum_i \\tfrac12 \\lambda_i \\prod_{s<t}
        (1 - \\eta_s \\lambda_i)^2 c_i^2`), ``"momentum"`` or ``"nesterov"`` (the engine's
        trace forms, iterated per eigen-coordinate). ``lr`` may be one value or one per step
        (a schedule: ``lr * settings.lr_multipliers()[:steps]``).
        """
        lrs = np.broadcast_to(np.asarray(lr, np.float64), (steps,))
        c0 = self.coords(start)
        lam = self.eigvals
        if method == "gd":
            factors = 1.0 - lrs[:, None] * lam[None, :]
            c = c0 * np.vstack([np.ones_like(lam), np.cumprod(factors, axis=0)])
        elif method in ("momentum", "nesterov"):
            c = np.empty((steps + 1, lam.size))
            c[0], z, v = c0, c0.copy(), np.zeros_like(c0)
            for t in range(steps):
                g = lam * z
                v = beta * v + g
                z = z - lrs[t] * (g + beta * v if method == "nesterov" else v)
                c[t + 1] = z
        else:
            raise ValueError(f"method must be gd, momentum or nesterov, got {method!r}")
        return self.min_value + 0.5 * (c**2 * lam).sum(axis=1)


def _worst_radius(matrices) -> float:
    """The largest spectral radius among 2×2 iteration matrices."""
    return float(max(np.max(np.abs(np.linalg.eigvals(np.array(m, np.float64)))) for m in matrices))


def quadratic(surface, theta: Mapping[str, float] | None = None, check: bool = True) -> Quadratic:
    """The exact quadratic form of ``surface`` (from its Hessian at its first known minimum,
    or the origin; ``x* = p − H⁻¹∇f(p)``, one Newton step, exact on a quadratic).

    With ``check``, raises ``ValueError`` if the Hessian is not the same at other points (the
    surface is not quadratic) or not positive definite (no minimum).
    """
    minima = getattr(surface, "minima", ())
    p = np.array([minima[0].x, minima[0].y]) if minima else np.zeros(2)
    _, g, h = _eval(surface, p, theta)
    lam, vec = np.linalg.eigh(h)
    if check:
        if not is_quadratic(surface, theta, h):
            raise ValueError(f"{getattr(surface, 'name', surface)} is not a quadratic surface")
        if lam[0] <= 0:
            raise ValueError("the Hessian is not positive definite: no minimum")
    x_star = p - np.linalg.solve(h, g)
    known = minima[0].value if minima and minima[0].value is not None else None
    f_star = float(known) if known is not None else _eval(surface, x_star, theta)[0]
    return Quadratic(h, lam, vec, x_star, f_star)


def is_quadratic(surface, theta=None, reference: np.ndarray | None = None) -> bool:
    """Whether the Hessian is the same (to float32 precision) at a few spread-out points."""
    (x0, x1), (y0, y1) = getattr(surface, "bounds", ((-1.0, 1.0), (-1.0, 1.0)))
    pts = [
        (x0 + 0.2 * (x1 - x0), y0 + 0.7 * (y1 - y0)),
        (x0 + 0.9 * (x1 - x0), y0 + 0.1 * (y1 - y0)),
    ]
    hs = [hessian(surface, q, theta) for q in pts]
    ref = hs[0] if reference is None else reference
    scale = max(1.0, float(np.max(np.abs(ref))))
    return all(np.max(np.abs(h - ref)) <= 1e-4 * scale for h in hs)
