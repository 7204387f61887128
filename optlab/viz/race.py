"""Figure builders shared by every page: arrays in, figures out, no Streamlit.

The figures redrawn on every slider move (``lab_spec``, ``lr_curve_spec``) are built as plain
JSON-ready dicts, never as plotly objects (plotly.py's object tree and validation cost more
than the engine run); ``lab_figure`` / ``lr_curve_figure`` wrap the same dicts in a
``go.Figure``, and :class:`ReadyFigure` hands a dict to ``st.plotly_chart`` as is.

The surface is drawn as a PNG in ``layout.images`` (contour lines baked in) rather than a
contour trace: plotly.js drops contour/heatmap backgrounds while frames play, and an image
survives ``redraw: False`` animation. Only the current-point markers and the loss cursor are
animated. Every number is passed as a rounded Python list (``None`` for non-finite values), so
the JSON carries no NaN/inf and no base64 typed arrays whatever plotly.js version renders it.

Layout: the colormap and surface renderer (``SurfaceImage``) live in :mod:`optlab.viz.colormap`, the
3-D view and the detail panels (optimizer state arrows, effective step) in
:mod:`optlab.viz.panels`, shared helpers in :mod:`optlab.viz.style`; all are re-exported
here, so pages only ever import ``optlab.viz.race``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from optlab.viz.colormap import SurfaceImage, surface_image_cached, window_image
from optlab.viz.panels import (
    eff_step_figure,
    state_figure,
    surface3d_figure,
)
from optlab.viz.paths import clip_path, clipped_exit
from optlab.viz.style import (
    AXIS,
    CLICK_GRID_NAME,
    FONT,
    NO_TEMPLATE,
    ReadyFigure,
    animation_controls,
    at_step,
    background,
    click_grid_trace,
    knots,
    landmarks,
    loss_axis,
    map_axes,
    positive,
    rounded,
    subsample,
    surface_bounds,
)
from surfaces.base import Surface

if TYPE_CHECKING:
    from optlab.core.engine import Trajectory

__all__ = [
    "CLICK_GRID_NAME",
    "ReadyFigure",
    "SurfaceImage",
    "eff_step_figure",
    "lab_figure",
    "lab_spec",
    "lr_curve_figure",
    "lr_curve_spec",
    "state_figure",
    "surface3d_figure",
    "surface_image",
    "window_image",
]

CURSOR_NAME = "cursor"
CURRENT_PREFIX = "current: "
POINT_EDGE = {"width": 2.5, "color": "white"}


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
    surface: Surface, trajs: Sequence[Trajectory], image: SurfaceImage, **kw
) -> go.Figure:
    """:func:`lab_spec` as a ``go.Figure`` (same JSON; built without plotly's validation)."""
    return go.Figure(lab_spec(surface, trajs, image, **kw), _validate=False)


def lab_spec(
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
    font: int = FONT,
    overlays: Sequence = (),
) -> dict:
    """Map (left) and loss vs step (right), one Play/Pause + step scrubber driving both, as a
    plain JSON-ready figure dict (what ``st.plotly_chart`` gets through :class:`ReadyFigure`).

    Trace order: [click grid], per optimizer a map line and a loss line, [diverged ✕ on map,
    on loss], [overlays: one dashed loss curve each], landmarks (global minima ★, local minima
    ◆, saddles, start ■), then the animated traces — per optimizer a current point on the map
    and one on the loss curve, and the cursor. Frames (named by step) touch only those last
    ``2 N + 1`` traces.

    Loss panel (``log_loss``): log axis on the raw loss when every finite loss is > 0;
    otherwise log of ``loss − f*`` (``f*`` = the lowest known minimum value or the lowest loss,
    gaps floored at a small positive value) and the axis title says so. ``log_loss=False``:
    linear raw loss. The axis is fixed; a diverging run's curve leaves through the top.
    Map lines longer than ``max_points`` points are subsampled (hover still gives true steps).

    Built for a fast redraw (the browser draws it anew on every slider move): paths are lines
    without per-step markers and the click grid draws no markers (``click_grid_trace``);
    ``font`` sets the base font size (projector mode).

    ``overlays``: extra loss curves (anything with ``label``, ``color`` and ``loss`` before each
    step, e.g. ``overlays.Prediction``: the theory's predicted loss), drawn dashed in the loss
    panel on the same axis, with their own legend entry.
    """
    bounds = surface_bounds(surface)
    if start is None and trajs:
        start = trajs[0].params[0][:2]
    data: list[dict] = []
    if click_grid:
        data.append(click_grid_trace(image, bounds))
    ax = loss_axis(trajs, surface, log_loss)
    t_max = max((len(t.params) - 1 for t in trajs), default=0)
    div_map, div_loss = [], []
    for t in trajs:
        idx = subsample(len(t.params), max_points)
        xy = clip_path(t.params[idx, :2], bounds)
        group = {"legendgroup": t.label, "line": {"color": t.color, "width": 3.5}}
        steps_txt = "%{pointNumber}" if len(idx) == len(t.params) else "%{text}"
        hover = f"<b>{t.label}</b><br>step {steps_txt}<br>(%{{x:.4g}}, %{{y:.4g}})"
        data.append({
            "type": "scatter", "x": rounded(xy[:, 0], 7), "y": rounded(xy[:, 1], 7),
            "name": t.label, "mode": "lines", "customdata": rounded(t.loss[idx], 5),
            **({} if steps_txt == "%{pointNumber}" else {"text": idx.tolist()}),
            "hovertemplate": hover + "<br>loss %{customdata:.5g}<extra></extra>",
            "xaxis": "x", "yaxis": "y", **group,
        })  # fmt: skip
        lidx = subsample(len(t.loss), max_points)
        y = ax.transform(t.loss[lidx])
        # Hover shows y itself unless y is not the loss (shifted, or floored on a log axis).
        same = np.allclose(y, t.loss[lidx], rtol=1e-6, atol=0.0, equal_nan=True)
        data.append({
            "type": "scatter", "y": rounded(y, 6),
            **({} if len(lidx) == len(t.loss) else {"x": lidx.tolist()}),
            "mode": "lines", "name": t.label, "showlegend": False,
            **({} if same else {"customdata": rounded(t.loss[lidx], 5)}),
            "hovertemplate": f"<b>{t.label}</b><br>step %{{x}}<br>loss "
            + ("%{y:.5g}" if same else "%{customdata:.5g}") + "<extra></extra>",
            "xaxis": "x2", "yaxis": "y2", **group,
        })  # fmt: skip
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
        for xs, ys, colors, texts, axes in (
            ([d[0][0] for d in div_map], [d[0][1] for d in div_map],
             [d[1] for d in div_map], [d[2] for d in div_map], ("x", "y")),
            ([d[0] for d in div_loss], [d[1] for d in div_loss],
             [d[2] for d in div_loss], [d[3] for d in div_loss], ("x2", "y2")),
        ):  # fmt: skip
            data.append({
                "type": "scatter", "x": xs if axes[0] == "x2" else rounded(xs), "y": rounded(ys),
                "mode": "markers", "marker": dict(marker, color=colors), "hovertext": texts,
                "hovertemplate": "%{hovertext}<extra></extra>", "name": "diverged",
                "showlegend": False, "cliponaxis": False, "xaxis": axes[0], "yaxis": axes[1],
            })  # fmt: skip

    annotations = [
        {
            "x": k, "xref": "x2", "y": 1, "yref": "y2 domain", "yanchor": "top",
            "yshift": -14 - 22 * i, "xanchor": "left" if k < 0.6 * t_max else "right",
            "xshift": 14 if k < 0.6 * t_max else -14, "text": text, "showarrow": False,
            "font": {"size": FONT - 2, "color": color}, "bgcolor": "rgba(255,255,255,0.75)",
        }
        for i, (k, _, color, _, text) in enumerate(div_loss)  # stacked under the top
    ]  # fmt: skip
    data += [overlay_trace(o, ax, max_points) for o in overlays]
    data += landmarks(surface, start)  # over the lines, under the moving points

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
            y = rounded(ax.clamp(ax.transform(t.loss[k : k + 1])))
            out.append({"x": [k], "y": y})
        out.append({"x": [step, step], "y": rounded([ax.lo_data, ax.hi_data], 6)})
        return out  # no "type" in frames: they only move x and y of existing traces

    first_anim = len(data)
    start_data = current(frame_steps[0])
    for j, (axes, size) in enumerate(((("x", "y"), 17), (("x2", "y2"), 13))):
        for i, t in enumerate(trajs):  # same order as current()
            data.append({
                "type": "scatter", **start_data[i + j * len(trajs)], "mode": "markers",
                "name": CURRENT_PREFIX + t.label, "legendgroup": t.label, "showlegend": False,
                "hoverinfo": "skip", "xaxis": axes[0], "yaxis": axes[1],
                "marker": {"size": size, "color": t.color, "line": POINT_EDGE},
            })  # fmt: skip
    data.append({
        "type": "scatter", **start_data[-1], "mode": "lines", "name": CURSOR_NAME,
        "line": {"color": "rgba(30,30,30,0.55)", "width": 2, "dash": "dash"},
        "showlegend": False, "hoverinfo": "skip", "xaxis": "x2", "yaxis": "y2",
    })  # fmt: skip
    anim_idx = list(range(first_anim, len(data)))
    frame_list = [{"name": str(s), "traces": anim_idx, "data": current(s)} for s in frame_steps]

    bottom = 135  # px below the plots: axis titles, then the Play buttons and the scrubber
    plot_h = max(height - 50 - bottom, 100)
    axes = map_axes(bounds)
    line_axis = {"showline": True, "mirror": True, "linecolor": "#444", "gridcolor": "#e5e5e5",
                 "zeroline": False, "autorange": False}  # fmt: skip
    layout = {
        "template": NO_TEMPLATE,
        "images": [background(image)],
        "height": height,
        "font": {"size": font},
        "hovermode": "closest",
        "hoverlabel": {"font": {"size": FONT - 1}},
        "uirevision": surface.name,
        "margin": {"l": 70, "r": 30, "t": 50, "b": bottom},
        "plot_bgcolor": "white",
        "legend": {
            "orientation": "h",
            "x": 0,
            "y": 1.02,
            "xanchor": "left",
            "yanchor": "bottom",
            "font": {"size": font},
        },
        # The two panels side by side (as make_subplots(1, 2, column_widths=[.45, .55]) would).
        "xaxis": {"anchor": "y", "domain": [0.0, 0.4095], **axes["xaxis"]},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], **axes["yaxis"]},
        "xaxis2": {
            "anchor": "y2",
            "domain": [0.4995, 1.0],
            "title": {"text": "step"},
            "range": [-0.02 * max(t_max, 1), 1.02 * max(t_max, 1)],
            **line_axis,
        },
        "yaxis2": {
            "anchor": "x2",
            "domain": [0.0, 1.0],
            "title": {"text": ax.title},
            "type": ax.type,
            "range": ax.range,
            "exponentformat": "power",
            **line_axis,
        },
        **animation_controls(frame_steps, frame_ms, plot_h),
    }
    if annotations:
        layout["annotations"] = annotations
    return {"data": data, "layout": layout, "frames": frame_list}


