"""Classic optimisation test functions with published minima.

Coordinates and values: Rosenbrock (1960); Beale (1958); Himmelblau (1972); Dixon & Szegő (1978)
for the camels and Goldstein–Price (1971); collected in Jamil & Yang, "A literature survey of
benchmark functions for global optimisation problems" (2013) and Surjanovic & Bingham's virtual
library (sfu.ca/~ssurjano). Digits beyond the published ones were refined by Newton's method in
float64 and agree with the published digits.
"""

from __future__ import annotations

from optlab.core.params import HParam
from surfaces.base import Point, Surface


def _rosenbrock(x, y, p):
    return (1.0 - x) ** 2 + p["b"] * (y - x**2) ** 2


ROSENBROCK = Surface(
    name="rosenbrock",
    display="Rosenbrock",
    latex=r"f(x, y) = (1 - x)^2 + b\,(y - x^2)^2",
    fn=_rosenbrock,
    bounds=((-2.0, 2.0), (-1.0, 3.0)),
    minima=(Point(1.0, 1.0, "global minimum", 0.0),),
    starts=(Point(-1.2, 1.0, "Rosenbrock's start"), Point(-0.5, 2.5), Point(1.5, 1.2)),
    log_color=True,
    # ``a`` is fixed at 1 so the minimum marker at (1, 1) stays right for every ``b``.
    params=(HParam("b", "valley steepness b", 100.0, 1.0, 1000.0, log=True, symbol="b"),),
    lr_hint=1e-3,
    description=(
        "A curved, narrow valley (the banana): the gradient points across the valley, not along "
        "it, so GD needs η below about 2/1000 (less on the walls) and then creeps along the "
        "floor towards (1, 1)."
    ),
    default_lrs=(("gd", 1e-3), ("momentum", 1e-3)),  # 0.01 diverges in 4 steps
)


def _beale(x, y, p):
    del p
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2


BEALE = Surface(
    name="beale",
    display="Beale",
    latex=(r"f(x, y) = (1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2"),
    fn=_beale,
    bounds=((-4.5, 4.5), (-4.5, 4.5)),
    minima=(Point(3.0, 0.5, "global minimum", 0.0),),
    saddles=(Point(0.0, 1.0, "saddle on the flat line x = 0", 14.203125),),
    starts=(Point(1.0, 1.5), Point(-1.0, -1.0), Point(2.0, 2.0)),
    log_color=True,
    lr_hint=2e-3,
    description=(
        "Steep walls (values up to 10⁵ in the corners) around flat arms: f is constant on the "
        "whole line x = 0, and the valley to (3, 0.5) is long and shallow, so one learning rate "
        "is too large on the walls and too small on the floor."
    ),
    default_lrs=(("momentum", 2e-3),),  # 0.01 diverges in 8 steps
)


def _himmelblau(x, y, p):
    del p
    return (x**2 + y - 11.0) ** 2 + (x + y**2 - 7.0) ** 2


HIMMELBLAU = Surface(
    name="himmelblau",
    display="Himmelblau",
    latex=r"f(x, y) = (x^2 + y - 11)^2 + (x + y^2 - 7)^2",
    fn=_himmelblau,
    bounds=((-5.0, 5.0), (-5.0, 5.0)),
    minima=(
        Point(3.0, 2.0, "global minimum", 0.0),
        Point(-2.805118086952745, 3.131312518250573, "global minimum", 0.0),
        Point(-3.779310253377747, -3.283185991286170, "global minimum", 0.0),
        Point(3.584428340330492, -1.848126526964404, "global minimum", 0.0),
    ),
    saddles=(
        Point(3.385154183607021, 0.073851879837749, "saddle", 13.311926270405587),
        Point(0.086677504555396, 2.884254701174776, "saddle", 67.719150087526130),
        Point(-3.073025750764390, -0.081353044287968, "saddle", 104.015162917558110),
        Point(-0.127961346730680, -1.953714980244577, "saddle", 178.337239201927450),
    ),
    local_maxima=(
        Point(-0.270844590667348, -0.923038556479981, "local maximum", 181.616521522582700),
    ),
    starts=(Point(-0.5, -0.5), Point(0.5, -1.5), Point(-4.5, 4.5)),
    log_color=True,
    lr_hint=0.01,
    description=(
        "Four equally good minima (all f = 0) around a hill: which one GD finds depends only on "
        "the start, and starts near the central maximum fan out into all four basins."
    ),
)


def _three_hump_camel(x, y, p):
    del p
    return 2.0 * x**2 - 1.05 * x**4 + x**6 / 6.0 + x * y + y**2


