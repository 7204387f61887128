"""A decoder-only transformer (GPT) in pure JAX, in the spirit of nanoGPT's ``model.py``.

Params are a plain dict pytree; ``forward(params, tokens_BxL, cfg)`` is a pure function. Names
carry their shapes: B batch, L sequence length, D model width, H heads, K head width
(D = H * K), F MLP width, V vocabulary size.

    tokens_BxL -> token + position embeddings -> n_layer x [x + attn(LN(x)); x + mlp(LN(x))]
               -> LN -> x @ head_DxV -> logits_BxLxV

Attention scores and the final log-softmax are computed in (at least) float32. Dropout (on the
embeddings, the attention weights and each residual branch) is applied only when ``train`` and
``cfg.dropout > 0``, with the ``key`` given.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optlab.transformer.tokenizer import PAD

Params = dict


@dataclass(frozen=True)
class ModelConfig:
    """Model hyperparameters (hashable: a static argument of the jitted functions)."""

    vocab_size: int
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    ctx: int = 64
    dropout: float = 0.0
    mlp_ratio: int = 4

    def __post_init__(self):
        if self.d_model % self.n_head:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_head={self.n_head}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout={self.dropout} is not in [0, 1)")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_head


def _ln_init(d: int) -> dict:
    return {"scale": jnp.ones(d), "bias": jnp.zeros(d)}


def _dense_init(w: jax.Array) -> dict:
    return {"w": w, "b": jnp.zeros(w.shape[1])}


@partial(jax.jit, static_argnames="cfg")
def init_params(key: jax.Array, cfg: ModelConfig) -> Params:
    """GPT-2 initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2 n_layer).

    Jitted, and every matrix is cut from one Gaussian draw (one PRNG call compiles much faster
    than one per matrix).
    """
    D, F, V = cfg.d_model, cfg.mlp_ratio * cfg.d_model, cfg.vocab_size
    std, std_proj = 0.02, 0.02 / math.sqrt(2 * cfg.n_layer)
    shapes = [(V, D), (cfg.ctx, D), (D, V)] + [(D, 3 * D), (D, D), (D, F), (F, D)] * cfg.n_layer
    sizes = [a * b for a, b in shapes]
    z = jax.random.normal(key, (sum(sizes),))
    pieces = iter(jnp.split(z, np.cumsum(sizes)[:-1].tolist()))

    def normal(shape, scale):
        return scale * next(pieces).reshape(shape)

    wte, wpe, head = normal((V, D), std), normal((cfg.ctx, D), std), normal((D, V), std)
    blocks = [
        {
            "ln1": _ln_init(D),
            "attn": {
                "qkv": _dense_init(normal((D, 3 * D), std)),
                "out": _dense_init(normal((D, D), std_proj)),
            },
            "ln2": _ln_init(D),
            "mlp": {
                "fc": _dense_init(normal((D, F), std)),
                "proj": _dense_init(normal((F, D), std_proj)),
            },
        }
        for _ in range(cfg.n_layer)
    ]
    return {"wte": wte, "wpe": wpe, "blocks": blocks, "ln_f": _ln_init(D), "head": {"w": head}}


def param_count(params: Params) -> int:
    """Number of scalar parameters."""
    return sum(x.size for x in jax.tree.leaves(params))


def flatten_params(params: Params) -> np.ndarray:
    """All parameters as one host vector, in ``jax.tree.leaves`` (= ``ravel_pytree``) order."""
    return np.concatenate([np.asarray(x).ravel() for x in jax.tree.leaves(params)])


def unflatten_params(flat_P: np.ndarray, like: Params) -> Params:
    """Inverse of ``flatten_params``: a pytree shaped like ``like`` (no compile)."""
    leaves, treedef = jax.tree.flatten(like)
    cuts = np.cumsum([x.size for x in leaves])[:-1]
    parts = np.split(np.asarray(flat_P), cuts)
    return treedef.unflatten(
        [jnp.asarray(p.reshape(x.shape), x.dtype) for p, x in zip(parts, leaves, strict=True)]
    )


@functools.lru_cache(maxsize=64)
def layout(cfg: ModelConfig) -> tuple[Any, tuple[tuple[int, ...], ...]]:
    """The params' tree structure and leaf shapes (nothing is allocated)."""
    shapes = jax.eval_shape(lambda: init_params(jax.random.key(0), cfg))  # compiles nothing
    leaves, treedef = jax.tree.flatten(shapes)
    return treedef, tuple(tuple(x.shape) for x in leaves)


