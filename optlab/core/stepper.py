"""The step pipeline every trainer in the lab uses, and the compiled core of the engine.

The pipeline (``condition`` then ``advance``), one step of any optimizer on any model::

    g  <- clip_by_value(g), then clip_by_global_norm(g), then g + l2 * params   (condition)
    u, state <- update(g, state, params)          at lr = lr0 * schedule(t)
    params <- params + u - lr * weight_decay * params                          (advance)
    a step whose loss, gradient or result is not finite is not applied: the run freezes

The 2-D engine (below), the transformer trainer and the deep nets all step through these two
functions, so the order of clipping, L2 and decay is written once.

The engine's core: one ``jit`` holding a ``lax.scan`` per optimizer, each vmapped over its
batch of hyperparameters × seeds × starts. Randomness (gradient noise, mini-batch order) is
drawn for the whole run before the loop.
"""

from __future__ import annotations

import functools
import math
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from optlab.core import shared, transforms
from optlab.core.optimizers import OPTIMIZERS


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


def _set_impl(opts: shared.OptimizerSet, hp: dict, which) -> Impl:
    """Every member of ``opts`` (each with its own hyperparameters out of ``hp``); member
    ``which`` steps (``None``: for ``init``, which sets up every member's state)."""
    members = [
        _registry_impl(n, {h.name: hp[h.name] for h in OPTIMIZERS[n].hparams}) for n in opts.names
    ]

    def init(params):
        return tuple(m.init(params) for m in members)

    def stepper_of(k: int):
        def step(grads, state, params, lr, lr0, extra):
            updates, new = members[k].step(grads, state[k], params, lr, lr0, extra)
            return updates, (*state[:k], new, *state[k + 1 :])

        return step

    def step(grads, state, params, lr, lr0, extra):
        branches = [partial(stepper_of(k), extra=extra) for k in range(len(members))]
        return jax.lax.switch(which, branches, grads, state, params, lr, lr0)

    def moments(state):
        if not opts.slots:
            return {}
        ref = next(m.moments(s) for m, s in zip(members, state, strict=True) if m.moments(s))
        zero = jnp.zeros_like(ravel_pytree(next(iter(ref.values())))[0])

        def slots_of(k: int):
            def picked(state):
                own = [ravel_pytree(m)[0] for m in members[k].moments(state[k]).values()]
                return tuple(own[j] if j < len(own) else zero for j in range(opts.slots))

            return picked

        out = jax.lax.switch(which, [slots_of(k) for k in range(len(members))], state)
        return {f"slot {j}": out[j] for j in range(opts.slots)}

    return Impl(init, step, moments, False)


def make_impl(impl, hp: dict, tp: dict | None = None) -> Impl:
    """How ``impl`` steps: a registry name, an ``OptimizerSet`` (its member ``tp[WHICH]``), or
    an optax-protocol transformation."""
    if isinstance(impl, shared.OptimizerSet):
        return _set_impl(impl, hp, None if tp is None else tp[shared.WHICH])
    return _registry_impl(impl, hp) if isinstance(impl, str) else _external_impl(impl)


