"""Sweeps: objectives against hand computation, divergence shares, grids, no recompiles."""

from __future__ import annotations

import numpy as np
import pytest

from optlab.core import engine
from optlab.core.engine import OptimizerRun, Settings
from optlab.core.metrics import steps_to_tolerance
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import value_grid
from optlab.core.sweeps import (
    OBJECTIVES,
    best,
    divergence_threshold,
    lr_grid,
    lr_param,
    race_runs,
    random_samples,
    run_sweep,
    slider_grids,
)
from surfaces import SURFACES

BOWL = SURFACES["bowl"]  # L = μ = 1
RAVINE = SURFACES["ravine"]
STARTS = [(-2.5, 2.0), (2.0, 2.0)]


def test_lr_grid_is_log_spaced_with_both_ends():
    g = lr_grid(1e-4, 1.0, 5)
    np.testing.assert_allclose(g, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)
    assert lr_grid(0.3, 0.3, 1).tolist() == [0.3]
    with pytest.raises(ValueError, match="low"):
        lr_grid(0.0, 1.0, 3)


def test_random_samples_are_log_uniform_and_reproducible():
    spec = {"learning_rate": OPTIMIZERS["adam"].hparam("learning_rate"), "b1": (0.5, 0.99)}
    a, b = random_samples(spec, 4000, seed=3), random_samples(spec, 4000, seed=3)
    np.testing.assert_array_equal(a["learning_rate"], b["learning_rate"])
    lr, lo, hi = a["learning_rate"], 1e-5, 10.0
    assert lo <= lr.min()
    assert lr.max() <= hi
    # Log-uniform: each decade holds about 1/6 of the samples; uniform would put 90% in the top.
    frac = np.mean((lr > 1e-4) & (lr < 1e-3))
    assert abs(frac - 1 / 6) < 0.03
    assert a["b1"].min() >= 0.5
    assert a["b1"].max() <= 0.99
    assert abs(a["b1"].mean() - 0.745) < 0.02
    assert set(random_samples({"c": OPTIMIZERS["rmsprop"].hparam("centered")}, 50)["c"]) == {0, 1}


def test_best_gd_learning_rate_on_the_bowl_is_near_one_over_L():
    table = run_sweep(BOWL, ["gd"], {"learning_rate": lr_grid(0.01, 3.0, 41)}, STARTS, steps=50)
    for objective in ("mean_loss", "steps_to_tol"):
        lr = best(table, objective)["GD"].hparams["learning_rate"]
        assert 1 / 1.2 < lr < 1.2, (objective, lr)


def test_objectives_equal_a_hand_computation():
    lrs = [0.01, 0.05, 0.09, 0.15]  # 2/L = 0.1 on the ravine with κ = 20: the last diverges
    seeds, steps, horizon, tol = (0, 1), 60, 40, 1e-2
    table = run_sweep(
        RAVINE, ["gd", "momentum"], {"learning_rate": lrs}, STARTS, seeds, steps,
        horizon=horizon, tol=tol, blowup=10.0,
    )  # fmt: skip
    assert table.target == 0.0
    assert table.runs_per_point == 4
    assert table.shape == (4,)
    for row in table.rows:
        res = row.result
        assert res.loss.shape == (4 * 4, steps + 1)
        for g in range(len(lrs)):
            runs = range(4 * g, 4 * g + 4)  # engine order: grid × seeds × starts
            curves = [res.loss[i, : horizon + 1].astype(np.float64) for i in runs]
            div = [
                (0 <= res.diverged_at[i] < horizon)
                or not np.isfinite(c[-1])
                or c[-1] > 10 * c[0] + 1e-12
                for i, c in zip(runs, curves, strict=True)
            ]
            ok = [c for c, d in zip(curves, div, strict=True) if not d]
            assert row.objectives["diverged"][g] == np.mean(div)
            if not ok:
                assert all(np.isnan(row.objectives[o][g]) for o in OBJECTIVES[:3])
                continue
            hand = {
                "final_loss": np.mean([c[-1] for c in ok]),
                "mean_loss": np.mean([c[1:].mean() for c in ok]),
                "steps_to_tol": np.mean(
                    [
                        s if (s := steps_to_tolerance(c, 0.0, tol)) is not None else np.inf
                        for c in ok
                    ]
                ),
            }
            for name, value in hand.items():
                np.testing.assert_allclose(row.objectives[name][g], value, rtol=1e-12)
    gd = table.row("gd").objectives
    assert gd["diverged"].tolist() == [0, 0, 0, 1]
    assert np.isinf(gd["steps_to_tol"][0])  # lr 0.01 never gets within tol in 40 steps


