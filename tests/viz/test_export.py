"""Downloads: the CSV reads back to the same numbers, the HTML works offline, the GIF animates."""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pytest
from PIL import Image

from optlab.core.engine import OptimizerRun, Settings, run
from optlab.viz import export, race
from surfaces import SURFACES

START = (-2.5, 1.0)
RUNS = (  # the same set and step count as test_plots: one compile serves both modules
    OptimizerRun("gd", {"learning_rate": 0.09}),
    OptimizerRun("momentum", {"learning_rate": 0.02}),
    OptimizerRun("adam", {"learning_rate": 0.1}),
    OptimizerRun("gd", {"learning_rate": 0.2}, label="GD, η too big"),  # diverges
)


@pytest.fixture(scope="module")
def ravine():
    return SURFACES["ravine"]


@pytest.fixture(scope="module")
def trajs(ravine):
    return run(ravine, RUNS, start=START, settings=Settings(steps=200))


@pytest.fixture(scope="module")
def image(ravine):
    return race.surface_image(ravine, n=120)


def test_csv_reads_back_to_the_same_numbers(trajs):
    rows = list(csv.DictReader(io.StringIO(export.trajectories_csv(trajs))))
    assert list(rows[0]) == list(export.CSV_COLUMNS)
    assert len(rows) == sum(len(t.params) for t in trajs)
    for t in trajs:
        mine = [r for r in rows if r["optimizer"] == t.label]
        assert [int(r["step"]) for r in mine] == list(range(len(t.params)))
        cols = {
            c: np.array([np.float32(r[c] or "nan") for r in mine]) for c in export.CSV_COLUMNS[2:10]
        }
        np.testing.assert_array_equal(cols["x"], t.params[:, 0])
        np.testing.assert_array_equal(cols["y"], t.params[:, 1])
        finite = np.isfinite(t.loss)
        np.testing.assert_array_equal(cols["loss"][finite], t.loss[finite])
        n = len(t.grad)
        for c, arr in (
            ("grad_x", t.grad[:, 0]),
            ("grad_y", t.grad[:, 1]),
            ("update_x", t.update[:, 0]),
            ("update_y", t.update[:, 1]),
            ("lr", t.lr),
        ):
            np.testing.assert_array_equal(cols[c][:n], arr)
            assert mine[-1][c] == ""  # the final point has no step taken from it
        expected = "" if t.diverged_at is None else str(t.diverged_at)
        assert {r["diverged_at"] for r in mine} == {expected}
    assert trajs[3].diverged_at is not None


def test_html_is_standalone(ravine, trajs, image):
    fig = race.lab_figure(ravine, trajs, image, frames=10)
    html = export.figure_html(fig)
    assert "<html>" in html[:100].lower()
    assert len(html) > 1_000_000  # the plotly.js bundle itself
    assert "Plotly.newPlot" in html
    # No external script: nothing loaded from a CDN. (The bundle's own source mentions
    # cdn.plot.ly as a default topojson URL, used only by geo maps, so the literal string
    # "cdn." does occur inside it.)
    assert re.search(r"<script[^>]*\bsrc=", html) is None
    assert 'src="https://cdn.' not in html


@pytest.mark.parametrize(("frames", "size"), [(12, 240), (40, 480)])
def test_gif_frames_and_size(ravine, trajs, image, frames, size):
    data = export.animation_gif(ravine, trajs, image, frames=frames, size=size, ms=50)
    assert data[:6] == b"GIF89a"
    gif = Image.open(io.BytesIO(data))
    assert gif.size == (size, size)
    assert gif.n_frames == frames
    assert gif.info["duration"] == 50
    assert gif.info["loop"] == 0
    first = np.asarray(gif.convert("RGB"))
    gif.seek(frames - 1)
    last = np.asarray(gif.convert("RGB"))
    assert not np.array_equal(first, last)  # the paths grow


def test_gif_never_has_more_frames_than_steps(ravine, trajs, image):
    short = [t._replace(params=t.params[:6], loss=t.loss[:6], grad=t.grad[:5]) for t in trajs[:2]]
    gif = Image.open(io.BytesIO(export.animation_gif(ravine, short, image, frames=40, size=200)))
    assert gif.n_frames == 6
