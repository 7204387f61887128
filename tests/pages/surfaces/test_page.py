"""The app driven headless with Streamlit's AppTest: every control, links, notices, no traceback.

One AppTest run is reused for the control tour (each change is a rerun, ~0.1–0.5 s); JAX
compiles are cached in the process, so later fresh runs are quick.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config.surfaces import CLIP_AT, WD_AT, default_config
from optlab.config.surfaces_link import parse_query, to_query
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import value_grid
from optlab.core.schedules import SCHEDULES
from optlab.pages.surfaces import controls, page, state
from optlab.viz.live import grid_index
from surfaces import SURFACES
from tests.pages.surfaces import race_probe
from tests.pages.surfaces.race_probe import traj_data
from tests.support.apptest import open_page, page_source, table_rows

TIMEOUT = 60


def run_app(query: dict[str, str] | None = None) -> AppTest:
    return open_page(None, query, TIMEOUT)


def other(grid, value):
    """A grid value different from ``value``, far enough to change a run."""
    return grid[0] if value != grid[0] else grid[-1]


def changed(at: AppTest, act, what: str = "") -> None:
    """Perform ``act`` (a rerun) and check the trajectories changed and nothing raised."""
    before = traj_data(at)
    act()
    assert not at.exception, [e.value for e in at.exception]
    assert traj_data(at) != before, f"{what}: the trajectories did not change"


def warnings_text(at: AppTest) -> str:
    return "\n".join(w.value for w in at.warning)


# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def at() -> AppTest:
    return run_app()


def test_entry_shows_the_lab_by_default(at):
    cfg = default_config()
    assert at.selectbox(key="surface").value == cfg.surface
    assert at.multiselect(key="opt").value == list(cfg.optimizers)
    data = traj_data(at)
    assert len(data) == len(cfg.optimizers)  # a map path and a loss curve each
    head = race_probe.header(at)
    assert head["image"]["uri"].startswith("data:image/png"), "the surface image is missing"
    meta, _ = race_probe.race(at)
    assert [o["name"] for o in meta["opts"]] == list(cfg.optimizers)
    assert at.code[0].value.startswith("http")  # the share link


def test_every_hyperparameter_changes_the_run(at):
    for opt in default_config().optimizers:
        for h in OPTIMIZERS[opt].hparams:
            if h.name == "learning_rate":  # the race's own slider: see test_lr_*
                continue
            key = f"hp.{opt}.{h.name}"
            if h.kind == "bool":
                w = at.toggle(key=key)
                changed(at, lambda w=w: w.set_value(not w.value).run(), key)
                at.toggle(key=key).set_value(bool(h.default)).run()
            else:
                w = at.select_slider(key=key)
                old = w.value
                target = value_grid(h)[-1] if h.name == "eps" else other(value_grid(h), old)
                changed(at, lambda w=w, t=target: w.set_value(t).run(), key)
                at.select_slider(key=key).set_value(old).run()
    assert not at.query_params  # every value back at its default: a clean URL


def test_run_controls_change_the_run(at):
    changed(at, lambda: at.slider(key="steps").set_value(300).run())
    assert at.query_params["steps"] == "300"
    x = at.number_input(key="start_x")
    changed(at, lambda: x.set_value(x.value + 0.25).run())
    y = at.number_input(key="start_y")
    changed(at, lambda: y.set_value(y.value - 0.25).run())
    assert "start" in at.query_params


def test_schedule_and_its_parameters(at):
    for name, spec in SCHEDULES.items():
        if name == at.selectbox(key="sched").value:
            continue
        changed(at, lambda n=name: at.selectbox(key="sched").set_value(n).run())
        for p in spec.params:
            w = at.select_slider(key=f"sched.{name}.{p.name}")
            changed(at, lambda w=w, p=p: w.set_value(other(value_grid(p), w.value)).run())
    at.selectbox(key="sched").set_value("constant").run()
    assert not at.exception


def test_clipping_and_weight_decay(at):
    changed(at, lambda: at.radio(key="clip").set_value("norm").run())
    changed(at, lambda: at.select_slider(key="clip_at").set_value(value_grid(CLIP_AT)[0]).run())
    changed(at, lambda: at.radio(key="clip").set_value("value").run())
    at.radio(key="clip").set_value("off").run()
    changed(at, lambda: at.radio(key="wd").set_value("l2").run())
    changed(at, lambda: at.select_slider(key="wd_at").set_value(value_grid(WD_AT)[-1]).run())
    changed(at, lambda: at.radio(key="wd").set_value("decoupled").run())
    at.radio(key="wd").set_value("off").run()
    assert not at.exception


def test_display_controls(at):
    log_axis = race_probe.race(at)[0]["axis"]["log"]
    at.toggle(key="log_loss").set_value(not at.toggle(key="log_loss").value).run()
    assert race_probe.race(at)[0]["axis"]["log"] != log_axis
    at.slider(key="frame_ms").set_value(200).run()
    assert race_probe.header(at)["ui"]["frame_ms"] == 200
    n_charts = len(at.get("plotly_chart"))
    at.toggle(key="view3d").set_value(True).run()
    assert not at.exception
    assert len(at.get("plotly_chart")) == n_charts + 1
    assert any("does not follow Play" in c.value for c in at.caption)  # says it is still
    assert any("drag a learning-rate slider" in c.value for c in at.caption)  # what to do
    at.toggle(key="view3d").set_value(False).run()


def test_state_panel(at):
    def spec():
        return [c.proto.spec for c in at.get("plotly_chart") if "state_chart" in c.proto.id]

    # Closed (the default), the panel draws nothing: no plotly chart, no controls.
    assert page.INSIDE in [e.label for e in at.expander]
    assert spec() == []
    assert not [s for s in at.slider if s.key == "at"]
    at.session_state[page.INSIDE_OPEN] = True  # what opening the expander does
    at.run()
    before = spec()
    assert before
    at.slider(key="at").set_value(at.slider(key="at").max).run()
    assert not at.exception
    assert spec() != before
    names = at.selectbox(key="inspect").options
    at.selectbox(key="inspect").set_value(names[-1]).run()
    assert not at.exception
    assert at.query_params.get("at")


def test_surface_and_its_parameters(at):
    current = at.selectbox(key="surface").value
    target = next((s for s in SURFACES.values() if s.params and s.name != current), None)
    target = target or next(s for s in SURFACES.values() if s.name != current)
    changed(at, lambda: at.selectbox(key="surface").set_value(target.name).run())
    assert race_probe.header(at)["image"]["uri"]  # a new surface: its image is sent
    (x0, x1), _ = target.bounds
    assert x0 <= at.number_input(key="start_x").value <= x1
    for p in target.params:
        w = at.select_slider(key=f"theta.{target.name}.{p.name}")
        changed(at, lambda w=w, p=p: w.set_value(other(value_grid(p), w.value)).run())


def test_optimizer_selection_and_exports(at):
    extra = next(o for o in OPTIMIZERS if o not in at.multiselect(key="opt").value)
    changed(at, lambda: at.multiselect(key="opt").select(extra).run())
    assert extra in [o["name"] for o in race_probe.race(at)[0]["opts"]]
    assert len(at.get("download_button")) == 2  # CSV and HTML; the GIF is built on request
    at.button(key="build_gif").click().run()
    assert not at.exception
    assert len(at.get("download_button")) == 3


def test_empty_selection_shows_the_empty_state(at):
    at.multiselect(key="opt").set_value([]).run()
    assert not at.exception
    assert any("No optimizer selected" in i.value for i in at.info)
    assert race_probe.race(at)[0]["opts"] == []  # the map is still there to pick a start
    assert at.query_params["opt"] == "none"


# ---------------------------------------------------------------------------------------------
# Links.


def test_shared_link_restores_the_configuration():
    opt = next(iter(OPTIMIZERS))
    spec = OPTIMIZERS[opt]
    lr = value_grid(spec.hparams[0])[3]
    query = {"opt": opt, f"{opt}.lr": str(lr), "steps": "123", "sched": "cosine",
             "clip": "value", "wd": "l2", "log": "0", "frame_ms": "150"}  # fmt: skip
    cfg, notices = parse_query(query)
    assert notices == []
    at = run_app(to_query(cfg))
    assert at.multiselect(key="opt").value == [opt]
    assert race_probe.header(at)["current"][opt] == grid_index(value_grid(spec.hparams[0]), lr)
    assert at.slider(key="steps").value == 123
    assert at.selectbox(key="sched").value == "cosine"
    assert at.radio(key="clip").value == "value"
    assert at.radio(key="wd").value == "l2"
    assert at.toggle(key="log_loss").value is False
    assert at.slider(key="frame_ms").value == 150
    assert not at.warning
    assert "steps=123" in at.code[0].value


@pytest.mark.parametrize(
    "query",
    [
        {"surface": "nope", "steps": "-5"},
        {"opt": "gd,nonsense", "gd.lr": "abc", "start": "nan,nan"},
        {"steps": "1000000000", "hide": "bogus", "present": "2", "x" * 300: "1"},
        {"sched": "weird", "clip": "always", "wd_at": "1e99", "surface": "é" * 5000},
    ],
    ids=["surface-steps", "opt-lr-start", "huge", "sched-clip-wd"],
)
def test_garbage_link_shows_a_notice_and_no_traceback(query):
    at = run_app(query)
    text = warnings_text(at)
    assert "ignored" in text
    assert traj_data(at)


def test_diverging_learning_rates_share_one_banner_and_the_table_says_diverged():
    at = run_app({"opt": "gd,momentum", "gd.lr": "10", "momentum.lr": "10"})
    banners = [w.value for w in at.warning if "diverged" in w.value]
    assert len(banners) == 1, banners
    assert "**GD** diverged at step" in banners[0]
    assert "**Momentum** at step" in banners[0]
    rows = table_rows(at, "final loss")
    assert all(r["final loss"].startswith("diverged at step") for r in rows), rows
    # every cell is text a person reads: no float with 17 digits, no e+25
    cells = [v for r in rows for v in r.values()]
    assert all(isinstance(v, str) for v in cells), cells
    assert not any("e+2" in v or len(v) > 24 for v in cells), cells


def test_presentation_mode_and_hidden_groups():
    at = run_app({"present": "1", "hide": "schedule,clip,wd,display", "clip": "norm"})
    keys = {w.key for w in (*at.radio, *at.selectbox, *at.toggle)}
    assert not {"sched", "clip", "wd", "log_loss", "view3d"} & keys
    assert race_probe.header(at)["ui"]["height"] > 600
    assert at.query_params["clip"] == "norm"  # hidden, but the link keeps its value


def test_a_released_lr_slider_sends_no_race_data_and_compiles_nothing(compile_counter):
    """What a released slider costs: the component's ``lrs`` state reaches ``apply_lrs``,
    which saves the snapped values; the rerun resends only a small header and compiles
    nothing (the exact run at the new lr reuses the compiled batch-of-one)."""
    at = run_app()
    first = race_probe.blobs(at)[0]
    assert len(first) > 50_000  # the whole grid, once
    opt = default_config().optimizers[-1]
    grid = value_grid(OPTIMIZERS[opt].hparams[0])
    compile_counter.count = 0
    for v in (grid[5], grid[20], grid[33]):
        cfg = controls.with_lrs(at.session_state[state.CFG], {opt: v * 1.01})
        at.session_state[state.CFG] = cfg
        at.run()
        assert not at.exception
        assert race_probe.header(at)["current"][opt] == grid.index(v)
        assert len(race_probe.blobs(at)[0]) < 1_000  # a header, no race data
    assert compile_counter.count == 0
    assert at.query_params[f"{opt}.lr"] == f"{grid[33]:g}"


def test_lr_values_from_the_component_are_snapped_and_garbage_ignored():
    cfg = default_config()
    opt = cfg.optimizers[0]
    assert controls.with_lrs(cfg, {}) == cfg
    bad = {opt: "0.1", "nope": 0.1, cfg.optimizers[1]: float("nan"), cfg.optimizers[2]: -1.0}
    assert controls.with_lrs(cfg, bad) == cfg
    assert controls.with_lrs(cfg, {opt: True}) == cfg
    assert controls.with_lrs(cfg, {opt: 0.0123}).hp(opt)["learning_rate"] == 0.012
    assert controls.with_lrs(cfg, {opt: 1e9}).hp(opt)["learning_rate"] == 10.0


# ---------------------------------------------------------------------------------------------
# The pages on their own.


def test_surfaces_page_runs_on_its_own():
    at = AppTest.from_string(page_source("surfaces"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert traj_data(at)


def test_about_page_lists_every_optimizer_and_the_link_parameters():
    at = AppTest.from_string(page_source("about"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert len(at.latex) >= len(OPTIMIZERS) + len(SCHEDULES)
    text = "\n".join(m.value for m in at.markdown)
    for spec in OPTIMIZERS.values():
        assert spec.display in text
    for param in ("present", "hide", "opt", "steps", "start"):
        assert f"`{param}`" in text
