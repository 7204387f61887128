"""The user's own surface ``f(x, y)``, typed as text and compiled by the safe parser."""

from __future__ import annotations

from functools import lru_cache

from optlab.core.expr import parse
from surfaces.base import Point, Surface

DEFAULT_EXPRESSION = "x**2 + 10*sin(y) + 0.5*y**2"
# The frame holds every default path (to the local minimum at y ≈ 4.27 and past it).
DEFAULT_BOUNDS = ((-4.0, 4.0), (-4.0, 6.0))


@lru_cache(maxsize=64)
def custom_surface(
    text: str,
    bounds: tuple[tuple[float, float], tuple[float, float]] = DEFAULT_BOUNDS,
    minima: tuple[tuple[float, float], ...] = (),
) -> Surface:
    """A ``Surface`` for the expression ``text`` (raises ``optlab.core.expr.ExprError``).

    Cached on its arguments, so the same text is the same object: the engine, whose compiled
    code is keyed on the surface, then reuses its compilation across reruns.
    """
    (x0, x1), (y0, y1) = bounds
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"bounds must be increasing, got {bounds}")
    expr = parse(text)

    def fn(x, y, p):
        del p
        return expr.fn(x, y)

    known = tuple(Point(x, y, "your minimum", float(expr.fn(x, y))) for x, y in minima)
    return Surface(
        name="custom",
        display="Your function",
        latex=r"f(x, y) = \texttt{" + text.replace("_", r"\_") + "}",
        fn=fn,
        bounds=bounds,
        minima=known,
        starts=(Point(x0 + 0.8 * (x1 - x0), y0 + 0.8 * (y1 - y0)),),
        description=f"Your function f(x, y) = {text}.",
    )