def overlay_trace(overlay, ax, max_points: int = 800) -> dict:
    """A dashed loss-panel curve (``overlay.loss`` before each step) in ``overlay.color``: wide
    and translucent, so where it agrees with the measured curve (drawn in the same colour) it
    shows as a dashed band around it rather than hiding under it."""
    loss = np.asarray(overlay.loss, np.float64)
    idx = subsample(len(loss), max_points)
    return {
        "type": "scatter", "x": idx.tolist(), "y": rounded(ax.transform(loss[idx]), 6),
        "customdata": rounded(loss[idx], 5), "mode": "lines", "name": overlay.label,
        "legendgroup": overlay.label,
        "line": {"color": overlay.color, "width": 8, "dash": "dash"}, "opacity": 0.4,
        "hovertemplate": f"<b>{overlay.label}</b><br>step %{{x}}<br>loss %{{customdata:.5g}}"
        "<extra></extra>", "xaxis": "x2", "yaxis": "y2",
    }  # fmt: skip


def _color_for(label: str) -> str | None:
    from optlab.core.optimizers import OPTIMIZERS

    for spec in OPTIMIZERS.values():
        if label in (spec.name, spec.display):
            return spec.color
    return None


def lr_curve_figure(multipliers: np.ndarray, lrs: Mapping[str, float], **kw) -> go.Figure:
    """:func:`lr_curve_spec` as a ``go.Figure`` (same JSON; built without validation)."""
    return go.Figure(lr_curve_spec(multipliers, lrs, **kw), _validate=False)


