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


def test_check_runs_reads_hyperparameters_given_as_a_mapping_or_as_pairs():
    from types import SimpleNamespace

    from optlab.core.optimizers import check_runs

    pairs = SimpleNamespace(label="a", optimizer="gd", hparams=(("learning_rate", 0.5),))
    mapping = SimpleNamespace(label="b", optimizer="adam", hparams={"learning_rate": 0.01})
    check_runs([pairs, mapping], "test")  # both forms accepted
    with pytest.raises(TypeError, match="no hyperparameter"):
        check_runs([SimpleNamespace(label="c", optimizer="gd", hparams={"beta": 0.9})], "test")
    with pytest.raises(ValueError, match="unique"):
        check_runs([pairs, pairs], "test")
    with pytest.raises(ValueError, match="Hessian"):
        check_runs([SimpleNamespace(label="n", optimizer="newton")], "test")
