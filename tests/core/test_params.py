"""Slider grids and the one snapping rule."""

from __future__ import annotations

import pytest

from optlab.core.params import HParam, snap, snap_grid, value_grid

LR = HParam("learning_rate", "learning rate η", 1e-2, 1e-5, 10.0, log=True)


def test_snap_goes_to_the_nearest_grid_value_in_log_distance():
    assert snap_grid((0.01, 0.1, 1.0), 0.05, log=True) == 0.1  # log-nearer than 0.01
    assert snap_grid((0.01, 0.1, 1.0), 0.05) == 0.01  # linearly nearer
    assert snap(LR, 0.0914) == 0.1


@pytest.mark.parametrize(("value", "want"), [(0.0914, 0.08), (0.08, 0.08), (1e-9, 1e-5)])
def test_snap_below_never_goes_up(value, want):
    assert snap(LR, value, below=True) == want
    assert want in value_grid(LR)


def test_bool_params_snap_to_zero_or_one():
    flag = HParam("nesterov", "Nesterov", 0.0, kind="bool")
    assert value_grid(flag) == (0.0, 1.0)
    assert (snap(flag, 0.7), snap(flag, 0.0)) == (1.0, 0.0)
