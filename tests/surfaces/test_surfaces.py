"""Every registered surface: published minima, gradients, an independent NumPy reference, the
grid, jit without recompiles, metadata, and the learning-rate hint.

Exact checks run in float64 (``jax.enable_x64`` inside the test only); the app runs in float32,
which gets float32 tolerances. Adding a surface to ``SURFACES`` is enough for it to be tested here;
``test_matches_numpy_reference`` then asks for a reference formula typed into ``REFERENCE``
(``tests/support/surface_references.py``).
"""

from __future__ import annotations

import functools
import math
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from surfaces import SURFACES, Point, Surface
from tests.support.surface_references import LITERATURE, REFERENCE, REQUIRED

ALL = pytest.mark.parametrize("surface", list(SURFACES.values()), ids=list(SURFACES))

# ---------------------------------------------------------------------------------------------
# Helpers. Float64 runs only inside ``jax.enable_x64(True)``. Each surface's functions are
# jitted once and fed fixed shapes, so the whole file costs a handful of compiles per surface.

PAD = 256  # every batch of points is padded to this many rows: one shape, one compile
GRID = 241  # the float64 grid for the global-minimum checks


def _random_points(surface: Surface, n: int, salt: str = "") -> tuple[np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = surface.bounds
    rng = np.random.default_rng(zlib.crc32((surface.name + salt).encode()))
    return rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)


def _theta_np(surface: Surface, **overrides: float) -> dict[str, float]:
    return {p.name: p.default for p in surface.params} | overrides


def _param_variants(surface: Surface) -> list[dict[str, float]]:
    """Defaults, then every parameter at its low and at its high end."""
    out: list[dict[str, float]] = [{}]
    for p in surface.params:
        out += [{p.name: p.low}, {p.name: p.high}]
    return out


@functools.cache
def _jitted(surface: Surface):
    """``(xy[n, 2], theta) -> (f, grad, hessian)`` per point, and the plain ``fn``, jitted."""

    def derivs(v, theta):
        f = lambda v: surface.fn(v[0], v[1], theta)  # noqa: E731
        return f(v), jax.grad(f)(v), jax.hessian(f)(v)

    return jax.jit(jax.vmap(derivs, in_axes=(0, None))), jax.jit(surface.fn)


def _at(surface: Surface, x, y, *, x64: bool = True, **overrides: float):
    """``f[n]``, ``grad[n, 2]``, ``hessian[n, 2, 2]`` at ``(x[i], y[i])`` (numpy arrays)."""
    xy = np.stack([np.asarray(x, np.float64), np.asarray(y, np.float64)], axis=-1)
    n = len(xy)
    assert n <= PAD
    xy = np.concatenate([xy, np.zeros((PAD - n, 2))])
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        theta = {k: jnp.asarray(v, dtype) for k, v in _theta_np(surface, **overrides).items()}
        out = _jitted(surface)[0](jnp.asarray(xy, dtype), theta)
        return tuple(np.asarray(a)[:n] for a in out)


@functools.cache
def _grid64(surface: Surface) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (x0, x1), (y0, y1) = surface.bounds
    x, y = np.meshgrid(np.linspace(x0, x1, GRID), np.linspace(y0, y1, GRID))
    with jax.enable_x64(True):
        theta = {k: jnp.float64(v) for k, v in _theta_np(surface).items()}
        return x, y, np.asarray(_jitted(surface)[1](jnp.asarray(x), jnp.asarray(y), theta))


def _landmarks(surface: Surface) -> list[tuple[str, Point]]:
    kinds = ("minima", "local_minima", "saddles", "local_maxima")
    return [(kind, pt) for kind in kinds for pt in getattr(surface, kind)]


def _f_min(surface: Surface) -> float:
    return min(m.value for m in surface.minima)


def _inside(surface: Surface, x: float, y: float) -> bool:
    (x0, x1), (y0, y1) = surface.bounds
    return x0 <= x <= x1 and y0 <= y <= y1


