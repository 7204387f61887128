"""Helpers shared by the figure builders: the surface grid, numbers into the figure (rounded,
finite), the loss axis, the map's background and axes, landmarks, the click grid, and
``ReadyFigure`` (a finished figure dict handed to Streamlit as is). Paths clipped for drawing
are in ``optlab.viz.paths``."""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from surfaces.base import Point, Surface

if TYPE_CHECKING:
    from optlab.core.engine import Trajectory
    from optlab.viz.colormap import SurfaceImage

FONT = 16  # projector-sized
AXIS = {
    "showline": True,
    "mirror": True,
    "linecolor": "#444",
    "gridcolor": "#e5e5e5",
    "zeroline": False,
}
CLICK_GRID_NAME = "click-grid"
# plotly.py's template "none" as JSON: figures built as dicts carry it so that plotly.py (HTML
# export, ``go.Figure(spec)``) does not add its default template.
NO_TEMPLATE = {"data": {"scatter": [{"type": "scatter"}]}}


_REVISIONS = itertools.count(1)


class ReadyFigure(go.Figure):
    """A finished, JSON-ready figure dict wearing the ``go.Figure`` type.

    Server side: ``st.plotly_chart`` validates a plain dict through a full ``go.Figure`` and
    serialises a ``go.Figure`` through ``to_dict()`` (a deep copy of its object tree): most of
    a slider move's server time for the lab figure. Here ``to_dict()`` returns ``spec`` itself,
    so the figure goes out exactly as built; ``to_plotly_json``, ``to_json`` and ``to_html``
    (plotly.io reaches them through ``to_dict``) work too. Nothing else of ``go.Figure`` is set
    up: ``.data``, ``.layout`` and updates raise — ``figure()`` gives a real one.

    Browser side: Streamlit mounts a chart afresh whenever its figure changes, plots it, then
    deep-copies the figure in an effect and hands the copy to ``Plotly.react``. That second
    render is a full redraw (as costly as the first) unless the copy looks unchanged to
    plotly.js, so ``spec`` is adjusted in place, once: a unique ``layout.datarevision`` (data
    arrays of the same revision are not compared) and no ``layout.template`` when it is
    plotly's "none" (a template of new identity forces a full replot; "none" is plotly.js's
    own default look). Measured on the lab chart: 30–40 ms → 6–8 ms for the second render.
    ``spec`` is then shared (figures are cached): treat it as read-only.
    """

    def __init__(self, spec: dict) -> None:  # go.Figure.__init__ skipped on purpose
        layout = spec.setdefault("layout", {})
        if layout.get("template") == NO_TEMPLATE:
            del layout["template"]
        layout.setdefault("datarevision", next(_REVISIONS))
        object.__setattr__(self, "spec", spec)

    def to_dict(self) -> dict:
        return self.spec

    def to_plotly_json(self) -> dict:
        return self.spec

    def figure(self) -> go.Figure:
        """A real ``go.Figure`` of the same JSON (validation off; a few ms per trace)."""
        fig = go.Figure(self.spec, _validate=False)
        if "template" not in self.spec["layout"]:
            fig.layout.template = NO_TEMPLATE  # not plotly.py's default template
        return fig

    def __getattr__(self, name: str):
        raise AttributeError(
            f"ReadyFigure holds only its JSON dict (.spec), not {name!r}: use .figure()"
        )

    def __repr__(self) -> str:
        return f"ReadyFigure({len(self.spec.get('data', []))} traces)"


# ---------------------------------------------------------------------------------------------
# Numbers into the figure.


def rounded(a, sig: int = 6) -> list:
    """``a`` flattened to Python floats of ``sig`` significant digits; non-finite → ``None``."""
    flat = np.asarray(a, np.float64).ravel().tolist()
    return [float(f"{v:.{sig}g}") if math.isfinite(v) else None for v in flat]


def positive(a) -> list:
    a = np.abs(np.asarray(a, np.float64))
    return rounded(np.where(a > 0, a, np.nan), 5)


