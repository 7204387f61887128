"""Figure builders for the "Data & SGD" page: arrays in, ``go.Figure`` out, no Streamlit.

* ``seeds_map_figure``: the full-data loss as a background image, K faint trajectories per
  optimizer, their mean path in bold and the K end points (the noise ball);
* ``loss_band_figure``: loss vs step, mean ± one standard deviation over seeds, for the full
  loss (solid) and the mini-batch loss the optimizer saw (faint);
* ``data_fit_figure``: the data with each optimizer's model at one step — the line
  ``y = w x + b`` (linear regression) or the probability curve ``σ(w x + b)`` and its decision
  boundary ``x = −b / w`` (logistic regression).

Runs are anything with ``label``, ``color``, ``params [K, T+1, 2]``, ``loss [K, T+1]`` and
``sample_loss [K, T]`` (``optlab.pages.data.compute.SeedRuns``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from optlab.viz.colormap import SurfaceImage
from optlab.viz.paths import clip_path
from optlab.viz.style import (
    AXIS,
    FONT,
    background,
    landmarks,
    map_axes,
    rounded,
    subsample,
    surface_bounds,
)
from surfaces.base import Surface

LOG_BAND_DEPTH = 10.0  # on a log axis a band reaching 0 is cut this factor below its mean
LEGEND = {"orientation": "h", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom"}


def rgba(color: str, alpha: float) -> str:
    """``#rrggbb`` as ``rgba(r,g,b,alpha)`` (other colour strings are returned unchanged)."""
    if not (color.startswith("#") and len(color) == 7):
        return color
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def band(values: np.ndarray, log_floor: bool = False):
    """``(mean, mean − std, mean + std)`` over the seeds (axis 0) of ``values [K, T]``
    (population std, ``ddof = 0``).

    ``log_floor``: the lower edge is kept at least ``mean / LOG_BAND_DEPTH`` (a band reaching
    0 cannot be drawn on a log axis, and one reaching 10⁻⁶ hides everything else)."""
    v = np.asarray(values, np.float64)
    with np.errstate(invalid="ignore", over="ignore"):  # a diverged seed: inf → no band
        mean, std = v.mean(axis=0), v.std(axis=0)
        lo, hi = mean - std, mean + std
    if log_floor:
        lo = np.maximum(lo, mean / LOG_BAND_DEPTH)
    return mean, lo, hi


def model_line(w: float, b: float, xs: np.ndarray) -> np.ndarray:
    """The linear model's prediction ``w x + b``."""
    return w * np.asarray(xs, np.float64) + b


def probability(w: float, b: float, xs: np.ndarray) -> np.ndarray:
    """The logistic model's ``P(y = 1 | x) = σ(w x + b)``."""
    z = w * np.asarray(xs, np.float64) + b
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # σ(z), without overflow


def boundary(w: float, b: float) -> float | None:
    """Where ``σ(w x + b) = ½``: ``x = −b / w`` (``None`` when ``w = 0``)."""
    return None if w == 0 else -b / w


def _joined(paths: Sequence[np.ndarray]) -> tuple[list, list]:
    """Several ``[n, 2]`` paths as one x and one y list separated by ``None`` gaps."""
    xs, ys = [], []
    for p in paths:
        xs += [*rounded(p[:, 0], 5), None]
        ys += [*rounded(p[:, 1], 5), None]
    return xs, ys


# ---------------------------------------------------------------------------------------------


