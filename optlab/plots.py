"""Figure builders shared by every page: arrays in, ``go.Figure`` out, no Streamlit.

The surface is drawn as a PNG in ``layout.images`` (contour lines baked in) rather than a
contour trace: plotly.js drops contour/heatmap backgrounds while frames play, and an image
survives ``redraw: False`` animation. Only the current-point markers and the loss cursor are
animated. Every number is passed as a rounded Python list (``None`` for non-finite values), so
the JSON carries no NaN/inf and no base64 typed arrays whatever plotly.js version renders it.

Layout: the colormap and surface renderer (``SurfaceImage``) live in :mod:`optlab.colormap`, the
3-D view and the detail panels (optimizer state arrows, effective step) in
:mod:`optlab.plot_panels`, shared helpers in :mod:`optlab.plot_helpers`; all are re-exported
here, so pages only ever import ``optlab.plots``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optlab.colormap import SurfaceImage, surface_image_cached, window_image
from optlab.plot_helpers import (
    AXIS,
    CLICK_GRID_NAME,
    FONT,
    animation_controls,
    at_step,
    background,
    click_grid_trace,
    clip_path,
    clipped_exit,
    landmarks,
    loss_axis,
    map_axes,
    positive,
    rounded,
    subsample,
    surface_bounds,
)
from optlab.plot_panels import (
    eff_step_figure,
    state_figure,
    surface3d_figure,
)
from surfaces.base import Surface

if TYPE_CHECKING:
    from optlab.engine import Trajectory

__all__ = [
    "CLICK_GRID_NAME",
    "SurfaceImage",
    "eff_step_figure",
    "lab_figure",
    "lr_curve_figure",
    "state_figure",
    "surface3d_figure",
    "surface_image",
    "window_image",
]

CURSOR_NAME = "cursor"
CURRENT_PREFIX = "current: "


def surface_image(
    surface: Surface, theta: Mapping[str, float] | None = None, n: int = 250
) -> SurfaceImage:
    """Evaluate the surface on an ``n``×``n`` grid and render it with a numpy colormap.

    Colours follow ``log(f − f_min + 1)`` when ``surface.log_color`` (``f_min`` the lowest
    known minimum or the grid minimum), else ``f`` linearly up to its 99th percentile; 15
    contour lines are baked in as darkened pixels. One jit per surface (θ is traced); results
    are memoised per (surface, θ, n) — treat the returned arrays as read-only.
    """
    items = tuple(sorted((k, float(v)) for k, v in dict(theta or {}).items()))
    return surface_image_cached(surface, items, int(n))


def lab_figure(
    surface: Surface,
    trajs: Sequence[Trajectory],
    image: SurfaceImage,
    *,
    start: Sequence[float] | None = None,
    frames: int = 60,
    frame_ms: int = 60,
    log_loss: bool = True,
    click_grid: bool = True,
    height: int = 560,
    max_points: int = 800,
) -> go.Figure:
    """Map (left) and loss vs step (right), one Play/Pause + step scrubber driving both.

    Trace order: [click grid], landmarks (global minima ★, local minima ◆, saddles, start ■),
    per optimizer a map line and a loss line, [diverged ✕ on map, on loss], then the animated
    traces — per optimizer a current point on the map and one on the loss curve, and the
    cursor. Frames (named by step) touch only those last ``2 N + 1`` traces.

    Loss panel (``log_loss``): log axis on the raw loss when every finite loss is > 0;
    otherwise log of ``loss − f*`` (``f*`` = the lowest known minimum value or the lowest loss,
    gaps floored at a small positive value) and the axis title says so. ``log_loss=False``:
    linear raw loss. The axis is fixed; a diverging run's curve leaves through the top.
    Map lines longer than ``max_points`` points are subsampled (hover still gives true steps).
    """
    bounds = surface_bounds(surface)
    if start is None and trajs:
        start = trajs[0].params[0][:2]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.09, column_widths=[0.45, 0.55])
    fig.add_layout_image(background(image))
    if click_grid:
        fig.add_trace(click_grid_trace(image, bounds), row=1, col=1)
    ax = loss_axis(trajs, surface, log_loss)
    t_max = max((len(t.params) - 1 for t in trajs), default=0)
    div_map, div_loss = [], []
    for t in trajs:
        idx = subsample(len(t.params), max_points)
        xy = clip_path(t.params[idx, :2], bounds)
        group = {"legendgroup": t.label, "line": {"color": t.color, "width": 3.5}}
        steps_txt = "%{pointNumber}" if len(idx) == len(t.params) else "%{text}"
        hover = f"<b>{t.label}</b><br>step {steps_txt}<br>(%{{x:.4g}}, %{{y:.4g}})"
        fig.add_trace(
            go.Scatter(
                x=rounded(xy[:, 0], 7),
                y=rounded(xy[:, 1], 7),
                name=t.label,
                mode="lines+markers" if len(idx) <= 300 else "lines",
                marker={"size": 5, "color": t.color},
                customdata=rounded(t.loss[idx], 5),
                text=None if steps_txt == "%{pointNumber}" else idx.tolist(),
                hovertemplate=hover + "<br>loss %{customdata:.5g}<extra></extra>",
                **group,
            ),
            row=1,
            col=1,
        )
        lidx = subsample(len(t.loss), max_points)
        xs = {} if len(lidx) == len(t.loss) else {"x": lidx.tolist()}
        y = ax.transform(t.loss[lidx])
        # Hover shows y itself unless y is not the loss (shifted, or floored on a log axis).
        same = np.allclose(y, t.loss[lidx], rtol=1e-6, atol=0.0, equal_nan=True)
        fig.add_trace(
            go.Scatter(
                y=rounded(y, 6),
                **xs,
                mode="lines",
                name=t.label,
                showlegend=False,
                customdata=None if same else rounded(t.loss[lidx], 5),
                hovertemplate=f"<b>{t.label}</b><br>step %{{x}}<br>loss "
                + ("%{y:.5g}" if same else "%{customdata:.5g}")
                + "<extra></extra>",
                **group,
            ),
            row=1,
            col=2,
        )
        if t.diverged_at is not None:
            k = len(t.params) - 1
            where = clipped_exit(t.params[:, :2], bounds)
            msg = f"{t.label} diverged at step {t.diverged_at}"
            div_map.append((where, t.color, msg))
            finite = np.flatnonzero(np.isfinite(t.loss))
            kl = int(finite[-1]) if finite.size else 0
            y = ax.clamp(ax.transform(t.loss[kl : kl + 1]))[0] if finite.size else ax.lo
            div_loss.append((k, y, t.color, msg, f"✕ {t.label}: diverged at step {t.diverged_at}"))
    if div_map:
        marker = {"symbol": "x", "size": 18, "line": {"width": 2, "color": "black"}}
        fig.add_trace(
            go.Scatter(
                x=rounded([d[0][0] for d in div_map]),
                y=rounded([d[0][1] for d in div_map]),
                mode="markers",
                marker=dict(marker, color=[d[1] for d in div_map]),
                hovertext=[d[2] for d in div_map],
                hovertemplate="%{hovertext}<extra></extra>",
                name="diverged",
                showlegend=False,
                cliponaxis=False,
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=[d[0] for d in div_loss],
                y=rounded([d[1] for d in div_loss]),
                mode="markers",
                marker=dict(marker, color=[d[2] for d in div_loss]),
                hovertext=[d[3] for d in div_loss],
                hovertemplate="%{hovertext}<extra></extra>",
                name="diverged",
                showlegend=False,
                cliponaxis=False,
            ),
            row=1,
            col=2,
        )

    for i, (k, _, color, _, text) in enumerate(div_loss):  # labels stacked under the top
        fig.add_annotation(
            x=k, xref="x2", y=1, yref="y2 domain", yanchor="top", yshift=-14 - 22 * i,
            xanchor="left" if k < 0.6 * t_max else "right", xshift=14 if k < 0.6 * t_max else -14,
            text=text, showarrow=False, font={"size": FONT - 2, "color": color},
            bgcolor="rgba(255,255,255,0.75)",
        )  # fmt: skip
    for tr in landmarks(surface, start):  # over the lines, under the moving points
        fig.add_trace(tr, row=1, col=1)

    # The animated traces, last so they draw on top.
    nframes = max(1, min(int(frames), t_max + 1))
    frame_steps = np.unique(np.round(np.linspace(0, t_max, nframes)).astype(int)).tolist()

    def current(step: int) -> list[dict]:
        out = []
        for t in trajs:
            p = at_step(t.params, step)
            out.append({"x": rounded(p[:1], 7), "y": rounded(p[1:2], 7)})
        for t in trajs:
            k = min(step, len(t.loss) - 1)
            out.append({"x": [k], "y": rounded(ax.clamp(ax.transform(t.loss[k : k + 1])))})
        out.append({"x": [step, step], "y": rounded([ax.lo_data, ax.hi_data], 6)})
        return out

    first_anim = len(fig.data)
    start_data = current(frame_steps[0])
    for j, (row, col, size) in enumerate(((1, 1, 17), (1, 2, 13))):  # same order as current()
        for i, t in enumerate(trajs):
            d = start_data[i + j * len(trajs)]
            fig.add_trace(
                go.Scatter(
                    x=d["x"],
                    y=d["y"],
                    mode="markers",
                    name=CURRENT_PREFIX + t.label,
                    legendgroup=t.label,
                    showlegend=False,
                    hoverinfo="skip",
                    marker={
                        "size": size,
                        "color": t.color,
                        "line": {"width": 2.5, "color": "white"},
                    },
                ),
                row=row,
                col=col,
            )
    fig.add_trace(
        go.Scatter(
            x=start_data[-1]["x"],
            y=start_data[-1]["y"],
            mode="lines",
            name=CURSOR_NAME,
            line={"color": "rgba(30,30,30,0.55)", "width": 2, "dash": "dash"},
            showlegend=False,
            hoverinfo="skip",
        ),
        row=1,
        col=2,
    )
    anim_idx = list(range(first_anim, len(fig.data)))
    frame_list = [
        {"name": str(s), "traces": anim_idx, "data": [dict(d, type="scatter") for d in current(s)]}
        for s in frame_steps
    ]

    bottom = 135  # px below the plots: axis titles, then the Play buttons and the scrubber
    plot_h = max(height - 50 - bottom, 100)
    fig.update_layout(
        template="none",
        height=height,
        font={"size": FONT},
        hovermode="closest",
        hoverlabel={"font": {"size": FONT - 1}},
        uirevision=surface.name,
        margin={"l": 70, "r": 30, "t": 50, "b": bottom},
        plot_bgcolor="white",
        legend={
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "xanchor": "left",
            "yanchor": "bottom",
            "font": {"size": FONT},
        },
        **map_axes(bounds),
        xaxis2={
            "title": {"text": "step"},
            "range": [-0.02 * max(t_max, 1), 1.02 * max(t_max, 1)],
            "autorange": False,
            "showline": True,
            "mirror": True,
            "linecolor": "#444",
            "gridcolor": "#e5e5e5",
            "zeroline": False,
        },
        yaxis2={
            "title": {"text": ax.title},
            "type": ax.type,
            "range": ax.range,
            "autorange": False,
            "showline": True,
            "mirror": True,
            "linecolor": "#444",
            "gridcolor": "#e5e5e5",
            "zeroline": False,
            "exponentformat": "power",
        },
        **animation_controls(frame_steps, frame_ms, plot_h),
    )
    return _with_frames(fig, frame_list)


def _with_frames(fig: go.Figure, frames: list[dict]) -> go.Figure:
    """``fig`` with ``frames`` attached. The frames are plain x/y updates built above, so
    plotly's per-property validation (≈0.2 s for 60 frames, most of a rerun) is skipped
    through ``_validate=False`` where this plotly has it; the JSON is the same either way."""
    try:
        return go.Figure(data=fig.data, layout=fig.layout, frames=frames, _validate=False)
    except TypeError:  # pragma: no cover - a plotly without the private flag
        fig.frames = frames
        return fig


def _color_for(label: str) -> str | None:
    from optlab.optimizers import OPTIMIZERS

    for spec in OPTIMIZERS.values():
        if label in (spec.name, spec.display):
            return spec.color
    return None


def lr_curve_figure(
    multipliers: np.ndarray,
    lrs: Mapping[str, float],
    *,
    colors: Mapping[str, str] | None = None,
    steps: int | None = None,
    log_y: bool | None = None,
    height: int = 180,
) -> go.Figure:
    """A small curve of each optimizer's learning rate over the steps (schedule × base lr).

    ``lrs`` maps a label (registry name or display name) to the base lr; colours come from
    ``colors`` or the registry. ``steps`` truncates padded multipliers. ``log_y`` defaults to
    log when the base lrs span more than a factor of 20.
    """
    mult = np.asarray(multipliers, np.float64)[: steps if steps else None]
    idx = subsample(len(mult), 1000)
    base = [float(v) for v in lrs.values() if v > 0]
    if log_y is None:
        log_y = bool(base) and max(base) / min(base) > 20
    fig = go.Figure()
    for label, lr in lrs.items():
        color = (colors or {}).get(label) or _color_for(label)
        y = lr * mult[idx]
        fig.add_trace(
            go.Scatter(
                x=idx.tolist(),
                y=positive(y) if log_y else rounded(y, 5),
                mode="lines",
                name=label,
                line={"color": color, "width": 3},
                hovertemplate="step %{x}: η = %{y:.3g}",
            )
        )
    fig.update_layout(
        template="none",
        height=height,
        font={"size": 14},
        margin={"l": 60, "r": 10, "t": 10, "b": 40},
        xaxis=dict(AXIS, title={"text": "step"}),
        yaxis=dict(
            AXIS,
            title={"text": "η<sub>t</sub>"},
            type="log" if log_y else "linear",
            exponentformat="power",
            rangemode="normal" if log_y else "tozero",
        ),
        legend={"x": 1.01, "y": 1, "xanchor": "left", "font": {"size": 13}},
        showlegend=len(lrs) > 1,
    )
    return fig
