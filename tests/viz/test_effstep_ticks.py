"""The effective-step panel's log axis carries at least two readable decade labels, also when
its values sit inside one decade (a flat η = 0.01 used to show a lone "10⁻²")."""

from __future__ import annotations

import math

import pytest

from optlab.core.engine import OptimizerRun, Settings, run
from optlab.viz.effstep import LABEL_EDGE, decade_range
from optlab.viz.panels import eff_step_figure
from surfaces import SURFACES


def labelled_decades(lo: float, hi: float) -> list[int]:
    """The decade ticks (dtick=1) far enough inside [lo, hi] for their labels to be whole."""
    return list(range(math.ceil(lo + LABEL_EDGE), math.floor(hi - LABEL_EDGE) + 1))


@pytest.mark.parametrize("lr", [0.01, 0.003, 0.02, 0.05])
def test_a_flat_eta_inside_one_decade_gets_two_decade_labels(lr):
    traj = run(SURFACES["bowl"], [OptimizerRun("gd", {"learning_rate": lr})],
               start=(1.0, 1.0), settings=Settings(steps=60))[0]  # fmt: skip
    axis = eff_step_figure(traj).layout.yaxis
    assert axis.type == "log"
    assert axis.dtick == 1  # one label a decade, no "2 5" minor labels
    assert axis.exponentformat == "power"
    lo, hi = axis.range
    assert len(labelled_decades(lo, hi)) >= 2, (lr, axis.range)
    assert lo < math.log10(lr) < hi
    assert hi - lo <= 2.5  # widened to the nearest two decades, not blown up


def test_the_range_is_left_alone_when_it_already_holds_two_decades():
    lo, hi = decade_range([1e-6, 1.0])
    assert len(labelled_decades(lo, hi)) >= 6
    assert lo == pytest.approx(-6.6)
    assert hi == pytest.approx(0.6)
    lo, hi = decade_range([0.03])  # -2.27 .. -0.77 holds 10⁻² and 10⁻¹ already
    assert hi - lo == pytest.approx(1.5)
