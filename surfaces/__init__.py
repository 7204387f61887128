"""Loss surfaces: the ``SURFACES`` registry.

Adding a ``Surface`` to a module's ``SURFACES`` tuple makes it show up in the app and the tests.
"""

from surfaces import quadratic
from surfaces.base import Point, Surface

SURFACES: dict[str, Surface] = {s.name: s for s in (*quadratic.SURFACES,)}

__all__ = ["SURFACES", "Point", "Surface"]
