"""Loss surfaces: the ``SURFACES`` registry, in teaching order.

Quadratics first (the theory is exact), then one failure mode each (a saddle, a cliff), the
classic test functions, and last the multimodal ones. Adding a ``Surface`` to a module's
``SURFACES`` tuple makes it show up in the app and the tests.
"""

from optlab.core.shared import ProblemSet
from surfaces import classic, multimodal, quadratic, teaching
from surfaces.base import Point, Surface

SURFACES: dict[str, Surface] = {
    s.name: s
    for s in (*quadratic.SURFACES, *teaching.SURFACES, *classic.SURFACES, *multimodal.SURFACES)
}

# Every registry surface behind one loss: once the server has compiled this set's program
# (``engine.sweep(..., share=True)``), picking another surface compiles nothing.
SURFACE_SET = ProblemSet(SURFACES.values())

__all__ = ["SURFACES", "SURFACE_SET", "Point", "Surface"]
