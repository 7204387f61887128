"""The MLP against a float64 NumPy reference: its forward pass (no norm, layer norm, batch norm
in training and evaluation, residuals), its per-layer gradient norms against central finite
differences of that reference, and the init schemes' variances against their formulas."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab.nets import mlp

ACT_NP = {"tanh": np.tanh, "relu": lambda z: np.maximum(z, 0.0),
          "sigmoid": lambda z: 1 / (1 + np.exp(-z))}  # fmt: skip


def np_params(params) -> dict:
    return jax.tree.map(lambda a: np.asarray(a, np.float64), params)


def np_layers(p: dict, cfg: mlp.NetConfig):
    """``(layer params, batch-norm stats)`` per hidden layer, first to last."""
    out = [p["first"]]
    for i in range(cfg.depth - 1):
        out.append({k: v[i] for k, v in p["hidden"].items()})
    return out


def np_forward(p, x, cfg: mlp.NetConfig, stats=None, train=False):
    """The network in float64 NumPy, written from the module docstring; returns the outputs
    and each layer's batch statistics ``(mean, var)`` (batch norm in training)."""
    a, seen = np.asarray(x, np.float64), []
    layer_stats = None
    if stats is not None:
        layer_stats = [stats["first"]] + [
            {k: v[i] for k, v in stats["hidden"].items()} for i in range(cfg.depth - 1)
        ]
    for i, layer in enumerate(np_layers(p, cfg)):
        z = a @ layer["w"] + layer["b"]
        if cfg.norm == "layer":
            mu, var = z.mean(axis=1, keepdims=True), z.var(axis=1, keepdims=True)
        elif cfg.norm == "batch":
            if train:
                mu, var = z.mean(axis=0), z.var(axis=0)
                seen.append((mu, var))
            else:
                mu, var = layer_stats[i]["mean"], layer_stats[i]["var"]
        if cfg.norm != "none":
            z = layer["g"] * (z - mu) / np.sqrt(var + mlp.NORM_EPS) + layer["beta"]
        h = ACT_NP[cfg.activation](z)
        a = a + h / math.sqrt(cfg.depth) if cfg.residual and i > 0 else h
    return a @ p["out"]["w"] + p["out"]["b"], seen


def random_params(cfg, seed=0, init="xavier"):
    params = mlp.init_params(jax.random.key(seed), cfg, init)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed + 100), len(leaves))
    # Non-trivial gains, shifts and biases, so the test sees every parameter at work.
    leaves = [x + 0.3 * jax.random.normal(k, x.shape) for x, k in zip(leaves, keys, strict=True)]
    return jax.tree.unflatten(tree, leaves)


X = np.random.default_rng(0).normal(size=(7, 3)).astype(np.float32)
Y = np.random.default_rng(1).normal(size=7).astype(np.float32)
CONFIGS = [
    mlp.NetConfig(d_in=3, width=5, depth=3, activation="tanh"),
    mlp.NetConfig(d_in=3, width=5, depth=4, activation="sigmoid", residual=True),
    mlp.NetConfig(d_in=3, width=5, depth=3, activation="tanh", norm="layer"),
    mlp.NetConfig(d_in=3, width=5, depth=3, activation="tanh", norm="batch", residual=True),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.activation}-{c.norm}-res{c.residual:d}")
def test_forward_matches_numpy(cfg):
    params = random_params(cfg)
    out, _, _ = mlp.forward(params, X, cfg, mlp.init_stats(cfg), train=True)
    ref, _ = np_forward(np_params(params), X, cfg, train=True)
    np.testing.assert_allclose(np.asarray(out), ref, rtol=1e-4, atol=1e-5)


def test_batch_norm_train_and_eval_statistics():
    cfg = CONFIGS[3]
    params = random_params(cfg)
    stats0 = mlp.init_stats(cfg)
    out_train, stats1, _ = mlp.forward(params, X, cfg, stats0, train=True)
    ref_train, batch_stats = np_forward(np_params(params), X, cfg, train=True)
    np.testing.assert_allclose(np.asarray(out_train), ref_train, rtol=1e-4, atol=1e-5)
    # Running averages: m * running + (1 - m) * this batch's statistics, per layer.
    m = mlp.BN_MOMENTUM
    got = [stats1["first"]] + [{k: v[i] for k, v in stats1["hidden"].items()}
                               for i in range(cfg.depth - 1)]  # fmt: skip
    for layer, (mu, var) in zip(got, batch_stats, strict=True):
        np.testing.assert_allclose(layer["mean"], (1 - m) * mu, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(layer["var"], m + (1 - m) * var, rtol=1e-4, atol=1e-6)
    # Evaluation uses the running statistics, not the batch's: one example alone gives the
    # same output as inside any batch.
    out_eval, stats2, _ = mlp.forward(params, X, cfg, stats1, train=False)
    ref_eval, _ = np_forward(np_params(params), X, cfg, np_params(stats1), train=False)
    np.testing.assert_allclose(np.asarray(out_eval), ref_eval, rtol=1e-4, atol=1e-5)
    alone, _, _ = mlp.forward(params, X[:1], cfg, stats1, train=False)
    np.testing.assert_allclose(np.asarray(alone), np.asarray(out_eval[:1]), rtol=1e-5)
    assert not np.allclose(np.asarray(out_eval), np.asarray(out_train), atol=1e-3)
    assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.all(a == b)), stats2, stats1))