def all_finite(tree) -> jax.Array:
    """True when every entry of every leaf of ``tree`` is finite."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def condition(g, params, tp):
    """The gradient the optimizer sees: ``g`` clipped by value, then by global norm, plus
    coupled L2 (``tp``: ``clip_value`` (optional), ``clip_norm``, ``l2``; ``inf`` and 0 mean
    off). Returns ``(gradient, raw global norm, clipped global norm)``."""
    raw_norm = transforms.global_norm(g)
    g = transforms.clip_by_value(g, tp.get("clip_value", jnp.inf))
    g = transforms.clip_by_global_norm(g, tp["clip_norm"])
    clipped_norm = transforms.global_norm(g)
    return transforms.add_l2(g, params, tp["l2"]), raw_norm, clipped_norm


def advance(update, g, state, params, lr, weight_decay, alive, loss):
    """Apply the optimizer's ``update(g, state, params) -> (updates, state)`` with decoupled
    weight decay ``-lr * weight_decay * params``; a step that is not finite (``loss``, ``g``
    or the new params), or any step once ``alive`` is false, leaves params and state as they
    were. Returns ``(params, state, ok)``."""
    updates, new_state = update(g, state, params)
    updates = transforms.decoupled_decay(updates, params, lr, weight_decay)
    new_params = jax.tree.map(jnp.add, params, updates)
    ok = alive & jnp.isfinite(loss) & all_finite(g) & all_finite(new_params)
    keep = partial(jnp.where, ok)
    return jax.tree.map(keep, new_params, params), jax.tree.map(keep, new_state, state), ok


class Carry(NamedTuple):
    params: jax.Array
    state: Any
    alive: jax.Array  # no NaN/inf seen yet
    div_step: jax.Array  # the step whose result was not finite (-1 = none)


def _gradient(problem, theta, tp, params, t, bits, noise_t):
    """What the optimizer sees at step ``t``: ``(sample loss, gradient, raw norm, clipped
    norm)`` — the (mini-batch) gradient plus noise, clipped by value then by global norm, plus
    coupled L2. The loop and the replay both call this, so they cannot disagree."""
    if getattr(problem, "stochastic", False):
        sample_loss, g = problem.sample_value_and_grad(params, theta, t, bits)
    else:
        sample_loss, g = jax.value_and_grad(problem.loss)(params, theta)
    g, raw_norm, clipped_norm = condition(g + tp["grad_noise"] * noise_t, params, tp)
    return sample_loss, g, raw_norm, clipped_norm


def _one_step(problem, impl, hp, bits, theta, tp, carry: Carry, t, scale, noise_t):
    """One step of one optimizer on one batch entry: ``(carry, record)``."""
    seen = _gradient(problem, theta, tp, carry.params, t, bits, noise_t)
    return _apply(problem, impl, hp, theta, tp, carry, t, scale, seen)


def _apply(problem, impl, hp, theta, tp, carry: Carry, t, scale, seen):
    """Step ``t`` of one optimizer on one batch entry, given what it saw there (``seen``, as
    ``_gradient`` returns it): ``(carry, record)``.

    Only the point and the optimizer's moments are recorded: everything else is recomputed
    after the loop by ``_replay`` (a loop that writes many per-step outputs runs ~10× slower
    on XLA's CPU backend here), except on stochastic problems, where a mini-batch gradient
    costs more than writing it and the loop also records what the optimizer saw."""
    lr0 = hp.get("learning_rate", jnp.float32(1.0))
    opt = make_impl(impl, hp, tp)
    params = carry.params
    sample_loss, g = seen[0], seen[1]
    lr = lr0 * scale
    extra = {}
    if opt.needs_hessian:
        hess = jax.hessian(problem.loss)(params, theta)
        extra["hessian"] = hess + tp["l2"] * jnp.eye(params.size, dtype=params.dtype)
    step = partial(opt.step, lr=lr, lr0=lr0, extra=extra)
    new_params, new_state, ok = advance(
        step, g, carry.state, params, lr, tp["weight_decay"], carry.alive, sample_loss
    )
    record = {
        "params": params,
        "moments": {k: ravel_pytree(m)[0] for k, m in opt.moments(new_state).items()},
    }
    if getattr(problem, "stochastic", False):  # too dear to replay: see _replay
        record["seen"] = seen
    new_carry = Carry(new_params, new_state, ok, jnp.where(carry.alive & ~ok, t, carry.div_step))
    return new_carry, record


def _replay(problem, loss_every, theta, tp, lr_scale, hp, points, final, noise, bits, seen):
    """Per-step records of one run from its recorded points: on a deterministic problem the
    gradients are recomputed, vectorised over steps; a stochastic one recorded them (``seen``,
    as ``_gradient`` returns them) in the loop — a replay there would be a second loop, since
    batching the steps would turn the mini-batch sampler's ``lax.switch`` into a select that
    runs every branch."""
    steps = points.shape[0]
    if seen is None:
        t = jnp.arange(steps, dtype=jnp.int32)
        grads = jax.vmap(partial(_gradient, problem, theta, tp), in_axes=(0, 0, None, 0))
        seen = grads(points, t, bits, noise)
    sample_loss, g, raw, clipped = seen
    stochastic = getattr(problem, "stochastic", False)
    with_final = jnp.concatenate([points, final[None]])
    at = jnp.concatenate([points[::loss_every], final[None]]) if stochastic else final[None]
    full = _losses(problem, theta, at)
    if stochastic:  # the full loss every loss_every-th step (and at the end)
        loss = jnp.repeat(full[:-1], loss_every, total_repeat_length=steps)
    else:
        loss = sample_loss
    return {
        "params": points,
        "loss": loss,
        "sample_loss": sample_loss,
        "grad": g,
        "update": jnp.diff(with_final, axis=0),
        "lr": hp.get("learning_rate", jnp.float32(1.0)) * lr_scale,
        "grad_norm": raw,
        "clipped_norm": clipped,
        "final_params": final,
        "final_loss": full[-1],
    }


def _losses(problem, theta, points):
    """The (full) loss at each of ``points [K, D]``: the problem's own batched ``losses`` where
    it has one (a data loss sums over its ``n`` points only, not the padding), else a vmap."""
    if hasattr(problem, "losses"):
        return problem.losses(points, theta)
    return jax.vmap(partial(problem.loss, theta=theta))(points)


def _randomness(steps, stochastic, grad_noise, seed, x0):
    """The run's gradient noise ``[steps, D]`` (zeros, and no random draws, when the noise
    level is 0) and, for a stochastic problem, mini-batch order bits ``uint32[steps, 2]``."""
    key = jax.random.key(seed)
    shape = (steps, *x0.shape)
    noise = jax.lax.cond(
        grad_noise > 0,
        lambda: jax.random.normal(jax.random.fold_in(key, 1), shape, x0.dtype),
        lambda: jnp.zeros(shape, x0.dtype),
    )
    if not stochastic:
        return noise, jnp.zeros((steps, 2), jnp.uint32)
    return noise, jax.random.bits(jax.random.fold_in(key, 2), (steps, 2), jnp.uint32)


def _init_state(impl, hp, x0):
    return make_impl(impl, hp).init(x0)


STATIC = ("problem", "impls", "steps", "loss_every")


def run_all(problem, impls, steps, loss_every, hps, x0s, seeds, theta, lr_scale, tp):
    """Every optimizer ``impls[i]`` over its batch (``hps[i]``: name -> [B], ``x0s[i]``: [B, D],
    ``seeds[i]``: uint32 [B]) for ``steps`` steps; returns one record dict per optimizer with
    per-step arrays ``[B, steps, ...]`` and ``final_params``/``final_loss``/``diverged_at``, as
    NumPy arrays on the host.

    The compiled function hands its ~100 records back packed into one buffer per dtype, and
    they are cut apart again here (``_layout``, traced once per compiled shape): fetching
    each record on its own cost more than running the optimizers on small problems."""
    static = (problem, impls, steps, loss_every)
    args = (hps, x0s, seeds, theta, lr_scale, tp)
    leaves, tree = jax.tree.flatten(args)
    specs = tuple((np.shape(x), np.result_type(x).name) for x in leaves)
    out_tree, out_specs = _layout(static, tree, specs)
    buffers = jax.device_get(_run_packed(*static, *args))
    offsets = dict.fromkeys(buffers, 0)
    out = []
    for shape, dtype in out_specs:
        size, start = math.prod(shape), offsets[dtype]
        out.append(buffers[dtype][start : start + size].reshape(shape))
        offsets[dtype] = start + size
    return jax.tree.unflatten(out_tree, out)


@functools.lru_cache(maxsize=256)
def _layout(static, tree, specs):
    """``run_all``'s output tree and each record's ``(shape, dtype)``, in packing order."""
    args = jax.tree.unflatten(tree, [jax.ShapeDtypeStruct(s, d) for s, d in specs])
    out = jax.eval_shape(partial(_records, *static), *args)
    leaves, out_tree = jax.tree.flatten(out)
    return out_tree, [(x.shape, x.dtype.name) for x in leaves]


@partial(jax.jit, static_argnames=STATIC)
def _run_packed(problem, impls, steps, loss_every, hps, x0s, seeds, theta, lr_scale, tp):
    """``_records``, its leaves concatenated into one flat buffer per dtype."""
    out = _records(problem, impls, steps, loss_every, hps, x0s, seeds, theta, lr_scale, tp)
    groups: dict[str, list] = {}
    for leaf in jax.tree.leaves(out):
        groups.setdefault(leaf.dtype.name, []).append(leaf.ravel())
    return {dtype: jnp.concatenate(parts) for dtype, parts in groups.items()}


def _records(problem, impls, steps, loss_every, hps, x0s, seeds, theta, lr_scale, tp):
    """The traced body of ``run_all``.

    On a deterministic problem each optimizer gets its own ``lax.scan``, written out in
    sequence in the one compiled function (measured faster here than one loop whose body steps
    all of them); a stochastic problem's optimizers share one (``_joint_scan``)."""
    stochastic = getattr(problem, "stochastic", False)
    t = jnp.arange(steps, dtype=jnp.int32)
    noises, bits, carries = [], [], []
    for impl, hp, x0, seed in zip(impls, hps, x0s, seeds, strict=True):
        noise, b = jax.vmap(partial(_randomness, steps, stochastic, tp["grad_noise"]))(seed, x0)
        state = jax.vmap(partial(_init_state, impl))(hp, x0)
        n = x0.shape[0]
        noises.append(noise)
        bits.append(b)
        carries.append(Carry(x0, state, jnp.ones(n, bool), jnp.full(n, -1, jnp.int32)))
    loop = _joint_scan if stochastic else _scans
    finals, recs = loop(problem, impls, hps, theta, tp, t, lr_scale, noises, bits, carries)
    out = []
    for hp, noise, b, final, by_step in zip(hps, noises, bits, finals, recs, strict=True):
        rec = jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), by_step)  # -> [B, steps, ...]
        replay = jax.vmap(partial(_replay, problem, loss_every, theta, tp, lr_scale))
        out.append(
            {
                **replay(hp, rec["params"], final.params, noise, b, rec.get("seen")),
                "moments": rec["moments"],
                "diverged_at": final.div_step,
            }
        )
    return out


