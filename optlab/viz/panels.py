"""The detail figures re-exported by ``optlab.viz.race``: the surface in 3-D, the optimizer's state
as arrows on the map, the effective per-coordinate step, the learning-rate curve."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optlab.viz.colormap import eval_grid, loss_floor, plotly_colorscale
from optlab.viz.effstep import decade_range, resolved_eff_step
from optlab.viz.paths import clip_path
from optlab.viz.style import (
    AXIS,
    FONT,
    background,
    image_bounds,
    map_axes,
    positive,
    rounded,
    subsample,
    surface_bounds,
)

if TYPE_CHECKING:
    from optlab.core.engine import Trajectory
    from optlab.viz.colormap import SurfaceImage
    from surfaces.base import Surface

FIRST_MOMENT_WORDS = ("velocity", "first moment", "momentum", "mean gradient")


# ---------------------------------------------------------------------------------------------
# Detail panels.


def _fmt_vec(v) -> str:
    return "(" + ", ".join(f"{float(c):.3g}" for c in np.ravel(v)[:2]) + ")"


def first_moment_key(moments: Mapping[str, np.ndarray]) -> str | None:
    """The moment that is a running (signed) gradient average: velocity, first moment m ..."""
    for key in moments:
        if any(w in key.lower() for w in FIRST_MOMENT_WORDS):
            return key
    return None


def state_figure(
    traj: Trajectory,
    step: int,
    image: SurfaceImage,
    *,
    zoom: bool = True,
    surface: Surface | None = None,
    theta: Mapping[str, float] | None = None,
    height: int = 520,
) -> go.Figure:
    """Gradient, velocity / first moment and actual update at ``step`` as arrows on the map.

    Arrows show directions only, not to scale: fixed lengths (−∇f longest, then the moment,
    then Δθ, so parallel arrows stay distinguishable); the true magnitudes are in the legend
    and the hover. Running gradient averages (velocity, m)
    are drawn negated, like the gradient, so every arrow points the way it pushes θ.
    With ``surface`` given, the zoomed view re-renders the surface over the window (sharp
    local contour lines, to which −∇f is perpendicular); otherwise ``image`` is stretched.
    """
    bounds = image_bounds(image)
    x0, x1, y0, y1 = bounds
    span = max(x1 - x0, y1 - y0)
    n_steps = len(traj.grad)
    step = int(np.clip(step, 0, max(n_steps - 1, 0)))
    p = np.asarray(traj.params[step, :2], np.float64)
    upd = np.asarray(traj.update[step, :2], np.float64) if n_steps else np.zeros(2)
    if zoom:
        w = min(max(0.12 * span, 1.5 * float(np.linalg.norm(upd))), 0.5 * span)
        view = (p[0] - w, p[0] + w, p[1] - w, p[1] + w)
    else:
        w, view = 0.25 * span, bounds
    arrows = []
    if n_steps:
        g = np.asarray(traj.grad[step, :2], np.float64)
        arrows.append(("−∇f", "gradient, negated", -g, "#d62728"))
        key = first_moment_key(traj.moments)
        if key is not None:
            words = key.split()
            short = words[-1] if len(words[-1]) == 1 else key[0]  # "first moment m" -> m
            moment = -np.asarray(traj.moments[key][step, :2])
            arrows.append((f"−{short}", f"{key}, negated", moment, "#01665e"))
        arrows.append(("Δθ", "update", upd, "#111111"))

    fig = go.Figure()
    fig.add_layout_image(background(image))
    if zoom and surface is not None:
        from optlab.viz.colormap import window_image

        fig.add_layout_image(background(window_image(surface, view, theta)))
    path = clip_path(traj.params[:, :2], bounds)
    fig.add_trace(
        go.Scatter(
            x=rounded(path[:, 0], 7),
            y=rounded(path[:, 1], 7),
            mode="lines+markers",
            name=traj.label,
            line={"color": traj.color, "width": 3},
            marker={"size": 5, "color": traj.color},
            hovertemplate="step %{pointNumber}<br>(%{x:.4g}, %{y:.4g})<extra></extra>",
        )
    )
    info = [f"θ = {_fmt_vec(p)}"] + [f"{lab} = {_fmt_vec(v)}" for lab, _, v, _ in arrows]
    info += [f"{k} = {_fmt_vec(v[step])}" for k, v in traj.moments.items() if n_steps]
    fig.add_trace(
        go.Scatter(
            x=rounded(p[:1]),
            y=rounded(p[1:]),
            mode="markers",
            name=f"θ at step {step}",
            marker={"size": 16, "color": traj.color, "line": {"width": 2.5, "color": "white"}},
            hovertext=["<br>".join(info)],
            hovertemplate="%{hovertext}<extra></extra>",
        )
    )
    for (label, what, vec, color), frac in zip(arrows, (0.7, 0.55, 0.4), strict=False):
        length = frac * w
        mag = float(np.linalg.norm(vec))
        if not (math.isfinite(mag) and mag > 0):
            continue
        tip = p + vec / mag * length
        fig.add_annotation(
            x=float(tip[0]),
            y=float(tip[1]),
            ax=float(p[0]),
            ay=float(p[1]),
            xref="x",
            yref="y",
            axref="x",
            ayref="y",
            text="",
            showarrow=True,
            arrowhead=3,
            arrowsize=1.1,
            arrowwidth=4,
            arrowcolor=color,
            hovertext=f"{label} ({what}) = {_fmt_vec(vec)}, length {mag:.3g}",
        )
        fig.add_annotation(
            x=float(tip[0]),
            y=float(tip[1]),
            xref="x",
            yref="y",
            text=f"<b>{label}</b>",
            showarrow=False,
            font={"size": FONT, "color": color},
            bgcolor="rgba(255,255,255,0.7)",
            xshift=22 * float(vec[0] / mag),
            yshift=22 * float(vec[1] / mag),
        )
        fig.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line={"color": color, "width": 4},
                name=f"{label}  ({what}, |·| = {mag:.3g})",
            )
        )
    fig.update_layout(
        template="none",
        height=height,
        font={"size": FONT},
        plot_bgcolor="white",
        title={
            "text": f"{traj.label} at step {step}<br><sup>arrows show directions only, not to"
            " scale; their sizes are in the legend</sup>",
            "font": {"size": FONT},
        },
        legend={
            "orientation": "h",
            "x": 0,
            "y": -0.2,
            "yanchor": "top",
            "font": {"size": FONT - 1},
        },
        margin={"l": 75, "r": 20, "t": 70, "b": 55},  # room for the tick labels (13.6)
        hovermode="closest",
        **map_axes(view),
    )
    return fig


def eff_step_figure(traj: Trajectory, *, height: int = 480) -> go.Figure:
    """Effective per-coordinate step size |Δθ_i| / |g_i| over time (log y), per coordinate.

    Top: the effective step of x and y with the learning rate η_t for reference (for plain GD
    they coincide). Bottom (when the optimizer has state): |value| of each recorded moment per
    coordinate — e.g. Adam's step ≈ η / √v̂ shows up as the mirror image of v.
    """
    rows = 2 if traj.moments else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=[
            f"{traj.label}: effective step |Δθᵢ| / |gᵢ| per coordinate, and η",
            "optimizer state |·| per coordinate",
        ][:rows],
    )
    idx = subsample(len(traj.grad), 2000)
    eff = resolved_eff_step(traj)[idx] if len(idx) else np.zeros((0, 2))
    xs = idx.tolist()
    for c, (name, color) in enumerate((("x", "#1f77b4"), ("y", "#d62728"))):
        if eff.shape[1] > c:
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=positive(eff[:, c]),
                    mode="lines",
                    name=f"step {name}",
                    line={"color": color, "width": 3},
                ),
                row=1,
                col=1,
            )
    fig.add_trace(
        go.Scatter(
            x=xs,
            y=positive(traj.lr[idx]),
            mode="lines",
            name="η (lr)",
            line={"color": "black", "width": 2.5, "dash": "dash"},
        ),
        row=1,
        col=1,
    )
    palette = ("#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf")
    for k, (key, val) in enumerate(traj.moments.items()):
        for c, dash in enumerate(("solid", "dot")[: val.shape[1]]):
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=positive(val[idx, c]),
                    mode="lines",
                    name=f"{key} ({'xy'[c]})",
                    line={"color": palette[k % len(palette)], "width": 3, "dash": dash},
                ),
                row=2,
                col=1,
            )
    # One label per decade (no cluttered "2 5" minor labels), and at least ~1.5 decades
    # shown: a flat η must look flat, not like spikes in a 0.1 % window.
    fig.update_yaxes(type="log", exponentformat="power", dtick=1, **AXIS)
    fig.update_yaxes(range=decade_range(eff, traj.lr[idx]), row=1, col=1)
    fig.update_xaxes(**AXIS)
    fig.update_xaxes(title={"text": "step"}, row=rows, col=1)
    fig.update_annotations(font={"size": FONT})
    fig.update_layout(
        template="none",
        height=height,
        font={"size": FONT},
        margin={"l": 80, "r": 20, "t": 70, "b": 50},
        hovermode="x unified",
        legend={"x": 1.02, "y": 1, "xanchor": "left"},
    )
    return fig


def surface3d_figure(
    surface: Surface,
    trajs: Sequence[Trajectory],
    theta: Mapping[str, float] | None = None,
    n: int = 80,
    *,
    height: int = 600,
    clip_pct: float = 98.0,
) -> go.Figure:
    """The surface in 3-D with the trajectories drawn on it (``z = loss``, lifted slightly).

    Heights are clipped at the ``clip_pct`` percentile of the grid so a steep corner does not
    flatten the interesting part; colours follow ``log(f − f_min + 1)`` for log surfaces.
    """
    xs, ys, z = eval_grid(surface, theta, n)
    z = np.asarray(z, np.float64)
    finite = z[np.isfinite(z)]
    fmin = loss_floor(surface, z)
    zlo = float(finite.min()) if finite.size else 0.0
    zhi = float(np.percentile(finite, clip_pct)) if finite.size else 1.0
    zhi = zhi if zhi > zlo else zlo + 1.0
    zc = np.clip(np.where(np.isfinite(z), z, zhi), zlo, zhi)
    color = np.log1p(np.maximum(zc - fmin, 0.0)) if surface.log_color else zc
    fig = go.Figure(
        go.Surface(
            x=rounded(xs, 5),
            y=rounded(ys, 5),
            z=[rounded(r, 5) for r in zc],
            surfacecolor=[rounded(r, 4) for r in color],
            colorscale=plotly_colorscale(),
            showscale=False,
            opacity=0.92,
            name=surface.display,
            hoverinfo="skip",
            contours={
                "z": {
                    "show": True,
                    "usecolormap": False,
                    "color": "rgba(0,0,0,0.25)",
                    "start": zlo,
                    "end": zhi,
                    "size": (zhi - zlo) / 15,
                }
            },
        )
    )
    x0, x1, y0, y1 = surface_bounds(surface)
    lift = 0.01 * (zhi - zlo)
    for t in trajs:
        p, loss = t.params[:, :2], t.loss
        inside = (
            (p[:, 0] >= x0)
            & (p[:, 0] <= x1)
            & (p[:, 1] >= y0)
            & (p[:, 1] <= y1)
            & np.isfinite(loss)
            & (loss <= zhi)
        )
        idx = subsample(len(p), 1000)
        ok = inside[idx]
        zz = np.where(ok, loss[idx] + lift, np.nan)
        fig.add_trace(
            go.Scatter3d(
                x=rounded(np.where(ok, p[idx, 0], np.nan), 6),
                y=rounded(np.where(ok, p[idx, 1], np.nan), 6),
                z=rounded(zz, 6),
                mode="lines+markers",
                name=t.label,
                line={"color": t.color, "width": 7},
                marker={"size": 2.5, "color": t.color},
                customdata=idx.tolist(),
                hovertemplate=f"<b>{t.label}</b><br>step %{{customdata}}<br>loss %{{z:.4g}}"
                "<extra></extra>",
            )
        )
    for m in surface.minima:
        fig.add_trace(
            go.Scatter3d(
                x=[m.x],
                y=[m.y],
                z=[(m.value if m.value is not None else zlo) + lift],
                mode="markers",
                marker={
                    "symbol": "diamond",
                    "size": 7,
                    "color": "#ffd700",
                    "line": {"color": "black", "width": 2},
                },
                name=m.label or "global minimum",
                showlegend=False,
            )
        )
    aspect = (y1 - y0) / (x1 - x0)
    axis = {"backgroundcolor": "white", "gridcolor": "#ddd", "title": {"font": {"size": FONT}}}
    fig.update_layout(
        template="none",
        height=height,
        font={"size": FONT},
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        uirevision=surface.name,
        legend={"orientation": "h", "x": 0, "y": 1.0, "xanchor": "left", "yanchor": "bottom"},
        scene={
            "xaxis": dict(axis, range=[x0, x1], title={"text": "x"}),
            "yaxis": dict(axis, range=[y0, y1], title={"text": "y"}),
            "zaxis": dict(axis, range=[zlo, zhi + 2 * lift], title={"text": "loss"}),
            "aspectmode": "manual",
            "aspectratio": {"x": 1, "y": float(np.clip(aspect, 0.3, 3)), "z": 0.6},
        },
    )
    return fig
