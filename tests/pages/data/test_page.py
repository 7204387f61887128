"""The Data & SGD page: its URL state (pure) and the page driven headless with AppTest.

The tour reuses one AppTest run and starts with a single optimizer (``opt=gd``): every other
change is a rerun that compiles nothing (data, batch size, seeds, noise and learning rates are
arrays in the compiled scan), so the whole module costs about three engine compiles.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config.data import (
    FULL,
    DataConfig,
    batch_options,
    default_data_config,
    lr_spec,
    parse_data_query,
    regime,
    to_data_query,
    with_optimizers,
)
from optlab.core.params import value_grid
from optlab.pages.data import controls
from optlab.pages.data import page as data_page
from tests.pages.surfaces import race_probe
from tests.support.apptest import open_page, table_rows

TIMEOUT = 120


def run_page(query: dict[str, str] | None = None) -> AppTest:
    return open_page("data", query, TIMEOUT)


def spec(at: AppTest, key: str) -> dict:
    charts = [c for c in at.get("plotly_chart") if c.proto.id and c.proto.id.endswith(key)]
    assert charts, f"chart {key} is missing"
    return json.loads(charts[0].proto.spec)


def race_traces(at: AppTest, key: str) -> dict[str, list]:
    """What the live race draws now (``d.map``: the mean path, every seed's end point and
    the landmarks; ``d.loss``: the mean full loss, its band and the mini-batch loss)."""
    meta, arrays = race_probe.race(at)
    current = race_probe.header(at)["current"]
    out: dict[str, list] = {}
    for i, o in enumerate(meta["opts"]):
        g, P, K = current[o["name"]], meta["points"], meta["seeds"]
        run = race_probe.run_at(meta, arrays, i, g)
        if key == "d.map":
            out[f"{o['label']} · mean"] = run["xy"].tolist()
            out[f"{o['label']} · end points"] = arrays[f"ends{i}"].reshape(-1, K, 2)[g].tolist()
        else:
            n = len(run["loss"])
            out[f"{o['label']} · full loss"] = run["loss"].tolist()
            std = arrays[f"lstd{i}"].reshape(-1, P)[g][:n]
            out[f"{o['label']} · full loss band"] = [run["steps"].tolist(), std.tolist()]
            if meta["sample"]:
                seen = arrays[f"smean{i}"].reshape(-1, P)[g][:n]
                out[f"{o['label']} · mini-batch loss"] = seen.tolist()
    if key == "d.map":
        names = {"global": "global minimum", "start": "start"}
        out.update({names.get(k, k): [x, y] for x, y, k in meta["landmarks"]})
    return out


def traces(at: AppTest, key: str) -> dict[str, list]:
    if key in ("d.map", "d.loss"):
        return race_traces(at, key)
    return {t.get("name"): [t.get("x"), t.get("y")] for t in spec(at, key)["data"]}


def changed(at: AppTest, act, key: str = "d.loss", what: str = "") -> None:
    """Perform ``act`` (a rerun): no exception, and the chart ``key`` changed."""
    before = traces(at, key)
    act()
    assert not at.exception, [e.value for e in at.exception]
    assert traces(at, key) != before, f"{what}: chart {key} did not change"


def markdown(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


# ---------------------------------------------------------------------------------------------
# URL state.


def test_defaults_make_an_empty_query():
    for problem in ("linreg", "logreg", "surface"):
        cfg = default_data_config(problem)
        assert parse_data_query(to_data_query(cfg)) == (cfg, [])
    assert to_data_query(DataConfig()) == {}


@pytest.mark.parametrize(
    "cfg",
    [
        DataConfig(problem="logreg", n_points=50, batch=FULL, standardize=True, data_seed=7),
        DataConfig(noise=0.0, scale=0.1, offset=-10.0, batch=1, seeds=32, at=17, log_loss=False),
        replace(default_data_config("surface"), surface="bowl", grad_noise=0.0, steps=1000),
        with_optimizers(DataConfig(schedule="cosine", grad_noise=0.3), ("adam", "lion")),
        with_optimizers(DataConfig(), ()),
    ],
    ids=["logreg-full", "sgd", "surface", "adam-lion", "none"],
)
def test_round_trip(cfg):
    assert parse_data_query(to_data_query(cfg)) == (cfg, [])


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ({"problem": "svm"}, "unknown value"),
        ({"n": "5"}, "out of range"),
        ({"n": "150"}, "rounded to"),
        ({"batch": "-1"}, "out of range"),
        ({"batch": "20"}, "rounded to 16"),
        ({"seeds": "100"}, "out of range"),
        ({"seeds": "abc"}, "not a number"),
        ({"opt": "sgd9"}, "no known optimizer"),
        ({"lion.lr": "0.1"}, "is not selected"),
        ({"gd.b1": "0.1"}, "has no setting"),
        ({"gd.lr": "nan"}, "not a finite number"),
        ({"at": "999"}, "out of range"),
        ({"std": "maybe"}, "expected 0 or 1"),
        ({"surface": "nowhere"}, "unknown value"),
        ({"sched": "weekly"}, "unknown value"),
        ({"grad_noise": "1e9"}, "out of range"),
        ({"wat": "1"}, "unknown parameter"),
    ],
)
def test_garbage_falls_back_with_a_notice(query, why):
    cfg, notices = parse_data_query(query)
    assert len(notices) == 1, notices
    assert why in notices[0]
    assert cfg.problem in ("linreg", "logreg", "surface")


def test_batch_follows_the_data_size():
    assert batch_options(10) == (1, 2, 4, 8, FULL)
    assert parse_data_query({"n": "10"})[0].batch == FULL  # 16 ≥ 10 points: the whole set
    assert parse_data_query({"batch": "500"})[0].batch == FULL
    assert [regime(b, 200) for b in (1, 16, FULL, 300)] == [
        "SGD", "mini-batch", "full-batch GD", "full-batch GD",
    ]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The page.


@pytest.fixture(scope="module")
def at() -> AppTest:
    return run_page({"opt": "gd"})


def open_fit(at: AppTest) -> None:
    """Open "The model at one step" (closed by default) as a click on it does."""
    at.session_state[data_page.FIT_OPEN] = True
    at.run()


def test_page_shows_map_loss_data_and_results(at):
    names = traces(at, "d.map")
    assert {"GD · mean", "GD · end points", "global minimum"} <= set(names)
    assert race_probe.header(at)["image"]["uri"], "the full-data loss image is missing"
    assert {"GD · full loss", "GD · mini-batch loss", "GD · full loss band"} <= set(
        traces(at, "d.loss")
    )
    # the model panel is drawn only when opened: closed by default, no chart
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("d.fit")]
    open_fit(at)
    assert {"data", "GD · step 200", "best fit"} <= set(traces(at, "d.fit"))
    assert "mini-batch" in markdown(at)
    assert "What to notice" in markdown(at)
    assert [r["optimizer"] for r in table_rows(at, "optimizer")] == ["GD"]


def test_data_controls_change_the_run(at):
    for key, value, chart in (
        ("d.n", 500, "d.map"),
        ("d.noise", 1.0, "d.loss"),
        ("d.scale", 2.0, "d.map"),
        ("d.offset", -2.0, "d.map"),
    ):
        w = at.select_slider(key=key)
        changed(at, lambda w=w, v=value: w.set_value(v).run(), chart, key)
    changed(at, lambda: at.toggle(key="d.std").set_value(True).run(), "d.map", "std")
    changed(at, lambda: at.number_input(key="d.data_seed").set_value(3).run(), "d.loss", "seed")
    q = at.query_params
    assert {"n", "noise", "scale", "offset", "std", "data_seed"} <= set(q)


def test_batch_slider_from_sgd_to_full_batch(at, compile_counter):
    changed(at, lambda: at.select_slider(key="d.batch").set_value(1).run(), what="SGD")
    assert ":red-badge[SGD]" in markdown(at)
    changed(at, lambda: at.select_slider(key="d.batch").set_value(FULL).run(), what="full")
    assert ":green-badge[full-batch GD]" in markdown(at)
    assert at.query_params["batch"] == "full"
    band = traces(at, "d.loss")["GD · full loss band"][1]
    assert max(band) == pytest.approx(0, abs=1e-5)  # every seed takes one path
    assert compile_counter.count == 0


def test_seeds_noise_lr_schedule_steps_and_display(at, compile_counter):
    w = at.select_slider(key="d.grad_noise")  # the full batch is noiseless: add some
    changed(at, lambda: w.set_value(0.5).run(), what="gradient noise")
    changed(at, lambda: at.slider(key="d.seeds").set_value(3).run(), what="seeds")
    changed(at, lambda: at.slider(key="d.seeds").set_value(6).run(), what="seeds")
    assert compile_counter.count == 0, "the seed count or the noise level recompiled"
    changed(at, lambda: at.slider(key="d.seeds").set_value(32).run(), what="seeds")  # a bucket

    def lr() -> None:  # what the race component's release does
        at.session_state[controls.CFG] = controls.with_lrs(at.session_state[controls.CFG],
                                                           {"gd": 0.0201})  # fmt: skip
        at.run()

    before = race_probe.blobs(at)[0]
    changed(at, lr, what="lr")
    assert len(race_probe.blobs(at)[0]) < 1_000 < len(before)  # no race data resent
    assert compile_counter.count <= 2  # the seed bucket of 32: nothing for the lr
    changed(at, lambda: at.selectbox(key="d.sched").set_value("cosine").run(), what="schedule")
    changed(at, lambda: at.select_slider(key="d.steps").set_value(150).run(), what="steps")
    at.toggle(key="d.log").set_value(False).run()
    assert race_probe.race(at)[0]["axis"]["log"] is False
    q = at.query_params
    assert (q["seeds"], q["gd.lr"], q["sched"], q["steps"], q["log"]) == (
        "32", "0.02", "cosine", "150", "0",
    )  # fmt: skip


def test_step_slider_moves_the_model(at):
    open_fit(at)
    changed(at, lambda: at.slider(key="d.at").set_value(5).run(), "d.fit", "step")
    assert "GD · step 5" in traces(at, "d.fit")
    assert at.query_params["at"] == "5"


def test_problems_optimizers_and_the_empty_state(at):
    open_fit(at)
    changed(at, lambda: at.radio(key="d.problem").set_value("logreg").run(), "d.fit", "logreg")
    assert spec(at, "d.fit")["layout"]["yaxis"]["range"] == [-0.12, 1.12]  # probabilities
    changed(at, lambda: at.radio(key="d.problem").set_value("surface").run(), "d.map", "surf")
    assert not [c for c in at.get("plotly_chart") if c.proto.id.endswith("d.fit")]
    assert "GD · mini-batch loss" not in traces(at, "d.loss")  # no data: no mini-batches
    assert at.select_slider(key="d.grad_noise").value > 0  # noise on by default here
    changed(at, lambda: at.selectbox(key="d.surface").set_value("bowl").run(), "d.map", "bowl")
    at.multiselect(key="d.opt").select("momentum").run()
    assert not at.exception
    assert "Momentum · mean" in traces(at, "d.map")
    at.multiselect(key="d.opt").set_value([]).run()
    assert not at.exception
    assert any("No optimizer selected" in i.value for i in at.info)
    assert at.query_params["opt"] == "none"


def test_garbage_link_shows_a_notice_and_no_traceback():
    at = run_page({"opt": "gd", "batch": "banana", "seeds": "-4", "n": "1e9", "zap": "1"})
    text = "\n".join(w.value for w in at.warning)
    assert text.count("ignored") >= 1
    for shown in ("batch=banana", "seeds=-4", "n=1e9", "zap=1"):
        assert shown in text
    assert at.select_slider(key="d.batch").value == 16
    assert at.slider(key="d.seeds").value == 8
    assert traces(at, "d.map")


def test_shared_link_restores_the_setup():
    query = {"opt": "gd", "gd.lr": "0.02", "batch": "full", "seeds": "4", "std": "1", "at": "7"}
    at = run_page(query)
    assert not at.warning
    assert at.select_slider(key="d.batch").value == FULL
    assert at.slider(key="d.seeds").value == 4
    assert at.toggle(key="d.std").value is True
    grid = value_grid(lr_spec("gd"))
    assert race_probe.header(at)["current"]["gd"] == grid.index(0.02)
    assert at.slider(key="d.at").value == 7
    assert dict(at.query_params) == query


@pytest.mark.parametrize("page_name", ["data", "surfaces"])
def test_projector_mode_folds_the_text_and_fits_the_race(page_name):
    """``present=1``: the description is in an expander (not above the race) and the race
    is told to fit the window (the browser half: tests/browser/test_projector.py)."""
    shown = open_page(page_name, {"opt": "gd"})
    presented = open_page(page_name, {"opt": "gd", "present": "1"})
    about = "About this problem" if page_name == "data" else "About this surface"
    assert about not in [e.label for e in shown.expander]
    assert about in [e.label for e in presented.expander]
    assert not race_probe.header(shown)["ui"]["fit"]
    assert race_probe.header(presented)["ui"]["fit"]
