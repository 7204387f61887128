"""The class board's figures (arrays in, figures out, no Streamlit): every submitted path on
one map coloured by score, and the score against each open hyperparameter — the class's own
sweep ("you are the grid search") with the engine's sweep of the same problem drawn faintly
beside it once the teacher reveals it.

Display names are user text: they reach plotly only HTML-escaped (plotly.js renders a subset
of HTML tags in hover text and labels).
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.colors import get_colorscale, sample_colorscale

from optlab.viz.colormap import SurfaceImage
from optlab.viz.style import AXIS, FONT, background, landmarks, map_axes, rounded, surface_bounds
from surfaces.base import Surface

# Best (lowest) score bright yellow … worst dark purple; spelled out as [[t, colour], …]
# (plotly.js does not know plotly.py's "_r" names).
COLORSCALE = get_colorscale("Viridis_r")
NO_SCORE = "#9e9e9e"  # diverged / target not reached
BEST = "#d62728"


@dataclass(frozen=True)
class Entry:
    """One submission on the board."""

    name: str
    path: np.ndarray  # [P, 2]
    score: float | None
    values: dict  # open hyperparameter -> value
    optimizer: str
    best: bool = False


def safe(text: str) -> str:
    """User text made inert for plotly (escaped, one line)."""
    return html.escape(" ".join(str(text).split()), quote=True)


def score_positions(scores: Sequence[float | None], log: bool) -> list[float | None]:
    """Each score's place in [0, 1] between the class's best and worst (``None``: no score)."""
    vals = [s for s in scores if s is not None and math.isfinite(s) and (s > 0 or not log)]
    if not vals:
        return [None] * len(scores)
    f = math.log10 if log else float
    lo, hi = f(min(vals)), f(max(vals))
    out = []
    for s in scores:
        ok = s is not None and math.isfinite(s) and (s > 0 or not log)
        out.append(((f(s) - lo) / (hi - lo) if hi > lo else 0.0) if ok else None)
    return out


def _colors(scores, log: bool) -> list[str]:
    return [
        NO_SCORE if t is None else sample_colorscale(COLORSCALE, [t])[0]
        for t in score_positions(scores, log)
    ]


def _hover(e: Entry, score_text: str) -> str:
    vals = ", ".join(f"{k} = {v:.4g}" for k, v in e.values.items())
    return f"{safe(e.name)} ({safe(e.optimizer)})<br>{vals}<br>score: {score_text}"


def fmt_score(score: float | None) -> str:
    return "—" if score is None else f"{score:.4g}"


def board_map(
    surface: Surface,
    image: SurfaceImage,
    entries: Sequence[Entry],
    start: Sequence[float],
    log_score: bool = True,
    height: int = 620,
    axis_titles: tuple[str, str] = ("x", "y"),
    equal: bool = True,
) -> go.Figure:
    """Every entry's path on the surface's map, coloured by score (colour bar: the score)."""
    colors = _colors([e.score for e in entries], log_score)
    data: list[dict] = []
    for e, color in zip(entries, colors, strict=True):
        p = np.asarray(e.path, np.float64)
        hover = _hover(e, fmt_score(e.score))
        data.append(
            {
                "type": "scatter",
                "x": rounded(p[:, 0]),
                "y": rounded(p[:, 1]),
                "mode": "lines",
                "name": safe(e.name),
                "showlegend": False,
                "hoverinfo": "text",
                "text": hover,
                "line": {"color": BEST if e.best else color, "width": 5 if e.best else 2.5},
                "opacity": 1.0 if e.best else 0.85,
            }
        )
        data.append(
            {
                "type": "scatter",
                "x": rounded(p[-1:, 0]),
                "y": rounded(p[-1:, 1]),
                "mode": "markers",
                "name": safe(e.name),
                "showlegend": False,
                "hoverinfo": "text",
                "text": hover,
                "marker": {
                    "color": color,
                    "size": 11,
                    "line": {"width": 1.5, "color": BEST if e.best else "white"},
                },
            }
        )
    scored = [e.score for e in entries if e.score is not None and e.score > 0]
    if scored:  # the colour bar, on an invisible marker
        lo, hi = min(scored), max(scored)
        f = np.log10 if log_score else (lambda v: v)
        data.append(
            {
                "type": "scatter",
                "x": [None],
                "y": [None],
                "mode": "markers",
                "showlegend": False,
                "hoverinfo": "skip",
                "marker": {
                    "color": [float(f(lo))],
                    "cmin": float(f(lo)),
                    "cmax": float(f(hi) + 1e-12),
                    "colorscale": COLORSCALE,
                    "showscale": True,
                    "colorbar": {"title": {"text": "log₁₀ score" if log_score else "score"}},
                },
            }
        )
    data += landmarks(surface, start)
    layout = {
        "height": height,
        "font": {"size": FONT},
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "images": [background(image)],
        "plot_bgcolor": "white",
        "hovermode": "closest",
        "title": {"text": f"{len(entries)} paths · colour = score (bright = best)"},
        "legend": {"orientation": "h", "x": 0, "y": -0.12, "xanchor": "left", "yanchor": "top"},
        **map_axes(surface_bounds(surface), equal=equal),
    }
    layout["xaxis"]["title"] = {"text": axis_titles[0]}
    layout["yaxis"]["title"] = {"text": axis_titles[1]}
    return go.Figure({"data": data, "layout": layout}, _validate=False)


def score_sweep(
    entries: Sequence[Entry],
    name: str,
    label: str,
    score_title: str,
    log_x: bool,
    log_y: bool,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
    height: int = 420,
) -> go.Figure:
    """The score of every submission against the open hyperparameter ``name``; ``reference``
    (values, scores): the engine's own sweep, drawn faintly."""
    rows = [e for e in entries if name in e.values]
    scored = [e for e in rows if e.score is not None]
    unscored = [e for e in rows if e.score is None]
    data: list[dict] = []
    if reference is not None:
        xs, ys = reference
        data.append(
            {
                "type": "scatter",
                "x": rounded(xs),
                "y": rounded(ys),
                "mode": "lines",
                "name": "engine's sweep",
                "line": {"color": "rgba(60,60,60,0.35)", "width": 4},
                "hovertemplate": f"{label} = %{{x:.4g}}<br>score %{{y:.4g}}<extra>engine</extra>",
            }
        )
    if scored:
        data.append(
            {
                "type": "scatter",
                "x": [e.values[name] for e in scored],
                "y": [e.score for e in scored],
                "mode": "markers",
                "name": "students",
                "text": [_hover(e, fmt_score(e.score)) for e in scored],
                "hoverinfo": "text",
                "marker": {
                    "size": 13,
                    "color": [BEST if e.best else "#1f77b4" for e in scored],
                    "line": {"width": 1, "color": "white"},
                },
            }
        )
    if unscored:
        top = max([e.score for e in scored], default=1.0)
        data.append(
            {
                "type": "scatter",
                "x": [e.values[name] for e in unscored],
                "y": [top] * len(unscored),
                "mode": "markers",
                "name": "no score",
                "text": [_hover(e, "—") for e in unscored],
                "hoverinfo": "text",
                "marker": {"size": 12, "symbol": "x", "color": NO_SCORE},
            }
        )
    layout = {
        "height": height,
        "font": {"size": FONT},
        "plot_bgcolor": "white",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 60},
        "title": {"text": f"The class's sweep: score vs {label}"},
        "xaxis": {**AXIS, "type": "log" if log_x else "linear", "title": {"text": label}},
        "yaxis": {**AXIS, "type": "log" if log_y else "linear", "title": {"text": score_title}},
        "legend": {"orientation": "h", "x": 0, "y": -0.25},
    }
    return go.Figure({"data": data, "layout": layout}, _validate=False)