def subsample(n: int, max_points: int) -> np.ndarray:
    """Indexes of at most ``max_points`` of ``range(n)``: the first half of the budget kept
    step by step (early zig-zags are what students look at), the rest evenly spread, the
    last index always kept."""
    if n <= max_points:
        return np.arange(n)
    head = max_points // 2
    tail = np.round(np.linspace(head, n - 1, max_points - head)).astype(np.int64)
    return np.unique(np.concatenate([np.arange(head), tail]))


def knots(y: np.ndarray, tol: float) -> np.ndarray:
    """Indexes of the fewest points of the polyline ``(i, y[i])`` that redraw it within
    ``tol`` vertically (Ramer–Douglas–Peucker): 2 for a constant or linear curve, the bends
    of a warm-up or a step decay, enough for a cosine. First and last always kept."""
    y = np.asarray(y, np.float64)
    n = len(y)
    if n <= 2:
        return np.arange(n)
    keep = np.zeros(n, bool)
    keep[[0, n - 1]] = True
    spans = [(0, n - 1)]
    while spans:
        a, b = spans.pop()
        if b - a < 2:
            continue
        i = np.arange(a + 1, b)
        chord = y[a] + (y[b] - y[a]) * (i - a) / (b - a)
        off = np.abs(y[i] - chord)
        j = int(np.argmax(off))
        if off[j] > tol:
            m = a + 1 + j
            keep[m] = True
            spans += [(a, m), (m, b)]
    return np.flatnonzero(keep)


@dataclass(frozen=True)
class LossAxis:
    """How losses map onto the loss panel's fixed y axis (see ``lab_figure``)."""

    type: str  # "log" or "linear"
    shift: float  # y = loss − shift
    floor: float  # log: smallest plotted y
    lo_data: float
    hi_data: float
    title: str

    @property
    def lo(self) -> float:
        return self.lo_data

    @property
    def range(self) -> list[float]:
        if self.type == "log":
            return [math.log10(self.lo_data), math.log10(self.hi_data)]
        return [self.lo_data, self.hi_data]

    def transform(self, loss) -> np.ndarray:
        y = np.asarray(loss, np.float64) - self.shift
        if self.type == "log":
            y = np.where(np.isfinite(y), np.maximum(y, self.floor), np.nan)
        return y

    def clamp(self, y) -> np.ndarray:
        """``y`` moved just inside the axis (plotly hides markers exactly on the edge)."""
        y = np.asarray(y, np.float64)
        if self.type == "log":
            lo, hi = (math.log10(v) for v in (self.lo_data, self.hi_data))
            inset = 0.015 * (hi - lo)
            return 10 ** np.clip(np.log10(np.maximum(y, 1e-300)), lo + inset, hi - inset)
        inset = 0.015 * (self.hi_data - self.lo_data)
        return np.clip(y, self.lo_data + inset, self.hi_data - inset)


def loss_axis(trajs: Sequence[Trajectory], surface, log_loss: bool) -> LossAxis:
    """A fixed y axis for the losses: see ``lab_figure`` for the rules."""
    per = [np.asarray(t.loss, np.float64) for t in trajs]
    per = [v[np.isfinite(v)] for v in per]
    allv = np.concatenate(per) if per else np.zeros(0)
    if allv.size == 0:
        return LossAxis("linear", 0.0, 0.0, 0.0, 1.0, "loss")
    shift, title = 0.0, "loss (log scale)" if log_loss else "loss"
    if log_loss and not (allv > 0).all():
        known = [m.value for m in surface.minima if m.value is not None]
        shift = float(min([*known, allv.min()]))
        if shift != 0.0:
            title = f"loss − f* (log), f* = {shift:.4g}"
    y = [v - shift for v in per]
    ok_max = max(
        (float(v.max()) for v, t in zip(y, trajs, strict=True) if v.size and t.diverged_at is None),
        default=-math.inf,
    )
    ymax = max(float(v.max()) for v in y if v.size)
    start = max(float(v[0]) for v in y if v.size)
    if log_loss:
        hi = max(ok_max, min(ymax, max(start, 1e-30) * 1e3))
        pos = np.concatenate(y)
        pos = pos[pos > 0]
        lo = max(float(pos.min()) if pos.size else hi * 1e-6, hi * 1e-14, 1e-300)
        lo10, hi10 = math.log10(lo), math.log10(max(hi, lo))
        if hi10 - lo10 < 1.0:
            lo10, hi10 = lo10 - 0.5, hi10 + 0.5
        pad = 0.04 * (hi10 - lo10)
        return LossAxis("log", shift, lo, 10 ** (lo10 - pad), 10 ** (hi10 + pad), title)
    lo = float(allv.min())
    hi = max(ok_max, min(ymax, start + 3.0 * (start - lo)))
    if hi <= lo:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.05 * (hi - lo)
    return LossAxis("linear", 0.0, 0.0, lo - pad, hi + pad, title)


