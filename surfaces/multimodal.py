"""Multimodal test functions: many local minima around one global minimum.

Published minima: Rastrigin (1974) and Ackley (1987) at the origin with f = 0; Styblinski–Tang
(1990) at x_i = −2.903534… with f = −39.16617 per dimension (Surjanovic & Bingham,
sfu.ca/~ssurjano). Local minima and saddles refined by Newton's method in float64.
"""

from __future__ import annotations

import math

import jax.numpy as jnp

from surfaces.base import Point, Surface

_TAU = 2.0 * math.pi


def _rastrigin(x, y, p):
    del p
    return 20.0 + x**2 - 10.0 * jnp.cos(_TAU * x) + y**2 - 10.0 * jnp.cos(_TAU * y)


_R1 = 0.994958637652335  # the first ring of local minima, just inside the integers
_RS = 0.502546036554675  # saddles between the origin and the first ring
RASTRIGIN = Surface(
    name="rastrigin",
    display="Rastrigin",
    latex=r"f(x, y) = 20 + \sum_{u \in \{x, y\}} \left(u^2 - 10 \cos 2\pi u\right)",
    fn=_rastrigin,
    bounds=((-5.12, 5.12), (-5.12, 5.12)),
    minima=(Point(0.0, 0.0, "global minimum", 0.0),),
    local_minima=(
        Point(_R1, 0.0, "local minimum", 0.994959057093292),
        Point(-_R1, 0.0, "local minimum", 0.994959057093292),
        Point(0.0, _R1, "local minimum", 0.994959057093292),
        Point(0.0, -_R1, "local minimum", 0.994959057093292),
    ),
    saddles=(
        Point(_RS, 0.0, "saddle", 20.251272990990113),
        Point(-_RS, 0.0, "saddle", 20.251272990990113),
        Point(0.0, _RS, "saddle", 20.251272990990113),
        Point(0.0, -_RS, "saddle", 20.251272990990113),
    ),
    starts=(Point(-3.3, 2.6), Point(4.2, 4.5), Point(0.6, -1.4)),
    lr_hint=2e-3,
    description=(
        "A bowl covered in an egg-crate: a local minimum near every integer point. GD stops in "
        "the nearest one; only large steps, momentum or noise hop between them."
    ),
    default_lrs=(("momentum", 5e-3),),  # at 0.01 it flies off the map
)


def _safe_norm(x, y):
    """``√(x² + y²)`` with a finite gradient (zero) at the origin, where the cone has its tip."""
    r2 = x**2 + y**2
    pos = r2 > 0.0
    return jnp.where(pos, jnp.sqrt(jnp.where(pos, r2, 1.0)), 0.0)


def _ackley(x, y, p):
    del p
    r = _safe_norm(x, y)
    waves = 0.5 * (jnp.cos(_TAU * x) + jnp.cos(_TAU * y))
    return -20.0 * jnp.exp(-0.2 * math.sqrt(0.5) * r) - jnp.exp(waves) + math.e + 20.0


_A1 = 0.952166545950172  # nearest local minima on the axes
ACKLEY = Surface(
    name="ackley",
    display="Ackley",
    latex=(
        r"f(x, y) = -20 \exp\!\left(-0.2 \sqrt{\tfrac12 (x^2 + y^2)}\right)"
        r" - \exp\!\left(\tfrac12 (\cos 2\pi x + \cos 2\pi y)\right) + e + 20"
    ),
    fn=_ackley,
    bounds=((-5.0, 5.0), (-5.0, 5.0)),
    minima=(Point(0.0, 0.0, "global minimum (a cone tip)", 0.0),),
    local_minima=(
        Point(_A1, 0.0, "local minimum", 2.579927557029873),
        Point(-_A1, 0.0, "local minimum", 2.579927557029873),
        Point(0.0, _A1, "local minimum", 2.579927557029873),
        Point(0.0, -_A1, "local minimum", 2.579927557029873),
    ),
    starts=(Point(3.2, -2.6), Point(-4.5, 4.2), Point(1.6, 1.3)),
    lr_hint=0.01,
    description=(
        "A nearly flat outer region full of ripples around a deep funnel whose tip is a cone: "
        "the gradient does not shrink near the minimum, so GD with a fixed η keeps bouncing "
        "around it (the code takes the gradient at the tip to be 0)."
    ),
)


def _styblinski_tang(x, y, p):
    del p
    return 0.5 * (x**4 - 16.0 * x**2 + 5.0 * x + y**4 - 16.0 * y**2 + 5.0 * y)


_ST_LO = -2.903534027771177  # the deeper 1-D minimum, −39.166165703771 per coordinate
_ST_HI = 2.746802770990837  # the shallower one, −25.029446655284
_ST_MAX = 0.156731256780340  # the 1-D maximum between them
STYBLINSKI_TANG = Surface(
    name="styblinski_tang",
    display="Styblinski–Tang",
    latex=r"f(x, y) = \tfrac12 \sum_{u \in \{x, y\}} \left(u^4 - 16u^2 + 5u\right)",
    fn=_styblinski_tang,
    bounds=((-5.0, 5.0), (-5.0, 5.0)),
    minima=(Point(_ST_LO, _ST_LO, "global minimum", -78.332331407542840),),
    local_minima=(
        Point(_ST_LO, _ST_HI, "local minimum", -64.195612359055360),
        Point(_ST_HI, _ST_LO, "local minimum", -64.195612359055360),
        Point(_ST_HI, _ST_HI, "local minimum (the shallowest)", -50.058893310567890),
    ),
    saddles=(
        Point(_ST_LO, _ST_MAX, "saddle", -38.970553344716050),
        Point(_ST_MAX, _ST_LO, "saddle", -38.970553344716050),
        Point(_ST_HI, _ST_MAX, "saddle", -24.833834296228588),
        Point(_ST_MAX, _ST_HI, "saddle", -24.833834296228588),
    ),
    local_maxima=(Point(_ST_MAX, _ST_MAX, "local maximum", 0.391224718110716),),
    starts=(Point(-0.5, 4.5), Point(4.5, 4.5), Point(0.5, 0.3)),
    lr_hint=0.01,
    description=(
        "Separable: each coordinate has a deep and a shallow well, giving four minima of "
        "different depths. GD picks the well on its side of x, y ≈ 0.157 in each coordinate."
    ),
)

SURFACES = (STYBLINSKI_TANG, RASTRIGIN, ACKLEY)
