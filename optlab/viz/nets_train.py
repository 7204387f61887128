"""The deep-nets page's training figures: arrays in, ``go.Figure`` out (no Streamlit).

Runs come as mappings ``label -> array`` and ``colors`` maps each label to its colour. Layers
are numbered 1..L on the x-axis (then "out", the output layer): a straight falling line on the
log axis is the vanishing gradient, made visible. The raw vs clipped gradient norm is
``optlab.viz.transformer.clip_figure`` (the same figure on both pages).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from optlab.viz.style import positive, rounded
from optlab.viz.transformer_inside import layout

Series = Mapping[str, np.ndarray]
INIT_COLOR = "#7f7f7f"


def _layer_ticks(n_hidden: int) -> tuple[list, list]:
    xs = list(range(1, n_hidden + 2))
    labels = [str(i) for i in range(1, n_hidden + 1)] + ["out"]
    return xs, labels


def layer_grad_figure(
    at_init: np.ndarray,
    at_step: Series,
    colors: Mapping[str, str],
    step: int,
    height: int = 400,
) -> go.Figure:
    """Per-layer gradient norm ``‖∂L/∂θ_l‖`` (log y) at initialisation (dashed grey) and at
    step ``step`` for each run (``[L + 1]`` each, the output layer last)."""
    xs, labels = _layer_ticks(len(at_init) - 1)
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=xs, y=positive(at_init), mode="lines+markers", name="at initialisation",
        line={"color": INIT_COLOR, "dash": "dash", "width": 2}, marker={"size": 6},
        hovertemplate="layer %{x}: %{y:.3g} (init)<extra></extra>",
    ))  # fmt: skip
    for label, g in at_step.items():
        fig.add_trace(go.Scatter(
            x=xs, y=positive(g), mode="lines+markers", name=f"{label} · step {step}",
            line={"color": colors.get(label), "width": 2.5}, marker={"size": 6},
            hovertemplate=f"{label}<br>layer %{{x}}: %{{y:.3g}}<extra></extra>",
        ))  # fmt: skip
    fig.update_yaxes(type="log", exponentformat="power", title_text="‖∂L/∂θ_l‖ (log scale)")
    fig.update_xaxes(title_text="layer l (input side → output side)", tickvals=xs,
                     ticktext=labels, nticks=min(len(xs), 26))  # fmt: skip
    return layout(fig, height)


def activation_figure(
    at_init: np.ndarray,
    at_step: Series,
    colors: Mapping[str, str],
    step: int,
    inactive: str,
    height: int = 360,
) -> go.Figure:
    """Per-layer activation statistics ``[L, 3]`` (mean, std, inactive fraction): the std of
    each layer's output (left, log y) and the fraction of dead/saturated units (right); the
    mean is in each point's hover text."""
    n = len(at_init)
    xs = list(range(1, n + 1))
    titles = ("std of the activations", f"{inactive} units (f′(z) ≈ 0)")
    fig = make_subplots(1, 2, horizontal_spacing=0.1, subplot_titles=titles)
    series = {"at initialisation": (at_init, INIT_COLOR, "dash")}
    series |= {f"{k} · step {step}": (v, colors.get(k), "solid") for k, v in at_step.items()}
    for name, (stats, color, dash) in series.items():
        a = np.asarray(stats)
        cols = ((positive(a[:, 1]), ".3g"), (rounded(a[:, 2], 4), ".0%"))
        for col, (y, fmt) in enumerate(cols, start=1):
            fig.add_trace(go.Scatter(
                x=xs, y=y, mode="lines+markers", name=name, legendgroup=name,
                showlegend=col == 1, line={"color": color, "dash": dash, "width": 2},
                marker={"size": 5}, customdata=rounded(a[:, 0], 4),
                hovertemplate=f"{name}<br>layer %{{x}}: %{{y:{fmt}}} (mean %{{customdata}})"
                              "<extra></extra>",
            ), 1, col)  # fmt: skip
    fig.update_yaxes(type="log", exponentformat="power", col=1)
    fig.update_yaxes(range=[-0.03, 1.03], tickformat=".0%", col=2)
    fig.update_xaxes(title_text="layer l", title_standoff=4)
    legend = {"orientation": "h", "x": 0, "y": -0.3, "xanchor": "left", "yanchor": "top"}
    return layout(fig, height, legend=legend)


def loss_figure(
    train: Series,
    val: Series,
    colors: Mapping[str, str],
    log_y: bool = True,
    height: int = 380,
) -> go.Figure:
    """Training loss (solid) and validation loss (dotted) per step, one colour per run."""
    fig = go.Figure()
    for label, loss in train.items():
        steps = list(range(len(loss)))
        c = colors.get(label)
        fig.add_trace(go.Scatter(
            x=steps, y=(positive if log_y else rounded)(loss), mode="lines",
            name=f"{label} · train", legendgroup=label, line={"color": c, "width": 2.2},
            hovertemplate=f"{label} train<br>step %{{x}}: %{{y:.4g}}<extra></extra>",
        ))  # fmt: skip
        if label in val:
            fig.add_trace(go.Scatter(
                x=steps, y=(positive if log_y else rounded)(val[label]), mode="lines",
                name=f"{label} · validation", legendgroup=label,
                line={"color": c, "width": 2, "dash": "dot"},
                hovertemplate=f"{label} validation<br>step %{{x}}: %{{y:.4g}}<extra></extra>",
            ))  # fmt: skip
    if log_y:
        fig.update_yaxes(type="log", exponentformat="power")
    fig.update_yaxes(title_text="loss" + (" (log scale)" if log_y else ""))
    fig.update_xaxes(title_text="step")
    return layout(fig, height)


def fit_figure(
    x: np.ndarray,
    y: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    grid: np.ndarray,
    curves: Series,
    colors: Mapping[str, str],
    truth: np.ndarray | None = None,
    height: int = 400,
) -> go.Figure:
    """A 1-D regression: training points, validation points (faint), the true function
    (dotted) and each run's fitted function over ``grid``."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=rounded(x_val, 4), y=rounded(y_val, 4), mode="markers", name="validation points",
        marker={"color": "#bbbbbb", "size": 6}, hoverinfo="skip",
    ))  # fmt: skip
    if truth is not None:
        fig.add_trace(go.Scatter(
            x=rounded(grid, 4), y=rounded(truth, 4), mode="lines", name="true function",
            line={"color": "#444", "dash": "dot", "width": 2}, hoverinfo="skip",
        ))  # fmt: skip
    for label, f in curves.items():
        fig.add_trace(go.Scatter(
            x=rounded(grid, 4), y=rounded(f, 4), mode="lines", name=label,
            line={"color": colors.get(label), "width": 3},
            hovertemplate=f"{label}<br>x %{{x:.2f}}: %{{y:.3f}}<extra></extra>",
        ))  # fmt: skip
    fig.add_trace(go.Scatter(
        x=rounded(x, 4), y=rounded(y, 4), mode="markers", name="training points",
        marker={"color": "#111", "size": 10, "line": {"color": "white", "width": 1.5}},
        hovertemplate="x %{x:.2f}, y %{y:.2f}<extra></extra>",
    ))  # fmt: skip
    lo, hi = float(np.min(y)), float(np.max(y))
    pad = 0.6 * (hi - lo)
    fig.update_yaxes(range=[lo - pad, hi + pad], title_text="y")
    fig.update_xaxes(title_text="x")
    return layout(fig, height)
