"""Figures of the Data & SGD page: bands, model lines and boundaries checked against numpy."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from optlab.pages.data.compute import SeedRuns, spread
from optlab.viz import data as plots_data
from optlab.viz.race import surface_image
from surfaces import SURFACES


def fake_runs(params: np.ndarray, label: str = "GD", color: str = "#1f77b4") -> SeedRuns:
    """Runs on the bowl: loss = ½‖θ‖², the mini-batch loss a noisy copy."""
    loss = 0.5 * np.sum(params**2, axis=-1)
    rng = np.random.default_rng(1)
    sample = loss[:, :-1] * rng.uniform(0.5, 1.5, loss[:, :-1].shape)
    return SeedRuns("gd", label, color, params, loss, sample, np.full(len(params), -1))


def random_runs(k: int = 6, steps: int = 40, seed: int = 0) -> SeedRuns:
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.1, (k, steps + 1, 2)), axis=1) + np.array([2.0, -1.0])
    return fake_runs(walk)


def trace(fig: go.Figure, name: str):
    found = [t for t in fig.data if t.name == name]
    assert len(found) == 1, [t.name for t in fig.data]
    return found[0]


# ---------------------------------------------------------------------------------------------
# Bands.


def test_band_is_mean_plus_minus_std_over_seeds():
    v = np.random.default_rng(3).gamma(2.0, 1.0, (8, 50))
    mean, lo, hi = plots_data.band(v)
    expected_mean = v.sum(axis=0) / v.shape[0]
    expected_std = np.sqrt(((v - expected_mean) ** 2).sum(axis=0) / v.shape[0])
    np.testing.assert_allclose(mean, expected_mean)
    np.testing.assert_allclose(lo, expected_mean - expected_std)
    np.testing.assert_allclose(hi, expected_mean + expected_std)


def test_band_on_a_log_axis_stays_positive():
    v = np.array([[1e-3, 1.0], [10.0, 1.0], [0.0, 1.0]])
    mean, lo, hi = plots_data.band(v, log_floor=True)
    assert np.all(lo > 0)
    assert lo[0] == pytest.approx(mean[0] / plots_data.LOG_BAND_DEPTH)
    assert lo[1] == hi[1] == mean[1] == 1.0  # identical seeds: a band of zero width


def test_loss_figure_bands_match_numpy():
    runs = random_runs()
    fig = plots_data.loss_band_figure([runs], log_y=False)
    for what, values in (("full loss", runs.loss), ("mini-batch loss", runs.sample_loss)):
        mean, std = values.mean(axis=0), values.std(axis=0)
        line = trace(fig, f"GD · {what}")
        np.testing.assert_allclose(line.y, mean, rtol=1e-5)
        poly = np.asarray(trace(fig, f"GD · {what} band").y, float)
        n = len(mean)
        np.testing.assert_allclose(poly[:n], mean + std, rtol=1e-4)
        np.testing.assert_allclose(poly[n:], (mean - std)[::-1], rtol=1e-4, atol=1e-9)
        assert list(trace(fig, f"GD · {what} band").x) == [*range(n), *range(n)[::-1]]
    assert fig.layout.yaxis.type == "linear"
    assert plots_data.loss_band_figure([runs]).layout.yaxis.type == "log"
    names = {t.name for t in plots_data.loss_band_figure([runs], sample=False).data}
    assert names == {"GD · full loss", "GD · full loss band"}


def test_loss_figure_json_is_finite():
    runs = random_runs()
    runs.loss[2, 10:] = np.inf  # a diverged seed
    text = plots_data.loss_band_figure([runs]).to_json()
    assert "NaN" not in text
    assert "Infinity" not in text


# ---------------------------------------------------------------------------------------------
# Models on the data.


@pytest.mark.parametrize(("w", "b"), [(2.0, -1.0), (-0.5, 3.0), (0.0, 1.5)])
def test_linear_model_line_is_w_x_plus_b(w, b):
    xs = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(plots_data.model_line(w, b, xs), w * xs + b)
    params = np.broadcast_to([w, b], (4, 11, 2)).copy()
    params[:, 5] += np.array([[0.1, -0.1], [-0.1, 0.1], [0.2, 0.0], [-0.2, 0.0]])  # mean (w, b)
    x = np.linspace(-3, 3, 30)
    fig = plots_data.data_fit_figure("linreg", x, 2 * x - 1, [fake_runs(params)], step=5)
    line = trace(fig, "GD · step 5")
    np.testing.assert_allclose(line.y, w * np.asarray(line.x) + b, rtol=1e-5, atol=1e-6)
    assert line.x[0] < x.min() < x.max() < line.x[-1]
    seeds = trace(fig, "GD · seeds")
    assert sum(v is None for v in seeds.x) == 4  # one faint line per seed


@pytest.mark.parametrize(("w", "b"), [(2.0, -1.0), (-1.5, 0.75)])
def test_logistic_curve_and_decision_boundary(w, b):
    xs = np.linspace(-4, 4, 9)
    np.testing.assert_allclose(plots_data.probability(w, b, xs), 1 / (1 + np.exp(-(w * xs + b))))
    x0 = plots_data.boundary(w, b)
    assert x0 == pytest.approx(-b / w)
    assert plots_data.probability(w, b, np.array([x0]))[0] == pytest.approx(0.5)
    params = np.broadcast_to([w, b], (3, 8, 2)).copy()
    y = (xs > 0).astype(float)
    fig = plots_data.data_fit_figure("logreg", xs, y, [fake_runs(params)], 7, optimum=(1, 0))
    assert list(trace(fig, "GD · boundary").x) == pytest.approx([-b / w, -b / w], rel=1e-5)
    curve = trace(fig, "GD · step 7")
    expected = 1 / (1 + np.exp(-(w * np.asarray(curve.x) + b)))
    np.testing.assert_allclose(curve.y, expected, rtol=1e-5, atol=1e-7)
    best = trace(fig, "best fit")
    np.testing.assert_allclose(best.y, 1 / (1 + np.exp(-np.asarray(best.x))), rtol=1e-5)
    assert plots_data.boundary(0.0, 1.0) is None
    assert fig.layout.yaxis.range == (-0.12, 1.12)


def test_step_beyond_the_run_shows_the_last_step():
    params = np.zeros((2, 4, 2))
    x = np.arange(5.0)
    fig = plots_data.data_fit_figure("linreg", x, x, [fake_runs(params)], step=99)
    assert trace(fig, "GD · step 3")


# ---------------------------------------------------------------------------------------------
# The map.


def test_map_has_every_seed_the_mean_path_and_the_end_points():
    runs = random_runs(k=5, steps=30)
    bowl = SURFACES["bowl"]
    fig = plots_data.seeds_map_figure(bowl, surface_image(bowl, n=60), [runs], (2.0, -1.0))
    seeds = trace(fig, "GD · seeds")
    assert sum(v is None for v in seeds.x) == 5
    first = np.asarray(seeds.x[:31], float)
    np.testing.assert_allclose(first, runs.params[0, :, 0], rtol=1e-4)
    mean = trace(fig, "GD · mean")
    np.testing.assert_allclose(mean.x, runs.params[:, :, 0].mean(axis=0), rtol=1e-5)
    ends = trace(fig, "GD · end points")
    np.testing.assert_allclose(ends.y, runs.params[:, -1, 1], rtol=1e-5)
    assert fig.layout.images, "the loss background image is missing"
    assert fig.layout.yaxis.scaleanchor == "x"
    fig = plots_data.seeds_map_figure(bowl, surface_image(bowl, n=60), [runs], equal=False)
    assert fig.layout.yaxis.scaleanchor is None
    json.loads(fig.to_json())


def test_spread_is_rms_distance_from_the_mean():
    pts = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 3.0], [0.0, -3.0]])
    assert spread(pts) == pytest.approx(np.sqrt((1 + 1 + 9 + 9) / 4))
    assert spread(np.ones((4, 2))) == 0.0


def test_rgba():
    assert plots_data.rgba("#ff7f0e", 0.5) == "rgba(255,127,14,0.5)"
    assert plots_data.rgba("red", 0.5) == "red"