def test_divergence_share_is_one_above_two_over_L_and_zero_below():
    lrs = [0.1, 0.5, 1.0, 1.5, 1.9, 2.1, 2.5, 4.0]
    table = run_sweep(BOWL, ["gd"], {"learning_rate": lrs}, STARTS, seeds=(0, 1), steps=200)
    share = table.row("gd").objectives["diverged"]
    assert share.tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert divergence_threshold(table)["GD"] == pytest.approx(2.1)
    chosen = best(table, "final_loss")["GD"]
    assert chosen.diverged == 0
    assert chosen.hparams["learning_rate"] < 2


def test_two_axis_sweep_expands_to_the_product():
    lrs, betas = lr_grid(1e-3, 0.5, 5), [0.0, 0.5, 0.9]
    table = run_sweep(
        RAVINE, ["gd", "momentum"], {"learning_rate": lrs, "beta": betas}, STARTS, steps=100
    )
    assert table.axes == ("learning_rate", "beta")
    assert table.shape == (5, 3)
    gd, mom = table.row("gd"), table.row("momentum")
    assert gd.axes_used == ("learning_rate",)
    assert mom.axes_used == ("learning_rate", "beta")
    for row in table.rows:
        np.testing.assert_allclose(row.grid["learning_rate"][:, 1], lrs.astype(np.float32))
        np.testing.assert_allclose(row.grid["beta"][2], np.float32(betas))
        assert all(v.shape == (5, 3) for v in row.objectives.values())
        assert all(v.shape == (5, 3, 2) for v in row.per_run.values())
    # GD has no β: its results repeat along that axis.
    np.testing.assert_array_equal(
        gd.objectives["final_loss"][:, 0], gd.objectives["final_loss"][:, 2]
    )
    # Momentum with β = 0 is GD.
    np.testing.assert_allclose(
        mom.objectives["final_loss"][:, 0], gd.objectives["final_loss"][:, 0], rtol=1e-5
    )
    picks = best(table, "mean_loss")
    assert set(picks["Momentum"].hparams) == {"learning_rate", "beta"}
    assert set(picks["GD"].hparams) == {"learning_rate"}
    edges = divergence_threshold(table)
    assert edges["Momentum"].shape == (3,)
    assert len(table.to_records()) == 2 * 15


def test_random_samples_sweep_without_expansion():
    samples = random_samples({"learning_rate": (1e-3, 1.0, True), "beta": (0.0, 0.95)}, 12, 0)
    table = run_sweep(RAVINE, [OptimizerRun("momentum")], samples, STARTS, steps=50, expand=False)
    assert table.shape == (12,)
    assert not table.expanded
    row = table.row("momentum")
    np.testing.assert_allclose(row.grid["beta"], samples["beta"].astype(np.float32))
    pick = best(table, "final_loss")["Momentum"]
    assert pick.value == np.nanmin(row.objectives["final_loss"][row.objectives["diverged"] == 0])


def test_per_optimizer_ranges_and_fixed_hyperparameters():
    axes = [{"learning_rate": lr_grid(1e-3, 0.09, 6)}, {"learning_rate": lr_grid(1e-3, 1.0, 6)}]
    runs = [OptimizerRun("gd"), OptimizerRun("adam", {"b1": 0.5}, label="Adam β1=0.5")]
    table = run_sweep(RAVINE, runs, axes, STARTS, steps=50)
    assert [r.key for r in table.rows] == ["GD", "Adam β1=0.5"]
    assert table.row("Adam β1=0.5").grid["learning_rate"][-1] == pytest.approx(1.0)
    assert table.row("gd").objectives["diverged"].max() == 0


