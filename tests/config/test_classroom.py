"""Class challenges: the model and its JSON/link forms, settings checked against the
challenge, and the server's scores compared with independent references."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from optlab.config import classroom as C
from optlab.config.links import BadValue

RAVINE = {"surface": "ravine", "s.kappa": "10", "opt": "gd,adam", "start": "-2.5,1"}
KAPPA = 10.0


def ravine(score="final", steps=100, **kw) -> C.Challenge:
    return C.make_challenge("surfaces", RAVINE, ["gd", "adam"], ["learning_rate", "b1"], steps,
                            score, **kw)  # fmt: skip


def ravine_loss(x, y):
    return 0.5 * (x * x + KAPPA * y * y)


def gd_closed_form(lr: float, steps: int) -> np.ndarray:
    """GD on ½(x² + κy²): x_t = (1-η)^t x₀, y_t = (1-ηκ)^t y₀ (float64)."""
    t = np.arange(steps + 1)
    return ravine_loss(-2.5 * (1 - lr) ** t, 1.0 * (1 - lr * KAPPA) ** t)


def adam_numpy(lr, b1, steps, b2=0.999, eps=1e-8):
    """Adam (bias-corrected) as a plain NumPy loop on the ravine: the final loss."""
    p = np.array([-2.5, 1.0])
    m = v = np.zeros(2)
    for t in range(1, steps + 1):
        g = np.array([p[0], KAPPA * p[1]])
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return ravine_loss(*p)


def test_json_round_trip_and_normalised_setup():
    ch = ravine(title="  Ravine   <b>race</b> ")
    assert C.from_json(ch.to_json()) == ch
    assert ch.title == "Ravine <b>race</b>"  # kept as text (shown escaped)
    assert dict(ch.setup)["steps"] == "100"  # the budget is part of the locked setup
    assert ch.config().steps == 100


@pytest.mark.parametrize("text", ["", "{}", "[1]", '{"page": "surfaces"}', "nonsense",
                                  json.dumps({"page": "transformer", "setup": {}})])  # fmt: skip
def test_garbage_json_is_refused(text):
    with pytest.raises(BadValue):
        C.from_json(text)


@pytest.mark.parametrize(
    ("page", "setup", "opts", "open_", "steps", "why"),
    [
        ("surfaces", {"surface": "nope"}, ["gd"], ["learning_rate"], 100, "cannot use"),
        ("surfaces", {"surface": "custom"}, ["gd"], ["learning_rate"], 100, "named surface"),
        ("surfaces", RAVINE, ["lion"], ["learning_rate"], 100, "optimizer"),
        ("surfaces", RAVINE, ["gd"], ["bogus"], 100, "hyperparameter"),
        ("surfaces", RAVINE, ["gd"], ["learning_rate"], 5000, "out of range"),
        ("data", {}, ["gd"], ["learning_rate"], 123, "steps"),
        ("data", {}, ["gd"], ["b1"], 200, "hyperparameter"),
        ("transformer", {}, ["gd"], ["learning_rate"], 100, "unknown value"),
    ],
)
def test_bad_challenges_are_refused_with_a_message(page, setup, opts, open_, steps, why):
    with pytest.raises(BadValue, match=why):
        C.make_challenge(page, setup, opts, open_, steps)


def test_settings_are_checked_against_the_challenge():
    ch = ravine()
    opt, values = C.parse_settings(ch, {"optimizer": "adam", "learning_rate": "0.05", "b1": 0.8})
    assert (opt, values) == ("adam", {"learning_rate": 0.05, "b1": 0.8})
    assert C.parse_settings(ch, {"optimizer": "gd", "learning_rate": 0.1}) == (
        "gd", {"learning_rate": 0.1})  # fmt: skip


@pytest.mark.parametrize(
    ("settings", "why"),
    [
        ({"optimizer": "momentum", "learning_rate": 0.1}, "tunes gd, adam only"),
        ({"optimizer": "gd"}, "missing"),
        ({"optimizer": "gd", "learning_rate": "nan"}, "finite"),
        ({"optimizer": "gd", "learning_rate": "inf"}, "finite"),
        ({"optimizer": "gd", "learning_rate": 1e9}, "out of range"),
        ({"optimizer": "gd", "learning_rate": "0.1; DROP TABLE"}, "learning rate"),
        ({"optimizer": "gd", "learning_rate": [1, 2]}, "learning rate"),
        ({"optimizer": "adam", "learning_rate": 0.1, "b1": 0.9, "b2": 0.5}, "locked"),
        ({"optimizer": "gd", "learning_rate": 0.1, "steps": 5000}, "locked"),
        ("adam", "mapping"),
        (None, "mapping"),
    ],
)
def test_garbage_settings_are_refused(settings, why):
    with pytest.raises(BadValue, match=why):
        C.parse_settings(ravine(), settings)


@pytest.mark.parametrize("lr", [0.01, 0.05, 0.15])
def test_gd_final_loss_matches_the_closed_form(lr):
    result = C.evaluate(ravine(), "gd", {"learning_rate": lr})
    assert result.score == pytest.approx(gd_closed_form(lr, 100)[-1], rel=2e-3, abs=1e-9)
    assert result.diverged_at is None
    assert result.path.shape[1] == 2
    assert len(result.path) <= C.PATH_POINTS


def test_adam_final_loss_matches_a_numpy_loop():
    result = C.evaluate(ravine(), "adam", {"learning_rate": 0.05, "b1": 0.8})
    assert result.score == pytest.approx(adam_numpy(0.05, 0.8, 100), rel=1e-2, abs=1e-6)


def test_locked_settings_are_not_taken_from_the_student():
    """Only the open values count: an extra value is refused, the rest is the setup's."""
    ch = C.make_challenge("surfaces", RAVINE, ["adam"], ["learning_rate"], 100)
    with pytest.raises(BadValue, match="locked"):
        C.parse_settings(ch, {"optimizer": "adam", "learning_rate": 0.05, "b1": 0.1})
    result = C.evaluate(ch, "adam", {"learning_rate": 0.05})
    assert result.score == pytest.approx(adam_numpy(0.05, 0.9, 100), rel=1e-2, abs=1e-6)