def _reference(surface: Surface):
    ref = REFERENCE.get(surface.name)
    assert ref is not None, f"type a NumPy reference for {surface.name!r} into REFERENCE"
    return ref


# ---------------------------------------------------------------------------------------------
# The registry and the metadata.


def test_registry_has_the_teaching_set():
    assert len(SURFACES) >= 15
    assert set(SURFACES) >= REQUIRED
    assert all(key == s.name for key, s in SURFACES.items())
    displays = [s.display for s in SURFACES.values()]
    assert len(set(displays)) == len(displays)


@ALL
def test_metadata(surface: Surface):
    for text in (surface.latex, surface.display, surface.description):
        assert text.strip()
    (x0, x1), (y0, y1) = surface.bounds
    assert x0 < x1
    assert y0 < y1
    assert surface.minima, "every surface needs its global minima"
    assert 2 <= len(surface.starts) <= 4
    assert surface.lr_hint > 0
    for p in surface.params:
        assert p.low <= p.default <= p.high
    for kind, pt in _landmarks(surface):
        assert _inside(surface, pt.x, pt.y), f"{kind} {pt} outside {surface.bounds}"
        assert pt.value is not None, f"{kind} {pt} has no value"
        assert math.isfinite(pt.value)
    diag = math.hypot(x1 - x0, y1 - y0)
    _, grads, _ = _at(surface, [s.x for s in surface.starts], [s.y for s in surface.starts])
    for start, g in zip(surface.starts, grads, strict=True):
        assert _inside(surface, start.x, start.y), f"start {start} outside {surface.bounds}"
        for _, m in _landmarks(surface):
            assert math.hypot(start.x - m.x, start.y - m.y) > 1e-3 * diag, f"start {start} at {m}"
        assert np.linalg.norm(g) > 1e-6, f"start {start} is stationary"


# ---------------------------------------------------------------------------------------------
# Minima, saddles, maxima.


@ALL
def test_landmark_values(surface: Surface):
    """f at each listed point equals its listed value: tightly in float64, loosely in float32."""
    marks = _landmarks(surface)
    xs, ys = np.array([m.x for _, m in marks]), np.array([m.y for _, m in marks])
    values = np.array([m.value for _, m in marks])
    np.testing.assert_allclose(_at(surface, xs, ys)[0], values, rtol=1e-12, atol=1e-12)
    f32 = _at(surface, xs, ys, x64=False)[0]
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, values, rtol=1e-5, atol=2e-5)
    np.testing.assert_allclose([m.value for m in surface.minima], _f_min(surface), atol=1e-12)


@ALL
def test_landmarks_are_stationary_with_the_right_curvature(surface: Surface):
    marks = _landmarks(surface)
    _, grads, hessians = _at(surface, [m.x for _, m in marks], [m.y for _, m in marks])
    for (kind, pt), g, h in zip(marks, grads, hessians, strict=True):
        eig = np.linalg.eigvalsh(h)
        size = np.abs(eig).max()
        assert np.linalg.norm(g) <= 1e-9 * (1.0 + size), f"{kind} {pt}: gradient {g}"
        if kind in ("minima", "local_minima"):
            assert eig.min() >= -1e-9 * size, f"{kind} {pt}: Hessian eigenvalues {eig}"
        elif kind == "saddles":
            assert eig.min() < -1e-6 * size < 1e-6 * size < eig.max(), f"{pt}: {eig}"
        else:
            assert eig.max() <= 1e-9 * size, f"{kind} {pt}: Hessian eigenvalues {eig}"


