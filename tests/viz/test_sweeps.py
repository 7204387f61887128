"""Sweep figures: the best marker sits at the argmin, the divergence shading starts at the
divergence threshold, the theory lines sit at 2/L and 2/(μ+L), the heatmap marks what it says.

One small ravine sweep (GD and momentum, 12 learning rates × 3 momenta, 60 steps) feeds them all.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optlab.core import theory
from optlab.core.sweeps import best, divergence_threshold, lr_grid, run_sweep
from optlab.pages.sweeps.compute import divergence_edges
from optlab.viz import sweeps as ps
from surfaces import SURFACES

RAVINE = SURFACES["ravine"]  # κ = 20 by default: L = 20, μ = 1


@pytest.fixture(scope="module")
def table():
    return run_sweep(RAVINE, ["gd", "momentum"], {"learning_rate": lr_grid(1e-3, 1.0, 12)},
                     steps=60, pad_to=64)  # fmt: skip


@pytest.fixture(scope="module")
def table2():
    axes = {"learning_rate": lr_grid(1e-3, 1.0, 12), "beta": [0.0, 0.5, 0.9]}
    return run_sweep(RAVINE, ["gd", "momentum"], axes, steps=60, pad_to=64)


def _traces(fig, name):
    return [t for t in fig.data if t.name == name]


def _shapes(fig, name):
    return [s for s in fig.layout.shapes if s.name == name]


@pytest.mark.parametrize("objective", ["final_loss", "mean_loss", "steps_to_tol"])
def test_best_marker_sits_at_the_argmin(table, objective):
    bests = best(table, objective)
    curves = ps.curves_from_table(table, objective, bests, divergence_edges(table))
    fig = ps.lr_figure(curves, objective)
    for r in table.rows:
        obj = np.where(r.objectives["diverged"] > 0, np.nan, r.objectives[objective])
        i = int(np.nanargmin(obj))
        (star,) = _traces(fig, f"{r.label} best")
        assert star.x[0] == pytest.approx(r.values[0][i], rel=1e-6)
        line = next(c for c in curves if c.key == r.key)
        assert star.y[0] == pytest.approx(np.nanmin(line.y), rel=1e-5)


def test_shading_starts_at_the_divergence_threshold(table):
    edges = divergence_threshold(table)
    assert all(math.isfinite(e) for e in edges.values()), "the range should reach divergence"
    curves = ps.curves_from_table(table, "final_loss", best(table), divergence_edges(table))
    fig = ps.lr_figure(curves, "final_loss", lr_range=(1e-3, 1.0))
    for r in table.rows:
        (shade,) = _shapes(fig, f"{r.key} diverges")
        assert shade.x0 == pytest.approx(edges[r.key])
        assert shade.x1 == pytest.approx(1.0)
        # No point left of the edge diverged; the one at the edge did.
        share = r.objectives["diverged"]
        assert (share[r.values[0] < edges[r.key]] < 0.5).all()
        assert share[np.isclose(r.values[0], edges[r.key])][0] >= 0.5


def test_theory_lines_on_the_ravine_at_2_over_L(table):
    quad = theory.quadratic(RAVINE)
    assert quad.gd_max_lr == pytest.approx(2 / 20, rel=1e-4)
    curves = ps.curves_from_table(table, "final_loss", best(table), divergence_edges(table))
    fig = ps.lr_figure(curves, "final_loss", ps.theory_lines(quad))
    (stab,) = _shapes(fig, "theory: 2/L (GD stability bound)")
    (opt,) = _shapes(fig, "theory: 2/(μ+L) (optimal GD step)")
    assert stab.x0 == stab.x1 == pytest.approx(0.1, rel=1e-4)
    assert opt.x0 == pytest.approx(2 / 21, rel=1e-4)
    assert any(t.name.startswith("2/L") for t in fig.data)  # named in the legend
    # The measured edge of GD is the first grid point above the theory's bound.
    grid = table.row("GD").values[0]
    assert divergence_threshold(table)["GD"] == pytest.approx(grid[grid > 0.1].min())
    assert fig.layout.xaxis.type == "log"


def test_two_axis_curve_is_the_best_over_the_other_axis(table2):
    curves = ps.curves_from_table(table2, "final_loss", best(table2), divergence_edges(table2))
    mom = next(c for c in curves if c.key == "Momentum")
    values = ps.shown(table2.row("Momentum").objectives["final_loss"], "final_loss", 0.0)
    expected = np.where(np.isnan(values), np.inf, values).min(axis=1)
    expected[np.isinf(expected)] = np.nan
    np.testing.assert_allclose(mom.y, expected)


def test_heatmap_marks_best_and_diverged_cells(table2):
    bests = best(table2)
    fig = ps.heatmap_figure(table2, "final_loss", bests)
    (heat,) = [t for t in fig.data if t.type == "heatmap"]  # GD has no β: no panel
    assert heat.name == "Momentum"
    r = table2.row("Momentum")
    assert len(heat.z) == 3  # rows: β
    assert len(heat.z[0]) == 12  # columns: η
    (star,) = _traces(fig, "Momentum best")
    assert star.x[0] == pytest.approx(bests["Momentum"].hparams["learning_rate"])
    assert star.y[0] == f"{bests['Momentum'].hparams['beta']:.3g}"
    (crosses,) = _traces(fig, "Momentum diverged")
    assert len(crosses.x) == int((r.objectives["diverged"] >= 0.5).sum()) > 0
    bad_cells = sum(v is None for row in heat.z for v in row)
    assert bad_cells >= len(crosses.x)


def test_random_samples_plot_as_sorted_points():
    lrs = np.random.default_rng(1).uniform(1e-3, 0.5, 10)
    t = run_sweep(RAVINE, ["gd"], {"learning_rate": lrs}, steps=60, expand=False, pad_to=64)
    (curve,) = ps.curves_from_table(t, "final_loss", best(t), divergence_edges(t))
    assert curve.markers
    assert (np.diff(curve.x) > 0).all()
    fig = ps.lr_figure([curve], "final_loss")
    assert fig.data[0].mode == "markers"


def test_shown_values():
    steps = ps.shown(np.array([3.0, np.inf]), "steps_to_tol", 0.0)
    assert steps[0] == 3.0
    assert np.isnan(steps[1])  # never reached
    gap = ps.shown(np.array([1.0, 1.0 + 1e-3, 1.0 - 1e-7]), "final_loss", 1.0)
    assert gap[1] == pytest.approx(1e-3)
    assert gap[0] == gap[2] == pytest.approx(1e-9)  # floored for the log axis


def test_best_curves_figure():
    steps = np.arange(0, 51, 5)
    curves = {"GD": (steps, np.exp(-0.1 * steps)), "Adam": (steps, np.exp(-0.2 * steps))}
    fig = ps.best_curves_figure(curves, {"GD": "#123456", "Adam": "#654321"}, 0.0, horizon=40)
    assert [t.name for t in fig.data] == ["GD", "Adam"]
    assert fig.layout.yaxis.type == "log"
    assert _shapes(fig, "horizon")[0].x0 == 40


def test_sweep_charts_use_projector_text_and_decade_ticks():
    from optlab.viz.style import FONT

    xs = np.geomspace(1e-4, 1.0, 9)
    curve = ps.Curve("gd", "GD", "#1f77b4", xs, 1.0 / (1.0 + xs), (xs[3], 0.5), math.nan)
    layout = ps.lr_figure([curve], "final_loss").to_dict()["layout"]
    assert layout["font"]["size"] >= FONT
    assert layout["font"]["color"] == "#111"  # dark, not plotly's grey
    for axis in (layout["xaxis"], layout["yaxis"]):
        assert axis["type"] == "log"
        assert axis["dtick"] == 1  # labels at decades only: no "2 5" between them
        assert axis["minor"]["ticks"] == "outside"
