"""The user's own f(x, y) on the surfaces page: URL form, a working race, refused text shown
as the parser's message (token and position) instead of a traceback."""

from __future__ import annotations

from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config.surfaces import CUSTOM, Custom, default_config
from optlab.config.surfaces_link import parse_query, to_query
from surfaces.custom import DEFAULT_EXPRESSION
from tests.pages.surfaces import race_probe
from tests.support.apptest import open_page

TIMEOUT = 120
HOSTILE = "__import__('os')"


def run_page(query: dict[str, str]) -> AppTest:
    return open_page("surfaces", query, TIMEOUT)


def lab(at: AppTest) -> dict | None:
    """The race's header part (None: no race drawn)."""
    return race_probe.race(at)[0] if race_probe.header(at) is not None else None


def path(at: AppTest) -> list:
    return race_probe.drawn(at)["GD"]["xy"].tolist()


def errors(at: AppTest) -> str:
    return "\n".join(e.value for e in at.error)


# ---------------------------------------------------------------------------------------------
# URL.


def test_custom_link_round_trips():
    query = {"surface": "custom", "f": "x**2+10*sin(y)", "bounds": "-4,4,-3,5", "minima": "0,0"}
    cfg, notices = parse_query(query)
    assert notices == []
    assert cfg.custom == Custom("x**2+10*sin(y)", ((-4.0, 4.0), (-3.0, 5.0)), ((0.0, 0.0),))
    assert to_query(cfg) == query
    assert cfg.start == cfg.custom.start()
    cfg = replace(cfg, custom=replace(cfg.custom, minima=((1.5, -2.0), (0.0, 1.0))))
    assert parse_query(to_query(cfg)) == (cfg, [])
    hostile, notices = parse_query({"surface": "custom", "f": HOSTILE})
    assert notices == []  # kept as typed: the page says why it is refused
    assert hostile.custom.text == HOSTILE
    assert to_query(hostile) == {"surface": "custom", "f": HOSTILE}


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ({"bounds": "1,0,0,1"}, "xmin < xmax"),
        ({"bounds": "0,1,2"}, "four numbers"),
        ({"bounds": "0,1,0,inf"}, "not a finite number"),
        ({"minima": "1;2"}, "expected points"),
        ({"minima": ";".join(["0,0"] * 11)}, "at most 10"),
        ({"start": "9,9"}, "out of range"),
    ],
)
def test_bad_custom_values_fall_back_with_a_notice(query, why):
    cfg, notices = parse_query({"surface": "custom", **query})
    assert len(notices) == 1, notices
    assert why in notices[0]
    assert cfg.custom.bounds == Custom().bounds


def test_custom_keys_without_the_custom_surface_are_reported():
    cfg, notices = parse_query({"f": "x", "minima": "0,0"})
    assert cfg == default_config()
    assert len(notices) == 2
    assert all("only used with surface=custom" in n for n in notices)


# ---------------------------------------------------------------------------------------------
# The page.


def test_typed_function_races_and_travels_in_the_url():
    at = run_page({"surface": CUSTOM, "f": "x**2 + y**2", "opt": "gd", "gd.lr": "0.1"})
    assert at.selectbox(key="surface").value == CUSTOM
    assert at.text_input(key="custom_f").value == "x**2 + y**2"
    before = path(at)
    at.text_input(key="custom_f").set_value("(x - 1)**2 + (y + 2)**2").run()
    assert not at.exception
    assert path(at) != before
    x, y = path(at)[-1]
    assert (x, y) == (pytest.approx(1, abs=1e-3), pytest.approx(-2, abs=1e-3))
    assert at.query_params["f"] == "(x - 1)**2 + (y + 2)**2"
    assert not at.error
    # Bounds move the start into the new box; known minima are drawn.
    at.number_input(key="custom_x1").set_value(2.0).run()
    assert at.query_params["bounds"] == "-4,2,-4,6"
    assert -4 <= at.number_input(key="start_x").value <= 2
    at.text_input(key="custom_minima").set_value("1,-2").run()
    assert at.query_params["minima"] == "1,-2"
    assert [1.0, -2.0, "global"] in lab(at)["landmarks"]
    at.number_input(key="custom_x0").set_value(5.0).run()  # x min > x max: refused, kept
    assert "x min < x max" in errors(at)
    assert at.query_params["bounds"] == "-4,2,-4,6"


def test_hostile_text_shows_the_parser_message_not_a_traceback():
    at = run_page({"surface": CUSTOM, "f": "x**2", "opt": "gd"})
    assert lab(at)
    at.text_input(key="custom_f").set_value(HOSTILE).run()
    assert not at.exception
    text = errors(at)
    assert "unknown function" in text
    assert "__import__" in text
    assert "position 0" in text
    assert lab(at) is None  # the race is replaced by the explanation
    assert any("^" in c.value for c in at.code)  # a caret under the refused token
    assert at.query_params["f"] == HOSTILE  # still shareable, still fixable
    at.text_input(key="custom_f").set_value("x^2 + y").run()
    assert "'^'" in errors(at) or "`^`" in errors(at)
    assert r"use \*\* for powers" in errors(at)  # shown as text: ** escaped
    at.text_input(key="custom_f").set_value("x**2 + y**2").run()
    assert not at.exception
    assert not at.error
    assert path(at)


def test_choosing_your_function_in_the_selector():
    at = run_page({"opt": "gd"})
    at.selectbox(key="surface").set_value(CUSTOM).run()
    assert not at.exception
    assert at.text_input(key="custom_f").value == DEFAULT_EXPRESSION
    assert path(at)
    assert at.query_params["surface"] == CUSTOM
    assert at.query_params["f"] == DEFAULT_EXPRESSION
    at.selectbox(key="surface").set_value(default_config().surface).run()
    assert not at.exception
    assert "f" not in at.query_params