@ALL
def test_listed_points_match_the_literature(surface: Surface):
    published = LITERATURE.get(surface.name)
    assert published is not None, f"add the published minima of {surface.name!r} to LITERATURE"
    assert len(published["minima"]) == len(surface.minima)
    for kind, entries in published.items():
        listed = getattr(surface, kind)
        for x, y, f, tol_xy, tol_f in entries:
            near = [m for m in listed if abs(m.x - x) <= tol_xy and abs(m.y - y) <= tol_xy]
            assert len(near) == 1, f"published {kind} ({x}, {y}) not listed once in {listed}"
            assert abs(near[0].value - f) <= tol_f, f"{near[0]} vs published f = {f}"


@ALL
def test_no_grid_point_below_the_global_minimum(surface: Surface):
    z = _grid64(surface)[2]
    f_min = _f_min(surface)
    assert z.min() >= f_min - 1e-9 * (1.0 + abs(f_min)), f"grid min {z.min()} < {f_min}"


@ALL
def test_every_global_minimum_is_listed(surface: Surface):
    """Polish every local minimum of the grid: the ones that reach f_min must be listed."""
    x, y, z = _grid64(surface)
    inner = z[1:-1, 1:-1]
    is_min = np.ones_like(inner, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_min &= inner <= z[1 + di : z.shape[0] - 1 + di, 1 + dj : z.shape[1] - 1 + dj]
    seeds = np.stack([x[1:-1, 1:-1][is_min], y[1:-1, 1:-1][is_min]], axis=-1)
    ends, values = _polish(surface, seeds)
    f_min = _f_min(surface)
    assert values.min() >= f_min - 1e-9 * (1.0 + abs(f_min)), f"f = {values.min()} < {f_min}"
    for end, value in zip(ends, values, strict=True):
        if value <= f_min + 1e-6 * (1.0 + abs(f_min)):
            dist = min(math.hypot(end[0] - m.x, end[1] - m.y) for m in surface.minima)
            assert dist < 1e-3, f"unlisted global minimum near {end} (f = {value})"


def _polish(surface: Surface, seeds: np.ndarray, steps: int = 100):
    """Levenberg–Marquardt-damped Newton from all seeds at once, inside the bounds (float64)."""
    (x0, x1), (y0, y1) = surface.bounds
    v = seeds
    f, g, h = _at(surface, v[:, 0], v[:, 1])
    mu = np.full(len(v), 1e-3)
    for _ in range(steps):
        damp = mu * (1.0 + np.abs(h).max(axis=(1, 2)))
        step = np.linalg.solve(h + damp[:, None, None] * np.eye(2), g[..., None])[..., 0]
        trial = np.clip(v - step, [x0, y0], [x1, y1])
        ft, gt, ht = _at(surface, trial[:, 0], trial[:, 1])
        better = ft < f
        v, f = np.where(better[:, None], trial, v), np.where(better, ft, f)
        g, h = np.where(better[:, None], gt, g), np.where(better[:, None, None], ht, h)
        mu = np.where(better, mu / 4.0, mu * 4.0)
    return v, f


# ---------------------------------------------------------------------------------------------
# Gradients and the independent reference.


@ALL
def test_grad_matches_central_differences(surface: Surface):
    """jax.grad against central differences of f in float64, at 20 random points."""
    x, y = _random_points(surface, 20, "fd")
    f, grad, _ = _at(surface, x, y)
    h = 1e-6 * max(1.0, *map(abs, np.ravel(surface.bounds)))
    fx = _at(surface, np.r_[x + h, x - h], np.r_[y, y])[0].reshape(2, -1)
    fy = _at(surface, np.r_[x, x], np.r_[y + h, y - h])[0].reshape(2, -1)
    fd = np.stack([fx[0] - fx[1], fy[0] - fy[1]], axis=-1) / (2 * h)
    scale = 1.0 + np.abs(grad).max() + 1e-10 * np.abs(f).max() / h  # rounding in f(x ± h)
    np.testing.assert_allclose(grad, fd, rtol=0, atol=1e-6 * scale)


@ALL
def test_float32_derivatives_are_finite_and_close_to_float64(surface: Surface):
    """What the app uses: float32 gradients (also at the minima, e.g. Ackley's cone tip)."""
    rx, ry = _random_points(surface, 20, "f32")
    pts = [*_landmarks(surface), *(("start", s) for s in surface.starts)]
    x = np.r_[rx, [p.x for _, p in pts]]
    y = np.r_[ry, [p.y for _, p in pts]]
    _, g32, h32 = _at(surface, x, y, x64=False)
    _, g64, _ = _at(surface, x, y)
    assert g32.dtype == np.float32
    assert np.isfinite(g32).all()
    assert np.isfinite(h32).all()
    np.testing.assert_allclose(g32, g64, rtol=0, atol=1e-4 * (1.0 + np.abs(g64).max()))


@ALL
def test_matches_numpy_reference(surface: Surface):
    """The jnp formula against an independent NumPy one, in float64 and in float32."""
    ref = _reference(surface)
    rx, ry = _random_points(surface, 50, "ref")
    marks = [p for _, p in _landmarks(surface)] + list(surface.starts)
    x, y = np.r_[rx, [p.x for p in marks]], np.r_[ry, [p.y for p in marks]]
    for overrides in _param_variants(surface):
        want = ref(x, y, _theta_np(surface, **overrides))
        got = _at(surface, x, y, **overrides)[0]
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())
        got32 = _at(surface, x, y, x64=False, **overrides)[0]
        np.testing.assert_allclose(got32, want, rtol=1e-5, atol=1e-5 * (1.0 + np.abs(want).max()))


