"""The theory overlays on the Surfaces page (AppTest): 2/L and the optimal settings under the
race, the predicted loss curves shipped with the live race for every grid lr, the Hessian in
the state panel. (The page-level half of ``tests/viz/test_overlays.py``, for the live race.)"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from optlab.pages.surfaces import controls, state
from tests.pages.surfaces import race_probe
from tests.support.apptest import open_page

TIMEOUT = 120


def run_page(query: dict[str, str]) -> AppTest:
    return open_page("surfaces", query, TIMEOUT)


def captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def bounds(at: AppTest) -> dict[str, list]:
    """The stability bound each optimizer's sensitivity strip marks (``[formula, value]``)."""
    meta, _ = race_probe.race(at)
    return {o["name"]: o["bound"] for o in meta["opts"] if "bound" in o}


def predicted(at: AppTest) -> list[str]:
    meta, arrays = race_probe.race(at)
    return [o["name"] for i, o in enumerate(meta["opts"]) if f"pred{i}" in arrays]


def test_ravine_shows_two_over_l_and_the_predicted_curves():
    at = run_page({"surface": "ravine", "opt": "gd,momentum", "gd.lr": "0.05"})
    text = captions(at)
    assert "lr < 2/L = 0.1" in text
    assert "optimal heavy ball" in text
    assert predicted(at) == ["gd", "momentum"]
    beta = at.session_state[state.CFG].hp("momentum")["beta"]
    marks = bounds(at)  # the ravine's Hessian is diag(1, 20): L = 20
    assert marks["gd"] == ["2/L", pytest.approx(2 / 20)]
    assert marks["momentum"] == ["2(1 + β)/L", pytest.approx(2 * (1 + beta) / 20)]
    at.session_state[state.CFG] = controls.with_lrs(at.session_state[state.CFG], {"gd": 0.25})
    at.run()  # what releasing GD's slider at 0.25 does
    assert not at.exception
    assert "⚠ lr 0.25 > 2/L = 0.1: GD diverges here" in captions(at)
    at.toggle(key="theory").set_value(False).run()
    assert at.query_params["theory"] == "0"
    assert "2/L" not in captions(at)
    assert predicted(at) == []
    assert bounds(at) == {}


def test_saddle_shows_the_hessian_in_the_state_panel():
    at = run_page({"surface": "saddle", "opt": "gd", "at": "1"})  # "at": the panel opens
    (note,) = [m.value for m in at.markdown if "Hessian at step" in m.value]
    assert "**saddle**" in note
    assert "eigenvalues -2, 2" in note
    assert "2/L" not in captions(at)  # not a quadratic: no bound
    assert predicted(at) == []
    assert bounds(at) == {}
    at = run_page({"surface": "saddle", "opt": "gd", "at": "1", "theory": "0"})
    assert not [m.value for m in at.markdown if "Hessian at step" in m.value]


def test_a_released_learning_rate_does_not_recompile(compile_counter):
    at = run_page({"surface": "ravine", "opt": "gd,momentum"})
    compile_counter.count = 0
    for lr in (0.05, 0.08, 0.12):
        at.session_state[state.CFG] = controls.with_lrs(at.session_state[state.CFG], {"gd": lr})
        at.run()
        assert not at.exception
    assert "2/L" in captions(at)
    assert compile_counter.count == 0
