"""Clipping and weight decay, and the step pipeline built from them: parity with optax, "inf means
off", traced arguments, frozen non-finite steps."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optlab.core import stepper
from optlab.core import transforms as T
from optlab.core.optimizers import OPTIMIZERS


def tree(scale: float = 1.0, seed: int = 0) -> dict:
    """A pytree with several leaves of different shapes (and a nested tuple)."""
    k = jax.random.split(jax.random.key(seed), 3)
    return {
        "w": scale * jax.random.normal(k[0], (3, 2)),
        "b": scale * jax.random.normal(k[1], (2,)),
        "inner": (scale * jax.random.normal(k[2], ()),),
    }


def assert_tree_close(a, b, rtol=1e-6, atol=1e-7):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=rtol, atol=atol)


def apply(tx, grads, params=None):
    return tx.update(grads, tx.init(params if params is not None else grads), params)[0]


def test_global_norm():
    g = tree(2.0)
    want = np.sqrt(sum(np.sum(np.asarray(x) ** 2) for x in jax.tree.leaves(g)))
    np.testing.assert_allclose(T.global_norm(g), want, rtol=1e-6)
    np.testing.assert_allclose(T.global_norm(g), optax.tree.norm(g), rtol=1e-6)
    assert T.global_norm({}) == 0.0


@pytest.mark.parametrize("max_norm", [1e-3, 0.5, 1.0, 3.0, 100.0])
@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0])
def test_clip_by_global_norm_matches_optax(max_norm, scale):
    g = tree(scale)
    want = apply(optax.clip_by_global_norm(max_norm), g)
    assert_tree_close(T.clip_by_global_norm(g, max_norm), want)
    assert float(T.global_norm(T.clip_by_global_norm(g, max_norm))) <= max_norm * (1 + 1e-6)


@pytest.mark.parametrize("max_abs", [1e-3, 0.5, 2.0, 100.0])
def test_clip_by_value_matches_optax(max_abs):
    g = tree(3.0)
    want = apply(optax.clip(max_abs), g)
    assert_tree_close(T.clip_by_value(g, max_abs), want, rtol=0, atol=0)


@pytest.mark.parametrize("wd", [0.0, 1e-4, 0.1, 2.0])
def test_add_decayed_weights_matches_optax(wd):
    g, p = tree(1.0, seed=1), tree(5.0, seed=2)
    want = apply(optax.add_decayed_weights(wd), g, p)
    assert_tree_close(T.add_l2(g, p, wd), want)


def test_decoupled_decay():
    u, p = tree(1.0, seed=3), tree(2.0, seed=4)
    want = jax.tree.map(lambda a, b: a - 0.1 * 0.01 * b, u, p)
    assert_tree_close(T.decoupled_decay(u, p, 0.1, 0.01), want)


def test_inf_is_identity():
    g = tree(1e3)
    g_inf = {**g, "b": jnp.array([jnp.inf, -1.0])}
    for grads in (g, g_inf):
        assert_tree_close(T.clip_by_global_norm(grads, jnp.inf), grads, rtol=0, atol=0)
        assert_tree_close(T.clip_by_value(grads, jnp.inf), grads, rtol=0, atol=0)
    assert_tree_close(T.add_l2(g, tree(2.0), 0.0), g, rtol=0, atol=0)


@pytest.mark.parametrize("max_norm", [0.0, 1.0, jnp.inf])
def test_zero_gradients_no_nan(max_norm):
    zeros = jax.tree.map(jnp.zeros_like, tree())
    out = T.clip_by_global_norm(zeros, max_norm)
    assert_tree_close(out, zeros, rtol=0, atol=0)
    # and differentiable there (no NaN from an unselected 0/0 branch)
    for loss in (
        lambda z: sum(jnp.sum(x) for x in jax.tree.leaves(T.clip_by_global_norm(z, max_norm))),
        lambda z: T.global_norm(T.clip_by_global_norm(z, max_norm)),
    ):
        grad = jax.grad(loss)(zeros)
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(grad))


def test_clip_gradient_is_finite_with_inf_max_norm():
    """jax.grad through the clip: the inf branch must not leak 0 * inf = NaN."""
    g = tree(2.0)
    for max_norm in (jnp.inf, 1.0):
        grad = jax.grad(lambda z, m=max_norm: jnp.sum(T.global_norm(T.clip_by_global_norm(z, m))))(
            g
        )
        assert all(bool(jnp.all(jnp.isfinite(x))) for x in jax.tree.leaves(grad))


def test_preserves_dtype():
    g = {"a": jnp.ones(3, jnp.bfloat16) * 10, "b": jnp.ones(2, jnp.float32)}
    for out in (T.clip_by_global_norm(g, 1.0), T.clip_by_value(g, 0.5)):
        assert jax.tree.map(lambda x: x.dtype, out) == jax.tree.map(lambda x: x.dtype, g)


def test_traced_max_norm_does_not_recompile(compile_counter):
    @jax.jit
    def step(grads, max_norm, max_abs, l2, params):
        g = T.clip_by_value(T.clip_by_global_norm(grads, max_norm), max_abs)
        return T.add_l2(g, params, l2)

    g, p = tree(4.0), tree(1.0, seed=5)
    step(g, 1.0, 1.0, 0.0, p)  # compile once
    before = compile_counter.count
    for i, m in enumerate([0.1, 0.5, 2.0, 1e3, jnp.inf]):
        out = step(g, m, jnp.inf if i % 2 else 0.3, 0.01 * i, p)
        want = T.add_l2(
            T.clip_by_value(T.clip_by_global_norm(g, m), 0.3 if i % 2 == 0 else jnp.inf),
            p,
            0.01 * i,
        )
        assert_tree_close(out, want, rtol=1e-5, atol=1e-6)
    assert compile_counter.count == before


def test_traced_max_norm_inside_scan():
    """Clipping as the engine uses it: inside lax.scan with the threshold as a traced array."""

    @jax.jit
    def run(max_norms):
        def body(x, m):
            g = jax.grad(lambda z: 10.0 * jnp.sum(z**2))(x)
            x = x - 0.01 * T.clip_by_global_norm(g, m)
            return x, x

        return jax.lax.scan(body, jnp.array([3.0, -4.0]), max_norms)[1]

    free = run(jnp.full(5, jnp.inf))
    clipped = run(jnp.full(5, 1.0))
    np.testing.assert_allclose(np.linalg.norm(np.diff(clipped, axis=0), axis=1), 0.01, rtol=1e-5)
    assert not np.allclose(free, clipped)


def loss(p):
    """A badly scaled quadratic with big gradients (so clipping triggers)."""
    return sum(jnp.sum((k + 1.0) * 50.0 * x**2) for k, x in enumerate(jax.tree.leaves(p)))


def pipeline_steps(optimizer, lr, tp, params, n=15):
    """n steps through the lab's step pipeline (``stepper.condition`` then ``advance``)."""
    tp = {"clip_value": jnp.inf, "clip_norm": jnp.inf, "l2": 0.0, "weight_decay": 0.0, **tp}
    state, alive, history = optimizer.init(params), jnp.bool_(True), []
    for _ in range(n):
        g, _, _ = stepper.condition(jax.grad(loss)(params), params, tp)
        params, state, alive = stepper.advance(
            optimizer.update, g, state, params, lr, tp["weight_decay"], alive, loss(params)
        )
        history.append(params)
    return history