def test_default_and_bare_starts():
    lrs = {"learning_rate": [0.05]}
    default = run_sweep(RAVINE, ["gd"], lrs, steps=20)
    bare = run_sweep(RAVINE, ["gd"], lrs, (-2.5, 1.0), steps=20)  # RAVINE.starts[0]
    assert default.runs_per_point == bare.runs_per_point == 1
    np.testing.assert_array_equal(default.rows[0].result.loss, bare.rows[0].result.loss)


def test_horizon_only_counts_the_first_steps():
    lrs = {"learning_rate": [0.05]}
    full = run_sweep(RAVINE, ["gd"], lrs, STARTS, steps=100)
    early = run_sweep(RAVINE, ["gd"], lrs, STARTS, steps=100, horizon=10)
    loss = full.rows[0].result.loss[:, 10].astype(np.float64).mean()
    np.testing.assert_allclose(early.rows[0].objectives["final_loss"][0], loss, rtol=1e-12)
    assert full.rows[0].objectives["final_loss"][0] < early.rows[0].objectives["final_loss"][0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"axes": {"learning_rate": [0.1], "beta": [0.9], "eps": [1e-8]}}, "1 or 2"),
        ({"axes": {"nonsense": [1.0]}}, "no optimizer has"),
        ({"horizon": 500}, "horizon"),
        ({"axes": [{"learning_rate": [0.1]}, {"learning_rate": [0.1, 0.2]}]}, "same shape"),
    ],
)
def test_bad_sweeps_are_refused(kwargs, match):
    args = {"axes": {"learning_rate": [0.1]}} | kwargs
    with pytest.raises(ValueError, match=match):
        run_sweep(RAVINE, ["gd", "momentum"], args.pop("axes"), STARTS, steps=50, **args)


def test_no_recompile_when_the_range_changes_but_not_the_count(compile_counter):
    names = ["gd", "momentum", "adam"]
    settings = Settings(steps=150)
    run_sweep(RAVINE, names, {"learning_rate": lr_grid(1e-3, 1.0, 16)}, STARTS, settings=settings)
    warm = compile_counter.count
    for low, high in ((1e-4, 0.1), (0.01, 3.0), (1e-5, 1e-2)):
        table = run_sweep(
            RAVINE, names, {"learning_rate": lr_grid(low, high, 16)}, STARTS, (0,),
            steps=120, settings=settings, theta={"kappa": high * 100}, horizon=100,
        )  # fmt: skip
        best(table, "mean_loss"), divergence_threshold(table)
    assert compile_counter.count == warm


def test_the_race_run_shares_its_slider_grid_program_and_equals_a_plain_run(compile_counter):
    """``race_runs`` goes through the program ``slider_grids`` compiled (one per problem and
    optimizer, not two), and its rows of padding change nothing in the trajectory."""
    himmelblau = SURFACES["himmelblau"]
    runs = [OptimizerRun("nesterov", {"learning_rate": 0.0123}), OptimizerRun("adamax")]
    settings = Settings(steps=140)
    grids = slider_grids(himmelblau, runs, (-0.5, 1.5), settings)
    before = compile_counter.count
    trajs = race_runs(himmelblau, runs, (-0.5, 1.5), settings)
    assert compile_counter.count == before
    for g, r in zip(grids, runs, strict=True):
        assert len(g.loss) == len(value_grid(lr_param(r.name)))  # the padding is dropped
    for t, plain in zip(trajs, engine.run(himmelblau, runs, (-0.5, 1.5), settings), strict=True):
        np.testing.assert_allclose(t.params, plain.params, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(t.loss, plain.loss, rtol=1e-6, atol=1e-7)
