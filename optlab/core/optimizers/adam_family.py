"""Adam and its relatives: AdamW, AMSGrad, NAdam, AdaMax.

Bias corrections use the products :math:`\\beta_1^t`, :math:`\\beta_2^t` carried in the state
(``b1_pow``, ``b2_pow``) rather than ``beta ** count``: with a traced β (a slider, or a vmapped
sweep axis) a running product is one multiply per step.
"""

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
    tree_zeros_like,
)
from optlab.core.params import HParam


class AdamState(NamedTuple):
    count: jax.Array
    b1_pow: jax.Array  # β₁ᵗ
    b2_pow: jax.Array  # β₂ᵗ
    mu: object
    nu: object


def _adam_direction(grads, state, *, b1, b2, eps, bias_correction=1.0):
    """Shared Adam core: the new state and the direction m̂ / (√v̂ + ε)."""
    mu = tree_ema(grads, state.mu, b1)
    nu = tree_ema(grads, state.nu, b2, order=2)
    b1_pow, b2_pow = state.b1_pow * b1, state.b2_pow * b2
    on = bias_correction > 0.5
    c1 = jnp.where(on, 1.0 - b1_pow, 1.0)
    c2 = jnp.where(on, 1.0 - b2_pow, 1.0)
    direction = jax.tree.map(lambda m, v: (m / c1) / (jnp.sqrt(v / c2) + eps), mu, nu)
    new_state = AdamState(count_inc(state.count), b1_pow, b2_pow, mu, nu)
    return direction, new_state


def _scalars(n_pows: int) -> tuple[jax.Array, ...]:
    """A zero int32 step count and ``n_pows`` running products βᵗ starting at 1."""
    return (jnp.zeros([], jnp.int32), *(jnp.ones([], jnp.float32) for _ in range(n_pows)))


def _adam_init(params) -> AdamState:
    return AdamState(*_scalars(2), tree_zeros_like(params), tree_zeros_like(params))


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    bias_correction: float = 1.0,
) -> GradientTransformation:
    r"""Adam (Kingma & Ba, 2015).

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \\
        \hat m_t = \frac{m_t}{1-\beta_1^t}, \quad \hat v_t = \frac{v_t}{1-\beta_2^t}, \qquad
        \theta_{t+1} = \theta_t - \eta_t\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    Args:
        learning_rate: step size :math:`\eta`.
        b1: :math:`\beta_1`, EMA decay of the gradient.
        b2: :math:`\beta_2`, EMA decay of the squared gradient.
        eps: :math:`\epsilon`, outside the square root.
        bias_correction: 1.0 to divide by :math:`1-\beta^t` (Adam), 0.0 to use the raw
            moments :math:`m_t, v_t` (a float so that it may be traced).

    With ``bias_correction=1`` matches ``optax.adam(learning_rate, b1, b2, eps)``
    (``eps_root=0``); optax has no switch for the uncorrected form.
    """

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        direction, new_state = _adam_direction(
            grads, state, b1=b1, b2=b2, eps=eps, bias_correction=bias_correction
        )
        return jax.tree.map(lambda d: -lr * d, direction), new_state

    return GradientTransformation(_adam_init, update)


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    weight_decay: float = 1e-2,
) -> GradientTransformation:
    r"""AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay.

    .. math::
        \theta_{t+1} = \theta_t - \eta_t \left(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}
        + \lambda\, \theta_t\right)

    with :math:`\hat m_t, \hat v_t` as in :func:`adam`. The decay is added after the Adam
    scaling (so it is not divided by :math:`\sqrt{\hat v}`) but is multiplied by
    :math:`\eta_t`, as in optax and PyTorch (the paper scales it by the schedule multiplier only).

    Args:
        learning_rate: step size :math:`\eta`.
        b1: :math:`\beta_1`.
        b2: :math:`\beta_2`.
        eps: :math:`\epsilon`, outside the square root.
        weight_decay: :math:`\lambda`. ``update`` needs ``params``.

    Matches ``optax.adamw(learning_rate, b1, b2, eps, weight_decay=weight_decay)``.
    """

    def update(grads, state, params=None, **extra):
        del extra
        if params is None:
            raise ValueError("adamw.update needs params (for its weight decay)")
        lr = lr_at(learning_rate, state.count)
        direction, new_state = _adam_direction(grads, state, b1=b1, b2=b2, eps=eps)
        updates = jax.tree.map(lambda d, p: -lr * (d + weight_decay * p), direction, params)
        return updates, new_state

    return GradientTransformation(_adam_init, update)