def test_reach_and_at_scores():
    lr = 0.05
    loss = gd_closed_form(lr, 100)
    reach = ravine("reach", target=0.1)
    first = int(np.flatnonzero(loss <= 0.1)[0])
    assert C.evaluate(reach, "gd", {"learning_rate": lr}).score == first
    never = ravine("reach", target=1e-30)
    assert C.evaluate(never, "gd", {"learning_rate": lr}).score is None
    at = ravine("at", k=20)
    assert C.evaluate(at, "gd", {"learning_rate": lr}).score == pytest.approx(loss[20], rel=2e-3)


def test_a_diverging_run_has_no_score():
    result = C.evaluate(ravine(), "gd", {"learning_rate": 0.5})  # 1 - ηκ = -4: diverges
    assert result.score is None
    assert result.diverged_at is not None


def test_reference_sweep_agrees_with_single_runs():
    ch = ravine()
    values, scores = C.reference_sweep(ch, "gd", "learning_rate")
    for lr in (0.01, 0.05, 0.15):
        i = int(np.argmin(np.abs(values - lr)))
        assert scores[i] == pytest.approx(gd_closed_form(values[i], 100)[-1], rel=5e-3, abs=1e-9)
    assert np.isnan(scores[values > 0.3]).all()  # diverged: no score


def test_data_challenge_scores_the_mean_over_the_pages_seeds():
    from optlab.config.data import parse_data_query
    from optlab.pages.data import compute

    setup = {"opt": "gd", "seeds": "4", "batch": "8", "std": "1"}
    ch = C.make_challenge("data", setup, ["gd"], ["learning_rate"], 100)
    result = C.evaluate(ch, "gd", {"learning_rate": 0.1})
    cfg = parse_data_query({**setup, "steps": "100", "gd.lr": "0.1"})[0]
    assert result.diverged_at is None
    (spec,) = compute.specs(cfg)
    runs = compute.run_seeds(spec)  # what the Data & SGD page shows
    assert result.score == pytest.approx(float(np.mean(runs.loss[:, -1])), rel=1e-5)


def test_current_settings_read_the_students_page():
    from optlab.config.surfaces_link import parse_query

    ch = ravine()
    cfg = parse_query({**RAVINE, "adam.lr": "0.02", "adam.b1": "0.5"})[0]
    assert C.current_settings(ch, cfg, "adam") == {"learning_rate": 0.02, "b1": 0.5}
    other = parse_query({"surface": "bowl", "opt": "gd"})[0]
    assert C.current_settings(ch, other, "adam")["b1"] == 0.9  # not selected: the setup's


@pytest.mark.parametrize(
    ("link", "page", "query"),
    [
        ("http://h:8501/data?opt=gd&gd.lr=0.1", "data", {"opt": "gd", "gd.lr": "0.1"}),
        ("http://h/surfaces?surface=ravine&scenario=x", "surfaces", {"surface": "ravine"}),
        ("http://h/", "surfaces", {}),
        ("surface=bowl&opt=gd", "surfaces", {"surface": "bowl", "opt": "gd"}),
    ],
)
def test_pasted_links(link, page, query):
    assert C.link_source(link) == (page, query)


@pytest.mark.parametrize("link", ["http://h/transformer?x=1", "x" * 5000])
def test_unusable_links(link):
    with pytest.raises(BadValue):
        C.link_source(link)


def test_creation_link_prefills_and_notes_the_rest():
    got, notices = C.parse_creation_query({"allow": "adam,zz", "steps": "300", "score": "at",
                                           "k": "40", "hours": "999", "bogus": "1"})  # fmt: skip
    assert got["allow"] == ("adam",)
    assert (got["steps"], got["score"], got["k"], got["hours"]) == (300, "at", 40, 3.0)
    assert any("hours" in n for n in notices)
    assert any("bogus" in n for n in notices)
    assert math.isfinite(got["target"])


def test_locked_settings_leave_out_the_open_values():
    ch = C.make_challenge("surfaces", {**RAVINE, "adam.lr": "0.02", "adam.eps": "1e-06"},
                          ["adam"], ["learning_rate"], 100)  # fmt: skip
    locked = dict(ch.locked())
    assert "adam.lr" not in locked  # tuned by the students
    assert locked["adam.eps"] == "1e-06"  # locked
    assert locked["surface"] == "ravine"
    data = C.make_challenge("data", {"opt": "gd", "gd.lr": "0.1"}, ["gd"], ["learning_rate"], 200)
    assert "gd.lr" not in dict(data.locked())
