"""Projector mode and hidden groups are the shell's: ``present=`` and ``hide=`` work on every
page's link without an "unknown parameter" notice, and projector mode is remembered for the
session."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from optlab.config.data import parse_data_query
from optlab.config.sweeps import parse_sweep_query
from optlab.config.transformer import parse_tf_query
from optlab.shell import style
from tests.support.apptest import APP, open_page


@pytest.mark.parametrize("parse", [parse_data_query, parse_sweep_query, parse_tf_query])
def test_every_pages_link_accepts_the_shell_keys(parse):
    _, notices = parse({"present": "1", "hide": "schedule,clip"})
    assert notices == []


@pytest.mark.parametrize("package", ["data", "sweeps"])
def test_a_projector_link_shows_no_warning_on_the_page(package):
    at = open_page(package, {"present": "1", "hide": "schedule"})
    assert not [w.value for w in at.warning if "present" in w.value or "hide" in w.value]


def presenting_css(at: AppTest) -> bool:
    return any(style.PRESENT_CSS.strip() in h.proto.body for h in at.get("html"))


def test_projector_mode_is_applied_by_the_shell_and_remembered():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["present"] = "1"
    at.run()
    assert not at.exception
    assert presenting_css(at)
    del at.query_params["present"]  # a page link from the sidebar carries no parameters
    at.run()
    assert presenting_css(at)
    plain = AppTest.from_file(APP, default_timeout=120)
    plain.query_params["present"] = "0"
    plain.run()
    assert not presenting_css(plain)


def test_in_projector_mode_the_explanation_folds_into_an_expander():
    plain = open_page("sweeps", {"opt": "gd", "n": "4", "steps": "50"})
    present = open_page("sweeps", {"opt": "gd", "n": "4", "steps": "50", "present": "1"})
    assert "How the sweep compares optimizers" not in [e.label for e in plain.expander]
    assert "How the sweep compares optimizers" in [e.label for e in present.expander]
