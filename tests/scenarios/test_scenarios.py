"""The scenario library: every query parses cleanly and every check proves its effect."""

from __future__ import annotations

import importlib.util

import pytest

from optlab.config import surfaces_link
from optlab.scenarios import (
    SCENARIOS,
    config_to_engine,
    parse_page_query,
    run_query,
)

PAGES = ("surfaces", "data", "transformer")
HAVE_TRANSFORMER = importlib.util.find_spec("optlab.transformer.train") is not None
# Each teaching topic the issue asks for, and the scenario that covers it.
TOPICS = {
    "learning rate too small": "lr-too-small",
    "good learning rate": "lr-good",
    "learning rate too large": "lr-too-large",
    "momentum in a ravine": "momentum-ravine",
    "Nesterov vs momentum": "nesterov-vs-momentum",
    "escaping a saddle": "saddle-escape",
    "AdaGrad's shrinking steps": "adagrad-shrinking",
    "RMSprop/Adam on ill-conditioning": "adaptive-ill-conditioning",
    "Rosenbrock banana": "rosenbrock-banana",
    "Rastrigin's local minima": "rastrigin-local-minima",
    "decay vs constant": "schedule-decay",
    "clipping a cliff": "clip-cliff",
    "SGD noise vs batch size": "sgd-batch-noise",
    "feature scaling": "feature-scaling",
    "Newton vs first-order": "newton-vs-first-order",
    "Adam vs SGD on the transformer": "transformer-adam-vs-sgd",
    "overfitting and dropout": "transformer-dropout",
}


def _param(s):
    """Transformer checks train two tiny runs (two compiles): 8-13 s on an idle 2-core machine,
    over 20 s on a busy one, so they are marked ``slow`` (still run by default) and skipped
    where ``optlab.transformer`` is missing."""
    if s.page != "transformer":
        return pytest.param(s, id=s.key)
    skip = pytest.mark.skipif(not HAVE_TRANSFORMER, reason="optlab.transformer is unavailable")
    return pytest.param(s, id=s.key, marks=[pytest.mark.slow, skip])


ALL = [pytest.param(s, id=s.key) for s in SCENARIOS.values()]


def test_the_library_covers_every_topic():
    assert len(SCENARIOS) >= 12
    missing = {topic: key for topic, key in TOPICS.items() if key not in SCENARIOS}
    assert not missing


@pytest.mark.parametrize("s", ALL)
def test_scenario_is_well_formed(s):
    assert SCENARIOS[s.key] is s
    assert s.page in PAGES
    assert s.title
    assert len(s.what_to_notice) > 80
    assert s.question.endswith("?")
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in s.query.items())


@pytest.mark.parametrize("s", ALL)
def test_query_parses_without_notices(s):
    values, notices = parse_page_query(s.page, s.query)
    assert notices == []
    if s.page == "surfaces":
        cfg = values["config"]
        # Every key was understood, and the URL the app would write back means the same.
        assert surfaces_link.parse_query(surfaces_link.to_query(cfg)) == (cfg, [])
        assert set(cfg.optimizers) == set(s.query.get("opt", "").split(","))


@pytest.mark.parametrize("s", [_param(s) for s in SCENARIOS.values()])
def test_check_proves_the_effect(s):
    passed, evidence = s.check()
    assert passed, evidence
    assert evidence


def test_bad_page_queries_produce_notices_not_errors():
    _, notices = parse_page_query(
        "data",
        {"data": "nope", "batch": "1,x", "gd.lr": "99", "zz": "1", "steps": "1,2", "start": "1"},
    )
    assert len(notices) == 6
    _, notices = parse_page_query("transformer", {"opt": "adam,sgd9", "dropout": "0.95"})
    assert len(notices) == 2
    _, notices = parse_page_query("surfaces", {"surface": "nope"})
    assert notices
    with pytest.raises(ValueError, match="not understood"):
        run_query({"surface": "nope"})


def test_adapter_matches_the_surfaces_page():
    """``config_to_engine`` builds the same settings as the page's own compute module."""
    compute = pytest.importorskip("optlab.pages.surfaces.compute")
    for s in SCENARIOS.values():
        if s.page == "surfaces":
            cfg = parse_page_query(s.page, s.query)[0]["config"]
            inputs = config_to_engine(cfg)
            assert inputs.settings == compute.settings(cfg.run_key()), s.key
            assert inputs.start == cfg.start
            assert [r.name for r in inputs.runs] == list(cfg.optimizers)