def ravel(params: Params) -> jax.Array:
    """All parameters as one vector ``[P]`` (inside jit; ``flatten_params`` on the host)."""
    return jnp.concatenate([x.reshape(-1) for x in jax.tree.leaves(params)])


def unravel(flat_P, cfg: ModelConfig) -> Params:
    """Inverse of ``ravel`` (and of ``flatten_params``): works on jax and numpy vectors alike
    (numpy in, numpy views out)."""
    treedef, shapes = layout(cfg)
    out, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat_P[start : start + size].reshape(shape))
        start += size
    return treedef.unflatten(out)


def param_groups(params: Params) -> dict[str, Params]:
    """The params cut into named groups for per-layer norms: embed, block_i, head."""
    groups = {"embed": {"wte": params["wte"], "wpe": params["wpe"]}}
    for i, block in enumerate(params["blocks"]):
        groups[f"block_{i}"] = block
    groups["head"] = {"ln_f": params["ln_f"], "head": params["head"]}
    return groups


# ---------------------------------------------------------------------------------------------
# layers (explicit broadcasting everywhere: safe under jax_numpy_rank_promotion="raise")


def _f32(x: jax.Array) -> jax.Array:
    """``x`` in at least float32 (float64 stays float64, for the finite-difference tests)."""
    return x.astype(jnp.promote_types(x.dtype, jnp.float32))


def layer_norm(p: dict, x_BxLxD: jax.Array, eps: float = 1e-5) -> jax.Array:
    mean_BxLx1 = x_BxLxD.mean(axis=-1, keepdims=True)
    var_BxLx1 = ((x_BxLxD - mean_BxLx1) ** 2).mean(axis=-1, keepdims=True)
    xhat_BxLxD = (x_BxLxD - mean_BxLx1) * jax.lax.rsqrt(var_BxLx1 + eps)
    return xhat_BxLxD * p["scale"][None, None, :] + p["bias"][None, None, :]


def dense(p: dict, x_BxLxI: jax.Array) -> jax.Array:
    return jnp.einsum("bli,io->blo", x_BxLxI, p["w"]) + p["b"][None, None, :]


def dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    """Inverted dropout; the identity when ``key`` is None or ``rate`` is 0."""
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


def attention(
    p: dict, x_BxLxD: jax.Array, cfg: ModelConfig, key: jax.Array | None
) -> tuple[jax.Array, jax.Array]:
    """Causal multi-head self-attention. Returns the output and the weights ``att_BxHxLxL``."""
    B, L, D = x_BxLxD.shape
    H, K = cfg.n_head, cfg.d_head
    q_BxLxD, k_BxLxD, v_BxLxD = jnp.split(dense(p["qkv"], x_BxLxD), 3, axis=-1)
    q_BxHxLxK = q_BxLxD.reshape(B, L, H, K).transpose(0, 2, 1, 3)
    k_BxHxLxK = k_BxLxD.reshape(B, L, H, K).transpose(0, 2, 1, 3)
    v_BxHxLxK = v_BxLxD.reshape(B, L, H, K).transpose(0, 2, 1, 3)
    scores_BxHxLxL = _f32(jnp.einsum("bhqk,bhsk->bhqs", q_BxHxLxK, k_BxHxLxK)) / math.sqrt(K)
    causal_1x1xLxL = jnp.tril(jnp.ones((L, L), dtype=bool))[None, None, :, :]
    scores_BxHxLxL = jnp.where(causal_1x1xLxL, scores_BxHxLxL, -jnp.inf)
    att_BxHxLxL = jax.nn.softmax(scores_BxHxLxL, axis=-1)
    att_drop_BxHxLxL = dropout(att_BxHxLxL, cfg.dropout, key).astype(v_BxHxLxK.dtype)
    y_BxHxLxK = jnp.einsum("bhqs,bhsk->bhqk", att_drop_BxHxLxL, v_BxHxLxK)
    y_BxLxD = y_BxHxLxK.transpose(0, 2, 1, 3).reshape(B, L, D)
    return dense(p["out"], y_BxLxD), att_BxHxLxL