def seeds_map_figure(
    surface: Surface,
    image: SurfaceImage,
    runs: Sequence,
    start: Sequence[float] | None = None,
    *,
    axis_titles: tuple[str, str] = ("x", "y"),
    equal: bool = True,
    max_points: int = 150,
    height: int = 480,
) -> go.Figure:
    """Map with every seed's path (faint), the mean path (bold) and the end points.

    Trace names: ``"<label> · seeds"``, ``"<label> · mean"``, ``"<label> · end points"``."""
    bounds = surface_bounds(surface)
    fig = go.Figure()
    fig.add_layout_image(background(image))
    for r in runs:
        k, n = r.params.shape[0], r.params.shape[1]
        idx = subsample(n, max_points)
        paths = [clip_path(r.params[i, idx, :2], bounds) for i in range(k)]
        xs, ys = _joined(paths)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", name=f"{r.label} · seeds", legendgroup=r.label,
            showlegend=False, hoverinfo="skip", line={"color": rgba(r.color, 0.45), "width": 1.2},
        ))  # fmt: skip
        mean = clip_path(r.params[:, idx, :2].mean(axis=0), bounds)
        fig.add_trace(go.Scatter(
            x=rounded(mean[:, 0], 6), y=rounded(mean[:, 1], 6), mode="lines",
            name=f"{r.label} · mean", legendgroup=r.label, text=idx.tolist(),
            line={"color": r.color, "width": 4},
            hovertemplate=f"<b>{r.label}</b> (mean of {k})<br>step %{{text}}"
            "<br>(%{x:.4g}, %{y:.4g})<extra></extra>",
        ))  # fmt: skip
        ends = clip_path(r.params[:, -1, :2], bounds)
        fig.add_trace(go.Scatter(
            x=rounded(ends[:, 0], 6), y=rounded(ends[:, 1], 6), mode="markers",
            name=f"{r.label} · end points", legendgroup=r.label, showlegend=False,
            marker={"color": r.color, "size": 7, "line": {"width": 1, "color": "white"}},
            hovertemplate=f"{r.label}: end point<br>(%{{x:.4g}}, %{{y:.4g}})<extra></extra>",
        ))  # fmt: skip
    for tr in landmarks(surface, start):
        fig.add_trace(tr)
    axes = map_axes(bounds, equal=equal)
    axes["xaxis"]["title"] = {"text": axis_titles[0]}
    axes["yaxis"]["title"] = {"text": axis_titles[1]}
    fig.update_layout(
        template="none", height=height, font={"size": FONT - 2}, plot_bgcolor="white",
        margin={"l": 60, "r": 20, "t": 40, "b": 50}, legend=LEGEND, hovermode="closest",
        uirevision=surface.name, **axes,
    )  # fmt: skip
    return fig


def loss_band_figure(
    runs: Sequence,
    *,
    log_y: bool = True,
    sample: bool = True,
    max_points: int = 400,
    height: int = 480,
) -> go.Figure:
    """Full loss (solid, mean ± std band) and mini-batch loss (faint; left out when not
    ``sample``, e.g. on an analytic surface where it is the full loss) per optimizer vs step.

    Trace names: ``"<label> · full loss"`` (+ ``" band"``) and ``"<label> · mini-batch loss"``
    (+ ``" band"``); a band is one closed polygon: upper edge left to right, lower edge back."""
    fig = go.Figure()
    t_max = 0
    for r in runs:
        curves = (
            ("mini-batch loss", r.sample_loss, 0.08, 1.5, "dot"),
            ("full loss", r.loss, 0.22, 3.0, None),
        )
        for what, values, alpha, width, dash in curves[0 if sample else 1 :]:
            n = values.shape[1]
            t_max = max(t_max, n - 1)
            idx = subsample(n, max_points)
            mean, lo, hi = band(values[:, idx], log_floor=log_y)
            steps = idx.tolist()
            fig.add_trace(go.Scatter(
                x=steps + steps[::-1], y=rounded(np.concatenate([hi, lo[::-1]]), 5),
                fill="toself", fillcolor=rgba(r.color, alpha), line={"width": 0},
                mode="lines", name=f"{r.label} · {what} band", legendgroup=r.label,
                showlegend=False, hoverinfo="skip",
            ))  # fmt: skip
            fig.add_trace(go.Scatter(
                x=steps, y=rounded(mean, 6), mode="lines", name=f"{r.label} · {what}",
                legendgroup=r.label, showlegend=what == "full loss",
                line={"color": rgba(r.color, 1.0 if dash is None else 0.6), "width": width,
                      "dash": dash},
                hovertemplate=f"<b>{r.label}</b> {what}<br>step %{{x}}: mean %{{y:.4g}}"
                "<extra></extra>",
            ))  # fmt: skip
    fig.update_layout(
        template="none", height=height, font={"size": FONT - 2}, legend=LEGEND,
        margin={"l": 70, "r": 20, "t": 40, "b": 50}, hovermode="x",
        xaxis=dict(AXIS, title={"text": "step"}, range=[0, max(t_max, 1)]),
        yaxis=dict(AXIS, title={"text": "loss (mean ± std over seeds)"},
                   type="log" if log_y else "linear", exponentformat="power"),
    )  # fmt: skip
    return fig


