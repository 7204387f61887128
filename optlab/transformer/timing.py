"""How the cost of a training step grows with context length and model width (a UI panel).

Each configuration compiles one jitted SGD step (forward, backward, update), runs it once to
warm up, then times ``n_steps`` calls. Keep the sizes small: every row costs a compile.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp

from optlab.transformer.model import ModelConfig, init_params, loss_fn, param_count


@partial(jax.jit, static_argnames="cfg")
def _sgd_step(params, seq_BxT, cfg):
    loss, g = jax.value_and_grad(loss_fn)(params, seq_BxT, cfg)
    return jax.tree.map(lambda p, gi: p - 1e-3 * gi, params, g), loss


def time_step(cfg: ModelConfig, batch_size: int = 32, n_steps: int = 5) -> dict:
    """One row: ``ctx, d_model, n_layer, n_head, params, compile_s, ms_per_step``."""
    params = init_params(jax.random.key(0), cfg)
    seq_BxT = jax.random.randint(
        jax.random.key(1), (batch_size, cfg.ctx + 1), 4, cfg.vocab_size, jnp.int32
    )
    t0 = time.perf_counter()
    params, loss = _sgd_step(params, seq_BxT, cfg)
    loss.block_until_ready()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(n_steps):
        params, loss = _sgd_step(params, seq_BxT, cfg)
    loss.block_until_ready()
    return {
        "ctx": cfg.ctx,
        "d_model": cfg.d_model,
        "n_layer": cfg.n_layer,
        "n_head": cfg.n_head,
        "params": param_count(params),
        "compile_s": compile_s,
        "ms_per_step": 1e3 * (time.perf_counter() - t0) / n_steps,
    }


def step_time_rows(
    ctxs: Sequence[int] = (16, 32, 64, 128),
    d_models: Sequence[int] = (32, 64, 128),
    *,
    vocab_size: int = 32,
    batch_size: int = 32,
    n_steps: int = 5,
    base: ModelConfig | None = None,
) -> list[dict]:
    """Rows for two sweeps from ``base`` (default: 2 layers, d=64, 4 heads, ctx 64): context
    length (``sweep="ctx"``) and model width (``sweep="d_model"``, ctx fixed)."""
    base = base or ModelConfig(vocab_size=vocab_size)
    rows = []
    for ctx in ctxs:
        cfg = dataclasses.replace(base, ctx=ctx)
        rows.append({"sweep": "ctx", **time_step(cfg, batch_size, n_steps)})
    for d in d_models:
        cfg = dataclasses.replace(base, d_model=d)
        rows.append({"sweep": "d_model", **time_step(cfg, batch_size, n_steps)})
    return rows