def test_fn_accepts_python_scalars():
    for surface in SURFACES.values():
        value = jnp.asarray(surface.fn(0.5, -0.25, surface.theta()))
        assert value.shape == ()
        assert value.dtype == jnp.float32
        want = _reference(surface)(0.5, -0.25, _theta_np(surface))
        np.testing.assert_allclose(value, want, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# The grid, jit and recompiles.


@ALL
def test_grid_matches_reference(surface: Surface):
    n = 37
    xs, ys, z = surface.grid(n)
    assert xs.shape == (n,)
    assert ys.shape == (n,)
    assert z.shape == (n, n)
    assert z.dtype == jnp.float32
    (x0, x1), (y0, y1) = surface.bounds
    np.testing.assert_allclose([xs[0], xs[-1], ys[0], ys[-1]], [x0, x1, y0, y1], rtol=1e-6)
    # z[i, j] = f(xs[j], ys[i]): meshgrid's default "xy" indexing
    x, y = np.meshgrid(np.asarray(xs, np.float64), np.asarray(ys, np.float64))
    want = _reference(surface)(x, y, _theta_np(surface))
    np.testing.assert_allclose(z, want, rtol=1e-5, atol=1e-5 * (1.0 + np.abs(want).max()))


@ALL
def test_jit_with_traced_theta_does_not_recompile(surface: Surface, compile_counter):
    """Grid and value_and_grad under one jit; new parameter values must reuse the compile."""

    @jax.jit
    def probe(xy, theta):
        value, grad = jax.value_and_grad(surface.loss)(xy, theta)
        return value, grad, surface.grid(16, theta)[2]

    x, y = surface.starts[0].x, surface.starts[0].y
    first, moved = jnp.array([x, y], jnp.float32), jnp.array([x + 0.1, y - 0.1], jnp.float32)
    thetas = [surface.theta(**overrides) for overrides in _param_variants(surface)]
    jax.block_until_ready(probe(first, thetas[0]))
    compiles = compile_counter.count
    values = [float(probe(moved, theta)[0]) for theta in thetas]
    assert compile_counter.count == compiles
    for overrides, value in zip(_param_variants(surface), values, strict=True):
        want = _reference(surface)(x + 0.1, y - 0.1, _theta_np(surface, **overrides))
        np.testing.assert_allclose(value, want, rtol=1e-5)


def test_ravine_kappa_moves_the_grid_without_recompiling(compile_counter):
    ravine = SURFACES["ravine"]
    grid = jax.jit(lambda theta: ravine.grid(32, theta)[2])
    z_low = np.asarray(grid(ravine.theta(kappa=2.0)))
    compiles = compile_counter.count
    z_high = np.asarray(grid(ravine.theta(kappa=500.0)))
    assert compile_counter.count == compiles
    assert z_high.max() > 100 * z_low.max()  # κ y² dominates at the edge


# ---------------------------------------------------------------------------------------------
# The learning-rate hint and the teaching claims, with plain GD in float32 as the app runs it.


@functools.partial(jax.jit, static_argnames=("surface", "steps", "clip"))
def _gd(surface: Surface, xy, lr, theta, steps: int = 200, clip: float = 0.0):
    """Plain GD (optionally clipping the gradient norm to ``clip``): the path ``[steps + 1, 2]``."""

    def step(xy, _):
        g = jax.grad(surface.loss)(xy, theta)
        if clip:
            g = g * jnp.minimum(1.0, clip / jnp.linalg.norm(g))
        new = xy - lr * g
        return new, new

    _, path = jax.lax.scan(step, xy, None, length=steps)
    return jnp.concatenate([xy[None], path])


def _run_gd(surface: Surface, start: Point, lr: float, **kw) -> tuple[np.ndarray, np.ndarray]:
    xy0 = jnp.array([start.x, start.y], jnp.float32)
    path = np.asarray(_gd(surface, xy0, jnp.float32(lr), surface.theta(), **kw), np.float64)
    return path, _reference(surface)(path[:, 0], path[:, 1], _theta_np(surface))


@ALL
def test_lr_hint_makes_progress_from_the_default_start_without_diverging(surface: Surface):
    path, loss = _run_gd(surface, surface.starts[0], surface.lr_hint)
    assert np.isfinite(path).all()
    (x0, x1), (y0, y1) = surface.bounds
    cx, cy, rx, ry = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2
    assert (np.abs(path[:, 0] - cx) <= 3 * rx).all()  # may leave the plot, not fly off
    assert (np.abs(path[:, 1] - cy) <= 3 * ry).all()
    gap = loss[0] - _f_min(surface)
    assert loss[-1] <= loss[0] - 0.1 * gap, f"GD at η = {surface.lr_hint}: {loss[0]} → {loss[-1]}"


def test_cliff_catapults_plain_gd_and_clipping_prevents_it():
    cliff = SURFACES["cliff"]
    x_min = cliff.minima[0].x
    for start in cliff.starts:
        plain, _ = _run_gd(cliff, start, cliff.lr_hint)
        clipped, loss = _run_gd(cliff, start, cliff.lr_hint, clip=1.0)
        assert plain[:, 0].min() < x_min - 3.0  # thrown far past the valley floor
        assert clipped[:, 0].min() > x_min - 0.1  # walks down the face instead
        assert loss[-1] < cliff.minima[0].value + 1e-2
    x = np.linspace(*cliff.bounds[0], PAD)
    slope = np.abs(_at(cliff, x, np.zeros_like(x))[1][:, 0])
    assert slope.max() > 150 * slope[x > 0.5].max()  # the face is 200× steeper than the plateau


def test_saddle_captures_gd_on_the_ridge_and_releases_it_off_the_ridge():
    saddle = SURFACES["saddle"]
    on_ridge = next(s for s in saddle.starts if s.y == 0.0)
    path, _ = _run_gd(saddle, on_ridge, saddle.lr_hint)
    np.testing.assert_allclose(path[-1], [0.0, 0.0], atol=1e-6)
    path, _ = _run_gd(saddle, saddle.starts[0], saddle.lr_hint)
    np.testing.assert_allclose(np.abs(path[-1]), [0.0, math.sqrt(2.0)], atol=1e-4)
    near_saddle = np.hypot(*path.T) < 0.1
    assert near_saddle.sum() >= 5, "it should linger near the saddle before escaping"