def data_fit_figure(
    kind: str,
    x: np.ndarray,
    y: np.ndarray,
    runs: Sequence,
    step: int,
    optimum: Sequence[float] | None = None,
    *,
    height: int = 380,
    max_points: int = 500,
) -> go.Figure:
    """The data and each optimizer's model at ``step``: the seeds' models faint, the model of
    the mean ``(w, b)`` bold; the full-data optimum dashed black.

    ``kind`` is ``"linreg"`` (lines) or ``"logreg"`` (probability curves and the decision
    boundary of the mean model as a dotted vertical line). Trace names: ``"data"``,
    ``"<label> · step <step>"``, ``"<label> · seeds"``, ``"<label> · boundary"``, ``"best fit"``.
    """
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    lo, hi = (float(x.min()), float(x.max())) if x.size else (-1.0, 1.0)
    pad = 0.05 * (hi - lo or 1.0)
    grid = np.linspace(lo - pad, hi + pad, 2 if kind == "linreg" else 80)
    model = model_line if kind == "linreg" else probability
    keep = subsample(len(x), max_points)
    shown_y = y[keep]
    if kind == "logreg":  # spread the 0/1 labels a little so overlapping points show
        shown_y = shown_y + np.random.default_rng(0).uniform(-0.04, 0.04, len(keep))
    fig = go.Figure(go.Scatter(
        x=rounded(x[keep], 5), y=rounded(shown_y, 5), mode="markers", name="data",
        marker={"color": "rgba(60,60,60,0.45)", "size": 6}, hoverinfo="skip",
    ))  # fmt: skip
    for r in runs:
        at = min(step, r.params.shape[1] - 1)
        wb = r.params[:, at, :2]
        seeds = [np.stack([grid, model(w, b, grid)], 1) for w, b in wb]
        xs, ys = _joined(seeds)
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", name=f"{r.label} · seeds", legendgroup=r.label,
            showlegend=False, hoverinfo="skip", line={"color": rgba(r.color, 0.2), "width": 1},
        ))  # fmt: skip
        w, b = (float(v) for v in wb.mean(axis=0))
        fig.add_trace(go.Scatter(
            x=rounded(grid, 6), y=rounded(model(w, b, grid), 6), mode="lines",
            name=f"{r.label} · step {at}", legendgroup=r.label,
            line={"color": r.color, "width": 3.5},
            hovertemplate=f"{r.label}: w = {w:.3g}, b = {b:.3g}<extra></extra>",
        ))  # fmt: skip
        if kind == "logreg" and (xb := boundary(w, b)) is not None and lo - pad <= xb <= hi + pad:
            fig.add_trace(go.Scatter(
                x=[xb, xb], y=[-0.1, 1.1], mode="lines", name=f"{r.label} · boundary",
                legendgroup=r.label, showlegend=False, line={"color": r.color, "dash": "dot"},
                hovertemplate=f"{r.label}: boundary x = {xb:.3g}<extra></extra>",
            ))  # fmt: skip
    if optimum is not None:
        w, b = (float(v) for v in optimum[:2])
        fig.add_trace(go.Scatter(
            x=rounded(grid, 6), y=rounded(model(w, b, grid), 6), mode="lines", name="best fit",
            line={"color": "black", "width": 2, "dash": "dash"},
            hovertemplate=f"full-data minimum: w = {w:.3g}, b = {b:.3g}<extra></extra>",
        ))  # fmt: skip
    y_axis = {"title": {"text": "y" if kind == "linreg" else "P(y = 1)  ·  labels"}}
    if kind == "logreg":
        y_axis["range"] = [-0.12, 1.12]
    else:
        y0, y1 = (float(y.min()), float(y.max())) if y.size else (-1.0, 1.0)
        margin = 0.15 * (y1 - y0 or 1.0)
        y_axis["range"] = [y0 - margin, y1 + margin]
    fig.update_layout(
        template="none", height=height, font={"size": FONT - 2}, legend=LEGEND,
        margin={"l": 60, "r": 20, "t": 40, "b": 50}, hovermode="closest",
        xaxis=dict(AXIS, title={"text": "x (the feature the model sees)"},
                   range=[lo - pad, hi + pad]),
        yaxis=dict(AXIS, **y_axis),
    )  # fmt: skip
    return fig
