"""The two compiled programs of transformer training (``optlab.transformer.train`` drives them).

``setup`` makes the start of a group of runs (weights, optimizer states, validation batches,
the validation loss at step 0); ``train_chunk`` runs ``K`` steps of every run of the group in
one ``lax.scan`` and ends with every run's validation loss. Runs of a group share the batch
size; their gradients come from one ``vmap`` over the stacked params. Per step, the lab's one
step pipeline: loss gradient -> ``stepper.condition`` (global-norm clip, + coupled L2) ->
optimizer update at ``lr * multiplier[t]`` -> ``stepper.advance`` (+ decoupled weight decay,
freeze on a non-finite step).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from optlab.core import stepper, transforms
from optlab.transformer.data import FULL_BATCH, batch_key, eval_batches, full_batch, sample_batch
from optlab.transformer.model import (
    ModelConfig,
    Params,
    init_params,
    loss_fn,
    param_groups,
    ravel,
    unravel,
)


@partial(jax.jit, static_argnames="cfg")
def eval_loss(params: Params, seqs_NxBxT: jax.Array, cfg: ModelConfig) -> jax.Array:
    """Mean loss over a fixed set of batches (no dropout)."""
    return jax.lax.map(lambda seq: loss_fn(params, seq, cfg), seqs_NxBxT).mean()


def _val_losses(params_RxP, seqs_NxBxT, cfg):
    return jax.vmap(lambda p: eval_loss(unravel(p, cfg), seqs_NxBxT, cfg))(params_RxP)


@partial(jax.jit, static_argnames=("cfg", "factories", "eval_batch", "n_eval"))
def setup(seeds, hps, use_init_R, init_P, val_data, *, cfg, factories, eval_batch, n_eval):
    """The start of a group of runs: flat params ``[R, P]`` (``init_P`` where ``use_init_R``,
    else ``init_params(key(seeds[0]))``), every optimizer's state, the validation batches and
    the validation loss at step 0. One program for the whole group."""
    scratch_P = ravel(init_params(jax.random.key(seeds[0]), cfg))
    R = len(factories)
    if init_P is None:
        params_RxP = jnp.broadcast_to(scratch_P, (R, scratch_P.shape[0]))
    else:
        params_RxP = jnp.where(use_init_R[:, None], init_P[None, :], scratch_P[None, :])
    pairs = enumerate(zip(factories, hps, strict=True))
    states = tuple(f(**hp).init(params_RxP[r]) for r, (f, hp) in pairs)
    val_seqs = eval_batches(
        val_data, jax.random.key(seeds[1]), batch_size=eval_batch, ctx=cfg.ctx, n_batches=n_eval
    )
    carry = (params_RxP, states, jnp.ones(R, bool), jnp.full(R, -1, jnp.int32))
    return carry, val_seqs, _val_losses(params_RxP, val_seqs, cfg)


def _group_norms(g: Params) -> dict[str, jax.Array]:
    return {name: transforms.global_norm(gr) for name, gr in param_groups(g).items()}


@partial(jax.jit, static_argnames=("cfg", "factories", "batch_size"))
def train_chunk(carry, steps_K, lr_mult_K, hps, regs, data, seeds, val_seqs, *, cfg, factories,
                 batch_size):  # fmt: skip
    """``K = len(steps_K)`` steps of every run of a group in one ``lax.scan``; returns the carry,
    the per-step metrics ``[K, R]`` and the validation loss ``[R]`` at the end.

    All runs see the same batch and dropout mask: their gradients come from one ``vmap`` over
    the stacked params (one batched forward and backward pass), then each optimizer's own
    update goes through ``stepper.condition`` (vmapped) and ``stepper.advance``. The params
    are one flat vector per run (``model.ravel``): every optimizer here is element-wise, so
    the update is the same as on the pytree, and one leaf instead of one per weight matrix
    keeps the program small (it compiles several times faster)."""
    dropout_key = jax.random.key(seeds[1])

    def body(carry, xs):
        params_RxP, states, alive_R, div_R = carry
        t, lr_mult = xs
        if batch_size == FULL_BATCH:
            seq_BxT = full_batch(data, cfg.ctx)
        else:
            seq_BxT = sample_batch(data, batch_key(seeds[0], t), batch_size, cfg.ctx)
        dkey = jax.random.fold_in(dropout_key, t)
        grad = jax.value_and_grad(lambda p: loss_fn(unravel(p, cfg), seq_BxT, cfg, dkey, True))
        loss_R, g_RxP = jax.vmap(grad)(params_RxP)
        layer_R = jax.vmap(lambda g: _group_norms(unravel(g, cfg)))(g_RxP)
        g_RxP, raw_R, clipped_R = jax.vmap(stepper.condition)(g_RxP, params_RxP, regs)
        outs, lrs = [], []
        for r, (factory, hp) in enumerate(zip(factories, hps, strict=True)):
            lr = hp["learning_rate"] * lr_mult
            update = factory(**{**hp, "learning_rate": lr}).update
            wd = regs["weight_decay"][r]
            outs.append(stepper.advance(update, g_RxP[r], states[r], params_RxP[r], lr, wd,
                                        alive_R[r], loss_R[r]))  # fmt: skip
            lrs.append(lr)
        ok_R = jnp.stack([o[2] for o in outs])
        new_carry = (
            jnp.stack([o[0] for o in outs]),
            tuple(o[1] for o in outs),
            ok_R,
            jnp.where(alive_R & ~ok_R, t, div_R),
        )
        metrics = {"loss": loss_R, "grad_norm": raw_R, "clipped_norm": clipped_R,
                   "lr": jnp.stack(lrs), "layer_grad_norms": layer_R}  # fmt: skip
        return new_carry, metrics

    carry, metrics = jax.lax.scan(body, carry, (steps_K, lr_mult_K))
    return carry, metrics, _val_losses(carry[0], val_seqs, cfg)
