"""The Sweeps page: its URL form, its numbers (one sweep, tuned links that parse cleanly), and
the page driven by AppTest (every control, no traceback, the figures follow).

The control tour starts from a small sweep (GD and momentum, 8 learning rates, 50 steps) and
changes one control per rerun; most changes reuse the compiled sweep (hyperparameters and
problem parameters are traced), a few compile once (a new step count, optimizer set, problem).
"""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config import surfaces_link
from optlab.config.data import parse_data_query
from optlab.config.sweeps import (
    DEFAULT,
    SweepConfig,
    parse_sweep_query,
    to_sweep_query,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap
from optlab.core.sweeps import OBJECTIVES
from optlab.pages.sweeps import compute, transformer
from tests.support.apptest import open_page

SMALL = {"opt": "gd,momentum", "n": "8", "steps": "50"}


# ---------------------------------------------------------------------------------------------
# The URL.


def test_default_and_round_trip():
    assert parse_sweep_query({}) == (DEFAULT, [])
    assert to_sweep_query(DEFAULT) == {}
    query = {"problem": "rosenbrock", "s.b": "10", "opt": "momentum,adam", "lr": "0.001,0.5",
             "n": "12", "axis2": "beta", "n2": "4", "search": "random", "samples": "32",
             "starts": "3", "steps": "300", "horizon": "120", "objective": "steps_to_tol",
             "tol": "0.01"}  # fmt: skip
    cfg, notices = parse_sweep_query(query)
    assert notices == []
    assert to_sweep_query(cfg) == query
    data = {"problem": "linreg", "batch": "full", "seeds": "3", "opt": "gd"}
    assert to_sweep_query(parse_sweep_query(data)[0]) == data
    custom = {"problem": "custom", "f": "x**2 + 3*y**2"}
    assert to_sweep_query(parse_sweep_query(custom)[0]) == custom


def test_garbage_gives_defaults_and_notices():
    cfg, notices = parse_sweep_query({
        "problem": "nope", "lr": "1,0.1", "n": "1000", "steps": "77", "axis2": "b1",
        "opt": "gd,zz", "objective": "best", "batch": "3", "horizon": "-1", "s.kappa": "0",
        "zz": "1",
    })  # fmt: skip
    assert cfg.problem == DEFAULT.problem
    assert (cfg.lr_low, cfg.lr_high, cfg.n_lr) == (DEFAULT.lr_low, DEFAULT.lr_high, DEFAULT.n_lr)
    assert cfg.steps == 100  # snapped, with a notice
    assert cfg.axis2 == "none"  # GD has no β₁
    assert cfg.optimizers == ("gd",)
    assert len(notices) == 11


# ---------------------------------------------------------------------------------------------
# The numbers.


def test_tuned_values_open_cleanly_on_the_other_pages():
    cfg, _ = parse_sweep_query({**SMALL, "axis2": "beta", "n2": "3"})
    out = compute.run(cfg)
    bests = compute.best_points(out.table, "final_loss")
    tuned = compute.tuned_config(cfg, out.table, bests)
    assert surfaces_link.parse_query(surfaces_link.to_query(tuned)) == (tuned, [])
    assert tuned.hp("momentum")["beta"] == snap(
        OPTIMIZERS["momentum"].hparam("beta"), bests["Momentum"].hparams["beta"]
    )
    assert out.curves["final_loss"]["GD"][1].shape == out.curves["final_loss"]["GD"][0].shape
    assert all(r.result is None for r in out.table.rows)  # light to cache
    data = SweepConfig(problem="linreg", optimizers=("gd", "adam"))
    query = compute.tuned_data_query(data, out.table, bests)  # GD's tuned η carries over
    assert parse_data_query(query)[1] == []
    assert query["opt"] == "gd,adam"


def test_theory_only_for_quadratics():
    assert compute.quadratic_of(DEFAULT).gd_max_lr == pytest.approx(0.1, rel=1e-4)
    assert compute.quadratic_of(SweepConfig(problem="rosenbrock", theta=(("b", 100.0),))) is None
    assert (pytest.approx(4.0, rel=1e-4)) == compute.quadratic_of(
        SweepConfig(problem="custom", custom="2*x**2 + y**2")
    ).L


# ---------------------------------------------------------------------------------------------
# The page.


def run_page(query=None) -> AppTest:
    return open_page("sweeps", query)


def charts(at: AppTest) -> dict[str, str]:
    return {c.proto.id.rsplit("-", 1)[-1]: c.proto.spec for c in at.get("plotly_chart")}


def lr_data(at: AppTest) -> list:
    return json.loads(charts(at)["sweep_lr_chart"])["data"]


def changed(at: AppTest, act, what: str, chart: str = "sweep_lr_chart") -> None:
    before = charts(at).get(chart)
    act()
    assert not at.exception, [e.value for e in at.exception]
    after = charts(at).get(chart)
    assert after is not None, f"{what}: no {chart}"
    assert after != before, f"{what}: {chart} did not change"


@pytest.fixture(scope="module")
def at() -> AppTest:
    return run_page(SMALL)


def test_page_shows_the_sweep_with_theory_and_a_tuned_link(at):
    names = [t.get("name") for t in lr_data(at)]
    assert {"GD", "Momentum", "GD best"} <= set(names)
    assert any(n and n.startswith("2/L") for n in names)  # the ravine is a quadratic
    (link,) = at.get("page_link")
    assert "gd.lr=" in link.proto.query_string
    assert len(at.dataframe[0].value) == 2
    assert dict(at.query_params) == SMALL


def test_problem_and_axes_controls(at):
    changed(at, lambda: at.select_slider(key="sw.s.ravine.kappa").set_value(50.0).run(), "κ")
    assert at.query_params["s.kappa"] == "50"
    changed(at, lambda: at.select_slider(key="sw.lr").set_value((1e-3, 1.0)).run(), "lr range")
    changed(at, lambda: at.slider(key="sw.n").set_value(10).run(), "n")
    changed(at, lambda: at.selectbox(key="sw.axis2").set_value("beta").run(), "axis2")
    assert "sweep_heatmap" in charts(at)
    changed(at, lambda: at.slider(key="sw.n2").set_value(3).run(), "n2", "sweep_heatmap")
    changed(at, lambda: at.radio(key="sw.search").set_value("random").run(), "search")
    changed(at, lambda: at.slider(key="sw.samples").set_value(20).run(), "samples")
    at.radio(key="sw.search").set_value("grid").run()
    at.selectbox(key="sw.axis2").set_value("none").run()
    assert "sweep_heatmap" not in charts(at)


def test_run_controls_and_objectives(at):
    changed(at, lambda: at.slider(key="sw.starts").set_value(2).run(), "starts")
    changed(at, lambda: at.slider(key="sw.horizon").set_value(25).run(), "horizon")
    # Longer runs, same horizon: the objectives stay, the curves at the tuned values grow.
    steps = lambda: at.select_slider(key="sw.steps").set_value(100).run()  # noqa: E731
    changed(at, steps, "steps", "sweep_best_curves")
    assert at.slider(key="sw.horizon").value == 25  # kept (a custom horizon)
    for objective in reversed(OBJECTIVES):
        if objective != at.radio(key="sw.objective").value:
            changed(at, lambda o=objective: at.radio(key="sw.objective").set_value(o).run(),
                    objective)  # fmt: skip
        assert at.query_params.get("objective", "final_loss") == objective
    at.radio(key="sw.objective").set_value("steps_to_tol").run()
    changed(at, lambda: at.select_slider(key="sw.tol").set_value(0.1).run(), "tol")
    changed(at, lambda: at.multiselect(key="sw.opt").select("adam").run(), "optimizers")
    at.multiselect(key="sw.opt").set_value([]).run()
    assert not at.exception
    assert any("Pick at least one optimizer" in i.value for i in at.info)


def test_data_and_custom_problems():
    at = run_page({"problem": "linreg", "opt": "gd", "n": "4", "steps": "50"})
    assert "batch" not in at.query_params
    assert at.get("page_link")[0].proto.page == "data"  # tuned values open the data page
    changed(at, lambda: at.slider(key="sw.seeds").set_value(2).run(), "seeds")
    changed(at, lambda: at.select_slider(key="sw.batch").set_value(0).run(), "batch")
    assert at.query_params["batch"] == "full"
    changed(at, lambda: at.selectbox(key="sw.problem").set_value("custom").run(), "problem")
    changed(at, lambda: at.text_input(key="sw.f").set_value("x**2 + 4*y**2").run(), "f")
    at.text_input(key="sw.f").set_value("x**2 + oops(y)").run()
    assert not at.exception
    assert "cannot be used" in at.error[0].value


def test_garbage_link_shows_a_notice():
    at = run_page({**SMALL, "lr": "abc", "search": "sideways"})
    assert "ignored" in at.warning[0].value or "default" in at.warning[0].value
    assert lr_data(at)


def test_too_big_a_sweep_is_refused_politely():
    at = run_page({"problem": "linreg", "n": "48", "axis2": "beta", "n2": "10", "starts": "4",
                   "seeds": "4", "steps": "1000"})  # fmt: skip
    assert "too many runs" in at.warning[0].value
    assert "sweep_lr_chart" not in charts(at)


def test_transformer_expander(monkeypatch):
    """The button runs the sweep (here a stand-in for the training) and draws its results."""

    def fake_run(spec, progress):
        progress(0.5, "half")
        labels = spec.labels()
        return {"train": {lab: 3.0 + lr for lab, _, lr in labels},
                "val": {lab: 3.2 + lr for lab, _, lr in labels},
                "diverged": {lab: lr > 0.05 for lab, _, lr in labels}}  # fmt: skip

    monkeypatch.setattr(transformer, "run", fake_run)
    transformer.finished().clear()
    at = run_page({**SMALL, "n": "3"})
    at.multiselect(key="swt.opt").set_value(["adam", "momentum"])
    at.select_slider(key="swt.lr").set_value((1e-3, 0.1))
    at.slider(key="swt.n").set_value(4)
    at.select_slider(key="swt.steps").set_value(20)
    at.button(key="swt.run").click().run()
    assert not at.exception, [e.value for e in at.exception]
    spec = json.loads(charts(at)["tf_sweep_train"])
    stars = [t for t in spec["data"] if t["name"].endswith("best")]
    assert len(stars) == 2
    assert all(s["x"][0] == pytest.approx(1e-3) for s in stars)  # the lowest loss
    shades = [s for s in spec["layout"]["shapes"] if s.get("name", "").endswith("diverges")]
    assert len(shades) == 2
    assert "tf_sweep_val" in charts(at)
    transformer.finished().clear()


@pytest.mark.slow
def test_transformer_sweep_trains_for_real():
    spec = transformer.TfSweep(("adam",), 1e-3, 1e-2, 2, 10)
    seen = []
    result = transformer.run(spec, lambda f, text: seen.append(f))
    assert seen[-1] == 1.0
    assert set(result["train"]) == {label for label, _, _ in spec.labels()}
    assert all(2.0 < v < 6.0 for v in result["val"].values())


def test_the_transformer_expander_keeps_its_settings_in_the_url_itself():
    """Its widgets are bound to the URL by Streamlit (``bind="query-params"``): a link sets
    them, the page's own parser does not flag their keys, and the page's URL writer leaves
    them in place when the page's own settings change."""
    at = run_page({**SMALL, "swt.steps": "100", "swt.n": "5"})
    assert (at.select_slider(key="swt.steps").value, at.slider(key="swt.n").value) == (100, 5)
    assert not any("swt." in str(w.value) for w in at.warning)  # no "unknown parameter"
    at.radio(key="sw.objective").set_value("diverged").run()
    assert not at.exception, [e.value for e in at.exception]  # no "bound parameter" error
    assert "swt.n" in at.query_params  # left to its widget
    assert at.query_params["objective"] in ("diverged", ["diverged"])
    assert at.slider(key="swt.n").value == 5


def test_a_tuned_link_after_a_random_search_converges_on_the_surfaces_page():
    """The random search's best GD step (0.0914 on the ravine) sits just under 2/L = 0.1, the
    next grid value up: the link snaps it down, so the race it opens converges as the sweep
    promised (snapping to the nearest grid value, 0.1, never converged)."""
    from optlab.scenarios import run_query

    cfg, _ = parse_sweep_query({"opt": "gd", "search": "random", "samples": "64"})
    out = compute.run(cfg)
    bests = compute.best_points(out.table, "final_loss")
    swept = bests["GD"]
    q = compute.quadratic_of(cfg)
    assert swept.hparams["learning_rate"] < q.gd_max_lr < 1.1 * swept.hparams["learning_rate"]
    tuned = compute.tuned_config(cfg, out.table, bests)
    assert tuned.hp("gd")["learning_rate"] <= swept.hparams["learning_rate"]
    (gd,) = run_query(surfaces_link.to_query(tuned)).values()
    assert gd.diverged_at is None
    assert gd.loss[-1] < 1e-6 * gd.loss[0]
    assert swept.value < 1e-6 * gd.loss[0]  # what the sweep promised, kept