def lr_curve_spec(
    multipliers: np.ndarray,
    lrs: Mapping[str, float],
    *,
    colors: Mapping[str, str] | None = None,
    steps: int | None = None,
    log_y: bool | None = None,
    height: int = 180,
    limit: tuple[str, float] | None = None,
) -> dict:
    """A small curve of each optimizer's learning rate over the steps (schedule × base lr),
    as a JSON-ready figure dict (it is redrawn on every learning-rate move).

    ``lrs`` maps a label (registry name or display name) to the base lr; colours come from
    ``colors`` or the registry. ``steps`` truncates padded multipliers. ``log_y`` defaults to
    log when the base lrs span more than a factor of 20. ``limit = (formula, value)`` marks a
    stability bound (e.g. ``("2/L", 0.1)``: GD diverges above it) as a dotted red line.
    """
    mult = np.asarray(multipliers, np.float64)[: steps if steps else None]
    base = [float(v) for v in lrs.values() if v > 0]
    if log_y is None:
        log_y = bool(base) and max(base) / min(base) > 20
    # Every curve is ``lr * mult``: one set of knots serves them all, within 0.2 % of the
    # curve's range (a linear axis) or of its value (a log axis); a constant schedule is 2
    # points, not one per step (the figure is resent on every learning-rate move).
    if log_y:
        idx = knots(np.log(np.maximum(mult, 1e-30)), 2e-3)
    else:
        idx = knots(mult, 2e-3 * max(float(np.ptp(mult)), float(np.max(np.abs(mult)))))
    steps_x = idx.tolist()
    data = []
    for label, lr in lrs.items():
        color = (colors or {}).get(label) or _color_for(label)
        y = lr * mult[idx]
        data.append({
            "type": "scatter", "x": steps_x, "y": positive(y) if log_y else rounded(y, 5),
            "mode": "lines", "name": label, "line": {"color": color, "width": 3},
            "hovertemplate": "step %{x}: η = %{y:.3g}",
        })  # fmt: skip
    annotations = []
    if limit is not None:
        text, value = limit[0], float(limit[1])
        data.append({
            "type": "scatter", "x": [steps_x[0], steps_x[-1]] if steps_x else [0, 1],
            "y": [value, value], "mode": "lines", "name": text, "showlegend": False,
            "line": {"color": "#d62728", "width": 1.5, "dash": "dot"},
            "hovertemplate": f"{text} = {value:.3g}: GD diverges above<extra></extra>",
        })  # fmt: skip
        annotations.append({
            "x": 1, "xref": "x domain", "xanchor": "right", "yref": "y",
            "y": float(np.log10(value)) if log_y else value,  # log axes place text in log10
            "yanchor": "bottom", "showarrow": False, "text": f"{text} = {value:.3g}",
            "font": {"size": 12, "color": "#d62728"},
        })  # fmt: skip
    # above the plot: two short names to a row, else one to a row (two to a row cut
    # "Momentum" to "Momentu" in the sidebar)
    per_row = 2 if max((len(str(k)) for k in lrs), default=0) <= 6 else 1
    legend_rows = -(-len(lrs) // per_row) if len(lrs) > 1 else 0
    layout = {
        "template": NO_TEMPLATE,
        "height": height + 24 * legend_rows,
        "font": {"size": 14},
        **({"annotations": annotations} if annotations else {}),
        "margin": {"l": 60, "r": 10, "t": 10 + 24 * legend_rows, "b": 40},
        "xaxis": dict(AXIS, title={"text": "step"}),
        "yaxis": dict(
            AXIS,
            title={"text": "η<sub>t</sub>"},
            type="log" if log_y else "linear",
            exponentformat="power",
            rangemode="normal" if log_y else "tozero",
        ),
        # above, not beside: a legend at the side squeezes the plot in a narrow sidebar
        "legend": {
            "orientation": "h", "x": 0, "xanchor": "left", "y": 1.02, "yanchor": "bottom",
            "entrywidth": 1 / per_row, "entrywidthmode": "fraction", "itemwidth": 30,
            "font": {"size": 13},
        },
        "showlegend": len(lrs) > 1,
    }  # fmt: skip
    return {"data": data, "layout": layout}
