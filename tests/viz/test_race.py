"""The figure builders: what a page (and a student) relies on, checked on real engine runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from optlab.core.engine import OptimizerRun, Settings, Trajectory, run
from optlab.viz import race
from optlab.viz.colormap import (
    COLOR_LEVELS,
    VIRIDIS,
    colormap,
    contour_mask,
    decode_data_uri,
    luminance,
    render_indices,
)
from surfaces import SURFACES
from surfaces.base import Point, Surface

START = (-2.5, 1.0)
RUNS = (
    OptimizerRun("gd", {"learning_rate": 0.09}),
    OptimizerRun("momentum", {"learning_rate": 0.02}),
    OptimizerRun("adam", {"learning_rate": 0.1}),
    OptimizerRun("gd", {"learning_rate": 0.2}, label="GD, η too big"),  # diverges on the ravine
)


@pytest.fixture(scope="module")
def ravine() -> Surface:
    return SURFACES["ravine"]


@pytest.fixture(scope="module")
def trajs(ravine) -> list[Trajectory]:
    return run(ravine, RUNS, start=START, settings=Settings(steps=200))


@pytest.fixture(scope="module")
def image(ravine) -> race.SurfaceImage:
    return race.surface_image(ravine)


@pytest.fixture(scope="module")
def fig(ravine, trajs, image):
    return race.lab_figure(ravine, trajs, image, start=START)


def to_json(fig) -> str:
    """The figure as JSON; ``allow_nan=False`` raises on any NaN/inf that reached it."""
    return json.dumps(fig.to_plotly_json(), allow_nan=False)


def anim_indexes(fig) -> list[int]:
    return [
        i
        for i, t in enumerate(fig.data)
        if t.name.startswith(race.CURRENT_PREFIX) or t.name == race.CURSOR_NAME
    ]


def by_name(fig, name: str, xaxis: str = "x"):
    return next(t for t in fig.data if t.name == name and (t.xaxis or "x") == xaxis)


def line_surface(name: str, fn, log_color: bool = False) -> Surface:
    return Surface(
        name=name, display=name, latex="", fn=fn, bounds=((-1.0, 1.0), (-2.0, 2.0)),
        minima=(Point(0.0, 0.0, "min", 0.0),), starts=(Point(0.5, 0.5),), log_color=log_color,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Colormap and background image.


def test_colormap_is_monotone_in_luminance():
    for fade in (0.0, 0.25):
        lum = luminance(colormap(np.linspace(0.0, 1.0, COLOR_LEVELS), fade=fade))
        assert np.all(np.diff(lum) > 0.0)  # every palette level brighter than the last
        assert lum[-1] - lum[0] > 0.5
    assert np.array_equal(colormap(np.array([0.0, 1.0]), fade=0.0), VIRIDIS[[0, -1]])


def test_contours_are_baked_in_at_level_changes():
    ramp = np.tile(np.linspace(0.0, 1.0, 300), (10, 1))
    edges = contour_mask(np.minimum((ramp * 15).astype(int), 14))
    assert edges[0].sum() == 14  # 15 bands, 14 boundaries per row
    idx = render_indices(ramp)
    assert (idx[:, :-1][edges[:, :-1]] > 127).all()  # darkened palette half
    assert (idx[~edges] < 127).all()


def test_background_decodes_to_the_grid_size(ravine, image):
    png = decode_data_uri(image.uri)
    assert png.size == (250, 250)
    assert image.z.shape == (250, 250)
    assert (image.xs[0], image.xs[-1]) == pytest.approx(ravine.bounds[0])
    assert (image.ys[0], image.ys[-1]) == pytest.approx(ravine.bounds[1])
    small = race.surface_image(ravine, n=120)
    assert decode_data_uri(small.uri).size == (120, 120)


def test_background_differs_between_surfaces_and_parameters(ravine, image):
    bowl = np.asarray(decode_data_uri(race.surface_image(SURFACES["bowl"]).uri))
    ours = np.asarray(decode_data_uri(image.uri))
    stiffer = np.asarray(decode_data_uri(race.surface_image(ravine, {"kappa": 200.0}).uri))
    assert not np.array_equal(bowl, ours)
    assert not np.array_equal(stiffer, ours)


def test_background_top_row_is_the_largest_y():
    tilt = line_surface("tilt", lambda x, y, p: y + 0.0 * x)
    rgb = np.asarray(decode_data_uri(race.surface_image(tilt, n=64).uri), float)
    lum = luminance(rgb.astype(np.uint8)).mean(axis=1)
    assert lum[0] > lum[-1]  # high f = bright, and row 0 is y = ymax


def test_huge_corner_does_not_wash_out_the_map():
    spike = line_surface("spike", lambda x, y, p: x**2 + y**2 + 1e9 * (x > 0.98) * (y > 1.96))
    png = np.asarray(decode_data_uri(race.surface_image(spike, n=100).uri))
    assert len(np.unique(png.reshape(-1, 3), axis=0)) > 40  # many colours, not one dark blob


# ---------------------------------------------------------------------------------------------
# The lab figure.


def test_runs_exercise_divergence(trajs):
    assert trajs[3].diverged_at is not None
    assert np.abs(trajs[3].params).max() > 1e6  # flew far off the map before blowing up
    assert all(t.diverged_at is None for t in trajs[:3])


def test_background_is_a_layout_image_over_the_bounds(ravine, fig):
    (img,) = fig.layout.images
    (x0, x1), (y0, y1) = ravine.bounds
    assert img.source.startswith("data:image/png;base64,")
    assert (img.layer, img.sizing, img.xref, img.yref) == ("below", "stretch", "x", "y")
    assert (img.x, img.y, img.sizex, img.sizey) == pytest.approx((x0, y1, x1 - x0, y1 - y0))


def test_axes_stay_on_the_bounds_even_when_a_run_flies_off(ravine, fig):
    assert list(fig.layout.xaxis.range) == list(ravine.bounds[0])
    assert list(fig.layout.yaxis.range) == list(ravine.bounds[1])
    assert fig.layout.xaxis.autorange is False
    assert fig.layout.yaxis.autorange is False
    assert fig.layout.yaxis2.autorange is False


def test_traces_match_the_optimizers(trajs, fig):
    n = len(trajs)
    assert [t.name for t in fig.data if t.xaxis == "x" and t.legendgroup in {
        tr.label for tr in trajs} and not t.name.startswith(race.CURRENT_PREFIX)] == [
        t.label for t in trajs]  # fmt: skip
    assert len([t for t in fig.data if t.xaxis == "x2" and t.name in {x.label for x in trajs}]) == n
    assert len(anim_indexes(fig)) == 2 * n + 1
    (grid,) = [t for t in fig.data if t.name == race.CLICK_GRID_NAME]
    assert grid.marker.opacity == 0
    assert len(grid.x) >= 1000  # hover and click reach any node of a fine grid...
    assert grid.marker.maxdisplayed == 1  # ...but the browser draws no marker per node
    assert fig.layout.font.size >= 14


def test_trajectory_lines_are_the_params(trajs, fig):
    for t in trajs[:3]:
        line = by_name(fig, t.label)
        assert line.mode == "lines"  # no marker per step: cheap to redraw on every change
        np.testing.assert_allclose(np.asarray(line.x, float), t.params[:, 0], rtol=1e-6, atol=0)
        np.testing.assert_allclose(np.asarray(line.y, float), t.params[:, 1], rtol=1e-6, atol=0)
        loss = by_name(fig, t.label, "x2")
        hover = loss.y if loss.customdata is None else loss.customdata
        np.testing.assert_allclose(np.asarray(hover, float), t.loss, rtol=1e-4)


def test_no_nan_or_inf_reaches_the_figure(fig):
    text = to_json(fig)
    assert '"bdata"' not in text  # plain lists: any plotly.js can read them
    assert len(text) < 300_000


def test_frames_only_move_markers_and_cursor(trajs, fig):
    anim = anim_indexes(fig)
    assert len(fig.frames) == 60
    assert fig.frames[0].name == "0"
    assert fig.frames[-1].name == str(max(len(t.params) - 1 for t in trajs))
    for fr in fig.frames:
        assert list(fr.traces) == anim
        assert len(fr.data) == len(anim)
        assert all(set(d.to_plotly_json()) <= {"type", "x", "y"} for d in fr.data)
    labels = {t.label: t for t in trajs}
    for fr in fig.frames[::7]:  # each frame's data lands on the right trace
        step = int(fr.name)
        for idx, d in zip(fr.traces, fr.data, strict=True):
            trace = fig.data[idx]
            if trace.name == race.CURSOR_NAME:
                continue
            t = labels[trace.name.removeprefix(race.CURRENT_PREFIX)]
            k = min(step, len(t.params) - 1)
            if trace.xaxis == "x":
                assert (d.x[0], d.y[0]) == pytest.approx(tuple(t.params[k]), rel=1e-6)
            else:
                assert d.x[0] == k
                lo, hi = (10**r for r in fig.layout.yaxis2.range)
                assert lo < d.y[0] < hi  # a blown-up loss sits on the top edge, visible
                if t.diverged_at is None:  # the dot sits on its curve
                    assert d.y[0] == pytest.approx(by_name(fig, t.label, "x2").y[k], rel=1e-4)
    cursor = fig.frames[10].data[-1]
    assert cursor.x[0] == cursor.x[1] == int(fig.frames[10].name)


def test_play_pause_and_scrubber(fig):
    (menu,) = fig.layout.updatemenus
    play = next(b for b in menu.buttons if "Play" in b.label)
    assert play.method == "animate"
    assert play.args[1]["frame"]["redraw"] is False
    assert any("Pause" in b.label for b in menu.buttons)
    (slider,) = fig.layout.sliders
    assert [s.label for s in slider.steps] == [f.name for f in fig.frames]
    assert all(s.args[1]["frame"]["redraw"] is False for s in slider.steps)


def test_divergence_is_marked_on_both_panels(ravine, trajs, fig):
    bad = trajs[3]
    for axis in ("x", "x2"):
        marks = by_name(fig, "diverged", axis)
        assert f"diverged at step {bad.diverged_at}" in marks.hovertext[0]
    (note,) = [a for a in fig.layout.annotations if "diverged" in a.text]
    assert note.text.endswith(f"diverged at step {bad.diverged_at}")
    assert (note.xref, note.yref) == ("x2", "y2 domain")
    (x0, x1), (y0, y1) = ravine.bounds
    mark = by_name(fig, "diverged", "x")
    assert x0 <= mark.x[0] <= x1
    assert y0 <= mark.y[0] <= y1


def test_figure_follows_the_trajectories(ravine, trajs, image, fig):
    other = run(ravine, (*RUNS[:2], OptimizerRun("adam", {"learning_rate": 0.3}), RUNS[3]),
                start=START, settings=Settings(steps=200))  # fmt: skip
    fig2 = race.lab_figure(ravine, other, image, start=START)
    adam = trajs[2].label
    assert by_name(fig2, adam).x != by_name(fig, adam).x
    assert fig2.frames[-1].data != fig.frames[-1].data
    assert by_name(fig2, "GD").x == by_name(fig, "GD").x


def test_negative_losses_use_a_shifted_log_axis(ravine, trajs, image):
    shifted = [t._replace(loss=t.loss - 1.0) for t in trajs[:3]]
    fig = race.lab_figure(ravine, shifted, image, frames=10, click_grid=False)
    assert fig.layout.yaxis2.type == "log"
    assert "f*" in fig.layout.yaxis2.title.text
    for t in shifted:
        ys = [y for y in by_name(fig, t.label, "x2").y if y is not None]
        assert min(ys) > 0
    lin = race.lab_figure(ravine, shifted, image, frames=10, log_loss=False)
    assert lin.layout.yaxis2.type == "linear"
    assert len(lin.frames) == 10
    assert all(t.name != race.CLICK_GRID_NAME for t in fig.data)
    assert list(fig.frames[0].traces) == anim_indexes(fig)
    to_json(fig)


def test_long_runs_are_subsampled(ravine, trajs, image):
    t = trajs[1]
    reps = 20  # 4000 steps, built by hand
    long = t._replace(
        params=np.tile(t.params, (reps, 1)), loss=np.tile(t.loss, reps),
        grad=np.tile(t.grad, (reps, 1)), update=np.tile(t.update, (reps, 1)),
    )  # fmt: skip
    fig = race.lab_figure(ravine, [long] * 4, image)
    line = by_name(fig, t.label)
    assert len(line.x) <= 800
    assert int(line.text[-1]) == len(long.params) - 1  # hover still gives the true step
    assert len(to_json(fig)) < 400_000


def test_lab_spec_is_the_figure_as_plain_json(ravine, trajs, image, fig):
    spec = race.lab_spec(ravine, trajs, image, start=START)
    plain, full = json.loads(json.dumps(spec, allow_nan=False)), json.loads(to_json(fig))
    assert (plain["data"], plain["layout"]) == (full["data"], full["layout"])
    for mine, theirs in zip(plain["frames"], full["frames"], strict=True):  # plotly.py adds
        assert [dict(d, type="scatter") for d in mine["data"]] == theirs["data"]  # "type"
    again = race.lab_spec(ravine, trajs, image, start=START)
    assert again["data"][0] is spec["data"][0]  # the click grid is built once per map
    big = race.lab_spec(ravine, trajs, image, start=START, font=22)
    assert big["layout"]["font"]["size"] == big["layout"]["legend"]["font"]["size"] == 22


def test_ready_figure_goes_to_streamlit_as_built(ravine, trajs, image):
    import plotly.io
    import plotly.tools

    spec = race.lab_spec(ravine, trajs, image, start=START)
    ready = race.ReadyFigure(spec)
    # st.plotly_chart's path: no validation, no deep copy; the JSON is the dict's.
    assert plotly.tools.return_figure_from_figure_or_data(ready, True) is spec
    assert json.loads(plotly.io.to_json(ready, validate=False)) == json.loads(json.dumps(spec))
    # Streamlit redraws a mounted chart from a copy: a "none" template (new identity: full
    # replot) is dropped and a data revision is set (equal arrays are not compared).
    assert "template" not in spec["layout"]
    other = race.ReadyFigure(race.lab_spec(ravine, trajs, image, start=START))
    assert spec["layout"]["datarevision"] != other.spec["layout"]["datarevision"]
    real = ready.figure()
    assert [t.name for t in real.data] == [t["name"] for t in spec["data"]]
    assert real.layout.template.layout.to_plotly_json() == {}  # not plotly.py's default
    with pytest.raises(AttributeError, match=r"\.figure\(\)"):
        _ = ready.data
    assert "<html>" in ready.to_html(include_plotlyjs=False)


# ---------------------------------------------------------------------------------------------
# The other figures.


def test_surface3d(ravine, trajs):
    fig = race.surface3d_figure(ravine, trajs, n=40)
    assert [type(t).__name__ for t in fig.data].count("Surface") == 1
    lines = [t for t in fig.data if t.name in {x.label for x in trajs}]
    assert len(lines) == len(trajs)
    scene = fig.layout.scene
    assert list(scene.xaxis.range) == list(ravine.bounds[0])
    assert list(scene.yaxis.range) == list(ravine.bounds[1])
    zmax = scene.zaxis.range[1]
    assert max(max(z for z in row if z is not None) for row in fig.data[0].z) <= zmax
    assert all(z <= zmax for t in lines for z in t.z if z is not None)
    to_json(fig)


def test_state_figure_arrows(ravine, trajs, image):
    gd, mom, adam = trajs[:3]
    assert len([a for a in race.state_figure(gd, 5, image).layout.annotations
                if a.showarrow]) == 2  # fmt: skip
    fig = race.state_figure(adam, 5, image, surface=ravine)
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert len(arrows) == 3  # −∇f, −m, Δθ
    assert all((a.axref, a.ayref) == ("x", "y") for a in arrows)
    p, g = adam.params[5], adam.grad[5]
    assert (arrows[0].ax, arrows[0].ay) == pytest.approx(tuple(p))
    d = np.array([arrows[0].x - arrows[0].ax, arrows[0].y - arrows[0].ay])
    assert d @ -g / (np.linalg.norm(d) * np.linalg.norm(g)) == pytest.approx(1.0, abs=1e-5)
    assert any(f"{np.linalg.norm(g):.3g}" in (t.name or "") for t in fig.data)
    assert len(fig.layout.images) == 2  # the map and the sharp zoomed window
    assert len(race.state_figure(mom, 5, image, zoom=False).layout.annotations) >= 3
    to_json(fig)


def test_eff_step_figure(trajs):
    gd, _, adam = trajs[:3]
    fig = race.eff_step_figure(gd)
    step_x = np.array([y for y in by_name(fig, "step x").y if y is not None])
    np.testing.assert_allclose(step_x, 0.09, rtol=1e-4)  # GD: the effective step is η
    assert fig.layout.yaxis.type == "log"
    fig = race.eff_step_figure(adam)
    names = {t.name for t in fig.data}
    assert {"step x", "step y", "η (lr)"} <= names
    assert {f"{k} ({c})" for k in adam.moments for c in "xy"} <= names
    to_json(fig)


def test_lr_curve_figure():
    mult = np.linspace(1.0, 0.0, 50)
    fig = race.lr_curve_figure(mult, {"gd": 0.1, "adam": 0.01})
    # the legend sits above the plot, two to a row, and the figure grows by a row to hold it
    assert fig.layout.height == 180 + 24
    assert fig.layout.legend.orientation == "h"
    assert fig.layout.legend.y > 1
    assert race.lr_curve_figure(mult, {"gd": 0.1}).layout.height == 180
    assert [t.name for t in fig.data] == ["gd", "adam"]
    assert list(fig.data[1].x) == [0, 49]  # a straight line: its two ends redraw it
    redrawn = np.interp(np.arange(50), fig.data[1].x, fig.data[1].y)
    np.testing.assert_allclose(redrawn, 0.01 * mult, rtol=1e-4, atol=1e-9)
    assert fig.data[0].line.color == "#1f77b4"  # the registry colour
    assert fig.layout.yaxis.type == "linear"
    assert race.lr_curve_figure(mult, {"a": 1.0, "b": 1e-3}).layout.yaxis.type == "log"
