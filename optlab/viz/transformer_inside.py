"""Figures of what happens inside one trained model (Transformer page): attention weights,
embedding vectors, teacher forcing beside free generation, and the loss-landscape slice with
projected trajectories. Arrays in, ``go.Figure`` out, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optlab.viz.style import AXIS, FONT, rounded

LEGEND = {"orientation": "h", "x": 0, "y": 1.08, "xanchor": "left", "yanchor": "bottom"}
MARGIN = {"l": 60, "r": 20, "t": 60, "b": 50}


def layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    """The page's common look: no template, projector-friendly font, axes with frames."""
    kw = {"legend": LEGEND, "margin": MARGIN, **kw}
    fig.update_layout(template="none", height=height, font={"size": FONT - 3}, **kw)
    fig.update_xaxes(**AXIS)
    fig.update_yaxes(**AXIS)
    return fig


def attention_figure(
    att_LxL: np.ndarray, labels: Sequence[str], title: str = "", height: int = 560
) -> go.Figure:
    """One head's attention weights: row = the position reading, column = the position read.
    Every token is a tick (``position:token``); the upper triangle is 0 (causal mask)."""
    n = len(labels)
    small = {"size": FONT - 6 if n > 24 else FONT - 4}
    ticks = [f"{i}:{t}" for i, t in enumerate(labels)]
    fig = go.Figure(
        go.Heatmap(
            z=np.asarray(att_LxL)[:n, :n].round(4).tolist(),
            x=ticks,
            y=ticks,
            zmin=0,
            zmax=1,
            colorscale="Blues",
            colorbar={"title": "weight"},
            hovertemplate="query %{y}<br>key %{x}<br>weight %{z:.3f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        xaxis={
            "title": "attends to (key)",
            "tickangle": -90 if n > 16 else 0,
            "dtick": 1,
            "tickfont": small,
        },
        yaxis={"title": "reading (query)", "autorange": "reversed", "dtick": 1, "tickfont": small},
    )
    return layout(fig, height)


def embedding_figure(
    labels: Sequence[str], token_emb: np.ndarray, pos_emb: np.ndarray, height: int = 360
) -> go.Figure:
    """Each token's embedding row, its position's row and their sum (what block 1 reads)."""
    sums = np.asarray(token_emb) + np.asarray(pos_emb)
    ticks = [f"{i}:{t}" for i, t in enumerate(labels)]
    fig = make_subplots(
        1,
        3,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=("token embedding", "+ position embedding", "= input vector"),
    )
    lim = float(np.abs(sums).max()) or 1.0
    for col, m in enumerate((token_emb, pos_emb, sums), start=1):
        fig.add_trace(
            go.Heatmap(
                z=np.asarray(m).round(4).tolist(),
                y=ticks,
                colorscale="RdBu",
                zmid=0,
                zmin=-lim,
                zmax=lim,
                showscale=col == 3,
                colorbar={"title": "value"},
                hovertemplate="%{y} · dim %{x}: %{z:.3f}<extra></extra>",
            ),
            1,
            col,
        )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="dimension")
    return layout(fig, height)


