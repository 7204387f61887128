"""Training windows drawn on the device, so every optimizer can see the same batches.

A split becomes a ``DataArrays`` (ids padded with ``<pad>``, allowed window starts); a batch is
``batch_size`` windows ``<bos> + ids[s : s + ctx]`` at starts drawn with a PRNG key. The train
loop draws the batch of global step ``t`` with ``batch_key(data_seed, t)``, inside its scan.
``full_batch`` is every window at once (``FULL_BATCH`` as a batch size).
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optlab.transformer.tokenizer import BOS, PAD

FULL_BATCH = 0  # a batch size meaning "every window of the split, every step"
MAX_FULL_BATCH = 1024  # windows; a larger split is too slow for full-batch steps on a CPU


class DataArrays(NamedTuple):
    """A split on the device: ids padded with ``<pad>`` and the allowed window starts.

    The ids are padded to a power-of-two length and the starts to a multiple of 64, so that
    corpora of similar size share a compile (and a full batch wastes little on padding rows);
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
    starts_S = np.zeros(64 * -(-len(starts) // 64), np.int32)
    starts_S[: len(starts)] = starts
    # device_put, not jnp.asarray: a plain transfer compiles nothing
    return DataArrays(*jax.device_put((ids_N, starts_S, np.int32(len(starts)))))


def sample_batch(data: DataArrays, key: jax.Array, batch_size: int, ctx: int) -> jax.Array:
    """``batch_size`` windows ``<bos> + ids[s : s + ctx]``: int32 ``[batch_size, ctx + 1]``."""
    idx_B = jax.random.randint(key, (batch_size,), 0, data.n_starts)
    s_B = data.starts_S[idx_B]
    win_BxL = jax.vmap(lambda s: jax.lax.dynamic_slice(data.ids_N, (s,), (ctx,)))(s_B)
    return jnp.concatenate([jnp.full((batch_size, 1), BOS, jnp.int32), win_BxL], axis=1)


def full_batch(data: DataArrays, ctx: int) -> jax.Array:
    """Every window of the split at once (full-batch gradient descent): int32 ``[S, ctx + 1]``
    with ``S = len(data.starts_S)``; the padding rows beyond ``n_starts`` are all ``<pad>``
    after ``<bos>``, so the loss (which skips ``<pad>`` targets) ignores them."""
    win_SxL = jax.vmap(lambda s: jax.lax.dynamic_slice(data.ids_N, (s,), (ctx,)))(data.starts_S)
    real_Sx1 = (jnp.arange(data.starts_S.shape[0]) < data.n_starts)[:, None]
    win_SxL = jnp.where(real_Sx1, win_SxL, PAD)
    bos_Sx1 = jnp.full((data.starts_S.shape[0], 1), BOS, jnp.int32)
    return jnp.concatenate([bos_Sx1, win_SxL], axis=1)


def batch_key(data_seed: int, step: int | jax.Array) -> jax.Array:
    """The key of global step ``step``'s batch: a function of the data seed only."""
    return jax.random.fold_in(jax.random.key(data_seed), step)


@partial(jax.jit, static_argnames=("batch_size", "ctx", "n_batches"))
def eval_batches(data: DataArrays, key: jax.Array, *, batch_size: int, ctx: int, n_batches: int):
    """A fixed set of batches ``[n_batches, batch_size, ctx + 1]`` (validation)."""
    keys = jax.random.split(key, n_batches)
    return jax.vmap(lambda k: sample_batch(data, k, batch_size, ctx))(keys)
