"""The optimizer registry: every entry complete and consistent (hyperparameters match the
factory's arguments, defaults inside their ranges, the update rule as maths in the docstring,
distinct colours)."""

from __future__ import annotations

import inspect

import pytest

from optlab.core.optimizers import OPTIMIZERS


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_spec_is_consistent(name):
    spec = OPTIMIZERS[name]
    assert spec.name == name
    assert spec.display
    assert spec.latex.strip()
    assert spec.hparams[0].name == "learning_rate"
    factory_args = set(inspect.signature(spec.factory).parameters)
    assert {h.name for h in spec.hparams} == factory_args
    for h in spec.hparams:
        assert h.low <= h.default <= h.high, h
        if h.kind == "bool":
            assert h.default in (0.0, 1.0)
        else:
            assert h.kind == "float"
            assert not h.log or h.low > 0, h
    assert spec.factory.__doc__
    assert ".. math::" in spec.factory.__doc__


def test_colors_are_distinct():
    colors = [s.color.lower() for s in OPTIMIZERS.values()]
    assert len(set(colors)) == len(colors)