def _loss(params, cfg):
    out, _, _ = mlp.forward(params, X, cfg, mlp.init_stats(cfg), train=True)
    return jnp.mean((out[:, 0] - Y) ** 2)


@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: f"{c.activation}-{c.norm}-res{c.residual:d}")
def test_layer_gradient_norms_match_finite_differences(cfg):
    params = random_params(cfg, seed=3)
    got = np.asarray(mlp.layer_norms(jax.grad(_loss)(params, cfg)))
    p64 = np_params(params)

    def loss64(p):
        out, _ = np_forward(p, X, cfg, train=True)
        return float(np.mean((out[:, 0] - Y) ** 2))

    eps = 1e-6
    sq = np.zeros(cfg.depth + 1)
    for group in ("first", "hidden", "out"):
        for name, arr in p64[group].items():
            for idx in np.ndindex(arr.shape):
                hi, lo = arr.copy(), arr.copy()
                hi[idx] += eps
                lo[idx] -= eps
                d = (loss64({**p64, group: {**p64[group], name: hi}})
                     - loss64({**p64, group: {**p64[group], name: lo}})) / (2 * eps)  # fmt: skip
                layer = {"first": 0, "out": cfg.depth}.get(group, idx[0] + 1 if idx else 0)
                sq[layer] += d * d
    np.testing.assert_allclose(got, np.sqrt(sq), rtol=2e-3)


@pytest.mark.parametrize("scheme", list(mlp.INITS))
def test_init_variances_follow_their_formulas(scheme):
    cfg = mlp.NetConfig(d_in=300, width=400, depth=3, d_out=50)
    p = mlp.init_params(jax.random.key(7), cfg, scheme)
    spec = mlp.INITS[scheme]
    for w, (fan_in, fan_out) in ((p["first"]["w"], (300, 400)), (p["hidden"]["w"], (400, 400)),
                                 (p["out"]["w"], (400, 50))):  # fmt: skip
        var = float(np.var(np.asarray(w, np.float64)))
        assert var == pytest.approx(spec.variance(fan_in, fan_out), rel=0.03)
        assert abs(float(np.mean(np.asarray(w)))) < 0.05 * math.sqrt(var)
    assert float(np.abs(np.asarray(p["hidden"]["b"])).max()) == 0.0


def test_he_keeps_the_relu_signal_level_and_xavier_halves_its_variance():
    cfg = mlp.NetConfig(d_in=2, width=256, depth=12, activation="relu")
    x = np.random.default_rng(2).normal(size=(256, 2)).astype(np.float32)
    stats = {}
    for scheme in ("he", "xavier"):
        _, _, act = mlp.forward(mlp.init_params(jax.random.key(0), cfg, scheme), x, cfg)
        a = np.asarray(act)
        stats[scheme] = a[-1, 1] / a[1, 1]  # std after 11 more layers
    assert 0.5 < stats["he"] < 2.0
    assert stats["xavier"] == pytest.approx(0.5 ** (10 / 2), rel=0.5)  # variance × ½ per layer


@pytest.mark.parametrize("name", list(mlp.ACTIVATIONS))
def test_activation_derivatives_match_jax_grad(name):
    act = mlp.ACTIVATIONS[name]
    z = jnp.linspace(-4.0, 4.0, 81) + 0.013  # off the ReLU kink
    np.testing.assert_allclose(act.dfn(z), jax.vmap(jax.grad(act.fn))(z), rtol=1e-5, atol=1e-6)
    assert float(jnp.max(act.dfn(jnp.linspace(-6, 6, 2001)))) <= act.dmax * 1.001


def test_dropout_is_off_in_evaluation_and_keeps_the_mean_in_training():
    cfg = mlp.NetConfig(d_in=3, width=512, depth=2, activation="relu")
    params = mlp.init_params(jax.random.key(0), cfg, "he")
    x = np.random.default_rng(3).normal(size=(64, 3)).astype(np.float32)
    plain, _, act_plain = mlp.forward(params, x, cfg, train=True, dropout=0.0)
    dropped, _, act_drop = mlp.forward(params, x, cfg, train=True, key=jax.random.key(1),
                                       dropout=0.5)  # fmt: skip
    evaluated, _, _ = mlp.forward(params, x, cfg, train=False, dropout=0.5)
    np.testing.assert_allclose(np.asarray(evaluated), np.asarray(plain), rtol=1e-6)
    assert not np.allclose(np.asarray(dropped), np.asarray(plain))
    assert float(act_drop[0, 0]) == pytest.approx(float(act_plain[0, 0]), rel=0.1)
