"""Sweep figures (arrays in, ``go.Figure`` out, no Streamlit): the objective against the
learning rate per optimizer, with each optimizer's best point starred, its divergence region
shaded and, on a quadratic, the theory's learning rates drawn; a heatmap for two-axis sweeps;
the loss curves at the tuned values.

Names the tests read: best markers are traces ``"<label> best"``; divergence regions are
shapes ``"<key> diverges"`` (``x0`` = the edge); theory lines are shapes ``"theory: <label>"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optlab.core.sweeps import Best, SweepTable
from optlab.viz.data import LEGEND, rgba
from optlab.viz.style import AXIS, FONT, rounded

LOSS_OBJECTIVES = ("final_loss", "mean_loss")
Y_TITLES = {
    "final_loss": "final loss − f*",
    "mean_loss": "mean loss − f* over the horizon",
    "steps_to_tol": "steps to tolerance",
    "diverged": "share of runs diverged",
}
LR_TITLE = "learning rate η"
MARGIN = {"l": 70, "r": 20, "t": 50, "b": 55}
X_PAD = 0.04  # decades of room on each side of the learning-rate range (for the stars)


@dataclass(frozen=True)
class Curve:
    """One optimizer's objective against the learning rate (``x`` ascending; ``y`` ``nan``
    where no run survived); ``best`` = ``(lr, y)``; ``edge`` = the divergence edge."""

    key: str
    label: str
    color: str
    x: np.ndarray
    y: np.ndarray
    best: tuple[float, float] | None
    edge: float = math.nan
    markers: bool = False  # random samples: points, not a line


@dataclass(frozen=True)
class TheoryLine:
    x: float
    label: str
    dash: str = "dash"


def theory_lines(quad) -> list[TheoryLine]:
    """GD's stability bound ``2/L`` and its optimal step ``2/(μ+L)`` on a quadratic."""
    return [
        TheoryLine(quad.gd_max_lr, "2/L (GD stability bound)", "dash"),
        TheoryLine(quad.gd_opt_lr, "2/(μ+L) (optimal GD step)", "dot"),
    ]


def shown(values: np.ndarray, objective: str, target: float) -> np.ndarray:
    """What the y axis shows: the gap ``loss − f*`` (floored for a log axis) for the loss
    objectives, the raw values otherwise; ``inf`` (never reached) becomes ``nan``."""
    v = np.asarray(values, np.float64)
    if objective in LOSS_OBJECTIVES:
        floor = 1e-9 * max(1.0, abs(target))
        v = np.maximum(v - target, floor)
    return np.where(np.isfinite(v), v, np.nan)


def curves_from_table(
    table: SweepTable,
    objective: str,
    bests: Mapping[str, Best | None],
    edges: Mapping[str, float],
) -> list[Curve]:
    """One ``Curve`` per optimizer. On a two-axis grid each learning rate shows its best
    value over the other axis (the lowest objective, or the lowest share diverged)."""
    out = []
    lr_axis = table.axes.index("learning_rate")
    for r in table.rows:
        y = shown(r.objectives[objective], objective, table.target)
        if table.expanded:
            x = r.values[lr_axis].astype(np.float64)
            if y.ndim == 2:
                y = np.moveaxis(y, lr_axis, 0)
                y = np.where(np.isnan(y), np.inf, y).min(axis=1)
                y = np.where(np.isinf(y), np.nan, y)
        else:
            x = r.grid["learning_rate"].astype(np.float64)
            order = np.argsort(x)
            x, y = x[order], y[order]
        b = bests.get(r.key)
        point = None
        if b is not None:
            v = shown(r.objectives[objective][b.index], objective, table.target)
            point = (b.hparams.get("learning_rate", math.nan), float(v))
        out.append(Curve(r.key, r.label, r.color, x, y, point, edges.get(r.key, math.nan),
                         markers=not table.expanded))  # fmt: skip
    return out


# Projector-sized dark text (the charts' default grey was hard to read from the back row), and
# log axes labelled at decades only, in powers of ten, with unlabelled minor ticks between
# (plotly's own "2 5" labels between decades cluttered them).
TEXT = {"size": FONT, "color": "#111"}
LOG_TICKS = {"dtick": 1, "exponentformat": "power", "minor": {"ticks": "outside", "ticklen": 4}}