THREE_HUMP_CAMEL = Surface(
    name="three_hump_camel",
    display="Three-hump camel",
    latex=r"f(x, y) = 2x^2 - 1.05\,x^4 + \tfrac16 x^6 + xy + y^2",
    fn=_three_hump_camel,
    bounds=((-2.5, 2.5), (-2.5, 2.5)),
    minima=(Point(0.0, 0.0, "global minimum", 0.0),),
    local_minima=(
        Point(1.747552345830289, -0.873776172915144, "local minimum", 0.298638442236859),
        Point(-1.747552345830289, 0.873776172915144, "local minimum", 0.298638442236859),
    ),
    saddles=(
        Point(1.070542291823660, -0.535271145911830, "saddle", 0.877361557763140),
        Point(-1.070542291823660, 0.535271145911830, "saddle", 0.877361557763140),
    ),
    starts=(Point(-2.2, 2.0), Point(2.0, -2.2), Point(-1.0, 2.0)),
    log_color=True,
    lr_hint=0.02,
    description=(
        "Two shallow side minima (f ≈ 0.30) flank the global one at the origin, separated by "
        "saddles only 0.58 higher: GD from the outer slopes gets trapped in a side hump."
    ),
)


def _six_hump_camel(x, y, p):
    del p
    return (4.0 - 2.1 * x**2 + x**4 / 3.0) * x**2 + x * y + (-4.0 + 4.0 * y**2) * y**2


SIX_HUMP_CAMEL = Surface(
    name="six_hump_camel",
    display="Six-hump camel",
    latex=r"f(x, y) = \left(4 - 2.1\,x^2 + \tfrac13 x^4\right) x^2 + xy + (4y^2 - 4)\,y^2",
    fn=_six_hump_camel,
    bounds=((-2.0, 2.0), (-1.2, 1.2)),
    minima=(
        Point(0.089842013100318, -0.712656403020740, "global minimum", -1.031628453489877),
        Point(-0.089842013100318, 0.712656403020740, "global minimum", -1.031628453489877),
    ),
    local_minima=(
        Point(1.703606714969981, -0.796083568672625, "local minimum", -0.215463824383717),
        Point(-1.703606714969981, 0.796083568672625, "local minimum", -0.215463824383717),
        Point(1.607104752920198, 0.568651454884131, "local minimum", 2.104250310311260),
        Point(-1.607104752920198, -0.568651454884131, "local minimum", 2.104250310311260),
    ),
    saddles=(Point(0.0, 0.0, "saddle between the two global minima", 0.0),),
    starts=(Point(-1.9, -1.0), Point(1.2, 0.9), Point(0.0, 0.05)),
    lr_hint=0.01,
    description=(
        "Two symmetric global minima with a saddle between them and four side minima: "
        "a start straight above the saddle shows how a tiny asymmetry decides the outcome."
    ),
)


def _goldstein_price(x, y, p):
    del p
    a = 1.0 + (x + y + 1.0) ** 2 * (
        19.0 - 14.0 * x + 3.0 * x**2 - 14.0 * y + 6.0 * x * y + 3.0 * y**2
    )
    b = 30.0 + (2.0 * x - 3.0 * y) ** 2 * (
        18.0 - 32.0 * x + 12.0 * x**2 + 48.0 * y - 36.0 * x * y + 27.0 * y**2
    )
    return a * b


GOLDSTEIN_PRICE = Surface(
    name="goldstein_price",
    display="Goldstein–Price",
    latex=(
        r"f(x, y) = \left[1 + (x + y + 1)^2 (19 - 14x + 3x^2 - 14y + 6xy + 3y^2)\right]"
        r"\left[30 + (2x - 3y)^2 (18 - 32x + 12x^2 + 48y - 36xy + 27y^2)\right]"
    ),
    fn=_goldstein_price,
    bounds=((-2.0, 2.0), (-2.0, 2.0)),
    minima=(Point(0.0, -1.0, "global minimum", 3.0),),
    local_minima=(
        Point(-0.6, -0.4, "local minimum", 30.0),
        Point(1.8, 0.2, "local minimum", 84.0),
        Point(1.2, 0.8, "local minimum", 840.0),
    ),
    saddles=(
        Point(-0.4, -0.6, "saddle", 35.0),
        Point(1.2, -0.2, "saddle", 99.0),
        Point(1.4, 0.6, "saddle", 980.0),
        Point(0.6, 0.4, "saddle", 990.0),
    ),
    local_maxima=(Point(0.8, 0.2, "local maximum", 1155.0),),
    starts=(Point(0.5, -1.5), Point(-1.0, 1.0), Point(1.5, 1.5), Point(0.5, -1.8)),
    log_color=True,
    lr_hint=1e-5,
    description=(
        "Values from 3 to 10⁶ with three local minima (30, 84, 840) near the global one (3): "
        "GD needs a tiny η on the walls, which is then far too small on the valley floors."
    ),
    default_lrs=(("gd", 5e-5), ("momentum", 5e-5)),  # gradients ~1e5 at the start
)

SURFACES = (ROSENBROCK, BEALE, HIMMELBLAU, THREE_HUMP_CAMEL, SIX_HUMP_CAMEL, GOLDSTEIN_PRICE)
