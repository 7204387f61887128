"""``style.knots``: the fewest polyline points within a vertical tolerance, checked by
interpolating them back against every original point."""

from __future__ import annotations

import numpy as np
import pytest

from optlab.core.schedules import SCHEDULES
from optlab.viz.race import lr_curve_spec
from optlab.viz.style import knots


def redraw_error(y: np.ndarray, idx: np.ndarray) -> float:
    x = np.arange(len(y))
    return float(np.max(np.abs(np.interp(x, idx, y[idx]) - y)))


def test_a_constant_and_a_line_are_two_points():
    assert knots(np.full(500, 0.3), 1e-6).tolist() == [0, 499]
    assert knots(np.linspace(0, 1, 300), 1e-9).tolist() == [0, 299]


def test_a_warm_up_keeps_its_bend():
    y = np.minimum(np.arange(400) / 100, 1.0)
    assert knots(y, 1e-9).tolist() == [0, 100, 399]


@pytest.mark.parametrize("tol", [1e-2, 1e-3, 1e-4])
def test_curves_are_redrawn_within_the_tolerance(tol):
    rng = np.random.default_rng(0)
    for y in (np.cos(np.linspace(0, np.pi, 700)), np.cumsum(rng.normal(size=500)) * 0.01):
        idx = knots(y, tol)
        assert idx[0] == 0
        assert idx[-1] == len(y) - 1
        assert redraw_error(y, idx) <= tol
        assert len(idx) < len(y)


@pytest.mark.parametrize("schedule", list(SCHEDULES))
def test_the_lr_curve_redraws_every_schedule(schedule):
    mult = np.asarray(SCHEDULES[schedule].multipliers(500), np.float64)
    lrs = {"GD": 0.1, "Adam": 0.01}
    spec = lr_curve_spec(mult, lrs, log_y=False)
    for trace, lr in zip(spec["data"], lrs.values(), strict=True):
        x, y = np.asarray(trace["x"]), np.asarray(trace["y"], np.float64)
        ref = lr * mult
        err = np.max(np.abs(np.interp(np.arange(len(mult)), x, y) - ref))
        assert err <= 2.5e-3 * max(np.ptp(ref), np.max(np.abs(ref)))  # 0.2 % + rounding
    if np.ptp(mult) == 0:
        assert all(len(t["x"]) == 2 for t in spec["data"])
