"""Data-driven losses: values, optima, mini-batch sampling, and the engine on them."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from optlab.core.engine import OptimizerRun, Settings, run, sweep
from surfaces.custom import custom_surface
from surfaces.data import DATA_LOSSES, LINREG, LOGREG


def numpy_loss(name, wb, x, y):
    z = wb[0] * x + wb[1]
    if name == "linreg":
        return float(np.mean(0.5 * (z - y) ** 2))
    return float(np.mean(np.log1p(np.exp(z)) - y * z))


@pytest.mark.parametrize("name", list(DATA_LOSSES))
def test_full_loss_matches_numpy(name):
    problem = DATA_LOSSES[name]
    controls = {"n_points": 137, "noise": 0.3, "data_seed": 4}
    d = problem.data(**controls)
    theta = problem.theta(**controls)
    for wb in ([0.0, 0.0], [0.5, -1.0], [-0.2, 2.0]):
        got = float(problem.loss(jnp.asarray(wb, jnp.float32), theta))
        assert got == pytest.approx(numpy_loss(name, wb, d["x"], d["y"]), rel=1e-4)


def test_linear_regression_optimum_is_least_squares():
    d = LINREG.data(n_points=300)
    design = np.stack([d["x"], np.ones_like(d["x"])], 1)
    expected = np.linalg.solve(design.T @ design, design.T @ d["y"])
    np.testing.assert_allclose(LINREG.optimum(n_points=300), expected, rtol=1e-8)


def test_logistic_optimum_has_zero_gradient():
    theta = LOGREG.theta(n_points=400)
    wb = jnp.asarray(LOGREG.optimum(n_points=400), jnp.float32)
    assert float(jnp.linalg.norm(jax.grad(LOGREG.loss)(wb, theta))) < 1e-4


def test_standardizing_improves_conditioning():
    def condition(standardize):
        theta = LINREG.theta(standardize=standardize, offset=5.0, scale=3.0)
        h = np.asarray(jax.hessian(LINREG.loss)(jnp.zeros(2), theta))
        eig = np.linalg.eigvalsh(h)
        return eig.max() / eig.min()

    assert condition(0.0) > 50 * condition(1.0)
    assert condition(1.0) < 1.5


@pytest.mark.parametrize(("n", "batch"), [(23, 5), (40, 8), (17, 17), (30, 1)])
def test_each_epoch_visits_every_point_once(n, batch):
    """Collect the gathered indices of one epoch's steps: a permutation of 0..n-1."""
    theta = LINREG.theta(n_points=n, batch_size=batch)
    bits = jax.random.bits(jax.random.key(3), (200, 2), jnp.uint32)
    per_epoch = -(-n // batch)
    orders = []
    for epoch in range(3):
        seen = []
        for s in range(per_epoch):
            a, c, first = LINREG.batch_positions(theta, epoch * per_epoch + s, bits)
            k = np.arange(int(first), min(int(first) + batch, n))
            seen.extend(((int(a) * k + int(c)) % n).tolist())
        assert sorted(seen) == list(range(n))
        orders.append(seen)
    if n > 2 and batch < n:
        assert orders[0] != orders[1] or orders[1] != orders[2]


@pytest.mark.parametrize("n", [10, 249, 250, 1000, 2000])
def test_batched_losses_equal_the_full_loss(n):
    """``losses`` (chunks up to n) agrees with the plain masked full loss at many points."""
    theta = LOGREG.theta(n_points=n)
    wb_k = jax.random.normal(jax.random.key(n), (7, 2), jnp.float32)
    expected = jax.vmap(LOGREG.loss, in_axes=(0, None))(wb_k, theta)
    np.testing.assert_allclose(jax.jit(LOGREG.losses)(wb_k, theta), expected, rtol=2e-5)


# jitted once: the data set and the batch size are traced, so every case shares the compile
SAMPLE_LOSS = jax.jit(LOGREG.sample_loss)
SAMPLE_VALUE_AND_GRAD = jax.jit(LOGREG.sample_value_and_grad)


@pytest.mark.parametrize("batch", [5, 16, 50, 300, 999, 1000, 5000])
def test_minibatch_loss_and_gradient_match_a_numpy_reference(batch):
    """Every sampler branch (gathers of 16 and 128, the masked pass, the full data set) gives
    the mean loss and gradient over exactly the points the epoch's affine order names."""
    n = 1000
    theta = LOGREG.theta(n_points=n, batch_size=batch)
    data = LOGREG.data(n_points=n, batch_size=batch)
    bits = jax.random.bits(jax.random.key(5), (50, 2), jnp.uint32)
    wb = np.array([0.4, -0.3])
    for step in (0, 1, 3, 7):  # 300: step 3 is an epoch's short last batch (100 points)
        a, c, first = (int(v) for v in LOGREG.batch_positions(theta, step, bits))
        idx = (a * np.arange(first, min(first + batch, n)) + c) % n
        x, y = data["x"][idx], data["y"][idx]
        z = wb[0] * x + wb[1]
        residual = 1 / (1 + np.exp(-z)) - y
        loss = np.mean(np.logaddexp(0, z) - y * z)
        wb32 = jnp.asarray(wb, jnp.float32)
        value, grad = SAMPLE_VALUE_AND_GRAD(wb32, theta, step, bits)
        assert float(value) == pytest.approx(loss, rel=1e-4)
        assert float(SAMPLE_LOSS(wb32, theta, step, bits)) == pytest.approx(loss, rel=1e-4)
        expected = [np.mean(residual * x), np.mean(residual)]
        np.testing.assert_allclose(grad, expected, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("batch", [4, 16, 100])
def test_epoch_average_of_minibatch_gradients_is_the_full_gradient(batch):
    """Sampling without replacement: an epoch's mini-batch gradients average to the full one
    (exactly, when the batch size divides n)."""
    n = 400
    theta = LOGREG.theta(n_points=n, batch_size=batch)
    bits = jax.random.bits(jax.random.key(0), (n, 2), jnp.uint32)
    wb = jnp.asarray([0.3, -0.7], jnp.float32)
    per_step = jax.jit(jax.vmap(jax.grad(LOGREG.sample_loss), in_axes=(None, None, 0, None)))
    grads = per_step(wb, theta, jnp.arange(n // batch), bits)
    full = jax.grad(LOGREG.loss)(wb, theta)
    np.testing.assert_allclose(np.mean(grads, axis=0), full, rtol=1e-4, atol=1e-6)


def test_full_batch_is_batch_gradient_descent():
    controls = {"n_points": 150, "batch_size": 150}
    (t,) = run(
        LINREG,
        [OptimizerRun("gd", {"learning_rate": 0.01})],
        (0.0, 0.0),
        Settings(steps=50),
        theta=controls,
    )
    np.testing.assert_allclose(t.sample_loss, t.loss[:-1], rtol=1e-5)


def test_minibatch_loss_is_noisy_and_full_loss_recorded():
    controls = {"n_points": 300, "batch_size": 2, "standardize": 1.0}
    (t,) = run(
        LINREG,
        [OptimizerRun("gd", {"learning_rate": 0.05})],
        (3.0, 3.0),
        Settings(steps=200),
        theta=controls,
    )
    assert not np.allclose(t.sample_loss, t.loss[:-1])
    theta = LINREG.theta(**controls)
    for i in (0, 50, 200):
        assert t.loss[i] == pytest.approx(
            float(LINREG.loss(jnp.asarray(t.params[i]), theta)), rel=1e-4
        )


def test_noise_ball_shrinks_with_batch_size():
    """Across seeds, SGD's spread around the optimum shrinks as the batch grows."""

    def spread(batch):
        controls = {"n_points": 500, "batch_size": batch, "standardize": 1.0}
        (res,) = sweep(
            LINREG,
            [OptimizerRun("gd", {"learning_rate": 0.1})],
            {},
            [(0.0, 0.0)],
            Settings(steps=300),
            seeds=range(16),
            theta=controls,
        )
        return float(np.mean(np.std(res.params[:, -50:], axis=0)))

    assert spread(1) > 3 * spread(64)


def test_no_recompile_when_data_controls_change(compile_counter):
    """Eight settings of the data controls after eight others: zero backend compiles (the
    first eight warm up the eager ops each fresh data set evaluates once per shape)."""
    runs = [OptimizerRun("gd"), OptimizerRun("adam")]

    def data_moves(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(8):
            controls = {
                "n_points": int(rng.integers(10, 2000)),
                "batch_size": int(rng.integers(1, 2000)),
                "noise": float(rng.uniform(0, 2)),
                "standardize": float(rng.integers(0, 2)),
                "data_seed": int(rng.integers(0, 100)),
            }
            steps = int(rng.integers(51, 100))
            run(LOGREG, runs, (0.0, 0.0), Settings(steps=steps), theta=controls)

    data_moves(seed=0)
    warm = compile_counter.count
    data_moves(seed=1)
    assert compile_counter.count == warm


def test_seed_count_up_to_the_cap_does_not_recompile(compile_counter):
    def go(k):
        return sweep(
            LINREG,
            ["gd"],
            {},
            [(0.0, 0.0)],
            Settings(steps=30),
            seeds=range(k),
            theta={"batch_size": 4},
            pad_to=16,
        )

    go(16)
    warm = compile_counter.count
    for k in (1, 5, 9, 16):
        (res,) = go(k)
        assert res.params.shape == (k, 31, 2)
    assert compile_counter.count == warm


def test_data_view_is_a_plottable_surface():
    view = LINREG.view(n_points=100)
    (x0, x1), (y0, y1) = view.bounds
    m = view.minima[0]
    assert x0 < m.x < x1
    assert y0 < m.y < y1
    _, _, z = view.grid(20)
    assert z.shape == (20, 20)
    assert float(jnp.min(z)) >= m.value - 1e-4


def test_custom_surface_is_cached_and_runs():
    a = custom_surface("x**2 + 3*y**2")
    assert custom_surface("x**2 + 3*y**2") is a
    (t,) = run(a, [OptimizerRun("gd", {"learning_rate": 0.1})], (2.0, 1.0), Settings(steps=100))
    assert t.loss[-1] < 1e-6
    known = custom_surface("(x-1)**2 + (y+2)**2", minima=((1.0, -2.0),))
    assert known.minima[0].value == pytest.approx(0.0)