def background(image: SurfaceImage, xref: str = "x", yref: str = "y") -> dict:
    """The ``layout.images`` entry placing ``image`` over its grid's bounds."""
    x0, x1 = float(image.xs[0]), float(image.xs[-1])
    y0, y1 = float(image.ys[0]), float(image.ys[-1])
    return {
        "source": image.uri,
        "xref": xref,
        "yref": yref,
        "x": x0,
        "y": y1,
        "sizex": x1 - x0,
        "sizey": y1 - y0,
        "xanchor": "left",
        "yanchor": "top",
        "sizing": "stretch",
        "layer": "below",
    }


def map_axes(bounds, equal: bool = True, xaxis: str = "xaxis", yaxis: str = "yaxis") -> dict:
    """Layout entries fixing a map's axes to ``bounds`` (equal aspect when not too skewed)."""
    x0, x1, y0, y1 = (float(b) for b in bounds)
    common = {
        "showgrid": False,
        "zeroline": False,
        "autorange": False,
        "constrain": "domain",
        "ticks": "outside",
        "showline": True,
        "mirror": True,
        "linecolor": "#444",
    }
    xa = dict(common, range=[x0, x1], title={"text": "x"})
    ya = dict(common, range=[y0, y1], title={"text": "y"})
    if equal and 1 / 3 <= (y1 - y0) / (x1 - x0) <= 3:
        ya |= {"scaleanchor": xaxis.replace("axis", ""), "scaleratio": 1}
    return {xaxis: xa, yaxis: ya}


def image_bounds(image: SurfaceImage) -> tuple[float, float, float, float]:
    return float(image.xs[0]), float(image.xs[-1]), float(image.ys[0]), float(image.ys[-1])


def surface_bounds(surface: Surface) -> tuple[float, float, float, float]:
    (x0, x1), (y0, y1) = surface.bounds
    return float(x0), float(x1), float(y0), float(y1)


def landmarks(surface: Surface, start, xref="x", yref="y") -> list[dict]:
    """Scatter trace dicts for the global minima ★, local minima ◆, saddles and the start ■."""

    def pts(points, name, symbol, size, color):
        if not points:
            return None
        hover = []
        for p in points:
            val = "" if p.value is None else f"<br>f = {p.value:.6g}"
            hover.append(f"{p.label or name}<br>({p.x:.4g}, {p.y:.4g}){val}")
        return {
            "type": "scatter",
            "x": [float(p.x) for p in points],
            "y": [float(p.y) for p in points],
            "mode": "markers",
            "name": name,
            "marker": {
                "symbol": symbol,
                "size": size,
                "color": color,
                "line": {"width": 2, "color": "black"},
            },
            "hovertext": hover,
            "hovertemplate": "%{hovertext}<extra></extra>",
            "showlegend": name != "start",
            "xaxis": xref,
            "yaxis": yref,
            "cliponaxis": False,
        }

    out = [
        pts(surface.minima, "global minimum", "star", 22, "#ffd700"),
        pts(surface.local_minima, "local minimum", "diamond", 14, "white"),
        pts(surface.saddles, "saddle point", "hourglass", 14, "white"),
        pts(
            [Point(*map(float, start), "start")] if start is not None else (),
            "start",
            "square",
            13,
            "white",
        ),
    ]
    return [t for t in out if t is not None]