def _log_ok(curves: Sequence[Curve]) -> bool:
    ys = np.concatenate([c.y for c in curves]) if curves else np.array([])
    ys = ys[np.isfinite(ys)]
    return bool(ys.size) and bool((ys > 0).all())


def lr_figure(
    curves: Sequence[Curve],
    objective: str,
    theory: Sequence[TheoryLine] = (),
    lr_range: tuple[float, float] | None = None,
    *,
    y_title: str | None = None,
    log_y: bool | None = None,
    height: int = 460,
) -> go.Figure:
    """The objective against the learning rate (log x) per optimizer (log y for the loss
    objectives when every value is positive, unless ``log_y`` says otherwise)."""
    fig = go.Figure()
    xs = np.concatenate([c.x for c in curves]) if curves else np.array([1e-3, 1.0])
    lo, hi = lr_range or (float(xs.min()), float(xs.max()))
    for c in curves:
        fig.add_trace(go.Scatter(
            x=rounded(c.x), y=rounded(c.y), name=c.label, legendgroup=c.key,
            mode="markers" if c.markers else "lines+markers",
            line={"color": c.color, "width": 2.5}, marker={"size": 7 if c.markers else 5},
            hovertemplate=f"<b>{c.label}</b><br>η %{{x:.3g}}: %{{y:.4g}}<extra></extra>",
        ))  # fmt: skip
        if c.best is not None and math.isfinite(c.best[1]):
            fig.add_trace(go.Scatter(
                x=[c.best[0]], y=[c.best[1]], name=f"{c.label} best", legendgroup=c.key,
                mode="markers", showlegend=False,
                marker={"symbol": "star", "size": 18, "color": c.color,
                        "line": {"width": 1.5, "color": "black"}},
                hovertemplate=f"<b>{c.label}: best</b><br>η = %{{x:.3g}}: %{{y:.4g}}"
                "<extra></extra>",
            ))  # fmt: skip
        if math.isfinite(c.edge):
            fig.add_vrect(x0=c.edge, x1=max(hi, c.edge), fillcolor=rgba(c.color, 0.1),
                          line_width=0, layer="below", name=f"{c.key} diverges")  # fmt: skip
            fig.add_vline(x=c.edge, line={"color": c.color, "width": 1, "dash": "dot"},
                          name=f"{c.key} divergence edge")  # fmt: skip
    for t in theory:  # a vertical line, and a legend entry that names it
        line = {"color": "#222", "width": 2, "dash": t.dash}
        fig.add_vline(x=t.x, line=line, name=f"theory: {t.label}")
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=line,
                                 name=f"{t.label} = {t.x:.3g}"))  # fmt: skip
    if log_y is None:
        log_y = objective in LOSS_OBJECTIVES and _log_ok(curves)
    fig.update_layout(
        template="none", height=height, font=TEXT, legend=LEGEND, margin=MARGIN,
        hovermode="closest", uirevision=objective,
        xaxis=dict(AXIS, type="log", title={"text": LR_TITLE}, **LOG_TICKS,
                   range=[math.log10(lo) - X_PAD, math.log10(hi) + X_PAD]),
        yaxis=dict(AXIS, title={"text": y_title or Y_TITLES[objective]},
                   **(LOG_TICKS if log_y else {}), type="log" if log_y else "linear"),
    )  # fmt: skip
    return fig


def _category(v: float) -> str:
    return f"{v:.3g}"


def _values(a) -> list:
    a = np.asarray(a)
    return a.tolist() if a.dtype.kind in "US" else rounded(a)


