"""Quadratic surfaces: the bowl and the ill-conditioned ravine, where the theory is exact."""

from __future__ import annotations


from optlab.optimizers.base import HParam
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

SURFACES = (BOWL, RAVINE)
