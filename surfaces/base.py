"""The ``Surface`` registry entry: a 2-D loss with everything the app and the tests need."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp

from optlab.core.params import HParam

# f(x, y, p) -> loss, elementwise in x and y; ``p`` maps surface-parameter names to (traced)
# scalars.
SurfaceFn = Callable[[jax.Array, jax.Array, Mapping[str, jax.Array]], jax.Array]


@dataclass(frozen=True)
class Point:
    """A labelled point on the map: a minimum, a saddle, a start."""

    x: float
    y: float
    label: str = ""
    value: float | None = None  # the published loss there, where known


@dataclass(frozen=True, eq=False)
class Surface:
    """An analytic 2-D loss surface.

    Attributes:
        name: registry key.
        display: human name.
        latex: the formula as LaTeX.
        fn: ``fn(x, y, p)``, elementwise in ``x``/``y`` (so it evaluates a whole grid at once).
        bounds: ``((xmin, xmax), (ymin, ymax))`` for plotting.
        minima: every known global minimum (with its value).
        local_minima, saddles, local_maxima: named points that teach something.
        starts: good start points (the first is the default).
        log_color: colour the map on a log scale (Rosenbrock-like ranges).
        params: surface parameters (e.g. the ravine's condition number), traced in the engine.
        lr_hint: a learning rate at which plain GD makes visible progress here.
        default_lrs: ``(optimizer, learning rate)`` pairs that replace an optimizer's own
            default learning rate on this surface, so that the default race converges here.
        description: one or two sentences for the app.
    """

    name: str
    display: str
    latex: str
    fn: SurfaceFn
    bounds: tuple[tuple[float, float], tuple[float, float]]
    minima: tuple[Point, ...]
    starts: tuple[Point, ...]
    local_minima: tuple[Point, ...] = ()
    saddles: tuple[Point, ...] = ()
    local_maxima: tuple[Point, ...] = ()
    log_color: bool = False
    params: tuple[HParam, ...] = ()
    lr_hint: float = 1e-2
    default_lrs: tuple[tuple[str, float], ...] = ()
    description: str = ""

    def theta(self, **overrides: float) -> dict[str, jax.Array]:
        """Surface parameters as float32 arrays (defaults overridden by ``overrides``)."""
        values = {p.name: p.default for p in self.params} | overrides
        return {k: jnp.asarray(v, jnp.float32) for k, v in values.items()}

    def loss(self, xy: jax.Array, theta: Mapping[str, jax.Array] | None = None) -> jax.Array:
        """The loss at ``xy`` (shape ``[2]``), the engine's view of the surface."""
        theta = self.theta() if theta is None else theta
        return self.fn(xy[0], xy[1], theta)

    def grid(self, n: int = 200, theta: Mapping[str, jax.Array] | None = None):
        """``(xs[n], ys[n], Z[n, n])`` over the plotting bounds, ``Z[i, j] = f(xs[j], ys[i])``."""
        theta = self.theta() if theta is None else theta
        (x0, x1), (y0, y1) = self.bounds
        xs = jnp.linspace(x0, x1, n, dtype=jnp.float32)
        ys = jnp.linspace(y0, y1, n, dtype=jnp.float32)
        row = jax.vmap(lambda x, y: self.fn(x, y, theta), in_axes=(0, None))
        z = jax.vmap(lambda y: row(xs, y))(ys)
        return xs, ys, z
