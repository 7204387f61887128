"""2-D slices of the loss around trained weights (Li et al., 2018, "Visualizing the Loss
Landscape of Neural Nets").

A slice is ``f(alpha, beta) = loss(theta + alpha * d1 + beta * d2)`` on a fixed batch, for two
directions in parameter space:

- ``filter_normalized_directions``: Gaussian directions rescaled unit by unit to the norms of the
  weights (each output column of a dense matrix, each row of an embedding table), so that a step
  of ``alpha = 1`` is as large, relatively, for every unit; 1-D leaves (biases, LayerNorm) get a
  zero direction, as in the paper's ``ignore biasbn`` setting.
- ``pca_directions``: the top two principal directions of the trajectory snapshots (flattened
  params, mean-centred, SVD), so the optimizers' paths lie as much as possible in the plane.

``project`` gives the least-squares coordinates of snapshots in the plane, ``loss_grid``
evaluates the slice on an ``n x n`` grid: ``vmap`` over a row of alphas, ``lax.map`` over rows
(one row of models in memory at a time).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from optlab.transformer.model import ModelConfig, Params, loss_fn, unflatten_params

_ROW_NORMALISED = ("wte", "wpe")  # embedding tables: one unit per row


def _unit_axis(path) -> int:
    """Axis summed over for a unit's norm: 1 (rows) for embedding tables, 0 (columns) else."""
    names = {getattr(k, "key", None) for k in path}
    return 1 if names & set(_ROW_NORMALISED) else 0


def filter_normalized_directions(params: Params, seed: int = 0) -> tuple[Params, Params]:
    """Two random directions shaped like ``params`` (numpy leaves), each unit scaled to its
    weights' norm. Drawn with numpy on the host: nothing to compile."""
    rng = np.random.default_rng(seed)
    leaves, treedef = jax.tree_util.tree_flatten_with_path(params)

    def one():
        out = []
        for path, leaf in leaves:
            w = np.asarray(leaf)
            if w.ndim < 2:
                out.append(np.zeros_like(w))
                continue
            d = rng.standard_normal(w.shape).astype(w.dtype)
            axis = _unit_axis(path)
            w_norm = np.linalg.norm(w, axis=axis, keepdims=True)
            d_norm = np.linalg.norm(d, axis=axis, keepdims=True)
            out.append(d * (w_norm / (d_norm + 1e-10)))
        return jax.tree_util.tree_unflatten(treedef, out)

    return one(), one()


def pca_directions(snapshots_TxP: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-2 principal directions of ``T >= 3`` flattened snapshots (rows).

    Returns ``d1_P, d2_P`` (orthonormal, float32) and the fraction of variance each explains.
    """
    X_TxP = np.asarray(snapshots_TxP, np.float64)
    if X_TxP.ndim != 2 or X_TxP.shape[0] < 3:
        raise ValueError("need at least 3 snapshots, as rows of a [T, P] array")
    X_TxP = X_TxP - X_TxP.mean(axis=0, keepdims=True)
    _, s, vt = np.linalg.svd(X_TxP, full_matrices=False)
    explained = s**2 / max(float(np.sum(s**2)), 1e-30)
    return vt[0].astype(np.float32), vt[1].astype(np.float32), explained[:2]


def project(
    snapshots_TxP: np.ndarray, center_P: np.ndarray, d1_P: np.ndarray, d2_P: np.ndarray
) -> np.ndarray:
    """Least-squares ``[T, 2]`` coefficients: ``snapshot ~ center + alpha d1 + beta d2``."""
    A_Px2 = np.stack([d1_P, d2_P], axis=1).astype(np.float64)
    R_PxT = (np.asarray(snapshots_TxP, np.float64) - np.asarray(center_P)[None, :]).T
    coef_2xT, *_ = np.linalg.lstsq(A_Px2, R_PxT, rcond=None)
    return coef_2xT.T


def _as_tree(d, params: Params) -> Params:
    if isinstance(d, np.ndarray | jax.Array) and d.ndim == 1:  # a flat vector
        return unflatten_params(np.asarray(d), params)
    return d


@partial(jax.jit, static_argnames=("cfg", "rows_per_batch"))
def _grid(params, d1, d2, seq_BxT, *, alphas_A, betas_N, cfg, rows_per_batch):
    def point(alpha, beta):
        p = jax.tree.map(lambda w, u, v: w + alpha * u + beta * v, params, d1, d2)
        return loss_fn(p, seq_BxT, cfg)

    def row(beta):
        return jax.vmap(point, in_axes=(0, None))(alphas_A, beta)

    return jax.lax.map(row, betas_N, batch_size=rows_per_batch)


def loss_grid(
    params: Params,
    d1,
    d2,
    seq_BxT: jax.Array,
    cfg: ModelConfig,
    *,
    alphas: np.ndarray,
    betas: np.ndarray,
    rows_per_batch: int = 1,
) -> np.ndarray:
    """``Z[j, i] = loss(params + alphas[i] d1 + betas[j] d2)`` on the batch ``seq_BxT``.

    ``d1``/``d2`` are pytrees like ``params`` or flat ``[P]`` vectors (``flatten_params``).
    ``rows_per_batch`` rows of the grid are evaluated at once (memory ~ that x ``len(alphas)``
    forward passes).
    """
    return np.asarray(
        _grid(
            params,
            _as_tree(d1, params),
            _as_tree(d2, params),
            jnp.asarray(seq_BxT),
            alphas_A=jnp.asarray(alphas, jnp.float32),
            betas_N=jnp.asarray(betas, jnp.float32),
            cfg=cfg,
            rows_per_batch=rows_per_batch,
        )
    )
