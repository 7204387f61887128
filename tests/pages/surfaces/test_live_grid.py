"""The live race's grid is honest: what the page ships for grid value η is ``engine.run`` at η
(the path and the loss at every drawn step, to 1e-6: the engine computes both in full
vector lanes, ``engine.LANES``), a diverging η is drawn up to its last finite point with the
step it diverged at, and the blob round-trips."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from optlab.config.surfaces import default_config, engine_settings, surface_of, with_optimizers
from optlab.core import engine
from optlab.core.params import value_grid
from optlab.core.schedules import SCHEDULES
from optlab.pages.surfaces import compute
from optlab.viz import live
from tests.pages.surfaces import race_probe
from tests.pages.surfaces.race_probe import run_at
from tests.support.apptest import open_page


def exact(cfg, opt: str, lr: float) -> engine.Trajectory:
    hp = dict(cfg.hp(opt), learning_rate=lr)
    (t,) = engine.run(surface_of(cfg), [engine.OptimizerRun(opt, hp)], cfg.start,
                      engine_settings(cfg), theta=dict(cfg.theta))  # fmt: skip
    return t


@pytest.mark.parametrize(("surface", "steps"), [("himmelblau", 200), ("rosenbrock", 700)])
def test_the_drawn_path_at_a_grid_value_is_engine_run_at_that_value(surface, steps):
    cfg = with_optimizers(replace(default_config(surface), steps=steps), ("gd", "momentum", "adam"))
    _, (meta, arrays) = compute.lr_race(compute.structure(cfg.run_key()), True)
    assert meta["steps"] == steps
    checked = 0
    for i, o in enumerate(meta["opts"]):
        grid = value_grid(compute.lr_param(o["name"]))
        assert o["grid"] == pytest.approx(grid)
        for g in (0, 17, 30, 38, 45, 52, 60):
            drawn = run_at(meta, arrays, i, g)
            t = exact(cfg, o["name"], grid[g])
            k = drawn["steps"]
            np.testing.assert_allclose(drawn["xy"], t.params[k, :2], rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(drawn["loss"], t.loss[k], rtol=1e-6, atol=1e-6)
            assert drawn["div"] == (-1 if t.diverged_at is None else t.diverged_at)
            assert drawn["kept"] == len(t.params) - 1  # ends at the last finite point
            assert drawn["final"] == pytest.approx(float(t.loss[-1]), rel=1e-6, abs=1e-6)
            checked += 1
    assert checked == 21


def test_a_diverging_lr_is_drawn_up_to_its_last_finite_point():
    cfg = with_optimizers(default_config("rosenbrock"), ("gd",))
    _, (meta, arrays) = compute.lr_race(compute.structure(cfg.run_key()), True)
    div = arrays["div0"]
    assert (div >= 0).any(), "the grid should hold lrs that diverge"
    assert (div < 0).any(), "... and lrs that do not"
    g = int(np.flatnonzero(div >= 0)[0])
    drawn = run_at(meta, arrays, 0, g)
    assert np.isfinite(drawn["xy"]).all()
    assert np.isfinite(drawn["loss"]).all()
    assert drawn["steps"][-1] == drawn["kept"] <= drawn["div"]
    t = exact(cfg, "gd", meta["opts"][0]["grid"][g])
    assert t.diverged_at == drawn["div"]
    # The sensitivity strip: diverged lrs are a contiguous region at the top of the grid.
    assert (np.diff((div >= 0).astype(int)) >= 0).all()


def test_the_blob_round_trips_and_stays_within_budget():
    cfg = default_config()
    _, (meta, arrays) = compute.lr_race(compute.structure(cfg.run_key()), True)
    blob = live.pack({"race": "r", "race_meta": meta}, arrays)
    head, back = live.unpack(blob)
    assert head["race_meta"] == meta
    assert back.keys() == arrays.keys()
    for k, a in arrays.items():
        np.testing.assert_array_equal(back[k], np.ravel(a))
    assert len(cfg.optimizers) == 4
    assert len(blob) <= 400_000  # the bound for a structural change, 4 optimizers
    small = live.pack({"race": "r", "current": {"gd": 3}})
    assert len(small) < 200
    with pytest.raises(TypeError):
        live.pack({}, {"x": np.zeros(3, np.float64)})


def test_the_theory_curves_follow_the_grid_on_a_quadratic():
    """With the theory overlays on a quadratic surface, GD's and momentum's predicted loss is
    shipped for every grid lr (``pred{i}``, drawn dashed) and matches the run it predicts;
    Adam, which the theory does not cover, gets none."""
    cfg = with_optimizers(default_config("ravine"), ("gd", "momentum", "adam"))
    _, (meta, arrays) = compute.lr_race(compute.structure(cfg.run_key()), True, True)
    assert {k for k in arrays if k.startswith("pred")} == {"pred0", "pred1"}
    for i in (0, 1):
        for g in (20, 30, 36):
            drawn = run_at(meta, arrays, i, g)
            pred = arrays[f"pred{i}"].reshape(-1, meta["points"])[g][: len(drawn["loss"])]
            np.testing.assert_allclose(pred, drawn["loss"], rtol=1e-4, atol=1e-6)
    _, (_, plain) = compute.lr_race(compute.structure(cfg.run_key()), True, False)
    assert not any(k.startswith("pred") for k in plain)


def test_a_schedule_is_shipped_for_the_loss_plot_and_constant_is_not():
    """The lr curve drawn under the loss curves (13.10): η(t)/η per step, on the same step
    axis as the loss (one value per step), only when the schedule is not constant."""
    at = open_page("surfaces", {"opt": "gd", "sched": "cosine", "steps": "120"})
    meta, arrays = race_probe.race(at)
    want = SCHEDULES["cosine"].multipliers(120)
    assert arrays["sched"].shape == (120,)
    np.testing.assert_allclose(arrays["sched"], want, rtol=1e-6)
    assert want[0] > want[-1]  # a decay: the curve is not flat
    assert "cosine" in meta["schedule"]
    at = open_page("surfaces", {"opt": "gd", "steps": "120"})
    assert "sched" not in race_probe.race(at)[1]
