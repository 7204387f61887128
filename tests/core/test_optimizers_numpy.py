"""Optimizers against hand-derived NumPy references where optax has no equivalent (Adam without
bias correction, AdaGrad from a zero accumulator, the saddle-free Newton step); the problems
and the trajectory helper come from ``test_optimizers``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from optlab.core.optimizers import OPTIMIZERS
from tests.core.test_optimizers import N_STEPS, ROSEN_START, _as_arrays, _random_problem, run_ours

# ---------------------------------------------------------------------------------------------
# (2) Hand-derived references (numpy, float64) where optax has nothing or differs.


def _np_leaves(p0, grads):
    """Leaves in a fixed order, as float64 numpy arrays."""
    keys = sorted(p0)
    return keys, [np.asarray(p0[k], np.float64) for k in keys], [grads[k] for k in keys]


def test_adam_without_bias_correction_matches_numpy():
    lr, b1, b2, eps = 1e-2, 0.8, 0.95, 1e-8
    p0, grads = _random_problem()
    hp = {"learning_rate": lr, "b1": b1, "b2": b2, "eps": eps, "bias_correction": 0.0}
    ours, _ = run_ours("adam", "random", _as_arrays(hp), p0, grads=grads)

    keys, params, gseq = _np_leaves(p0, grads)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    for t in range(N_STEPS):
        for i, gs in enumerate(gseq):
            g = np.float64(gs[t])
            m[i] = b1 * m[i] + (1 - b1) * g
            v[i] = b2 * v[i] + (1 - b2) * g * g
            params[i] = params[i] - lr * m[i] / (np.sqrt(v[i]) + eps)
        # the first step is tiny: (1 - b1) g / (sqrt(1 - b2) |g|), not ±lr as with correction
    for k, p in zip(keys, params, strict=True):
        np.testing.assert_allclose(ours[k][-1], p, rtol=1e-5, atol=1e-6)


def test_adagrad_zero_accumulator_matches_numpy():
    lr, eps = 0.1, 1e-7
    p0, grads = _random_problem()
    hp = {"learning_rate": lr, "initial_accumulator_value": 0.0, "eps": eps}
    ours, _ = run_ours("adagrad", "random", _as_arrays(hp), p0, grads=grads)

    keys, params, gseq = _np_leaves(p0, grads)
    acc = [np.zeros_like(p) for p in params]
    for t in range(N_STEPS):
        for i, gs in enumerate(gseq):
            g = np.float64(gs[t])
            acc[i] += g * g
            scale = np.where(acc[i] > 0, 1.0 / np.sqrt(acc[i] + eps), 0.0)
            params[i] = params[i] - lr * scale * g
    for k, p in zip(keys, params, strict=True):
        np.testing.assert_allclose(ours[k][-1], p, rtol=1e-5, atol=1e-6)
    # the zero-gradient coordinate stayed put for its first 5 steps
    np.testing.assert_array_equal(ours["b"][:5, 0], p0["b"][0])


def _np_saddle_free_step(g, h, lr, damping):
    lam, q = np.linalg.eigh(h)
    return -lr * q @ ((q.T @ g) / (np.abs(lam) + damping))


def test_newton_matches_numpy_on_rosenbrock():
    lr, damping = 0.5, 1e-2
    hp = _as_arrays({"learning_rate": lr, "damping": damping})
    ours, _ = run_ours("newton", "rosenbrock", hp, jnp.asarray(ROSEN_START, jnp.float32))

    x = np.array(ROSEN_START, np.float64)
    ref = []
    for _ in range(N_STEPS):
        a, b = x
        g = np.array([-2 * (1 - a) - 400 * a * (b - a * a), 200 * (b - a * a)])
        h = np.array([[2 - 400 * b + 1200 * a * a, -400 * a], [-400 * a, 200.0]])
        x = x + _np_saddle_free_step(g, h, lr, damping)
        ref.append(x)
    np.testing.assert_allclose(ours, np.array(ref), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours[-1], [1.0, 1.0], atol=1e-4)


def test_newton_on_a_pytree_with_indefinite_hessian():
    """Flattening follows ravel_pytree ("b" before "w"); a saddle is escaped, not sought."""

    def loss(p):
        w, b = p["w"], p["b"]
        return 0.5 * w[0] ** 2 - 0.5 * w[1] ** 2 + b**2 + 0.5 * w[0] * b

    params = {"w": jnp.array([0.5, 0.1], jnp.float32), "b": jnp.array(0.3, jnp.float32)}
    opt = OPTIMIZERS["newton"].make(learning_rate=1.0, damping=0.1)

    @jax.jit
    def one_step(params):
        flat, unravel = ravel_pytree(params)
        hessian = jax.hessian(lambda f: loss(unravel(f)))(flat)
        return opt.update(jax.grad(loss)(params), opt.init(params), params, hessian=hessian)[0]

    updates = one_step(params)

    # by hand, flat order [b, w0, w1]
    b, w0, w1 = 0.3, 0.5, 0.1
    g = np.array([2 * b + 0.5 * w0, w0 + 0.5 * b, -w1])
    h = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, -1.0]])
    step = _np_saddle_free_step(g, h, 1.0, 0.1)
    np.testing.assert_allclose(updates["b"], step[0], rtol=1e-5)
    np.testing.assert_allclose(updates["w"], step[1:], rtol=1e-5)
    assert updates["w"][1] > 0  # moved away from the saddle along w1 (plain Newton goes to 0)
    new = jax.tree.map(jnp.add, params, updates)
    assert loss(new) < loss(params)
