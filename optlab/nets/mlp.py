r"""A deep multilayer perceptron, written out in one readable file.

Layer :math:`l` (of ``depth`` hidden layers, all ``width`` wide) maps its input
:math:`a_{l-1}` to

.. math::
    z_l = a_{l-1} W_l + b_l, \quad \hat z_l = \mathrm{norm}(z_l), \quad
    h_l = \mathrm{drop}(f(\hat z_l)), \quad
    a_l = h_l \;\text{ or, residual, }\; a_l = a_{l-1} + h_l / \sqrt{L}

with ``norm`` none, batch norm (statistics over the batch in training, running averages in
evaluation) or layer norm (statistics over the features of each example), then a linear
output layer. The residual branch is scaled by :math:`1/\sqrt{L}` so the stream's variance
stays bounded over 50 layers, while the identity path hands every layer the gradient
:math:`\partial a_l / \partial a_{l-1} = I + J_l/\sqrt{L}`. The first layer (``d_in -> width``)
has no residual path. Hidden layers 2..L
share one shape, so their parameters are stacked (``[L-1, H, H]``) and run by one
``lax.scan``: the compile time does not grow with the depth.

Params are a plain pytree::

    {"first":  {"w": D×H, "b": H, ("g": H, "beta": H)},
     "hidden": {"w": (L-1)×H×H, "b": (L-1)×H, ("g", "beta": (L-1)×H)},
     "out":    {"w": H×O, "b": O}}

and batch norm's running statistics a separate pytree (``init_stats``), carried by the
trainer beside the params (they are not trained).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

Params = dict[str, Any]
BN_MOMENTUM = 0.9  # running <- m * running + (1 - m) * batch
NORM_EPS = 1e-5
INACTIVE = 0.05  # a unit is dead/saturated when f'(z) < INACTIVE * max f'


@dataclass(frozen=True)
class Activation:
    """A registry entry: the nonlinearity, its derivative and how it shows in the UI."""

    name: str
    display: str
    latex: str  # f(z) and f'(z)
    fn: Callable[[jax.Array], jax.Array]
    dfn: Callable[[jax.Array], jax.Array]
    dmax: float  # max of f'(z), to call a unit inactive
    inactive: str  # what an inactive unit is called ("dead", "saturated")


def _sigmoid_d(z):
    s = jax.nn.sigmoid(z)
    return s * (1 - s)


def _gelu_d(z):
    return jax.scipy.stats.norm.cdf(z) + z * jax.scipy.stats.norm.pdf(z)


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", "Sigmoid", r"\sigma(z) = \frac{1}{1+e^{-z}},\;"
                   r"\sigma'(z) = \sigma(z)(1-\sigma(z)) \le \tfrac14",
                   jax.nn.sigmoid, _sigmoid_d, 0.25, "saturated"),
        Activation("tanh", "tanh", r"\tanh(z),\; \tanh'(z) = 1 - \tanh^2(z) \le 1",
                   jnp.tanh, lambda z: 1 - jnp.tanh(z) ** 2, 1.0, "saturated"),
        Activation("relu", "ReLU", r"\max(0, z),\; \mathrm{ReLU}'(z) = [z > 0]",
                   jax.nn.relu, lambda z: (z > 0).astype(z.dtype), 1.0, "dead"),
        Activation("gelu", "GELU", r"z\,\Phi(z),\; \mathrm{GELU}'(z) = \Phi(z) + z\,\varphi(z)",
                   lambda z: jax.nn.gelu(z, approximate=False), _gelu_d, 1.129, "dead"),
    )
}  # fmt: skip


@dataclass(frozen=True)
class InitScheme:
    r"""A registry entry: weights drawn :math:`W_{ij} \sim \mathcal N(0, \sigma^2)` with
    ``variance(fan_in, fan_out)`` (biases start at 0)."""

    name: str
    display: str
    latex: str
    variance: Callable[[int, int], float]
    note: str


INITS: dict[str, InitScheme] = {
    s.name: s
    for s in (
        InitScheme("small", "Too small", r"\sigma^2 = 10^{-4}", lambda fi, fo: 1e-4,
                   "signals shrink layer by layer: activations and gradients vanish"),
        InitScheme("large", "Too large", r"\sigma^2 = 1", lambda fi, fo: 1.0,
                   "signals grow ×√n per layer: ReLU explodes, sigmoid/tanh saturate"),
        InitScheme("xavier", "Xavier/Glorot", r"\sigma^2 = \frac{2}{n_\text{in} + n_\text{out}}",
                   lambda fi, fo: 2.0 / (fi + fo),
                   "keeps the variance for tanh-like units (Glorot & Bengio, 2010)"),
        InitScheme("he", "He/Kaiming", r"\sigma^2 = \frac{2}{n_\text{in}}",
                   lambda fi, fo: 2.0 / fi,
                   "keeps the variance through ReLUs, which zero half the signal (He et al. 2015)"),
    )
}  # fmt: skip
NORMS = {"none": "None", "batch": "Batch norm", "layer": "Layer norm"}


@dataclass(frozen=True)
class NetConfig:
    """The network's shape (static: a change compiles once per shape)."""

    d_in: int = 2
    width: int = 32
    depth: int = 10  # hidden layers
    d_out: int = 1
    activation: str = "tanh"
    norm: str = "none"  # "none" | "batch" | "layer"
    residual: bool = False

    def __post_init__(self) -> None:
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}")
        if self.norm not in NORMS:
            raise ValueError(f"unknown normalisation {self.norm!r}")
        if min(self.d_in, self.width, self.depth, self.d_out) < 1:
            raise ValueError("d_in, width, depth and d_out must be at least 1")