def mlp(p: dict, x_BxLxD: jax.Array) -> jax.Array:
    h_BxLxF = jax.nn.gelu(dense(p["fc"], x_BxLxD))
    return dense(p["proj"], h_BxLxF)


def forward(
    params: Params,
    tokens_BxL: jax.Array,
    cfg: ModelConfig,
    *,
    key: jax.Array | None = None,
    train: bool = False,
    return_attention: bool = False,
):
    """Next-token logits ``logits_BxLxV`` (and, if asked, ``[att_BxHxLxL] * n_layer``).

    Position ``i`` of the output sees tokens ``0..i`` only. ``L`` may be anything up to
    ``cfg.ctx``. With ``train`` and ``cfg.dropout > 0`` a ``key`` is required.
    """
    L = tokens_BxL.shape[1]
    if tokens_BxL.shape[1] > cfg.ctx:
        raise ValueError(f"sequence length {L} exceeds the context {cfg.ctx}")
    use_dropout = train and cfg.dropout > 0.0
    if use_dropout and key is None:
        raise ValueError("dropout needs a PRNG key")
    keys = list(jax.random.split(key, 1 + 3 * cfg.n_layer)) if use_dropout else None

    def next_key():
        return keys.pop() if keys else None

    x_BxLxD = params["wte"][tokens_BxL] + params["wpe"][:L][None, :, :]
    x_BxLxD = dropout(x_BxLxD, cfg.dropout, next_key())
    atts = []
    for block in params["blocks"]:
        a_BxLxD, att_BxHxLxL = attention(
            block["attn"], layer_norm(block["ln1"], x_BxLxD), cfg, next_key()
        )
        x_BxLxD = x_BxLxD + dropout(a_BxLxD, cfg.dropout, next_key())
        m_BxLxD = mlp(block["mlp"], layer_norm(block["ln2"], x_BxLxD))
        x_BxLxD = x_BxLxD + dropout(m_BxLxD, cfg.dropout, next_key())
        atts.append(att_BxHxLxL)
    x_BxLxD = layer_norm(params["ln_f"], x_BxLxD)
    logits_BxLxV = jnp.einsum("bld,dv->blv", x_BxLxD, params["head"]["w"])
    return (logits_BxLxV, atts) if return_attention else logits_BxLxV


def loss_fn(
    params: Params,
    seq_BxT: jax.Array,
    cfg: ModelConfig,
    key: jax.Array | None = None,
    train: bool = False,
) -> jax.Array:
    """Mean next-token cross-entropy with teacher forcing.

    Inputs are ``seq[:, :-1]``, targets ``seq[:, 1:]`` (``T = L + 1``). Targets equal to
    ``<pad>`` are left out of the mean (the tail of a window that ran past the end of a short
    split).
    """
    inputs_BxL, targets_BxL = seq_BxT[:, :-1], seq_BxT[:, 1:]
    logits_BxLxV = forward(params, inputs_BxL, cfg, key=key, train=train)
    logp_BxLxV = jax.nn.log_softmax(_f32(logits_BxLxV), axis=-1)
    nll_BxL = -jnp.take_along_axis(logp_BxLxV, targets_BxL[:, :, None], axis=-1)[:, :, 0]
    mask_BxL = (targets_BxL != PAD).astype(nll_BxL.dtype)
    return (nll_BxL * mask_BxL).sum() / jnp.maximum(mask_BxL.sum(), 1.0)
