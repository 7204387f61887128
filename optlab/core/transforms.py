"""Gradient clipping and weight decay as pure pytree functions, which the step pipeline
(``optlab.core.stepper.condition`` / ``advance``) applies in one fixed order.

Every numeric argument may be a traced JAX scalar, and "off" is a value rather than a branch:
``max_norm = inf`` and ``max_abs = inf`` leave the gradients unchanged, ``l2 = 0`` and
``weight_decay = 0`` add nothing. So toggling a clip on or off never recompiles. (optax's
``clip_by_global_norm`` / ``clip`` / ``add_decayed_weights`` are the same maths as
transformations; the tests hold these functions and the pipeline to them.)

Coupled vs decoupled weight decay (Loshchilov & Hutter, *Decoupled Weight Decay
Regularization*, 2019): coupled L2 adds :math:`\\lambda\\theta` to the gradient *before* the
optimizer, so adaptive methods rescale it; decoupled decay subtracts
:math:`\\eta\\lambda\\theta` from the optimizer's update *after* it (AdamW).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from optlab.core.optimizers.base import PyTree

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