def _dense(key, fan_in: int, fan_out: int, std, lead: tuple[int, ...] = ()):
    w = std * jax.random.normal(key, (*lead, fan_in, fan_out), jnp.float32)
    return {"w": w, "b": jnp.zeros((*lead, fan_out), jnp.float32)}


def init_stds(cfg: NetConfig, init: str) -> jax.Array:
    """The ``INITS[init]`` weight std of the first, the hidden and the output layers ``[3]``."""
    v = INITS[init].variance
    h = cfg.width
    return jnp.sqrt(jnp.asarray([v(cfg.d_in, h), v(h, h), v(h, cfg.d_out)], jnp.float32))


def init_params(key: jax.Array, cfg: NetConfig, init: str | jax.Array = "xavier") -> Params:
    """Fresh parameters for ``cfg`` drawn with the ``INITS[init]`` scheme (or with the weight
    stds ``init_stds`` gives, as an array: traced, so a new scheme compiles nothing)."""
    stds = init_stds(cfg, init) if isinstance(init, str) else init
    k_first, k_hidden, k_out = jax.random.split(key, 3)
    h, extra = cfg.width, cfg.depth - 1
    params = {
        "first": _dense(k_first, cfg.d_in, h, stds[0]),
        "hidden": _dense(k_hidden, h, h, stds[1], (extra,)),
        "out": _dense(k_out, h, cfg.d_out, stds[2]),
    }
    if cfg.norm != "none":
        for name, lead in (("first", ()), ("hidden", (extra,))):
            params[name]["g"] = jnp.ones((*lead, h), jnp.float32)
            params[name]["beta"] = jnp.zeros((*lead, h), jnp.float32)
    return params


def init_stats(cfg: NetConfig) -> Params:
    """Batch norm's running mean and variance per layer (zeros and ones; ``{}`` otherwise)."""
    if cfg.norm != "batch":
        return {}
    h, extra = cfg.width, cfg.depth - 1
    return {
        "first": {"mean": jnp.zeros(h, jnp.float32), "var": jnp.ones(h, jnp.float32)},
        "hidden": {"mean": jnp.zeros((extra, h), jnp.float32),
                   "var": jnp.ones((extra, h), jnp.float32)},
    }  # fmt: skip


