"""Gradient clipping and weight decay: pure pytree functions and composable transformations.

Two layers:

* **Pure functions** (``clip_by_global_norm(grads, max_norm)`` ...) that the engine can call inside
  its scan. Every numeric argument may be a traced JAX scalar, and "off" is a value rather than a
  branch: ``max_norm = inf`` and ``max_abs = inf`` leave the gradients unchanged, ``l2 = 0`` and
  ``weight_decay = 0`` add nothing. So toggling a clip on or off never recompiles.
* **GradientTransformations** (``clip_by_global_norm_tx(max_norm)`` ...) speaking the optax
  protocol of :mod:`optlab.optimizers.base`, composed with :func:`chain` exactly like
  ``optax.chain``: ``chain(clip_by_global_norm_tx(1.0), adam(1e-3))``.

Coupled vs decoupled weight decay (Loshchilov & Hutter, *Decoupled Weight Decay
Regularization*, 2019): coupled L2 adds :math:`\\lambda\\theta` to the gradient *before* the
optimizer, so adaptive methods rescale it; decoupled decay subtracts
:math:`\\eta\\lambda\\theta` from the optimizer's update *after* it (AdamW).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from optlab.optimizers.base import (
    GradientTransformation,
    PyTree,
    ScalarOrSchedule,
    count_inc,
    lr_at,
)

Scalar = float | jax.Array


# ---------------------------------------------------------------------------------------------
# Pure functions on pytrees.


def global_norm(tree: PyTree) -> jax.Array:
    r"""The L2 norm of all leaves together, :math:`\sqrt{\sum_i \|x_i\|^2}` (a float scalar).

    Its derivative at zero is 0 rather than NaN (the square root only sees positive inputs), so
    ``jax.grad`` through a clip of an all-zero gradient stays finite.
    """
    leaves = jax.tree.leaves(tree)
    if not leaves:
        return jnp.zeros([], jnp.float32)
    sq = sum(jnp.sum(jnp.square(jnp.abs(x))) for x in leaves)
    return jnp.where(sq > 0, jnp.sqrt(jnp.where(sq > 0, sq, 1.0)), 0.0)


def clip_by_global_norm(grads: PyTree, max_norm: Scalar) -> PyTree:
    r"""Rescale ``grads`` so their global norm is at most ``max_norm``.

    .. math:: g \leftarrow g \cdot \min\left(1, \frac{c}{\|g\|}\right)

    ``max_norm = inf`` is the identity (even for infinite gradients); zero gradients stay zero
    (no ``0/0``). No Python branch on ``max_norm``, so it may be traced. Matches
    ``optax.clip_by_global_norm``. Reference: Pascanu et al., 2012.
    """
    g_norm = global_norm(grads)
    keep = g_norm <= max_norm
    safe_norm = jnp.where(g_norm > 0, g_norm, 1.0)
    # max_norm only enters the branch where it is finite (keep is True whenever it is inf).
    safe_max = jnp.where(keep, 1.0, max_norm)

    def clip(t):
        return jnp.where(keep, t, (t / safe_norm.astype(t.dtype)) * safe_max).astype(t.dtype)

    return jax.tree.map(clip, grads)


def clip_by_value(grads: PyTree, max_abs: Scalar) -> PyTree:
    """Clip every entry into ``[-max_abs, max_abs]`` (``inf`` = off). Matches ``optax.clip``."""
    return jax.tree.map(lambda t: jnp.clip(t, -max_abs, max_abs).astype(t.dtype), grads)


def add_l2(grads: PyTree, params: PyTree, l2: Scalar) -> PyTree:
    r"""Coupled L2 regularisation: :math:`g + \lambda\theta` (the gradient of
    :math:`\tfrac{\lambda}{2}\|\theta\|^2` added to the loss's)."""
    return jax.tree.map(lambda g, p: g + l2 * p, grads, params)


def decoupled_decay(updates: PyTree, params: PyTree, lr: Scalar, weight_decay: Scalar) -> PyTree:
    r"""Decoupled weight decay on an update: :math:`u - \eta\lambda\theta` (AdamW's rule).

    ``updates`` are the optimizer's (already scaled by :math:`-\eta`), so ``new_params = params
    + result``.
    """
    return jax.tree.map(lambda u, p: u - lr * weight_decay * p, updates, params)


# ---------------------------------------------------------------------------------------------
# GradientTransformations.


class EmptyState(NamedTuple):
    """State of a stateless transformation (same shape as ``optax.EmptyState``)."""


class CountState(NamedTuple):
    """A step counter, for transformations whose coefficient is a schedule."""

    count: jax.Array


def _init_empty(params: PyTree) -> EmptyState:
    del params
    return EmptyState()


def _require(params: PyTree, name: str) -> None:
    if params is None:
        raise ValueError(f"{name} needs params: call update(updates, state, params)")


def clip_by_global_norm_tx(max_norm: Scalar) -> GradientTransformation:
    """:func:`clip_by_global_norm` as a transformation (``optax.clip_by_global_norm``)."""

    def update(updates, state, params=None, **extra):
        del params, extra
        return clip_by_global_norm(updates, max_norm), state

    return GradientTransformation(_init_empty, update)


def clip_tx(max_abs: Scalar) -> GradientTransformation:
    """:func:`clip_by_value` as a transformation (``optax.clip``)."""

    def update(updates, state, params=None, **extra):
        del params, extra
        return clip_by_value(updates, max_abs), state

    return GradientTransformation(_init_empty, update)


def add_decayed_weights_tx(weight_decay: ScalarOrSchedule) -> GradientTransformation:
    r"""Add :math:`\lambda_t\theta` to the updates (``optax.add_decayed_weights``).

    Before an optimizer in a :func:`chain` this is coupled L2; after a scale-free direction and
    before the learning rate (optax's ``adamw``) it is decoupled decay. ``weight_decay`` may be a
    schedule of the step count.
    """

    def init(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update(updates, state, params=None, **extra):
        del extra
        _require(params, "add_decayed_weights_tx")
        wd = lr_at(weight_decay, state.count)
        return add_l2(updates, params, wd), CountState(count_inc(state.count))

    return GradientTransformation(init, update)


def decoupled_decay_tx(
    learning_rate: ScalarOrSchedule, weight_decay: Scalar
) -> GradientTransformation:
    r"""Subtract :math:`\eta_t\lambda\theta` from the updates: put it *after* an optimizer of
    this lab (whose updates already carry :math:`-\eta_t`) to make it decoupled, e.g.
    ``chain(adam(lr), decoupled_decay_tx(lr, 0.01))`` is AdamW."""

    def init(params):
        del params
        return CountState(jnp.zeros([], jnp.int32))

    def update(updates, state, params=None, **extra):
        del extra
        _require(params, "decoupled_decay_tx")
        lr = lr_at(learning_rate, state.count)
        return decoupled_decay(updates, params, lr, weight_decay), CountState(
            count_inc(state.count)
        )

    return GradientTransformation(init, update)


def chain(*txs: GradientTransformation) -> GradientTransformation:
    """Apply transformations in sequence; the state is the tuple of their states.

    Like ``optax.chain``, and any optax transformation may be a member. Extra keyword arguments
    to ``update`` (e.g. ``hessian=``) are passed on only when given, so every member must then
    accept them.
    """

    def init(params: PyTree) -> tuple[Any, ...]:
        return tuple(tx.init(params) for tx in txs)

    def update(updates, state, params=None, **extra):
        if len(state) != len(txs):
            raise ValueError(f"chain of {len(txs)} transformations got {len(state)} states")
        new_state = []
        for tx, tx_state in zip(txs, state, strict=True):
            updates, new = tx.update(updates, tx_state, params, **extra)
            new_state.append(new)
        return updates, tuple(new_state)

    return GradientTransformation(init, update)