def teacher_free_figure(
    true: Sequence[str],
    teacher: Sequence[str],
    free: Sequence[str],
    teacher_ok: np.ndarray,
    free_ok: np.ndarray,
    height: int = 300,
    *,
    prompt: Sequence[str] = (),
    teacher_p: np.ndarray | None = None,
    free_p: np.ndarray | None = None,
    divergence: int | None = None,
):
    """Three rows of characters: the truth, teacher-forced predictions (each from the true
    prefix) and free generation (from its own outputs); green = matches the truth, red = not.
    ``prompt``: the given characters, blue, in front of the truth; ``teacher_p``/``free_p``:
    each prediction's probability, printed under it; ``divergence``: the first position (of
    the continuation) where free generation leaves the truth, boxed. An empty ``free`` entry
    (generation stopped at the end of the line) is left blank."""
    n_p, n = len(prompt), len(true)
    ok_t = np.where(teacher_ok, 1.0, 0.0)
    ok_f = np.where(free_ok, 1.0, 0.0)
    ok_f = np.where([f == "" for f in free], np.nan, ok_f)

    def pct(p: np.ndarray | None, i: int) -> str:
        return "" if p is None or not np.isfinite(p[i]) or p[i] <= 0 else f"<br>{p[i]:.0%}"

    gap = [np.nan] * n_p
    z = [[0.25] * n_p + [0.5] * n, gap + ok_t.tolist(), gap + ok_f.tolist()]
    text = [
        list(prompt) + list(true),
        [""] * n_p + [t + pct(teacher_p, i) for i, t in enumerate(teacher)],
        [""] * n_p + [f + pct(free_p, i) if f else "" for i, f in enumerate(free)],
    ]
    rows = ["truth", "teacher forcing", "free generation"]
    fig = go.Figure(
        go.Heatmap(
            z=z,
            y=rows,
            x=list(range(n_p + n)),
            text=text,
            texttemplate="%{text}",
            textfont={"size": FONT},
            zmin=0,
            zmax=1,
            showscale=False,
            colorscale=[[0, "#f4a6a6"], [0.25, "#cfe0f7"], [0.5, "#eeeeee"], [1, "#a8e0a8"]],
            xgap=2,
            ygap=2,
            hovertemplate="%{y}, position %{x}: %{text}<extra></extra>",
        )
    )
    if divergence is not None:
        x = n_p + divergence
        fig.add_shape(type="rect", x0=x - 0.5, x1=x + 0.5, y0=-0.5, y1=2.5,
                      line={"color": "#c62828", "width": 3})  # fmt: skip
        fig.add_annotation(x=x, y=-0.5, yshift=14, text="first divergence", showarrow=False,
                           font={"size": FONT, "color": "#c62828"})  # fmt: skip
    xaxis = {"title": "position (blue: given to the model)", "showticklabels": False}
    fig.update_layout(yaxis={"autorange": "reversed"}, xaxis=xaxis)
    return layout(fig, height, margin={**MARGIN, "l": 140, "t": 40})


def landscape_figure(
    alphas: np.ndarray,
    betas: np.ndarray,
    Z: np.ndarray,
    paths: Mapping[str, np.ndarray],
    path_loss: Mapping[str, np.ndarray],
    colors: Mapping[str, str],
    axis_titles: tuple[str, str] = ("d1", "d2"),
    height: int = 560,
) -> go.Figure:
    """The loss slice as filled contours with every run's projected trajectory on top. The
    hover shows each snapshot's *true* loss, which need not match the map under it (the
    trajectory leaves the plane)."""
    z = np.asarray(Z, np.float64)
    finite = z[np.isfinite(z)]
    hi = float(np.quantile(finite, 0.95)) if finite.size else 1.0
    lo = float(finite.min()) if finite.size else 0.0
    fig = go.Figure(
        go.Contour(
            x=rounded(alphas),
            y=rounded(betas),
            z=[rounded(r, 5) for r in np.clip(z, None, hi)],
            zmin=lo,
            zmax=hi,
            colorscale="Viridis",
            ncontours=24,
            name="loss slice",
            colorbar={"title": "loss"},
            contours={"coloring": "heatmap"},
            hovertemplate="α %{x:.3g}, β %{y:.3g}<br>loss on the plane %{z:.4g}<extra></extra>",
        )
    )
    for name, path in paths.items():
        xy = np.asarray(path)
        loss = path_loss.get(name, np.full(len(xy), np.nan))
        fig.add_trace(
            go.Scatter(
                x=rounded(xy[:, 0]),
                y=rounded(xy[:, 1]),
                mode="lines+markers",
                name=name,
                line={"color": colors.get(name), "width": 3},
                marker={
                    "size": [12] + [7] * (len(xy) - 2) + [16] if len(xy) > 1 else [12],
                    "symbol": ["circle"] * (len(xy) - 1) + ["star"],
                    "line": {"color": "white", "width": 1.5},
                },
                customdata=rounded(loss, 5),
                hovertemplate=f"<b>{name}</b> snapshot %{{pointNumber}}<br>true loss "
                "%{customdata:.4g}<extra></extra>",
            )
        )
    fig.update_layout(xaxis_title=axis_titles[0], yaxis_title=axis_titles[1])
    return layout(fig, height)
