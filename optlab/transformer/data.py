"""Training windows drawn on the device, so every optimizer can see the same batches.

A split becomes a ``DataArrays`` (ids padded with ``<pad>``, allowed window starts); a batch is
``batch_size`` windows ``<bos> + ids[s : s + ctx]`` at starts drawn with a PRNG key. The train
loop draws the batch of global step ``t`` with ``batch_key(data_seed, t)``, inside its scan.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optlab.transformer.tokenizer import BOS, PAD


class DataArrays(NamedTuple):
    """A split on the device: ids padded with ``<pad>`` and the allowed window starts.

    Both are padded to power-of-two lengths so that corpora of similar size share a compile;
    ``n_starts`` (traced) says how many entries of ``starts_S`` are real.
    """

    ids_N: jax.Array
    starts_S: jax.Array
    n_starts: jax.Array


def _bucket(n: int, minimum: int = 1024) -> int:
    return max(minimum, 1 << max(n - 1, 0).bit_length())


def make_data(ids: np.ndarray, ctx: int, line_starts: np.ndarray | None = None) -> DataArrays:
    """Window starts ``s`` with ``s + ctx <= len(ids)`` (line starts only, if given).

    A split shorter than ``ctx`` gets the single start 0; the window's tail is ``<pad>``, which
    the loss ignores.
    """
    last = max(len(ids) - ctx, 0)
    starts = np.arange(last + 1) if line_starts is None else line_starts[line_starts <= last]
    if len(starts) == 0:
        starts = np.zeros(1, np.int64)
    ids_N = np.full(_bucket(len(ids) + ctx), PAD, np.int32)
    ids_N[: len(ids)] = ids
    starts_S = np.zeros(_bucket(len(starts), 64), np.int32)
    starts_S[: len(starts)] = starts
    return DataArrays(jnp.asarray(ids_N), jnp.asarray(starts_S), jnp.int32(len(starts)))


def sample_batch(data: DataArrays, key: jax.Array, batch_size: int, ctx: int) -> jax.Array:
    """``batch_size`` windows ``<bos> + ids[s : s + ctx]``: int32 ``[batch_size, ctx + 1]``."""
    idx_B = jax.random.randint(key, (batch_size,), 0, data.n_starts)
    s_B = data.starts_S[idx_B]
    win_BxL = jax.vmap(lambda s: jax.lax.dynamic_slice(data.ids_N, (s,), (ctx,)))(s_B)
    return jnp.concatenate([jnp.full((batch_size, 1), BOS, jnp.int32), win_BxL], axis=1)


def batch_key(data_seed: int, step: int | jax.Array) -> jax.Array:
    """The key of global step ``step``'s batch: a function of the data seed only."""
    return jax.random.fold_in(jax.random.key(data_seed), step)


@partial(jax.jit, static_argnames=("batch_size", "ctx", "n_batches"))
def eval_batches(data: DataArrays, key: jax.Array, *, batch_size: int, ctx: int, n_batches: int):
    """A fixed set of batches ``[n_batches, batch_size, ctx + 1]`` (validation)."""
    keys = jax.random.split(key, n_batches)
    return jax.vmap(lambda k: sample_batch(data, k, batch_size, ctx))(keys)