CLICK_GRID_N = 40
_GRID_CACHE: dict[tuple, dict] = {}
_GRID_LOCK = threading.Lock()


def click_grid_trace(image: SurfaceImage, bounds, n: int = CLICK_GRID_N) -> dict:
    """An invisible ``n``×``n`` marker grid over the map: hovering shows (x, y, f), a click
    selects the nearest node (``st.plotly_chart(on_select=...)`` gets its x, y; clicks on a
    heatmap or an image return nothing).

    ``marker.maxdisplayed = 1``: plotly.js draws one (transparent) marker instead of n² SVG
    paths — hover and click-to-select still search every node — which took the lab chart's
    draw from ~165 to ~80 ms. The dict is cached per (image, bounds, n) and shared between
    figures: read-only.
    """
    key = (image.uri, tuple(float(b) for b in bounds), int(n))
    with _GRID_LOCK:
        hit = _GRID_CACHE.get(key)
    if hit is not None:
        return hit
    x0, x1, y0, y1 = bounds
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    ix = np.clip(np.searchsorted(image.xs, gx.ravel()), 0, len(image.xs) - 1)
    iy = np.clip(np.searchsorted(image.ys, gy.ravel()), 0, len(image.ys) - 1)
    trace = {
        "type": "scatter",
        "x": rounded(gx.ravel(), 4),
        "y": rounded(gy.ravel(), 4),
        "customdata": rounded(image.z[iy, ix], 4),
        "mode": "markers",
        "name": CLICK_GRID_NAME,
        "showlegend": False,
        "marker": {"size": 14, "opacity": 0, "color": "white", "maxdisplayed": 1},
        "hovertemplate": "(%{x}, %{y})  f = %{customdata}<br>click: start here<extra></extra>",
        "xaxis": "x",
        "yaxis": "y",
    }
    with _GRID_LOCK:
        if len(_GRID_CACHE) >= 32:
            _GRID_CACHE.clear()
        _GRID_CACHE[key] = trace
    return trace


def at_step(arr: np.ndarray, step: int) -> np.ndarray:
    return arr[min(step, len(arr) - 1)]


def animation_controls(frame_steps: Sequence[int], frame_ms: int, plot_h: float) -> dict:
    """``updatemenus`` (Play / Pause / Restart) and a step scrubber ``sliders`` entry, placed
    in pixels below a plot area ``plot_h`` high; every frame moves with ``redraw: False``."""
    play = {
        "frame": {"duration": int(frame_ms), "redraw": False},
        "transition": {"duration": 0},
        "mode": "immediate",
        "fromcurrent": True,
    }
    return {
        "updatemenus": [
            {
                "type": "buttons",
                "direction": "left",
                "x": 0.0,
                "y": -78 / plot_h,
                "xanchor": "left",
                "yanchor": "top",
                "showactive": False,
                "pad": {"r": 10, "t": 0},
                "font": {"size": FONT},
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {
                        "label": "❚❚ Pause",
                        "method": "animate",
                        "args": [[None], dict(play, frame={"duration": 0, "redraw": False})],
                    },
                    {
                        "label": "↺ Restart",
                        "method": "animate",
                        "args": [None, dict(play, fromcurrent=False)],
                    },
                ],
            }
        ],
        "sliders": [
            {
                "active": 0,
                "x": 0.32,
                "len": 0.68,
                "y": -58 / plot_h,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 0},
                "font": {"color": "rgba(0,0,0,0)", "size": 10},
                "ticklen": 3,
                "minorticklen": 0,
                "currentvalue": {
                    "prefix": "step ",
                    "font": {"size": FONT, "color": "#222"},
                    "xanchor": "left",
                },
                "steps": [
                    {
                        "label": str(s),
                        "method": "animate",
                        "args": [[str(s)], dict(play, frame={"duration": 0, "redraw": False})],
                    }
                    for s in frame_steps
                ],
            }
        ],
    }