def _scans(problem, impls, hps, theta, tp, t, lr_scale, noises, bits, carries):
    """A ``lax.scan`` per optimizer: ``(final carries, per-step records [steps, B, ...])``."""
    finals, recs = [], []
    for impl, hp, noise, b, carry in zip(impls, hps, noises, bits, carries, strict=True):
        step = jax.vmap(
            partial(_one_step, problem, impl), in_axes=(0, 0, None, None, 0, None, None, 0)
        )

        def body(c, xs, step=step, hp=hp, b=b):
            t, scale, noise_t = xs
            return step(hp, b, theta, tp, c, t, scale, noise_t)

        final, rec = jax.lax.scan(body, carry, (t, lr_scale, jnp.swapaxes(noise, 0, 1)))
        finals.append(final)
        recs.append(rec)
    return finals, recs


def _joint_scan(problem, impls, hps, theta, tp, t, lr_scale, noises, bits, carries):
    """One ``lax.scan`` stepping every optimizer, their (mini-batch) gradients computed in one
    vmapped call over all of their batch entries: a mini-batch gradient is a few small ops
    whose fixed cost on XLA:CPU outweighs their work, so sharing them beats a loop each."""
    cuts = np.cumsum([c.params.shape[0] for c in carries])[:-1]
    all_bits = jnp.concatenate(bits)
    gradient = jax.vmap(partial(_gradient, problem, theta, tp), in_axes=(0, None, 0, 0))
    applies = [
        jax.vmap(partial(_apply, problem, impl), in_axes=(0, None, None, 0, None, None, 0))
        for impl in impls
    ]

    def body(cs, xs):
        t, scale, noise_t = xs
        seen = gradient(jnp.concatenate([c.params for c in cs]), t, all_bits, noise_t)
        parts = zip(*(jnp.split(s, cuts) for s in seen), strict=True)
        stepped = [
            apply(hp, theta, tp, c, t, scale, part)
            for apply, hp, c, part in zip(applies, hps, cs, parts, strict=True)
        ]
        return tuple(c for c, _ in stepped), tuple(r for _, r in stepped)

    noise = jnp.swapaxes(jnp.concatenate(noises), 0, 1)  # [steps, sum of B, D]
    return jax.lax.scan(body, tuple(carries), (t, lr_scale, noise))
