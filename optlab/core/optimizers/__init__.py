"""Optimizers: pure ``init``/``update`` pairs and the ``OPTIMIZERS`` registry.

Adding an ``OptimizerSpec`` to a module's ``SPECS`` tuple is all it takes for the optimizer to
show up in the app, the engine and the parametrized tests.
"""

from optlab.core.optimizers import adam_family, adaptive, classic, other
from optlab.core.optimizers.base import GradientTransformation, OptimizerSpec, lr_at
from optlab.core.params import HParam

OPTIMIZERS: dict[str, OptimizerSpec] = {
    s.name: s for s in (*classic.SPECS, *adaptive.SPECS, *adam_family.SPECS, *other.SPECS)
}

__all__ = ["OPTIMIZERS", "GradientTransformation", "HParam", "OptimizerSpec", "lr_at"]
