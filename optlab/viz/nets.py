"""The backprop walk drawn as a graph: arrays and steps in, ``go.Figure`` out (no Streamlit).

Nodes carry their forward values (and, once the backward pass reached them, their gradient
∂L/∂node); edges carry their weight, and their gradient once walked; the step being taken is
drawn thick and red. Steps are any objects with ``target``, ``edge`` ``(from, to)`` and ``value``
(``optlab.nets.tiny.Step``); ``pretty`` maps names to their display form (``w11`` -> ``w₁₁``).
The training figures of the deep-nets page are in ``optlab.viz.nets_train``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import plotly.graph_objects as go

from optlab.viz.style import FONT
from optlab.viz.transformer_inside import layout

POS = {"x1": (0.0, 1.2), "x2": (0.0, -1.2), "h1": (2.6, 1.2), "h2": (2.6, -1.2),
       "y": (5.0, 0.0), "L": (6.8, 0.0)}  # fmt: skip
# (from, to, the parameter on the edge or "", where along the edge its label sits)
EDGES = (
    ("x1", "h1", "w11", 0.5), ("x2", "h1", "w12", 0.25), ("x1", "h2", "w21", 0.25),
    ("x2", "h2", "w22", 0.5), ("h1", "y", "v1", 0.33), ("h2", "y", "v2", 0.33), ("y", "L", "", 0.5),
)  # fmt: skip
BIAS = {"b1": "h1", "b2": "h2", "c": "y"}  # a bias is drawn inside the node it feeds
CURRENT = "#d62728"
DONE = "#1f77b4"
IDLE = "#b0b0b0"


def _line(text: str, hot: bool) -> str:
    return f"<span style='color:{CURRENT}'><b>{text}</b></span>" if hot else text


def _node_text(name, values, grads, params, pretty, hot: str) -> str:
    """The node's lines: its bias, forward values and (once reached) its gradient; the line
    of the quantity the current step computes is red."""
    sub = pretty[name]
    bias = next((b for b, node in BIAS.items() if node == name), None)
    lines = []
    if bias is not None:
        text = f"{pretty[bias]} = {params[bias]:.2f}"
        if bias in grads:
            text += f", ∂L/∂{pretty[bias]} = {grads[bias]:.3g}"
        lines.append(_line(text, hot == bias))
    if name in ("h1", "h2"):
        z = "z" + name[1]
        lines.append(f"{pretty[z]} = {values[z]:.3f}, {sub} = {values[name]:.3f}")
        for q in (name, z):
            if q in grads:
                lines.append(_line(f"∂L/∂{pretty[q]} = {grads[q]:.3g}", hot == q))
        return "<br>".join(lines)
    lines.append(f"{sub} = {values[name]:.3f}")
    if name in grads and name != "L":
        lines.append(_line(f"∂L/∂{sub} = {grads[name]:.3g}", hot == name))
    return "<br>".join(lines)


def backprop_figure(
    params: Mapping[str, float],
    values: Mapping[str, float],
    steps: Sequence[Any],
    shown: int,
    target: float,
    pretty: Mapping[str, str],
    height: int = 480,
) -> go.Figure:
    """The 2-2-1 network with the first ``shown`` backward steps done (0: the forward pass
    only); the last of them is highlighted."""
    done = list(steps[:shown])
    grads = {"L": 1.0} | {s.target: s.value for s in done}
    current = done[-1] if done else None
    fig = go.Figure()
    notes = []
    for a, b, p, at in EDGES:
        (x0, y0), (x1, y1) = POS[a], POS[b]
        walked = any(s.edge == (a, b) for s in done)
        lit = current is not None and current.edge == (a, b)
        color = CURRENT if lit else DONE if walked else IDLE
        fig.add_trace(go.Scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
            line={"color": color, "width": 6 if lit else 2.5 if walked else 1.5},
        ))  # fmt: skip
        if p:
            label = f"{pretty[p]} = {params[p]:.2f}"
            if p in grads:
                label += f"<br><b>∂L/∂{pretty[p]} = {grads[p]:.3g}</b>"
            notes.append({
                "x": x0 + at * (x1 - x0), "y": y0 + at * (y1 - y0), "text": label,
                "showarrow": False, "bgcolor": "rgba(255,255,255,0.9)",
                "font": {"size": FONT - 3, "color": CURRENT if lit else "#222"},
                "bordercolor": CURRENT if lit else "rgba(0,0,0,0)", "borderwidth": 2,
            })  # fmt: skip
    names = list(POS)
    hot = current.target if current is not None else ""
    ring = BIAS.get(hot) or (hot.replace("z", "h") if hot in ("z1", "z2") else None)
    fig.add_trace(go.Scatter(
        x=[POS[n][0] for n in names], y=[POS[n][1] for n in names], mode="markers",
        hoverinfo="skip", showlegend=False,
        marker={"size": 50, "color": ["#fff4d6" if n == "L" else "#eef3fb" for n in names],
                "line": {"width": [5 if n == ring else 2 for n in names],
                         "color": [CURRENT if n == ring else "#444" for n in names]}},
    ))  # fmt: skip
    for n in names:
        x, y = POS[n]
        below = n in ("x2", "h2")
        notes.append({
            "x": x, "y": y + (-0.36 if below else 0.36), "showarrow": False,
            "text": _node_text(n, values, grads, params, pretty, hot),
            "yanchor": "top" if below else "bottom", "font": {"size": FONT - 3},
            "bgcolor": "rgba(255,255,255,0.85)",
        })  # fmt: skip
    notes.append({"x": POS["L"][0], "y": POS["L"][1] - 0.36, "yanchor": "top",
                  "text": f"target t = {target:g}", "showarrow": False,
                  "font": {"size": FONT - 4, "color": "#555"}})  # fmt: skip
    fig.update_layout(annotations=notes)
    fig.update_xaxes(visible=False, range=[-1.0, 7.7])
    fig.update_yaxes(visible=False, range=[-2.5, 2.6])
    return layout(fig, height, margin={"l": 10, "r": 10, "t": 10, "b": 10})
