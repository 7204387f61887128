"""The class board's figures: one path per entry coloured by score, names escaped, the
engine's sweep only when given."""

from __future__ import annotations

import numpy as np
import pytest

from optlab.viz import classroom as V
from optlab.viz import race
from surfaces import SURFACES


def entries():
    path = np.array([[-2.5, 1.0], [-1.0, 0.2], [0.0, 0.0]])
    return [
        V.Entry("<img src=x onerror=alert(1)>", path, 0.01, {"learning_rate": 0.1}, "GD"),
        V.Entry("Grace", path * 0.5, 1.0, {"learning_rate": 0.01}, "GD", best=False),
        V.Entry("Alan", path * 0.9, None, {"learning_rate": 5.0}, "GD"),
    ]


def test_score_positions_best_to_worst():
    assert V.score_positions([0.01, 1.0, 0.1, None], log=True) == [0.0, 1.0, 0.5, None]
    assert V.score_positions([3.0, 5.0], log=False) == [0.0, 1.0]
    assert V.score_positions([None, float("nan")], log=True) == [None, None]


def test_board_map_draws_each_path_coloured_and_escaped():
    s = SURFACES["ravine"]
    fig = V.board_map(s, race.surface_image(s, {}, n=40), entries(), (-2.5, 1.0)).to_dict()
    lines = [t for t in fig["data"] if t.get("mode") == "lines"]
    assert len(lines) == 3
    assert lines[0]["name"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert "<img" not in str(fig["data"])
    best, worst, none = (t["line"]["color"] for t in lines)
    assert best == "rgb(253, 231, 37)"  # the colour scale's bright end
    assert worst == "rgb(68, 1, 84)"
    assert none == V.NO_SCORE
    assert fig["layout"]["images"]  # the surface under the paths


def test_revealed_best_is_highlighted():
    es = entries()
    es[0] = V.Entry(**{**es[0].__dict__, "best": True})
    s = SURFACES["ravine"]
    fig = V.board_map(s, race.surface_image(s, {}, n=40), es, (-2.5, 1.0)).to_dict()
    assert fig["data"][0]["line"]["color"] == V.BEST


@pytest.mark.parametrize("with_reference", [False, True])
def test_score_sweep(with_reference):
    ref = (np.array([0.01, 0.1, 1.0]), np.array([1.0, 0.01, np.nan]))
    fig = V.score_sweep(entries(), "learning_rate", "GD η", "loss", True, True,
                        ref if with_reference else None).to_dict()  # fmt: skip
    names = [t["name"] for t in fig["data"]]
    assert names == (["engine's sweep"] if with_reference else []) + ["students", "no score"]
    students = fig["data"][-2]
    assert list(students["x"]) == [0.1, 0.01]
    assert list(students["y"]) == [0.01, 1.0]
    if with_reference:
        assert fig["data"][0]["y"][2] is None  # no score: a gap, not a number