class AMSGradState(NamedTuple):
    count: jax.Array
    b1_pow: jax.Array
    b2_pow: jax.Array
    mu: object
    nu: object
    nu_max: object  # running max of v̂


def amsgrad(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    r"""AMSGrad (Reddi, Kale & Kumar, 2018): Adam whose denominator never shrinks.

    .. math::
        \hat v^{\max}_t = \max\!\left(\hat v^{\max}_{t-1},\, \frac{v_t}{1-\beta_2^t}\right),
        \qquad
        \theta_{t+1} = \theta_t - \eta_t\, \frac{\hat m_t}{\sqrt{\hat v^{\max}_t} + \epsilon}

    with :math:`m_t, v_t, \hat m_t` as in :func:`adam`. The maximum is taken over the
    *bias-corrected* :math:`\hat v` (the paper uses uncorrected moments).

    Args:
        learning_rate: step size :math:`\eta`.
        b1: :math:`\beta_1`.
        b2: :math:`\beta_2`.
        eps: :math:`\epsilon`, outside the square root.

    Matches ``optax.amsgrad(learning_rate, b1, b2, eps)`` (both bias corrections on).
    """

    def init(params):
        zeros = tree_zeros_like(params)
        return AMSGradState(*_scalars(2), zeros, zeros, zeros)

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        mu = tree_ema(grads, state.mu, b1)
        nu = tree_ema(grads, state.nu, b2, order=2)
        b1_pow, b2_pow = state.b1_pow * b1, state.b2_pow * b2
        nu_max = jax.tree.map(lambda vm, v: jnp.maximum(vm, v / (1.0 - b2_pow)), state.nu_max, nu)
        updates = jax.tree.map(
            lambda m, vm: -lr * ((m / (1.0 - b1_pow)) / (jnp.sqrt(vm) + eps)), mu, nu_max
        )
        return updates, AMSGradState(count_inc(state.count), b1_pow, b2_pow, mu, nu, nu_max)

    return GradientTransformation(init, update)


def nadam(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    r"""NAdam (Dozat, 2016): Adam with a Nesterov look-ahead on the first moment.

    .. math::
        \hat m_t = \beta_1 \frac{m_t}{1-\beta_1^{t+1}} + (1-\beta_1) \frac{g_t}{1-\beta_1^t},
        \qquad
        \theta_{t+1} = \theta_t - \eta_t\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}

    with :math:`m_t, v_t, \hat v_t` as in :func:`adam` and a constant :math:`\beta_1` (no
    momentum schedule :math:`\mu_t`, unlike the paper and PyTorch's ``NAdam``).

    Args:
        learning_rate: step size :math:`\eta`.
        b1: :math:`\beta_1`.
        b2: :math:`\beta_2`.
        eps: :math:`\epsilon`, outside the square root.

    Matches ``optax.nadam(learning_rate, b1, b2, eps)``.
    """

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        mu = tree_ema(grads, state.mu, b1)
        nu = tree_ema(grads, state.nu, b2, order=2)
        b1_pow, b2_pow = state.b1_pow * b1, state.b2_pow * b2
        b1_pow_next = b1_pow * b1

        def step(g, m, v):
            m_hat = b1 * (m / (1.0 - b1_pow_next)) + (1.0 - b1) * (g / (1.0 - b1_pow))
            return -lr * (m_hat / (jnp.sqrt(v / (1.0 - b2_pow)) + eps))

        updates = jax.tree.map(step, grads, mu, nu)
        return updates, AdamState(count_inc(state.count), b1_pow, b2_pow, mu, nu)

    return GradientTransformation(_adam_init, update)


class AdamaxState(NamedTuple):
    count: jax.Array
    b1_pow: jax.Array
    mu: object
    u: object  # exponentially weighted infinity norm


def adamax(
    learning_rate: ScalarOrSchedule, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> GradientTransformation:
    r"""AdaMax (Kingma & Ba, 2015, §7.1): Adam with an :math:`L^\infty` second moment.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        u_t = \max\left(\beta_2\, u_{t-1},\, |g_t| + \epsilon\right), \qquad
        \theta_{t+1} = \theta_t - \eta_t\, \frac{m_t}{(1-\beta_1^t)\, u_t}

    :math:`\epsilon` sits inside the maximum (as in optax), so :math:`u_t \ge \epsilon`.

    Args:
        learning_rate: step size :math:`\eta`.
        b1: :math:`\beta_1`.
        b2: :math:`\beta_2`, decay of the running maximum.
        eps: :math:`\epsilon`.

    Matches ``optax.adamax(learning_rate, b1, b2, eps)``.
    """

    def init(params):
        return AdamaxState(*_scalars(1), tree_zeros_like(params), tree_zeros_like(params))

    def update(grads, state, params=None, **extra):
        del params, extra
        lr = lr_at(learning_rate, state.count)
        mu = tree_ema(grads, state.mu, b1)
        u = jax.tree.map(lambda g, u: jnp.maximum(jnp.abs(g) + eps, b2 * u), grads, state.u)
        b1_pow = state.b1_pow * b1
        updates = jax.tree.map(lambda m, u: -lr * ((m / (1.0 - b1_pow)) / u), mu, u)
        return updates, AdamaxState(count_inc(state.count), b1_pow, mu, u)

    return GradientTransformation(init, update)


_BETAS = (
    beta_hparam("b1", 0.9, r"\beta_1", "β₁ (momentum)"),
    beta_hparam("b2", 0.999, r"\beta_2", "β₂ (second moment)"),
    eps_hparam(1e-8),
)


_BC_HELP = "divide the moments by 1 - βᵗ (off: raw moments, small early steps)"
_WD_HELP = "decoupled: pulls θ toward 0 by ηλθ each step"


def _adam_moments(s) -> dict[str, object]:
    return {"first moment m": s.mu, "second moment v": s.nu}


ADAM = OptimizerSpec(
    name="adam",
    display="Adam",
    latex=(
        r"m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\ v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,"
        r"\ \theta_{t+1} = \theta_t - \eta\, \frac{m_t/(1-\beta_1^t)}{\sqrt{v_t/(1-\beta_2^t)}"
        r" + \epsilon}"
    ),
    factory=adam,
    hparams=(
        lr_hparam(0.1),
        *_BETAS,
        HParam("bias_correction", "bias correction", 1.0, kind="bool", help=_BC_HELP),
    ),
    moments=_adam_moments,
    color="#e377c2",
)

ADAMW = OptimizerSpec(
    name="adamw",
    display="AdamW",
    latex=(
        r"\theta_{t+1} = \theta_t - \eta \left(\frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}"
        r" + \lambda\, \theta_t\right)"
    ),
    factory=adamw,
    hparams=(
        lr_hparam(0.1),
        *_BETAS,
        HParam("weight_decay", "weight decay λ", 1e-2, 0.0, 1.0, symbol=r"\lambda", help=_WD_HELP),
    ),
    moments=_adam_moments,
    color="#7f7f7f",
)

AMSGRAD = OptimizerSpec(
    name="amsgrad",
    display="AMSGrad",
    latex=(
        r"\hat v^{\max}_t = \max(\hat v^{\max}_{t-1}, \hat v_t),"
        r"\ \theta_{t+1} = \theta_t - \eta\, \frac{\hat m_t}{\sqrt{\hat v^{\max}_t} + \epsilon}"
    ),
    factory=amsgrad,
    hparams=(lr_hparam(0.1), *_BETAS),
    moments=lambda s: {**_adam_moments(s), "max second moment v̂max": s.nu_max},
    color="#bcbd22",
)

NADAM = OptimizerSpec(
    name="nadam",
    display="NAdam",
    latex=(
        r"\hat m_t = \frac{\beta_1 m_t}{1-\beta_1^{t+1}} + \frac{(1-\beta_1) g_t}{1-\beta_1^t},"
        r"\ \theta_{t+1} = \theta_t - \eta\, \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon}"
    ),
    factory=nadam,
    hparams=(lr_hparam(0.1), *_BETAS),
    moments=_adam_moments,
    color="#17becf",
)

ADAMAX = OptimizerSpec(
    name="adamax",
    display="AdaMax",
    latex=(
        r"u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon),"
        r"\ \theta_{t+1} = \theta_t - \eta\, \frac{m_t}{(1-\beta_1^t)\, u_t}"
    ),
    factory=adamax,
    hparams=(lr_hparam(0.1), *_BETAS),
    moments=lambda s: {"first moment m": s.mu, "infinity norm u": s.u},
    color="#637939",
)

SPECS = (ADAM, ADAMW, AMSGRAD, NADAM, ADAMAX)
