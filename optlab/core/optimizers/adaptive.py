"""Per-coordinate adaptive step sizes: AdaGrad, RMSProp, Adadelta."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from optlab.core.optimizers.base import (
    GradientTransformation,
    OptimizerSpec,
    ScalarOrSchedule,
    beta_hparam,
    count_inc,
    eps_hparam,
    lr_at,
    lr_hparam,
    tree_ema,
    tree_full_like,
    tree_zeros_like,
)
from optlab.core.params import HParam


class AdagradState(NamedTuple):
    count: jax.Array
    sum_of_squares: object


def adagrad(
    learning_rate: ScalarOrSchedule,
    initial_accumulator_value: float = 0.1,
    eps: float = 1e-7,
) -> GradientTransformation:
    r"""AdaGrad (Duchi, Hazan & Singer, 2011): divide by the root of all squared gradients so far.

    .. math::
        G_t = G_{t-1} + g_t^2, \quad G_0 = G_\text{init}, \qquad
        \theta_{t+1} = \theta_t - \eta_t\, \frac{g_t}{\sqrt{G_t + \epsilon}}

    (elementwise; a coordinate with :math:`G_t = 0` gets no update).

    Args:
        learning_rate: step size :math:`\eta`.
        initial_accumulator_value: :math:`G_\text{init} \ge 0`. Optax's default is 0.1; the
            paper's is 0 (then the first step of every coordinate is :math:`\eta\,\mathrm{sign}
            (g)`, up to :math:`\epsilon`).
        eps: :math:`\epsilon`, inside the square root.

    Matches ``optax.adagrad(learning_rate, initial_accumulator_value, eps)``.
    """

    def init(params):
        return AdagradState(
            jnp.zeros([], jnp.int32), tree_full_like(params, initial_accumulator_value)
        )

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        acc = jax.tree.map(lambda g, s: g * g + s, grads, state.sum_of_squares)
        updates = jax.tree.map(
            lambda g, s: -lr * (jnp.where(s > 0, jax.lax.rsqrt(s + eps), 0.0) * g), grads, acc
        )
        return updates, AdagradState(count_inc(state.count), acc)

    return GradientTransformation(init, update)


class RMSPropState(NamedTuple):
    count: jax.Array
    mu: object  # EMA of g (used only when centered)
    nu: object  # EMA of g²


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.9,
    eps: float = 1e-8,
    centered: float = 0.0,
) -> GradientTransformation:
    r"""RMSProp (Tieleman & Hinton, 2012), optionally centered (Graves, 2013).

    .. math::
        v_t = \rho\, v_{t-1} + (1-\rho)\, g_t^2, \qquad
        m_t = \rho\, m_{t-1} + (1-\rho)\, g_t, \\
        \theta_{t+1} = \theta_t - \eta_t\, \frac{g_t}{\sqrt{v_t - c\, m_t^2 + \epsilon}},
        \qquad c \in \{0, 1\}

    with :math:`v_0 = m_0 = 0` and no bias correction.

    Args:
        learning_rate: step size :math:`\eta`.
        decay: :math:`\rho`, the EMA decay of the squared gradient.
        eps: :math:`\epsilon`, inside the square root.
        centered: 1.0 to divide by the running variance instead of the raw second moment,
            0.0 otherwise (a float so that it may be traced; :math:`m` is tracked either way).

    Matches ``optax.rmsprop(learning_rate, decay, eps, centered=bool(centered))`` (optax's
    default ``eps_in_sqrt=True``, ``initial_scale=0``, no momentum).
    """

    def init(params):
        return RMSPropState(
            jnp.zeros([], jnp.int32), tree_zeros_like(params), tree_zeros_like(params)
        )

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        mu = tree_ema(grads, state.mu, decay)
        nu = tree_ema(grads, state.nu, decay, order=2)

        def step(g, m, v):
            var = jnp.where(centered > 0.5, v - m * m, v)
            return -lr * (jax.lax.rsqrt(var + eps) * g)

        updates = jax.tree.map(step, grads, mu, nu)
        return updates, RMSPropState(count_inc(state.count), mu, nu)

    return GradientTransformation(init, update)


class AdadeltaState(NamedTuple):
    count: jax.Array
    e_g: object  # EMA of g²
    e_x: object  # EMA of Δ²


def adadelta(learning_rate: ScalarOrSchedule = 1.0, rho: float = 0.9, eps: float = 1e-6):
    r"""Adadelta (Zeiler, 2012): step size from the ratio of update and gradient RMS.

    .. math::
        E[g^2]_t = \rho\, E[g^2]_{t-1} + (1-\rho)\, g_t^2, \qquad
        \Delta_t = \frac{\sqrt{E[\Delta^2]_{t-1} + \epsilon}}{\sqrt{E[g^2]_t + \epsilon}}\, g_t,
        \\
        E[\Delta^2]_t = \rho\, E[\Delta^2]_{t-1} + (1-\rho)\, \Delta_t^2, \qquad
        \theta_{t+1} = \theta_t - \eta_t\, \Delta_t

    The paper has no :math:`\eta` (it is 1); :math:`\epsilon` sets the size of the first steps.
    The lab's default :math:`\epsilon` is 1e-4 (optax's and this factory's 1e-6 barely move
    on a 2-D surface in 200 steps).

    Args:
        learning_rate: :math:`\eta`, a multiplier on :math:`\Delta_t` (1 in the paper).
        rho: :math:`\rho`, the EMA decay of both accumulators.
        eps: :math:`\epsilon`, inside both square roots.

    Matches ``optax.adadelta(learning_rate, rho, eps)``.
    """

    def init(params):
        return AdadeltaState(
            jnp.zeros([], jnp.int32), tree_zeros_like(params), tree_zeros_like(params)
        )

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        e_g = tree_ema(grads, state.e_g, rho, order=2)
        delta = jax.tree.map(
            lambda g, eg, ex: (jnp.sqrt(ex + eps) / jnp.sqrt(eg + eps)) * g,
            grads,
            e_g,
            state.e_x,
        )
        e_x = tree_ema(delta, state.e_x, rho, order=2)
        updates = jax.tree.map(lambda d: -lr * d, delta)
        return updates, AdadeltaState(count_inc(state.count), e_g, e_x)

    return GradientTransformation(init, update)


ADAGRAD = OptimizerSpec(
    name="adagrad",
    display="AdaGrad",
    latex=(
        r"G_t = G_{t-1} + g_t^2,\quad "
        r"\theta_{t+1} = \theta_t - \eta\, g_t / \sqrt{G_t + \epsilon}"
    ),
    factory=adagrad,
    hparams=(
        lr_hparam(0.5),
        HParam(
            "initial_accumulator_value",
            "initial accumulator G₀",
            0.1,
            0.0,
            1.0,
            symbol=r"G_0",
            help="optax uses 0.1; the paper uses 0",
        ),
        HParam("eps", "ε (numerical floor)", 1e-7, 1e-12, 1e-1, log=True, symbol=r"\epsilon"),
    ),
    moments=lambda s: {"sum of squares G": s.sum_of_squares},
    color="#d62728",
)

RMSPROP = OptimizerSpec(
    name="rmsprop",
    display="RMSProp",
    latex=(
        r"v_t = \rho v_{t-1} + (1-\rho) g_t^2,\quad "
        r"\theta_{t+1} = \theta_t - \eta\, g_t / \sqrt{v_t - c\,m_t^2 + \epsilon}"
    ),
    factory=rmsprop,
    hparams=(
        lr_hparam(1e-2),
        beta_hparam("decay", 0.9, r"\rho", "decay ρ"),
        eps_hparam(1e-8),
        HParam(
            "centered",
            "centered",
            0.0,
            kind="bool",
            symbol="c",
            help="divide by the running variance of g instead of its second moment",
        ),
    ),
    moments=lambda s: {"mean gradient m": s.mu, "second moment v": s.nu},
    color="#9467bd",
)

ADADELTA = OptimizerSpec(
    name="adadelta",
    display="Adadelta",
    latex=(
        r"\Delta_t = \frac{\sqrt{E[\Delta^2]_{t-1}+\epsilon}}{\sqrt{E[g^2]_t+\epsilon}}\, g_t,"
        r"\quad \theta_{t+1} = \theta_t - \eta\, \Delta_t"
    ),
    factory=adadelta,
    hparams=(
        lr_hparam(1.0),
        beta_hparam("rho", 0.9, r"\rho", "decay ρ"),
        eps_hparam(1e-4),
    ),
    moments=lambda s: {"E[g²]": s.e_g, "E[Δ²]": s.e_x},
    color="#8c564b",
)

SPECS = (ADAGRAD, RMSPROP, ADADELTA)
