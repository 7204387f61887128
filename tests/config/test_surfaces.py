"""The shareable URL state: garbage falls back to defaults with a notice, round trips are exact."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optlab.config.surfaces import (
    CLIP_AT,
    CLIP_MODES,
    GROUPS,
    STEPS_RANGE,
    WD_AT,
    WD_MODES,
    Config,
    default_config,
    with_optimizers,
)
from optlab.config.surfaces_link import parse_query, to_query
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap, value_grid
from optlab.core.schedules import SCHEDULES
from surfaces import SURFACES

DEFAULT = default_config()
SURFACE = DEFAULT.surface
OPT = DEFAULT.optimizers[-1]  # a selected optimizer
OTHER = next((o for o in OPTIMIZERS if o not in DEFAULT.optimizers), None)
LR_DEFAULT = DEFAULT.hp(OPT)["learning_rate"]

# (query, attribute that must keep its default, substring the notice must contain)
GARBAGE = [
    ({"surface": "no-such-surface"}, "surface", "unknown value"),
    ({"surface": ""}, "surface", "unknown value"),
    ({f"{OPT}.lr": "abc"}, "hparams", "not a number"),
    ({f"{OPT}.lr": "1e99"}, "hparams", "out of range"),
    ({f"{OPT}.lr": "-0.1"}, "hparams", "out of range"),
    ({f"{OPT}.lr": "nan"}, "hparams", "not a finite number"),
    ({f"{OPT}.lr": "inf"}, "hparams", "not a finite number"),
    ({f"{OPT}.nosuchparam": "1"}, "hparams", "has no hyperparameter"),
    ({"steps": "-5"}, "steps", "out of range"),
    ({"steps": "1000000000"}, "steps", "out of range"),
    ({"steps": "10^9"}, "steps", "not a number"),
    ({"steps": "12.5"}, "steps", "not a whole number"),
    ({"steps": ""}, "steps", "not a number"),
    ({"start": "nan,1"}, "start", "not a finite number"),
    ({"start": "1"}, "start", "two numbers"),
    ({"start": "1,2,3"}, "start", "two numbers"),
    ({"start": "1e9,0"}, "start", "out of range"),
    ({"start": "x,y"}, "start", "not a number"),
    ({"opt": "nosuch,alsonot"}, "optimizers", "no known optimizer"),
    ({"sched": "sawtooth"}, "schedule", "unknown value"),
    ({"sched.nosuch": "0.5"}, "schedule_params", "no such parameter"),
    ({"clip": "sometimes"}, "clip", "unknown value"),
    ({"clip_at": "0"}, "clip_at", "out of range"),
    ({"wd": "heavy"}, "wd", "unknown value"),
    ({"wd_at": "-1"}, "wd_at", "out of range"),
    ({"log": "maybe"}, "log_loss", "expected 0 or 1"),
    ({"view3d": "2"}, "view3d", "expected 0 or 1"),
    ({"theory": "2"}, "theory", "expected 0 or 1"),
    ({"present": "yes please"}, "present", "expected 0 or 1"),
    ({"frame_ms": "1"}, "frame_ms", "out of range"),
    ({"at": "-3"}, "at", "out of range"),
    ({"inspect": "nosuch"}, "inspect", "unknown value"),
    ({"hide": "everything"}, "hide", "unknown control group"),
    ({"s.nosuch": "3"}, "theta", "no such parameter"),
    ({"surface": "x" * 10_000}, "surface", "too long"),
    ({"steps": "9" * 500}, "steps", "too long"),
    ({"k" * 100: "1"}, "steps", "too long"),
    ({"surface": "Rösenbröck✓"}, "surface", "unknown value"),
    ({"wat": "1"}, "steps", "unknown parameter"),
    ({"ünïcødé\u202e": "\x00\x1b[31m"}, "steps", "unknown parameter"),
]


@pytest.mark.parametrize(("query", "field", "why"), GARBAGE, ids=lambda v: str(v)[:30])
def test_garbage_falls_back_with_a_notice(query, field, why):
    cfg, notices = parse_query(query)
    assert getattr(cfg, field) == getattr(default_config(cfg.surface), field)
    assert len(notices) == 1, notices
    assert why in notices[0]
    assert len(notices[0]) < 400  # huge values are shown truncated


def test_non_ascii_digits_are_numbers():
    # Python's float() reads full-width digits, so this is a valid step count.
    assert parse_query({"steps": "３００"}) == (replace(DEFAULT, steps=300), [])


def test_notices_are_safe_markdown():
    _, notices = parse_query({"`](javascript:alert(1))": "`x`\n\n# big", "steps": "\x07"})
    assert notices
    for n in notices:
        assert n.count("`") == 2  # only our own code span
        assert "\n" not in n
        assert "\x07" not in n


def test_unknown_optimizer_names_are_dropped_known_kept():
    names = list(OPTIMIZERS)[:2]
    cfg, notices = parse_query({"opt": f"{names[0]},bogus,{names[1]},{names[0]},,"})
    assert cfg.optimizers == tuple(names)
    assert len(notices) == 1
    assert "bogus" in notices[0]


def test_empty_selection_round_trips():
    cfg = with_optimizers(DEFAULT, [])
    assert to_query(cfg) == {"opt": "none"}
    assert parse_query(to_query(cfg)) == (cfg, [])


def test_repeated_keys_use_the_last_value_with_a_notice():
    cfg, notices = parse_query({"steps": ["300", "400"]})
    assert cfg.steps == 400
    assert len(notices) == 1
    assert "given 2 times" in notices[0]


def test_hparam_for_unselected_optimizer_is_reported():
    if OTHER is None:
        pytest.skip("every optimizer is selected by default")
    cfg, notices = parse_query({f"{OTHER}.lr": "0.1"})
    assert cfg == DEFAULT
    assert "not selected" in notices[0]


def test_off_grid_values_snap_with_a_notice():
    cfg, notices = parse_query({f"{OPT}.lr": "0.0123"})
    assert cfg.hp(OPT)["learning_rate"] == 0.012
    assert "rounded to 0.012" in notices[0]


def test_valid_values_apply_without_notices():
    surface = next((s for s in SURFACES.values() if s.params), None) or SURFACES[SURFACE]
    query = {"surface": surface.name, "opt": OPT, f"{OPT}.lr": "0.05", "steps": "37",
             "clip": "norm", "clip_at": "2", "wd": "decoupled", "wd_at": "0.001", "log": "0",
             "frame_ms": "120", "view3d": "1", "theory": "0", "present": "1", "hide": "wd,clip",
             "inspect": OPT, "at": "5", "embed": "true"}  # fmt: skip
    for p in surface.params:
        query[f"s.{p.name}"] = str(value_grid(p)[1])
    (x0, x1), (_, y1) = surface.bounds
    query["start"] = f"{(x0 + x1) / 2},{y1}"
    cfg, notices = parse_query(query)
    assert notices == []
    assert cfg.surface == surface.name
    assert cfg.optimizers == (OPT,)
    assert cfg.hp(OPT)["learning_rate"] == 0.05
    assert (cfg.steps, cfg.clip, cfg.clip_at, cfg.wd, cfg.wd_at) == (
        37,
        "norm",
        2,
        "decoupled",
        1e-3,
    )
    assert (cfg.log_loss, cfg.frame_ms, cfg.view3d, cfg.present) == (False, 120, True, True)
    assert cfg.theory is False
    assert cfg.hide == ("clip", "wd")
    assert cfg.start == ((x0 + x1) / 2, y1)
    assert (cfg.inspect, cfg.at) == (OPT, 5)


def test_defaults_make_an_empty_query():
    assert to_query(DEFAULT) == {}
    assert parse_query({}) == (DEFAULT, [])


@pytest.mark.parametrize(
    "h",
    [CLIP_AT, WD_AT, *(h for o in OPTIMIZERS.values() for h in o.hparams)],
    ids=lambda h: h.name,
)
def test_value_grids_cover_the_range_and_hold_the_default(h):
    grid = value_grid(h)
    assert list(grid) == sorted(set(grid))
    assert snap(h, h.default) == pytest.approx(h.default, rel=1e-5)
    if h.kind != "bool":
        assert grid[0] == pytest.approx(h.low)
        assert grid[-1] == pytest.approx(h.high)
        assert all(math.isfinite(v) for v in grid)


# ---------------------------------------------------------------------------------------------
# Round trip: any configuration the app can produce survives config -> query -> config.


def _pairs(draw, specs):
    return tuple((h.name, draw(st.sampled_from(value_grid(h)))) for h in specs)


@st.composite
def configs(draw) -> Config:
    surface = SURFACES[draw(st.sampled_from(sorted(SURFACES)))]
    opts = draw(st.lists(st.sampled_from(sorted(OPTIMIZERS)), unique=True, max_size=5))
    (x0, x1), (y0, y1) = surface.bounds
    start = (
        draw(st.floats(x0, x1, allow_nan=False)),
        draw(st.floats(y0, y1, allow_nan=False)),
    )
    schedule = draw(st.sampled_from(sorted(SCHEDULES)))
    steps = draw(st.integers(*STEPS_RANGE))
    base = default_config(surface.name)
    return replace(
        base,
        theta=_pairs(draw, surface.params),
        optimizers=tuple(opts),
        hparams=tuple((o, _pairs(draw, OPTIMIZERS[o].hparams)) for o in opts),
        steps=steps,
        start=start,
        schedule=schedule,
        schedule_params=_pairs(draw, SCHEDULES[schedule].params),
        clip=draw(st.sampled_from(CLIP_MODES)),
        clip_at=draw(st.sampled_from(value_grid(CLIP_AT))),
        wd=draw(st.sampled_from(WD_MODES)),
        wd_at=draw(st.sampled_from(value_grid(WD_AT))),
        log_loss=draw(st.booleans()),
        frame_ms=draw(st.integers(20, 1000)),
        view3d=draw(st.booleans()),
        theory=draw(st.booleans()),
        inspect=draw(st.sampled_from(["", *opts])),
        at=draw(st.integers(0, steps)),
        present=draw(st.booleans()),
        hide=tuple(g for g in GROUPS if draw(st.booleans())),
    )


@settings(max_examples=150, deadline=None)
@given(configs())
def test_round_trip_config_query_config(cfg):
    query = to_query(cfg)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in query.items())
    back, notices = parse_query(query)
    assert notices == []
    assert back == cfg


# ---------------------------------------------------------------------------------------------
# Every surface opens on a race that converges.


@pytest.mark.parametrize("surface", [*SURFACES, "custom"])
def test_every_surface_opens_on_a_race_that_converges(surface):
    """The default optimizers at their default learning rates on this surface (its own where
    the registry sets one): none diverges, every path stays on the map, every loss falls."""
    from optlab.config.surfaces import default_config
    from optlab.core import engine
    from optlab.scenarios.base import config_to_engine

    cfg = default_config(surface)
    problem, runs, start, settings, theta = config_to_engine(cfg)
    (x0, x1), (y0, y1) = problem.bounds
    for run, t in zip(runs, engine.run(problem, runs, start, settings, theta), strict=True):
        assert t.diverged_at is None, (run.name, run.hparams)
        x, y = t.params[:, 0], t.params[:, 1]
        assert np.all((x0 <= x) & (x <= x1) & (y0 <= y) & (y <= y1)), (run.name, "off the map")
        assert t.loss[-1] < t.loss[0], run.name


def test_a_surfaces_own_default_learning_rate_stays_out_of_its_links():
    from optlab.config.surfaces import default_config, optimizer_defaults

    rosen = default_config("rosenbrock")
    assert (
        rosen.hp("gd")["learning_rate"]
        == 1e-3
        == dict(optimizer_defaults("gd", "rosenbrock"))["learning_rate"]
    )
    assert dict(optimizer_defaults("gd"))["learning_rate"] == 1e-2
    assert "gd.lr" not in to_query(rosen)  # a default: not written
    assert parse_query({"surface": "rosenbrock"})[0] == rosen
    cfg, notices = parse_query({"surface": "rosenbrock", "gd.lr": "0.01"})
    assert (notices, cfg.hp("gd")["learning_rate"]) == ([], 0.01)
    assert to_query(cfg)["gd.lr"] == "0.01"  # GD's usual default is not Rosenbrock's: written
