"""Figure builders for the Transformer page: arrays in, ``go.Figure`` out, no Streamlit.

Training curves, diagnostics, accuracy and timings are here; the views inside one model
(attention, embeddings, teacher forcing vs generation, the loss-landscape slice) are in
:mod:`optlab.viz.transformer_inside` and re-exported, so pages import only this module.

Runs are keyed by label (``"Adam"``); ``colors`` maps each label to its optimizer's colour.
Numbers go into the figures as rounded Python lists (``None`` for non-finite values), as in
:mod:`optlab.viz.race`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optlab.viz.style import positive, rounded
from optlab.viz.transformer_inside import (
    attention_figure,
    embedding_figure,
    landscape_figure,
    layout,
    teacher_free_figure,
)

__all__ = [
    "accuracy_figure",
    "attention_figure",
    "clip_figure",
    "embedding_figure",
    "gap_figure",
    "landscape_figure",
    "layer_norms_figure",
    "loss_curves_figure",
    "quadratic_fit",
    "samples_html",
    "teacher_free_figure",
    "timing_figure",
]

GROUP_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")
Series = Mapping[str, np.ndarray]


def loss_curves_figure(
    train: Series,
    val_steps: np.ndarray,
    val: Series,
    colors: Mapping[str, str],
    total_steps: int,
    height: int = 380,
):
    """Training loss per step (left) and validation loss at every chunk end (right), one
    colour per optimizer; the step axis spans the whole budget so live updates do not jump."""
    fig = make_subplots(
        1,
        2,
        shared_yaxes=True,
        horizontal_spacing=0.04,
        subplot_titles=("training loss (each step's batch)", "validation loss (held-out text)"),
    )
    for name, loss in train.items():
        c = colors.get(name)
        fig.add_trace(
            go.Scatter(
                x=np.arange(1, len(loss) + 1).tolist(),
                y=rounded(loss, 5),
                mode="lines",
                name=name,
                legendgroup=name,
                line={"color": c, "width": 1.5},
                hovertemplate=f"<b>{name}</b> step %{{x}}: %{{y:.4g}}<extra></extra>",
            ),
            1,
            1,
        )
    for name, v in val.items():
        fig.add_trace(
            go.Scatter(
                x=np.asarray(val_steps[: len(v)]).tolist(),
                y=rounded(v, 5),
                mode="lines+markers",
                name=f"{name} · val",
                legendgroup=name,
                showlegend=False,
                line={"color": colors.get(name), "width": 2.5},
                hovertemplate=f"<b>{name}</b> val at step %{{x}}: %{{y:.4g}}<extra></extra>",
            ),
            1,
            2,
        )
    fig.update_xaxes(range=[0, max(total_steps, 1)], title_text="step")
    fig.update_yaxes(title_text="cross-entropy (nats / char)", col=1)
    return layout(fig, height, hovermode="closest")


def layer_norms_figure(norms: Mapping[str, Mapping[str, np.ndarray]], height: int = 340):
    """Per-layer gradient norms over the steps, one panel per optimizer, log y."""
    names = list(norms)
    fig = make_subplots(
        1,
        max(len(names), 1),
        shared_yaxes=True,
        horizontal_spacing=0.02,
        subplot_titles=names or None,
    )
    for col, name in enumerate(names, start=1):
        for i, (group, g) in enumerate(norms[name].items()):
            fig.add_trace(
                go.Scatter(
                    x=np.arange(1, len(g) + 1).tolist(),
                    y=positive(g),
                    mode="lines",
                    name=group,
                    legendgroup=group,
                    showlegend=col == 1,
                    line={"color": GROUP_COLORS[i % len(GROUP_COLORS)], "width": 1.5},
                    hovertemplate=f"{name} · {group}<br>step %{{x}}: %{{y:.3g}}<extra></extra>",
                ),
                1,
                col,
            )
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="‖gradient‖ of the group", col=1)
    fig.update_xaxes(title_text="step")
    return layout(fig, height)


def clip_figure(
    raw: Series,
    clipped: Series,
    colors: Mapping[str, str],
    clip_norm: float | None,
    height: int = 340,
) -> go.Figure:
    """Global gradient norm before (solid) and after (dashed) clipping, log y."""
    fig = go.Figure()
    for name, g in raw.items():
        x = np.arange(1, len(g) + 1).tolist()
        c = colors.get(name)
        fig.add_trace(
            go.Scatter(
                x=x,
                y=positive(g),
                mode="lines",
                name=f"{name} · raw",
                legendgroup=name,
                line={"color": c, "width": 1.5},
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=positive(clipped[name]),
                mode="lines",
                name=f"{name} · clipped",
                legendgroup=name,
                line={"color": c, "width": 2, "dash": "dash"},
            )
        )
    if clip_norm is not None and np.isfinite(clip_norm):
        fig.add_hline(
            y=clip_norm,
            line={"color": "#444", "dash": "dot"},
            annotation_text=f"clip at {clip_norm:g}",
        )
    fig.update_layout(
        xaxis_title="step",
        yaxis={"type": "log", "title": "global ‖gradient‖", "exponentformat": "power"},
    )
    return layout(fig, height)


def gap_figure(series: Mapping[str, tuple], colors: Mapping[str, str], height: int = 320):
    """Validation minus training loss (each chunk's mean) at every chunk end: above 0 the
    model does better on text it trained on than on held-out text."""
    fig = go.Figure()
    for name, (steps, train, val) in series.items():
        fig.add_trace(
            go.Scatter(
                x=np.asarray(steps).tolist(),
                y=rounded(np.asarray(val) - np.asarray(train), 4),
                mode="lines+markers",
                name=name,
                line={"color": colors.get(name), "width": 2},
                hovertemplate=f"<b>{name}</b> step %{{x}}: gap %{{y:.3g}}<extra></extra>",
            )
        )
    fig.add_hline(y=0, line={"color": "#888", "width": 1})
    fig.update_layout(xaxis_title="step", yaxis_title="val − train loss")
    return layout(fig, height)


def accuracy_figure(acc: Mapping[str, float], colors: Mapping[str, str], height: int = 300):
    """Exact-match accuracy on held-out problems, one bar per run."""
    names = list(acc)
    fig = go.Figure(
        go.Bar(
            x=names,
            y=[100 * acc[n] for n in names],
            marker_color=[colors.get(n) for n in names],
            text=[f"{100 * acc[n]:.1f} %" for n in names],
            textposition="outside",
            hovertemplate="%{x}: %{y:.1f} %<extra></extra>",
        )
    )
    fig.update_layout(yaxis={"range": [0, 105], "title": "exact match (%)"}, showlegend=False)
    return layout(fig, height)


SAMPLE_CSS = (
    ".tf-sample{font-family:ui-monospace,monospace;font-size:1.05rem;white-space:pre-wrap;"
    "word-break:break-all;background:#f6f7f9;border-radius:6px;padding:4px 8px;margin:3px 0}"
    ".tf-prompt{background:#cfe0f7;color:#1a3d6d;border-radius:3px;padding:0 2px}"
    ".tf-gen{color:#111;font-weight:600}.tf-empty{color:#888;font-style:italic}"
)


def samples_html(prompt: str, texts: Sequence[str]) -> str:
    """Samples as HTML, one box each: the prompt (blue) then the model's continuation (bold).
    Every text is escaped (``html.escape``): model output and prompts are shown as text."""
    boxes = []
    for t in texts:
        empty = '<span class="tf-empty">(nothing: the model ended the line at once)</span>'
        body = f'<span class="tf-gen">{html.escape(t)}</span>' if t else empty
        lead = f'<span class="tf-prompt">{html.escape(prompt)}</span>' if prompt else ""
        boxes.append(f'<div class="tf-sample">{lead}{body}</div>')
    return f"<style>{SAMPLE_CSS}</style>" + "".join(boxes)


def quadratic_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares coefficients ``[c2, c1, c0]`` of ``y ≈ c2 x² + c1 x + c0``."""
    return np.polyfit(np.asarray(x, np.float64), np.asarray(y, np.float64), 2)


def timing_figure(rows: Sequence[Mapping], height: int = 380) -> go.Figure:
    """Measured ms per step vs context length (with a quadratic fit) and vs parameter count."""
    fig = make_subplots(
        1,
        2,
        horizontal_spacing=0.1,
        subplot_titles=("time per step vs context length", "time per step vs parameters"),
    )
    ctx_rows = [r for r in rows if r["sweep"] == "ctx"]
    size_rows = [r for r in rows if r["sweep"] != "ctx"]
    if ctx_rows:
        x = np.array([r["ctx"] for r in ctx_rows], float)
        y = np.array([r["ms_per_step"] for r in ctx_rows], float)
        fig.add_trace(
            go.Scatter(
                x=x.tolist(),
                y=rounded(y, 4),
                mode="markers",
                name="measured",
                marker={"size": 11, "color": "#1f77b4"},
            ),
            1,
            1,
        )
        if len(x) >= 3:
            c = quadratic_fit(x, y)
            xs = np.linspace(x.min(), x.max(), 60)
            fig.add_trace(
                go.Scatter(
                    x=rounded(xs),
                    y=rounded(np.polyval(c, xs), 4),
                    mode="lines",
                    name=f"fit {c[0]:.2g}·L² {c[1]:+.2g}·L {c[2]:+.2g}",
                    line={"color": "#d62728", "dash": "dash"},
                ),
                1,
                1,
            )
    if size_rows:
        fig.add_trace(
            go.Scatter(
                x=[r["params"] for r in size_rows],
                y=rounded([r["ms_per_step"] for r in size_rows], 4),
                mode="lines+markers",
                name="by width",
                marker={"size": 11, "color": "#2ca02c"},
                text=[f"d={r['d_model']}" for r in size_rows],
                hovertemplate="%{text}: %{x:,} params, %{y:.3g} ms<extra></extra>",
            ),
            1,
            2,
        )
    fig.update_xaxes(title_text="context length L (tokens)", col=1)
    fig.update_xaxes(title_text="parameters", type="log", col=2)
    fig.update_yaxes(title_text="ms per training step", rangemode="tozero")
    return layout(fig, height)
