"""Quadratic surfaces: the bowl, the ravine, Booth and Matyas, where the theory is exact.

For a quadratic ``f = ½ zᵀ H z + …`` plain GD is stable iff ``η < 2 / λ_max(H)`` and its slowest
direction contracts by ``1 − η λ_min`` per step, so the condition number ``κ = λ_max / λ_min`` sets
the pace.
"""

from __future__ import annotations

from optlab.core.params import HParam
from surfaces.base import Point, Surface


def _bowl(x, y, p):
    del p
    return 0.5 * (x**2 + y**2)


BOWL = Surface(
    name="bowl",
    display="Quadratic bowl",
    latex=r"f(x, y) = \tfrac12 (x^2 + y^2)",
    fn=_bowl,
    bounds=((-3.0, 3.0), (-3.0, 3.0)),
    minima=(Point(0.0, 0.0, "global minimum", 0.0),),
    starts=(Point(-2.5, 2.0), Point(2.0, 2.0), Point(-1.0, -2.5)),
    lr_hint=0.1,
    description="Perfectly round: every direction has curvature 1, so GD is stable for η < 2.",
)


def _ravine(x, y, p):
    return 0.5 * (x**2 + p["kappa"] * y**2)


RAVINE = Surface(
    name="ravine",
    display="Ill-conditioned ravine",
    latex=r"f(x, y) = \tfrac12 (x^2 + \kappa\, y^2)",
    fn=_ravine,
    bounds=((-3.0, 3.0), (-3.0, 3.0)),
    minima=(Point(0.0, 0.0, "global minimum", 0.0),),
    starts=(Point(-2.5, 1.0), Point(2.5, 2.0)),
    params=(HParam("kappa", "condition number κ", 20.0, 1.0, 1000.0, log=True, symbol=r"\kappa"),),
    lr_hint=0.05,
    description="Curvature 1 along x and κ along y: GD must use η < 2/κ and then crawls along x.",
)


def _booth(x, y, p):
    del p
    return (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2


# Hessian [[10, 8], [8, 10]]: eigenvalues 18 along (1, 1) and 2 along (1, −1), so κ = 9.
BOOTH = Surface(
    name="booth",
    display="Booth",
    latex=r"f(x, y) = (x + 2y - 7)^2 + (2x + y - 5)^2",
    fn=_booth,
    bounds=((-10.0, 10.0), (-10.0, 10.0)),
    minima=(Point(1.0, 3.0, "global minimum", 0.0),),
    starts=(Point(-8.0, -6.0), Point(8.0, 8.0), Point(-7.0, 9.0)),
    log_color=True,
    lr_hint=0.05,
    description=(
        "A tilted elliptic bowl (curvatures 18 and 2, κ = 9): GD is stable for η < 1/9 and "
        "zig-zags across the steep (1, 1) direction when η approaches that limit."
    ),
)


def _matyas(x, y, p):
    del p
    return 0.26 * (x**2 + y**2) - 0.48 * x * y


# Hessian [[0.52, −0.48], [−0.48, 0.52]]: eigenvalues 1 along (1, −1) and 0.04 along (1, 1), κ = 25.
MATYAS = Surface(
    name="matyas",
    display="Matyas",
    latex=r"f(x, y) = 0.26\,(x^2 + y^2) - 0.48\,x y",
    fn=_matyas,
    bounds=((-10.0, 10.0), (-10.0, 10.0)),
    minima=(Point(0.0, 0.0, "global minimum", 0.0),),
    starts=(Point(-8.0, -6.0), Point(8.0, -7.0), Point(5.0, 9.0)),
    lr_hint=1.0,
    description=(
        "A ravine rotated by 45° (κ = 25): GD crawls along the flat diagonal, and per-coordinate "
        "methods such as Adam cannot fix a valley that is not aligned with the axes."
    ),
)

SURFACES = (BOWL, RAVINE, BOOTH, MATYAS)
