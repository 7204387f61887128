"""Lion (a sign method) and damped saddle-free Newton (a second-order method)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from optlab.core.optimizers.base import (
    GradientTransformation,
    OptimizerSpec,
    ScalarOrSchedule,
    beta_hparam,
    count_inc,
    lr_at,
    lr_hparam,
    tree_ema,
    tree_zeros_like,
)
from optlab.core.params import HParam


class LionState(NamedTuple):
    count: jax.Array
    mu: object


def lion(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.99,
    weight_decay: float = 0.0,
) -> GradientTransformation:
    r"""Lion (Chen et al., 2023, "Symbolic Discovery of Optimization Algorithms").

    .. math::
        c_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        \theta_{t+1} = \theta_t - \eta_t \left(\mathrm{sign}(c_t) + \lambda\, \theta_t\right),
        \\
        m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t

    Every coordinate moves by exactly :math:`\eta` (plus the decay), whatever the gradient's
    size; use a learning rate 3-10x smaller than Adam's.

    Args:
        learning_rate: step size :math:`\eta`.
        b1: :math:`\beta_1`, the interpolation used for the step.
        b2: :math:`\beta_2`, the EMA decay of the momentum that is carried.
        weight_decay: :math:`\lambda`, decoupled (multiplied by :math:`\eta`). ``update``
            needs ``params``.

    Matches ``optax.lion(learning_rate, b1, b2, weight_decay=weight_decay)``; optax's default
    decay is 1e-3, ours 0 (on a 2-D surface any decay moves the minimum toward the origin).
    """

    def init(params):
        return LionState(jnp.zeros([], jnp.int32), tree_zeros_like(params))

    def update(grads, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("lion.update needs params (for its weight decay)")
        lr = lr_at(learning_rate, state.count)
        updates = jax.tree.map(
            lambda g, m, p: -lr * (jnp.sign((1.0 - b1) * g + b1 * m) + weight_decay * p),
            grads,
            state.mu,
            params,
        )
        mu = tree_ema(grads, state.mu, b2)
        return updates, LionState(count_inc(state.count), mu)

    return GradientTransformation(init, update)


class NewtonState(NamedTuple):
    count: jax.Array


def newton(learning_rate: ScalarOrSchedule = 1.0, damping: float = 1e-2) -> GradientTransformation:
    r"""Damped saddle-free Newton (Dauphin et al., 2014).

    With :math:`H_t = Q \Lambda Q^\top` the eigendecomposition of the Hessian of the loss in
    the flattened parameters,

    .. math::
        \theta_{t+1} = \theta_t - \eta_t\, Q \left(|\Lambda| + \delta I\right)^{-1} Q^\top g_t

    On a convex quadratic with :math:`\eta = 1, \delta = 0` this is Newton's method (one step
    to the minimum). Taking :math:`|\lambda_i|` instead of :math:`\lambda_i` makes every step a
    descent direction when :math:`H` is indefinite: plain Newton would jump *to* a saddle or a
    maximum, here negative-curvature directions are followed downhill. The damping
    :math:`\delta > 0` (Levenberg) bounds the step along nearly flat directions by
    :math:`\eta\, |g| / \delta`.

    Args:
        learning_rate: step size :math:`\eta` (1 is the full Newton step).
        damping: :math:`\delta \ge 0`, added to every :math:`|\lambda_i|`.

    ``update(grads, state, params=None, *, hessian)`` takes ``hessian``, the ``[D, D]`` Hessian
    with respect to ``jax.flatten_util.ravel_pytree(params)[0]``. optax has no Newton method.
    """

    def init(params):
        del params
        return NewtonState(jnp.zeros([], jnp.int32))

    def update(grads, state, params=None, *, hessian, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        g_D, unravel = ravel_pytree(grads)
        h_DxD = jnp.asarray(hessian, g_D.dtype)
        h_DxD = 0.5 * (h_DxD + h_DxD.T)  # eigh reads one triangle; make both agree
        lam_D, q_DxD = jnp.linalg.eigh(h_DxD)
        step_D = q_DxD @ ((q_DxD.T @ g_D) / (jnp.abs(lam_D) + damping))
        return unravel(-lr * step_D), NewtonState(count_inc(state.count))

    return GradientTransformation(init, update)


LION = OptimizerSpec(
    name="lion",
    display="Lion",
    latex=(
        r"\theta_{t+1} = \theta_t - \eta\, \mathrm{sign}(\beta_1 m_{t-1} + (1-\beta_1) g_t),"
        r"\quad m_t = \beta_2 m_{t-1} + (1-\beta_2) g_t"
    ),
    factory=lion,
    hparams=(
        lr_hparam(2e-2),
        beta_hparam("b1", 0.9, r"\beta_1", "β₁ (step interpolation)"),
        beta_hparam("b2", 0.99, r"\beta_2", "β₂ (momentum decay)"),
        HParam(
            "weight_decay",
            "weight decay λ",
            0.0,
            0.0,
            1.0,
            symbol=r"\lambda",
            help="decoupled: pulls θ toward 0 by ηλθ each step",
        ),
    ),
    moments=lambda s: {"momentum m": s.mu},
    color="#e7ba52",
)

NEWTON = OptimizerSpec(
    name="newton",
    display="Newton (saddle-free)",
    latex=r"\theta_{t+1} = \theta_t - \eta\, \left(|H_t| + \delta I\right)^{-1} g_t",
    factory=newton,
    hparams=(
        lr_hparam(1.0),
        HParam(
            "damping",
            "damping δ",
            1e-2,
            1e-6,
            1e2,
            log=True,
            symbol=r"\delta",
            help="added to |eigenvalues| of the Hessian; large δ → gradient descent with η/δ",
        ),
    ),
    needs_hessian=True,
    color="#393b79",
)

SPECS = (LION, NEWTON)
