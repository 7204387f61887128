"""Quadratic theory against the engine: eigenvalues, stability edge, predicted curves, rates."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optlab.core import theory
from optlab.core.engine import OptimizerRun, Settings, run, sweep
from surfaces import SURFACES

RAVINE = SURFACES["ravine"]
START = (-2.5, 1.0)


@pytest.mark.parametrize("kappa", [1.0, 20.0, 100.0, 1000.0])
def test_ravine_eigenvalues_are_exact(kappa):
    for point in [(0.0, 0.0), (1.7, -2.3)]:
        lam, vec = theory.hessian_eigs(RAVINE, point, {"kappa": kappa})
        assert lam.tolist() == [1.0, kappa]
        np.testing.assert_array_equal(np.abs(vec), np.eye(2))
    q = theory.quadratic(RAVINE, {"kappa": kappa})
    assert (q.L, q.mu, q.kappa) == (kappa, 1.0, kappa)


def test_bowl_and_rotated_quadratics():
    assert theory.hessian_eigs(SURFACES["bowl"], (0.3, -2.0))[0].tolist() == [1.0, 1.0]
    booth = theory.quadratic(SURFACES["booth"])
    np.testing.assert_allclose(booth.eigvals, [2.0, 18.0], rtol=1e-6)
    np.testing.assert_allclose(booth.minimizer, [1.0, 3.0], atol=1e-6)
    np.testing.assert_allclose(theory.quadratic(SURFACES["matyas"]).kappa, 25.0, rtol=1e-5)
    with pytest.raises(ValueError, match="not a quadratic"):
        theory.quadratic(SURFACES["rosenbrock"])


def test_step_sizes_and_rates_follow_the_formulas():
    q = theory.quadratic(RAVINE, {"kappa": 100.0})
    L, mu, k = 100.0, 1.0, 100.0
    assert q.gd_max_lr == pytest.approx(2 / L)
    assert q.gd_opt_lr == pytest.approx(2 / (mu + L))
    assert q.gd_opt_rate == pytest.approx((k - 1) / (k + 1))
    assert q.gd_rate(q.gd_opt_lr) == pytest.approx(q.gd_opt_rate)
    assert q.hb_lr == pytest.approx(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2)
    assert q.hb_beta == pytest.approx(((math.sqrt(k) - 1) / (math.sqrt(k) + 1)) ** 2)
    assert q.hb_rate == pytest.approx(9 / 11)
    # At the optimum the heavy ball's iteration has a double eigenvalue of modulus √β.
    assert q.momentum_rate(q.hb_lr, q.hb_beta) == pytest.approx(q.hb_rate, rel=1e-6)
    assert q.momentum_rate(q.gd_opt_lr, 0.0) == pytest.approx(q.gd_opt_rate)


def test_gd_converges_just_below_two_over_L_and_diverges_just_above():
    q = theory.quadratic(RAVINE, {"kappa": 100.0})
    lrs = [0.99 * q.gd_max_lr, 1.01 * q.gd_max_lr]
    res = sweep(RAVINE, ["gd"], {"learning_rate": lrs}, [START], Settings(steps=3000),
                theta={"kappa": 100.0})[0]  # fmt: skip
    below, above = res.loss
    assert res.diverged_at[0] == -1
    assert below[-1] < 1e-12 * below[0]
    assert res.diverged_at[1] > 0  # |1 − ηL| = 1.02: the steep direction overflows float32
    assert np.all(np.diff(above[1:1000:2]) > 0)  # and the loss grows at every other step


@pytest.mark.parametrize(("kappa", "frac"), [(20.0, 0.1), (20.0, 0.5), (100.0, 0.9), (100.0, 1.0)])
def test_predicted_gd_curve_equals_the_engine(kappa, frac):
    """``frac`` of the way to 2/L (1.0 is the optimal step 2/(μ+L), just below it)."""
    q = theory.quadratic(RAVINE, {"kappa": kappa})
    lr = frac * q.gd_max_lr if frac < 1 else q.gd_opt_lr
    traj = run(RAVINE, [OptimizerRun("gd", {"learning_rate": lr})], START, Settings(steps=50),
               {"kappa": kappa})[0]  # fmt: skip
    pred = q.predicted_loss(START, lr, 50)
    np.testing.assert_allclose(traj.loss, pred, rtol=1e-3)


def test_predicted_curves_follow_schedules_and_momentum():
    q = theory.quadratic(RAVINE, {"kappa": 20.0})
    settings = Settings(steps=50, schedule="cosine")
    runs = [
        OptimizerRun("gd", {"learning_rate": 0.08}),
        OptimizerRun("momentum", {"learning_rate": 0.02, "beta": 0.8}),
        OptimizerRun("nesterov", {"learning_rate": 0.02, "beta": 0.8}),
    ]
    trajs = run(RAVINE, runs, START, settings, {"kappa": 20.0})
    mult = settings.lr_multipliers()[:50]
    for r, t in zip(runs, trajs, strict=True):
        lr = r.hparams["learning_rate"] * mult
        pred = q.predicted_loss(START, lr, 50, r.name, r.hparams.get("beta", 0.0))
        np.testing.assert_allclose(t.loss, pred, rtol=1e-3, err_msg=r.name)


def test_optimal_heavy_ball_beats_optimal_gd_on_the_kappa_100_ravine():
    q = theory.quadratic(RAVINE, {"kappa": 100.0})
    runs = [
        OptimizerRun("gd", {"learning_rate": q.gd_opt_lr}),
        OptimizerRun("momentum", {"learning_rate": q.hb_lr, "beta": q.hb_beta}),
    ]
    gd, hb = run(RAVINE, runs, START, Settings(steps=150), {"kappa": 100.0})
    assert hb.loss[-1] < 1e-6 * gd.loss[-1]
    # The measured per-step contraction of the distance matches each rate.
    gd_rate = math.sqrt(gd.loss[100] / gd.loss[99])
    assert gd_rate == pytest.approx(q.gd_opt_rate, rel=1e-3)
    hb_pred = q.predicted_loss(START, q.hb_lr, 60, "momentum", q.hb_beta)
    np.testing.assert_allclose(hb.loss[:61], hb_pred, rtol=1e-3)


def test_saddle_point_is_classified_as_a_saddle():
    s = SURFACES["saddle"]
    info = theory.inspect_point(s, (s.saddles[0].x, s.saddles[0].y))
    assert info.kind == "saddle"
    assert info.stationary
    np.testing.assert_allclose(info.eigvals, [-2.0, 2.0])
    assert "saddle" in info.describe()


def test_classify_all_four_kinds():
    assert theory.classify([1.0, 3.0]) == "minimum"
    assert theory.classify([-3.0, -1.0]) == "maximum"
    assert theory.classify([-1.0, 3.0]) == "saddle"
    assert theory.classify([0.0, 3.0]) == "flat"
    assert theory.classify([-1e-9, 0.0]) == "flat"
    plateau = theory.inspect_point(SURFACES["cliff"], (2.5, 1.0))
    assert plateau.kind == "flat"
    assert not plateau.stationary
    assert "not a critical point" in plateau.describe()


LABELLED = [
    (name, kind, p)
    for name, s in SURFACES.items()
    for kind, points in (
        ("minimum", s.minima + s.local_minima),
        ("saddle", s.saddles),
        ("maximum", s.local_maxima),
    )
    for p in points
]


@pytest.mark.parametrize(("name", "kind", "p"), LABELLED, ids=lambda v: getattr(v, "label", v))
def test_every_labelled_point_classifies_as_labelled(name, kind, p):
    info = theory.inspect_point(SURFACES[name], (p.x, p.y))
    assert info.stationary, info.grad
    assert info.kind == kind, info.eigvals


def test_inspecting_new_points_never_recompiles(compile_counter):
    s = SURFACES["himmelblau"]
    theory.inspect_point(s, (0.0, 0.0))
    warm = compile_counter.count
    for xy in np.random.default_rng(0).uniform(-4, 4, (10, 2)):
        theory.inspect_point(s, xy)
    theory.quadratic(RAVINE, {"kappa": 50.0})
    warm_q = compile_counter.count
    theory.quadratic(RAVINE, {"kappa": 70.0})
    assert compile_counter.count == warm_q
    assert warm_q - warm <= 1  # only the ravine's own compile
