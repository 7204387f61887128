"""Gradient descent and its momentum variants (heavy ball, Nesterov)."""

from __future__ import annotations

from typing import NamedTuple

import jax

from optlab.core.optimizers.base import (
    GradientTransformation,
    OptimizerSpec,
    ScalarOrSchedule,
    count_inc,
    lr_at,
    lr_hparam,
    tree_zeros_like,
)
from optlab.core.params import HParam


class GDState(NamedTuple):
    count: jax.Array


def gd(learning_rate: ScalarOrSchedule) -> GradientTransformation:
    r"""Gradient descent (SGD when the gradients are stochastic).

    .. math::
        \theta_{t+1} = \theta_t - \eta_t \, g_t

    Args:
        learning_rate: step size :math:`\eta` (constant or a schedule of the step count).

    Matches ``optax.sgd(learning_rate)``.
    """

    def init(params):
        del params
        return GDState(count=jax.numpy.zeros([], jax.numpy.int32))

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        updates = jax.tree.map(lambda g: -lr * g, grads)
        return updates, GDState(count=count_inc(state.count))

    return GradientTransformation(init, update)


class MomentumState(NamedTuple):
    count: jax.Array
    velocity: object


def momentum(learning_rate: ScalarOrSchedule, beta: float = 0.9) -> GradientTransformation:
    r"""Heavy-ball momentum (Polyak, 1964), in optax's "trace" form.

    .. math::
        v_{t+1} = \beta\, v_t + g_t, \qquad \theta_{t+1} = \theta_t - \eta_t\, v_{t+1}

    With a constant :math:`\eta` this is the classic :math:`\theta_{t+1} = \theta_t - \eta g_t
    + \beta(\theta_t - \theta_{t-1})`.

    Args:
        learning_rate: step size :math:`\eta`.
        beta: momentum coefficient :math:`\beta \in [0, 1)`.

    Matches ``optax.sgd(learning_rate, momentum=beta)``.
    """

    def init(params):
        return MomentumState(jax.numpy.zeros([], jax.numpy.int32), tree_zeros_like(params))

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        velocity = jax.tree.map(lambda g, v: g + beta * v, grads, state.velocity)
        updates = jax.tree.map(lambda v: -lr * v, velocity)
        return updates, MomentumState(count_inc(state.count), velocity)

    return GradientTransformation(init, update)


class NesterovState(NamedTuple):
    count: jax.Array
    velocity: object


def nesterov(learning_rate: ScalarOrSchedule, beta: float = 0.9) -> GradientTransformation:
    r"""Nesterov accelerated gradient, in optax's (Sutskever et al., 2013) "trace" form.

    .. math::
        v_{t+1} = \beta\, v_t + g_t, \qquad
        \theta_{t+1} = \theta_t - \eta_t \left(g_t + \beta\, v_{t+1}\right)

    The gradient is taken at the current iterate; the look-ahead is folded into the update
    (:math:`g_t + \beta v_{t+1}` rather than a gradient at :math:`\theta_t - \eta\beta v_t`).

    Args:
        learning_rate: step size :math:`\eta`.
        beta: momentum coefficient :math:`\beta \in [0, 1)`.

    Matches ``optax.sgd(learning_rate, momentum=beta, nesterov=True)``.
    """

    def init(params):
        return NesterovState(jax.numpy.zeros([], jax.numpy.int32), tree_zeros_like(params))

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        velocity = jax.tree.map(lambda g, v: g + beta * v, grads, state.velocity)
        updates = jax.tree.map(lambda g, v: -lr * (g + beta * v), grads, velocity)
        return updates, NesterovState(count_inc(state.count), velocity)

    return GradientTransformation(init, update)


GD = OptimizerSpec(
    name="gd",
    display="GD",
    latex=r"\theta_{t+1} = \theta_t - \eta\, g_t",
    factory=gd,
    hparams=(lr_hparam(1e-2),),
    color="#1f77b4",
)

MOMENTUM = OptimizerSpec(
    name="momentum",
    display="Momentum",
    latex=r"v_{t+1} = \beta v_t + g_t,\quad \theta_{t+1} = \theta_t - \eta\, v_{t+1}",
    factory=momentum,
    hparams=(
        lr_hparam(1e-2),
        HParam("beta", "momentum β", 0.9, 0.0, 0.999, symbol=r"\beta"),
    ),
    moments=lambda s: {"velocity": s.velocity},
    color="#ff7f0e",
)

NESTEROV = OptimizerSpec(
    name="nesterov",
    display="Nesterov",
    latex=(
        r"v_{t+1} = \beta v_t + g_t,\quad "
        r"\theta_{t+1} = \theta_t - \eta\,(g_t + \beta\, v_{t+1})"
    ),
    factory=nesterov,
    hparams=(
        lr_hparam(1e-2),
        HParam("beta", "momentum β", 0.9, 0.0, 0.999, symbol=r"\beta"),
    ),
    moments=lambda s: {"velocity": s.velocity},
    color="#2ca02c",
)

SPECS = (GD, MOMENTUM, NESTEROV)
