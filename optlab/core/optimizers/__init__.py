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


def check_runs(runs, model: str) -> None:
    """Refuse runs a model's trainer cannot take: duplicate ``label``s, an unknown
    ``optimizer``, one that needs a Hessian (only the 2-D engine supplies one), or a
    ``hparams`` name the optimizer does not have (when the runs carry ``hparams``)."""
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"run labels must be unique, got {labels}")
    for r in runs:
        if r.optimizer not in OPTIMIZERS:
            raise KeyError(f"unknown optimizer {r.optimizer!r}")
        spec = OPTIMIZERS[r.optimizer]
        if spec.needs_hessian:
            raise ValueError(f"{spec.display} needs a Hessian: not available for the {model}")
        unknown = set(dict(getattr(r, "hparams", {}))) - {h.name for h in spec.hparams}
        if unknown:
            raise TypeError(f"{spec.display} has no hyperparameter(s) {sorted(unknown)}")


__all__ = ["OPTIMIZERS", "GradientTransformation", "HParam", "OptimizerSpec", "check_runs", "lr_at"]
