"""The compiled core of the engine: one ``jit`` holding a ``lax.scan`` per optimizer, each
vmapped over its batch of hyperparameters × seeds × starts.

Randomness (gradient noise, mini-batch order) is drawn for the whole run before the loop.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree

from optlab import transforms
from optlab.optimizers import OPTIMIZERS


class Impl(NamedTuple):
    """How one optimizer steps: ``init(params)`` and ``step(g, state, params, lr, lr0, extra)``."""

    init: Any
    step: Any
    moments: Any
    needs_hessian: bool


def _registry_impl(name: str, hp: dict) -> Impl:
    spec = OPTIMIZERS[name]

    def build(lr):
        return spec.factory(**{**hp, "learning_rate": lr})

    def step(grads, state, params, lr, lr0, extra):
        del lr0
        return build(lr).update(grads, state, params, **extra)

    return Impl(build(hp["learning_rate"]).init, step, spec.moments, spec.needs_hessian)


def _external_impl(tx) -> Impl:
    """An optax-protocol transformation with baked-in hyperparameters: the schedule scales its
    updates (exact for every optimizer whose update is linear in the learning rate)."""

    def step(grads, state, params, lr, lr0, extra):
        del extra
        updates, state = tx.update(grads, state, params)
        return jax.tree.map(lambda u: lr / lr0 * u, updates), state

    return Impl(tx.init, step, lambda s: {}, False)


def make_impl(impl, hp: dict) -> Impl:
    return _registry_impl(impl, hp) if isinstance(impl, str) else _external_impl(impl)


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


class Carry(NamedTuple):
    params: jax.Array
    state: Any
    alive: jax.Array  # no NaN/inf seen yet
    div_step: jax.Array  # the step whose result was not finite (-1 = none)
    loss: jax.Array  # the last full loss evaluated


def _one_step(problem, impl, loss_every, hp, bits, theta, tp, carry: Carry, t, scale, noise_t):
    """One step of one optimizer on one batch entry: ``(carry, record)``."""
    lr0 = hp.get("learning_rate", jnp.float32(1.0))
    opt = make_impl(impl, hp)
    full_loss = partial(problem.loss, theta=theta)
    params = carry.params
    if getattr(problem, "stochastic", False):
        sample_loss, g = jax.value_and_grad(problem.sample_loss)(params, theta, t, bits)
        loss = jax.lax.cond(t % loss_every == 0, full_loss, lambda _: carry.loss, params)
    else:
        loss, g = jax.value_and_grad(full_loss)(params)
        sample_loss = loss
    g = g + tp["grad_noise"] * noise_t
    raw_norm = transforms.global_norm(g)
    g = transforms.clip_by_global_norm(
        transforms.clip_by_value(g, tp["clip_value"]), tp["clip_norm"]
    )
    clipped_norm = transforms.global_norm(g)
    g = transforms.add_l2(g, params, tp["l2"])
    lr = lr0 * scale
    extra = {}
    if opt.needs_hessian:
        hess = jax.hessian(full_loss)(params)
        extra["hessian"] = hess + tp["l2"] * jnp.eye(params.size, dtype=params.dtype)
    updates, new_state = opt.step(g, carry.state, params, lr, lr0, extra)
    updates = transforms.decoupled_decay(updates, params, lr, tp["weight_decay"])
    new_params = params + updates
    ok = carry.alive & jnp.isfinite(loss) & _all_finite(g) & _all_finite(new_params)
    keep = partial(jnp.where, ok)
    record = {
        "params": params,
        "loss": loss,
        "sample_loss": sample_loss,
        "grad": g,
        "update": jnp.where(ok, updates, 0.0),
        "lr": lr,
        "grad_norm": raw_norm,
        "clipped_norm": clipped_norm,
        "moments": {k: ravel_pytree(m)[0] for k, m in opt.moments(new_state).items()},
    }
    new_carry = Carry(
        keep(new_params, params),
        jax.tree.map(keep, new_state, carry.state),
        ok,
        jnp.where(carry.alive & ~ok, t, carry.div_step),
        loss,
    )
    return new_carry, record


def _randomness(steps, seed, x0):
    """The run's gradient noise ``[steps, D]`` and mini-batch order bits ``uint32[steps, 2]``."""
    key = jax.random.key(seed)
    noise = jax.random.normal(jax.random.fold_in(key, 1), (steps, *x0.shape), x0.dtype)
    return noise, jax.random.bits(jax.random.fold_in(key, 2), (steps, 2), jnp.uint32)


def _pack(tree, layout: dict) -> jax.Array:
    """All of a step's records as one float32 vector (remembering the layout while tracing):
    the loop then stacks one output instead of a dozen."""
    leaves, layout["treedef"] = jax.tree.flatten(tree)
    layout["shapes"] = [leaf.shape for leaf in leaves]
    return jnp.concatenate([jnp.ravel(leaf).astype(jnp.float32) for leaf in leaves])


def _unpack(packed: jax.Array, layout: dict):
    """Inverse of ``_pack`` for the stacked ``[steps, total]`` output."""
    leaves, offset = [], 0
    for shape in layout["shapes"]:
        size = math.prod(shape)
        leaves.append(packed[:, offset : offset + size].reshape(packed.shape[0], *shape))
        offset += size
    return jax.tree.unflatten(layout["treedef"], leaves)


def _init_state(impl, hp, x0):
    return make_impl(impl, hp).init(x0)


@partial(jax.jit, static_argnames=("problem", "impls", "steps", "loss_every"))
def run_all(problem, impls, steps, loss_every, hps, x0s, seeds, theta, lr_scale, tp):
    """Every optimizer ``impls[i]`` over its batch (``hps[i]``: name -> [B], ``x0s[i]``: [B, D],
    ``seeds[i]``: uint32 [B]) for ``steps`` steps; returns one record dict per optimizer with
    per-step arrays ``[B, steps, ...]`` and ``final_params``/``final_loss``/``diverged_at``.

    Each optimizer gets its own ``lax.scan``, written out in sequence in the one compiled
    function (measured faster here than one loop whose body steps all of them)."""
    out = []
    for impl, hp, x0, seed in zip(impls, hps, x0s, seeds, strict=True):
        noise, bits = jax.vmap(partial(_randomness, steps))(seed, x0)
        n = x0.shape[0]
        carry = Carry(
            x0,
            jax.vmap(partial(_init_state, impl))(hp, x0),
            jnp.ones(n, bool),
            jnp.full(n, -1, jnp.int32),
            jnp.full(n, jnp.nan, jnp.float32),
        )
        step = jax.vmap(
            partial(_one_step, problem, impl, loss_every),
            in_axes=(0, 0, None, None, 0, None, None, 0),
        )
        layout = {}

        def body(c, xs, step=step, hp=hp, bits=bits, noise=noise, layout=layout):
            t, scale = xs
            c, record = step(hp, bits, theta, tp, c, t, scale, noise[:, t])
            return c, _pack(record, layout)

        final, packed = jax.lax.scan(body, carry, (jnp.arange(steps, dtype=jnp.int32), lr_scale))
        rec = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), _unpack(packed, layout))
        rec["final_params"] = final.params
        rec["final_loss"] = jax.vmap(partial(problem.loss, theta=theta))(final.params)
        rec["diverged_at"] = final.div_step
        out.append(rec)
    return out
