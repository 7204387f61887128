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

POS = {
    "x1": (0.0, 1.0), "x2": (0.0, -1.0), "b1": (1.1, 2.1), "b2": (1.1, -2.1),
    "h1": (2.2, 1.0), "h2": (2.2, -1.0), "c": (3.4, 1.9), "y": (4.4, 0.0), "L": (5.8, 0.0),
}  # fmt: skip
# (from, to, parameter on the edge or "", where along the edge its label sits)
EDGES = (
    ("x1", "h1", "w11", 0.5), ("x2", "h1", "w12", 0.28), ("x1", "h2", "w21", 0.72),
    ("x2", "h2", "w22", 0.5), ("b1", "h1", "b1", 0.45), ("b2", "h2", "b2", 0.45),
    ("h1", "y", "v1", 0.5), ("h2", "y", "v2", 0.5), ("c", "y", "c", 0.45), ("y", "L", "", 0.5),
)  # fmt: skip
CURRENT = "#d62728"
DONE = "#1f77b4"
IDLE = "#b0b0b0"


def _node_text(name: str, values, grads, pretty: Mapping[str, str]) -> str:
    sub = pretty[name]
    if name in ("b1", "b2", "c"):
        return sub
    if name in ("h1", "h2"):
        z = "z" + sub[1]
        text = f"{z} = {values[z[0] + name[1]]:.3f}<br>{sub} = {values[name]:.3f}"
        if (g := grads.get("z" + name[1])) is not None:
            text += f"<br><b>∂L/∂{z} = {g:.3g}</b>"
        elif (g := grads.get(name)) is not None:
            text += f"<br><b>∂L/∂{sub} = {g:.3g}</b>"
        return text
    text = f"{sub} = {values[name]:.3f}"
    if name in grads and name != "L":
        text += f"<br><b>∂L/∂{sub} = {grads[name]:.3g}</b>"
    return text


def backprop_figure(
    params: Mapping[str, float],
    values: Mapping[str, float],
    steps: Sequence[Any],
    shown: int,
    target: float,
    pretty: Mapping[str, str],
    height: int = 520,
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
        hot = current is not None and current.edge == (a, b)
        color = CURRENT if hot else DONE if walked else IDLE
        fig.add_trace(go.Scatter(
            x=[x0, x1], y=[y0, y1], mode="lines", hoverinfo="skip", showlegend=False,
            line={"color": color, "width": 6 if hot else 2.5 if walked else 1.5},
        ))  # fmt: skip
        if p:
            label = f"{pretty[p]} = {params[p]:.2f}"
            if p in grads:
                label += f"<br><b>∂L/∂{pretty[p]} = {grads[p]:.3g}</b>"
            notes.append({
                "x": x0 + at * (x1 - x0), "y": y0 + at * (y1 - y0), "text": label,
                "showarrow": False, "bgcolor": "rgba(255,255,255,0.9)",
                "font": {"size": FONT - 3, "color": CURRENT if hot else "#222"},
                "bordercolor": CURRENT if hot else "rgba(0,0,0,0)", "borderwidth": 2,
            })  # fmt: skip
    names = list(POS)
    local = current is not None and current.edge[0] == current.edge[1]
    fig.add_trace(go.Scatter(
        x=[POS[n][0] for n in names], y=[POS[n][1] for n in names], mode="markers",
        hoverinfo="skip", showlegend=False,
        marker={
            "size": [26 if n in ("b1", "b2", "c") else 46 for n in names],
            "symbol": ["square" if n in ("b1", "b2", "c") else "circle" for n in names],
            "color": ["#fff4d6" if n == "L" else "#eef3fb" for n in names],
            "line": {"width": [5 if local and n == current.edge[0] else 2 for n in names],
                     "color": [CURRENT if local and n == current.edge[0] else "#444"
                               for n in names]},
        },
    ))  # fmt: skip
    for n in names:
        x, y = POS[n]
        below = n in ("b2", "x2", "h2")
        notes.append({
            "x": x, "y": y + (-0.42 if below else 0.42),
            "text": _node_text(n, values, grads, pretty),
            "showarrow": False, "yanchor": "top" if below else "bottom",
            "font": {"size": FONT - 3}, "bgcolor": "rgba(255,255,255,0.85)",
        })  # fmt: skip
    notes.append({"x": POS["L"][0], "y": POS["L"][1] - 0.42, "yanchor": "top",
                  "text": f"target t = {target:g}", "showarrow": False,
                  "font": {"size": FONT - 4, "color": "#555"}})  # fmt: skip
    fig.update_layout(annotations=notes)
    fig.update_xaxes(visible=False, range=[-0.7, 6.6])
    fig.update_yaxes(visible=False, range=[-3.1, 3.2])
    return layout(fig, height, margin={"l": 10, "r": 10, "t": 10, "b": 10})
