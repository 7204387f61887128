"""The theory overlays on the Surfaces page: the predicted curves against the engine, the
figure's overlay traces, the captions and the Hessian line in the app, the ``theory`` link flag."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from optlab.config.surfaces_link import parse_query, to_query
from optlab.core import engine, theory
from optlab.pages.surfaces import compute, figures
from optlab.shell import widgets
from optlab.viz import overlays
from surfaces import SURFACES

TIMEOUT = 60
PREDICTED = " predicted (rate ρ="


def config(**query: str):
    cfg, notices = parse_query(query)
    assert notices == []
    return cfg


# ---------------------------------------------------------------------------------------------
# The numbers: the page's predicted curves against the engine's measured losses.


@pytest.mark.parametrize(
    ("surface", "theta", "frac"),
    [("bowl", {}, 0.3), ("bowl", {}, 0.9), ("ravine", {"kappa": 20.0}, 0.5),
     ("ravine", {"kappa": 100.0}, 0.95)],
)  # fmt: skip
def test_predicted_gd_curve_equals_the_measured_loss(surface, theta, frac):
    """Below 2/L the page's prediction is the engine's loss (run independently, float32)."""
    s = SURFACES[surface]
    q = theory.quadratic(s, theta)
    lr = frac * q.gd_max_lr
    start = (s.starts[0].x, s.starts[0].y)
    steps = 120
    traj = engine.run(s, [engine.OptimizerRun("gd", {"learning_rate": lr})], start,
                      engine.Settings(steps=steps), theta)[0]  # fmt: skip
    assert traj.diverged_at is None
    (pred,) = overlays.predictions(
        q, (("gd", (("learning_rate", lr),)),), start, np.ones(steps), steps
    )
    assert pred.label.startswith("GD" + PREDICTED)
    assert pred.rate == pytest.approx(max(abs(1 - lr * q.mu), abs(1 - lr * q.L)))
    np.testing.assert_allclose(pred.loss, traj.loss, rtol=2e-4, atol=1e-30)


def test_page_prediction_follows_the_schedule_and_momentum():
    """``compute.predicted`` (the page's cached call) against ``compute.compute`` (its run)."""
    cfg = config(surface="ravine", opt="gd,momentum,nesterov,adam", sched="cosine",
                 **{"gd.lr": "0.08", "momentum.lr": "0.02", "momentum.beta": "0.8",
                    "nesterov.lr": "0.02", "nesterov.beta": "0.8", "steps": "80"})  # fmt: skip
    key = cfg.run_key()
    preds = compute.predicted(key)
    assert [p.name for p in preds] == ["gd", "momentum", "nesterov"]  # Adam: no theory
    for p, t in zip(preds, compute.compute(key), strict=False):
        assert t.name == p.name
        np.testing.assert_allclose(p.loss, t.loss, rtol=1e-3, err_msg=p.name)
        assert "at the base lr" in p.label


def test_no_prediction_where_the_theory_is_not_exact():
    assert compute.predicted(config(surface="rosenbrock", opt="gd").run_key()) == ()
    assert compute.predicted(config(surface="saddle", opt="gd").run_key()) == ()
    ravine = config(surface="ravine", opt="gd")
    assert compute.predicted(replace(ravine, clip="norm").run_key()) == ()
    assert compute.predicted(replace(ravine, wd="l2").run_key()) == ()


@pytest.mark.parametrize("opt", ["gd", "momentum", "nesterov"])
def test_stability_bounds_match_the_rates(opt):
    """Each optimizer's ``lr < bound`` is exactly where its rate crosses 1."""
    q = theory.quadratic(SURFACES["ravine"], {"kappa": 20.0})
    beta = 0.7
    limit = overlays.BOUNDS[opt].value(q, beta)
    assert (
        overlays.RATES[opt](q, 0.99 * limit, beta) < 1 < overlays.RATES[opt](q, 1.01 * limit, beta)
    )


@pytest.mark.parametrize(("lr", "beta"), [(0.05, 0.5), (0.02, 0.9), (0.06, 0.2)])
def test_nesterov_rate_is_the_measured_contraction(lr, beta):
    """The engine's Nesterov (whose loss the prediction matches) contracts at ``nesterov_rate``
    per step (peaks over windows: its iteration may rotate)."""
    q = theory.quadratic(SURFACES["ravine"], {"kappa": 20.0})
    loss = q.predicted_loss((-2.5, 1.0), lr, 800, "nesterov", beta)
    measured = (loss[700:800].max() / loss[300:400].max()) ** (1 / 800)
    assert q.nesterov_rate(lr, beta) == pytest.approx(measured, rel=1e-3)


def test_notes_say_the_bound_and_warn_past_it():
    q = theory.quadratic(SURFACES["ravine"], {"kappa": 20.0})
    note = overlays.lr_note("gd", q, {"learning_rate": 0.05})
    assert "lr < 2/L = 0.1" in note
    assert "2/(μ + L) = 0.09524" in note
    assert "μ = 1, L = 20" in note
    assert "⚠" not in note
    assert "⚠ lr 0.25 > 2/L = 0.1: GD diverges here" in overlays.lr_note(
        "gd", q, {"learning_rate": 0.25}
    )
    hb = overlays.lr_note("momentum", q, {"learning_rate": 0.01, "beta": 0.9})
    assert f"α = 4/(√L + √μ)² = {q.hb_lr:.4g}" in hb
    assert f"{q.hb_beta:.3g}" in hb
    assert overlays.lr_note("adam", q, {"learning_rate": 0.1}) is None


def test_point_note_classifies_and_gives_the_condition_number():
    s = SURFACES["saddle"]
    note = overlays.point_note(theory.inspect_point(s, (0.0, 0.0)), 3)
    assert "a critical point: a **saddle**" in note
    assert "max|λ|/min|λ| = 1" in note
    note = overlays.point_note(
        theory.inspect_point(SURFACES["ravine"], (1.0, 1.0), {"kappa": 20}), 0
    )
    assert "**minimum**" in note
    assert "not a critical point" in note
    assert "= 20" in note


# ---------------------------------------------------------------------------------------------
# The figures.


def predicted_traces(spec: dict) -> list[dict]:
    return [t for t in spec["data"] if PREDICTED in str(t.get("name", ""))]


def test_lab_figure_has_the_overlay_only_when_asked_and_exact():
    key = config(surface="ravine", opt="gd,adam", **{"gd.lr": "0.05"}).run_key()
    on = figures.lab(key, 60, True, False, True).spec
    (trace,) = predicted_traces(on)
    assert trace["name"] == "GD predicted (rate ρ=0.95)"
    assert trace["line"]["dash"] == "dash"
    assert (trace["xaxis"], trace["yaxis"]) == ("x2", "y2")
    assert trace["line"]["color"] == compute.compute(key)[0].color
    assert len(trace["y"]) == key.steps + 1
    # Frames still move the animated traces, which stay last.
    assert on["frames"][0]["traces"][-1] == len(on["data"]) - 1
    assert predicted_traces(figures.lab(key, 60, True, False, False).spec) == []
    rosen = config(surface="rosenbrock", opt="gd").run_key()
    assert predicted_traces(figures.lab(rosen, 60, True, False, True).spec) == []


def test_lr_curve_marks_two_over_l():
    spec = widgets.lr_curve_figure("constant", 100, (), (("GD", 0.05),), ("2/L", 0.1)).spec
    assert any(a["text"] == "2/L = 0.1" for a in spec["layout"]["annotations"])
    assert spec["data"][-1]["y"] == [0.1, 0.1]
    assert (
        "annotations"
        not in widgets.lr_curve_figure("constant", 100, (), (("GD", 0.05),)).spec["layout"]
    )


# ---------------------------------------------------------------------------------------------
# The app.


# The page's side of the overlays (2/L under the sliders, the predicted curves in the live
# race, the Hessian note): tests/pages/surfaces/test_theory.py.


# ---------------------------------------------------------------------------------------------
# The link.


def test_theory_flag_round_trips_through_the_url():
    cfg, notices = parse_query({"theory": "0"})
    assert (cfg.theory, notices) == (False, [])
    assert to_query(cfg) == {"theory": "0"}
    assert parse_query(to_query(cfg))[0] == cfg
    assert "theory" not in to_query(replace(cfg, theory=True))
    cfg, notices = parse_query({"theory": "maybe"})
    assert cfg.theory
    assert "expected 0 or 1" in notices[0]