def optax_steps(tx, params, n=15):
    state, history = tx.init(params), []
    for _ in range(n):
        updates, state = tx.update(jax.grad(loss)(params), state, params)
        params = optax.apply_updates(params, updates)
        history.append(params)
    return history


@pytest.mark.parametrize(
    ("name", "ours", "theirs"),
    [
        ("clip + gd", ("gd", {"learning_rate": 0.1}, {"clip_norm": 1.0}),
         lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.sgd(0.1))),
        ("clip + momentum", ("momentum", {"learning_rate": 0.05, "beta": 0.9}, {"clip_norm": 2.0}),
         lambda: optax.chain(optax.clip_by_global_norm(2.0), optax.sgd(0.05, momentum=0.9))),
        ("clip + adam", ("adam", {"learning_rate": 0.05}, {"clip_norm": 1.0}),
         lambda: optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.05))),
        ("value clip + L2 + gd", ("gd", {"learning_rate": 0.1}, {"clip_value": 0.5, "l2": 0.1}),
         lambda: optax.chain(optax.clip(0.5), optax.add_decayed_weights(0.1), optax.sgd(0.1))),
        ("value clip, norm clip, L2", ("gd", {"learning_rate": 0.1},
                                       {"clip_value": 0.5, "clip_norm": 0.3, "l2": 0.1}),
         lambda: optax.chain(optax.clip(0.5), optax.clip_by_global_norm(0.3),
                             optax.add_decayed_weights(0.1), optax.sgd(0.1))),
        ("adam + decoupled decay (AdamW)",
         ("adam", {"learning_rate": 0.05}, {"weight_decay": 0.01}),
         lambda: optax.adamw(0.05, weight_decay=0.01)),
    ],
)  # fmt: skip
def test_the_step_pipeline_matches_optax_chains(name, ours, theirs):
    opt, hp, tp = ours
    params = tree(1.0, seed=7)
    got = pipeline_steps(OPTIMIZERS[opt].make(**hp), hp["learning_rate"], tp, params)
    want = optax_steps(theirs(), params)
    for a, b in zip(got, want, strict=True):
        assert_tree_close(a, b, rtol=2e-5, atol=1e-6)


def test_a_non_finite_step_is_not_applied_and_the_run_stays_frozen():
    params = {"w": jnp.array([1.0, 2.0])}
    gd = OPTIMIZERS["gd"].make(learning_rate=0.1)
    state = gd.init(params)
    g = {"w": jnp.array([jnp.nan, 1.0])}
    p1, s1, ok = stepper.advance(gd.update, g, state, params, 0.1, 0.0, jnp.bool_(True), 1.0)
    assert not bool(ok)
    assert_tree_close(p1, params, rtol=0, atol=0)
    g = {"w": jnp.array([1.0, 1.0])}  # finite again, but the run has died
    p2, _, ok = stepper.advance(gd.update, g, s1, p1, 0.1, 0.0, ok, 1.0)
    assert not bool(ok)
    assert_tree_close(p2, params, rtol=0, atol=0)
    _, _, ok = stepper.advance(gd.update, g, s1, p1, 0.1, 0.0, jnp.bool_(True), jnp.inf)
    assert not bool(ok)  # an infinite loss is a diverged step too