def heatmap_figure(
    table: SweepTable, objective: str, bests: Mapping[str, Best | None], *, height: int = 420
) -> go.Figure:
    """Two-axis sweeps: one panel per optimizer that has both axes (x = learning rate, y =
    the other axis), colour = the objective (log₁₀ of the gap for the loss objectives);
    crossed cells diverged for at least half their runs; the star is the best point."""
    lr_axis, (ax2,) = table.axes.index("learning_rate"), set(table.axes) - {"learning_rate"}
    rows = [r for r in table.rows if ax2 in r.axes_used]
    fig = make_subplots(rows=1, cols=max(1, len(rows)), subplot_titles=[r.label for r in rows],
                        shared_yaxes=True, horizontal_spacing=0.06)  # fmt: skip
    logc = objective in LOSS_OBJECTIVES
    for i, r in enumerate(rows, start=1):
        lr, other = r.grid["learning_rate"], r.grid[ax2]
        z = shown(r.objectives[objective], objective, table.target)
        z = np.log10(z) if logc else z
        bad = r.objectives["diverged"] >= 0.5
        if table.expanded:  # the other axis as categories: its values need not be evenly spaced
            other = np.vectorize(_category)(other)
            cells = np.where(bad, np.nan, z)
            cells = cells.T if lr_axis == 0 else cells  # rows: the other axis
            fig.add_trace(go.Heatmap(
                x=rounded(r.values[lr_axis]), y=[_category(v) for v in r.values[1 - lr_axis]],
                z=[rounded(row) for row in cells],
                coloraxis="coloraxis", name=r.label,
                hovertemplate=f"η %{{x:.3g}}, {ax2} %{{y:.3g}}: %{{z:.3g}}<extra></extra>",
            ), row=1, col=i)  # fmt: skip
        else:
            ok = np.isfinite(z) & ~bad
            fig.add_trace(go.Scatter(
                x=rounded(lr[ok]), y=rounded(other[ok]), mode="markers", name=r.label,
                marker={"color": rounded(z[ok]), "coloraxis": "coloraxis", "size": 9},
            ), row=1, col=i)  # fmt: skip
        fig.add_trace(go.Scatter(
            x=rounded(lr[bad]), y=_values(other[bad]), mode="markers", showlegend=False,
            name=f"{r.label} diverged", marker={"symbol": "x", "color": "#888", "size": 7},
            hoverinfo="skip",
        ), row=1, col=i)  # fmt: skip
        b = bests.get(r.key)
        if b is not None:
            fig.add_trace(go.Scatter(
                x=[b.hparams["learning_rate"]], y=_values([other[b.index]]), mode="markers",
                name=f"{r.label} best", showlegend=False,
                marker={"symbol": "star", "size": 18, "color": "white",
                        "line": {"width": 2, "color": "black"}},
            ), row=1, col=i)  # fmt: skip
        fig.update_xaxes(AXIS, type="log", title={"text": LR_TITLE}, **LOG_TICKS,
                         row=1, col=i)  # fmt: skip
    fig.update_yaxes(AXIS, title={"text": ax2}, row=1, col=1)
    title = ("log₁₀ " if logc else "") + Y_TITLES[objective]
    fig.update_layout(
        template="none", height=height, font=TEXT, margin=MARGIN,
        showlegend=False, coloraxis={"colorscale": "Viridis", "colorbar": {"title": title}},
    )  # fmt: skip
    return fig


def best_curves_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray]],
    colors: Mapping[str, str],
    target: float,
    horizon: int | None = None,
    *,
    height: int = 380,
) -> go.Figure:
    """The mean loss curve (``loss − f*``, log y) at each optimizer's best point."""
    fig = go.Figure()
    for key, (steps, loss) in curves.items():
        fig.add_trace(go.Scatter(
            x=np.asarray(steps).tolist(), y=rounded(shown(loss, "final_loss", target)),
            mode="lines", name=key, line={"color": colors.get(key), "width": 2.5},
        ))  # fmt: skip
    if horizon is not None:
        fig.add_vline(x=horizon, line={"color": "#555", "dash": "dash", "width": 1},
                      name="horizon", annotation={"text": "horizon"})  # fmt: skip
    fig.update_layout(
        template="none", height=height, font=TEXT, legend=LEGEND, margin=MARGIN,
        xaxis=dict(AXIS, title={"text": "step"}),
        yaxis=dict(AXIS, type="log", title={"text": "loss − f* (mean over runs)"}, **LOG_TICKS),
    )  # fmt: skip
    return fig
