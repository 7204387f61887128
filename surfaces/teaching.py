"""Teaching surfaces built to show one failure mode each: a saddle point and a cliff."""

from __future__ import annotations

import math

import jax

from surfaces.base import Point, Surface


def _saddle(x, y, p):
    del p
    return x**2 - y**2 + 0.25 * y**4


# Near the origin the quartic term is negligible and f ≈ x² − y², the textbook saddle (Hessian
# diag(2, −2)). The ¼y⁴ walls bound f from below and put two minima inside the box, where
# ∂f/∂y = y³ − 2y = 0 gives y = ±√2 and f = −2 + 1 = −1 exactly.
SADDLE = Surface(
    name="saddle",
    display="Saddle point",
    latex=r"f(x, y) = x^2 - y^2 + \tfrac14 y^4",
    fn=_saddle,
    bounds=((-2.5, 2.5), (-2.5, 2.5)),
    minima=(
        Point(0.0, math.sqrt(2.0), "global minimum (upper)", -1.0),
        Point(0.0, -math.sqrt(2.0), "global minimum (lower)", -1.0),
    ),
    saddles=(Point(0.0, 0.0, "saddle x² − y²", 0.0),),
    starts=(
        Point(2.0, 1e-3, "just off the ridge"),
        Point(2.0, 0.0, "on the ridge: converges to the saddle"),
        Point(-1.5, 2.2),
    ),
    lr_hint=0.1,
    description=(
        "Near the origin f ≈ x² − y², a saddle with zero gradient (the ¼y⁴ walls only bound it "
        "below). GD started on the x-axis converges to the saddle; a start 0.001 off it lingers "
        "there, then escapes at a rate set by the negative curvature."
    ),
)

# The cliff: p(z) = softplus(k z) / k is a smooth max(0, z) (corner width ≈ 1/k). Piecewise,
#   x > 0:       f ≈ a x                          the plateau, tilted gently towards the edge
#   −d < x < 0:  f ≈ (a + S) x                    the cliff face, slope a + S (≈ 200 × the tilt)
#   x < −d:      f ≈ a x − S d + ½ w (x + d)²     the valley floor, with a wall on the left
# plus c y² everywhere. The floor's minimum is at x* = −d − a/w, f* = −(a + S) d − a²/(2w); the
# corners are ≥ 0.8 away, so the softplus tails move it by about S e^{−40}: exact in float64.
_A, _S, _D, _W, _C, _K = 0.2, 40.0, 0.5, 0.25, 0.1, 50.0
_X_MIN = -_D - _A / _W
_F_MIN = -(_A + _S) * _D - _A**2 / (2.0 * _W)


def _soft_relu(z):
    return jax.nn.softplus(_K * z) / _K


def _cliff(x, y, p):
    del p
    drop = _soft_relu(-x - _D)
    return _A * x - _S * _soft_relu(-x) + _S * drop + 0.5 * _W * drop**2 + _C * y**2


CLIFF = Surface(
    name="cliff",
    display="Plateau and cliff",
    latex=(
        r"f(x, y) = 0.2\,x - 40\,p(-x) + 40\,p(-x - \tfrac12) + \tfrac18\,p(-x - \tfrac12)^2"
        r" + 0.1\,y^2,\quad p(z) = \tfrac{1}{50}\log\!\left(1 + e^{50 z}\right)"
    ),
    fn=_cliff,
    bounds=((-5.0, 3.0), (-2.5, 2.5)),
    minima=(Point(_X_MIN, 0.0, "global minimum (valley floor)", _F_MIN),),
    starts=(Point(2.5, 1.0, "on the plateau"), Point(1.0, -1.5), Point(2.9, 2.4)),
    lr_hint=0.2,
    description=(
        "A nearly flat plateau (slope 0.2) ends in a cliff of slope 40: plain GD crawls across the "
        "plateau, then one step on the cliff face catapults it far past the valley. Clip the "
        "gradient norm (e.g. to 1) and it walks down the face instead."
    ),
    default_lrs=(("momentum", 5e-3),),  # at 0.01 it falls off the map
)

SURFACES = (SADDLE, CLIFF)