def _normalise(p, s, z_BxH, cfg: NetConfig, train: bool):
    """``(normalised z, new running stats)`` for the layer's ``norm``."""
    if cfg.norm == "none":
        return z_BxH, s
    if cfg.norm == "layer":
        mu, var = z_BxH.mean(axis=1, keepdims=True), z_BxH.var(axis=1, keepdims=True)
    elif train:
        mu, var = z_BxH.mean(axis=0), z_BxH.var(axis=0)
        s = {"mean": BN_MOMENTUM * s["mean"] + (1 - BN_MOMENTUM) * mu,
             "var": BN_MOMENTUM * s["var"] + (1 - BN_MOMENTUM) * var}  # fmt: skip
    else:
        mu, var = s["mean"], s["var"]
    return p["g"] * (z_BxH - mu) / jnp.sqrt(var + NORM_EPS) + p["beta"], s


def _dropout(key, rate, h):
    keep = jax.random.uniform(key, h.shape) >= rate
    return jnp.where(keep, h / (1 - rate), 0.0)


def _layer(p, s, a_BxH, key, dropout, cfg: NetConfig, train: bool, residual: bool):
    """One hidden layer: ``(output, new stats, [mean, std, inactive fraction] of it)``."""
    act = ACTIVATIONS[cfg.activation]
    z, s = _normalise(p, s, a_BxH @ p["w"] + p["b"], cfg, train)
    h = act.fn(z)
    if train:  # inverted dropout: E[h] is unchanged; rate 0 draws nothing
        h = jax.lax.cond(dropout > 0, partial(_dropout, key, dropout), lambda h: h, h)
    out = a_BxH + h / math.sqrt(cfg.depth) if residual else h
    inactive = jnp.mean(act.dfn(z) < INACTIVE * act.dmax)
    return out, s, jnp.stack([out.mean(), out.std(), inactive])


def forward(
    params: Params,
    x_BxD: jax.Array,
    cfg: NetConfig,
    stats: Params | None = None,
    *,
    train: bool = False,
    key: jax.Array | None = None,
    dropout: jax.Array | float = 0.0,
):
    """The network's outputs ``[B, d_out]``, its new batch-norm running statistics and each
    hidden layer's activation statistics ``[L, 3]`` (mean, std, fraction of inactive units).

    ``train``: batch norm uses (and updates the running averages with) the batch's statistics
    and dropout (rate ``dropout``, random ``key``) is applied; otherwise the running averages
    are used and nothing is dropped."""
    stats = stats if stats is not None else init_stats(cfg)
    key = key if key is not None else jax.random.key(0)
    bn = cfg.norm == "batch"
    pick = (lambda tree, name: tree[name]) if bn else (lambda tree, name: None)
    key0 = jax.random.fold_in(key, 0)
    a, s_first, rec_first = _layer(
        params["first"], pick(stats, "first"), x_BxD, key0, dropout, cfg, train, False
    )

    def body(a, xs):
        p, s, i = xs
        a, s, rec = _layer(p, s, a, jax.random.fold_in(key, i), dropout, cfg, train,
                           cfg.residual)  # fmt: skip
        return a, (s, rec)

    idx = jnp.arange(1, cfg.depth)
    a, (s_hidden, rec_hidden) = jax.lax.scan(
        body, a, (params["hidden"], pick(stats, "hidden"), idx)
    )
    out = a @ params["out"]["w"] + params["out"]["b"]
    new_stats = {"first": s_first, "hidden": s_hidden} if bn else {}
    return out, new_stats, jnp.concatenate([rec_first[None], rec_hidden])


def layer_norms(grads: Params) -> jax.Array:
    """The gradient's norm per layer ``[L + 1]``: hidden layers 1..L, then the output layer
    (every parameter of a layer together: weights, bias, and norm gains/shifts)."""

    def sq(tree, lead: bool):
        leaves = jax.tree.leaves(tree)
        if lead:
            return sum(jnp.sum(x**2, axis=tuple(range(1, x.ndim))) for x in leaves)
        return sum(jnp.sum(x**2) for x in leaves)

    parts = [
        sq(grads["first"], False)[None],
        sq(grads["hidden"], True),
        sq(grads["out"], False)[None],
    ]
    return jnp.sqrt(jnp.concatenate(parts))


def count_params(params: Params) -> int:
    return int(sum(np.size(x) for x in jax.tree.leaves(params)))
