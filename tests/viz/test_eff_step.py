"""The effective step panel: for plain GD it is flat η wherever it is drawn (13.7: float32
rounding of Δθ = θ_{t+1} − θ_t near the minimum used to draw spikes)."""

from __future__ import annotations

import numpy as np

from optlab.config.surfaces import default_config, with_optimizers
from optlab.pages.surfaces import compute
from optlab.viz.effstep import resolved_eff_step
from optlab.viz.panels import eff_step_figure


def test_gd_effective_step_is_flat_eta_where_drawn():
    cfg = with_optimizers(default_config(), ["gd"])
    traj = compute.compute(cfg.run_key())[0]
    raw = traj.eff_step / traj.lr[:, None]
    assert np.nanmax(np.abs(raw - 1)) > 0.05  # the rounding noise the panel used to draw
    shown = resolved_eff_step(traj) / traj.lr[:, None]
    assert np.isfinite(shown).sum() > 10  # the early, resolved steps are still drawn
    np.testing.assert_allclose(shown[np.isfinite(shown)], 1.0, rtol=0.02)
    fig = eff_step_figure(traj)
    for trace in fig.data[:2]:  # step x, step y
        ys = np.array([np.nan if v is None else v for v in trace.y], float)
        ys = ys[np.isfinite(ys)]
        np.testing.assert_allclose(ys, np.asarray(traj.lr)[0], rtol=0.02)


def test_the_log_axis_shows_a_flat_line_as_flat():
    from optlab.viz.effstep import decade_range

    lo, hi = decade_range([0.01, 0.010001])
    assert hi - lo >= 1.5  # a 0.01 % wobble is not blown up to the whole panel
    assert lo < -2 < hi
    lo, hi = decade_range([1e-6, 1.0])
    assert lo < -6
    assert hi > 0
    assert decade_range([np.nan, -1.0]) is None


def test_the_sidebar_lr_legend_gives_each_name_a_whole_row():
    """Two entries to a row cut "Momentum" to "Momentu" in the sidebar (13.6)."""
    from optlab.viz.race import lr_curve_spec

    spec = lr_curve_spec(np.ones(50), {"Momentum": 0.01, "Nesterov": 0.01, "Adam": 0.1})
    legend = spec["layout"]["legend"]
    assert legend["entrywidthmode"] == "fraction"
    assert legend["entrywidth"] == 1
    assert spec["layout"]["margin"]["t"] >= 3 * 24  # room above the plot for three rows
