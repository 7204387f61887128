"""Downloads: trajectories as CSV, a figure as standalone HTML, the race as an animated GIF."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from optlab.viz.colormap import decode_data_uri
from optlab.viz.paths import clip_path, clipped_exit

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from optlab.core.engine import Trajectory
    from optlab.viz.colormap import SurfaceImage
    from surfaces.base import Surface

CSV_COLUMNS = ("optimizer", "step", "x", "y", "loss", "grad_x", "grad_y", "update_x", "update_y",
               "lr", "diverged_at")  # fmt: skip


def _num(v) -> str:
    """A float32 written so that it parses back to the same float32 (empty if not finite)."""
    v = float(v)
    return f"{v:.9g}" if math.isfinite(v) else ""


def trajectories_csv(trajs: Sequence[Trajectory]) -> str:
    """All trajectories in long format, one row per (optimizer, step).

    Columns: ``optimizer, step, x, y, loss, grad_x, grad_y, update_x, update_y, lr,
    diverged_at``. Row ``t`` holds θ_t and loss(θ_t) and the gradient, update and lr *used at*
    step ``t``; the last row of each optimizer (the final point) has those three empty.
    ``diverged_at`` repeats the step whose result was NaN/inf (empty if the run stayed
    finite); non-finite numbers are written as empty cells.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for t in trajs:
        div = "" if t.diverged_at is None else str(t.diverged_at)
        for k in range(len(t.params)):
            p = t.params[k]
            row = [t.label, k, _num(p[0]), _num(p[1] if len(p) > 1 else np.nan), _num(t.loss[k])]
            if k < len(t.grad):
                g, u = t.grad[k], t.update[k]
                row += [_num(g[0]), _num(g[1]), _num(u[0]), _num(u[1]), _num(t.lr[k])]
            else:
                row += [""] * 5
            w.writerow([*row, div])
    return buf.getvalue()


def figure_html(fig: go.Figure) -> str:
    """A standalone HTML page with plotly.js embedded: no CDN, works offline (~4.8 MB)."""
    return fig.to_html(
        include_plotlyjs=True,
        include_mathjax=False,
        full_html=True,
        auto_play=False,
        config={"displaylogo": False, "responsive": True},
    )


def _runs(path: np.ndarray, ok: np.ndarray) -> list[list[tuple[float, float]]]:
    """The polyline split at gaps (``ok`` False) into pieces of two or more points."""
    pieces, cur = [], []
    for p, f in zip(path, ok, strict=True):
        if f:
            cur.append((float(p[0]), float(p[1])))
        else:
            pieces.append(cur)
            cur = []
    pieces.append(cur)
    return [c for c in pieces if len(c) > 1]


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: bitmap font, fixed size
        return ImageFont.load_default()


def animation_gif(
    surface: Surface,
    trajs: Sequence[Trajectory],
    image: SurfaceImage,
    frames: int = 40,
    size: int = 480,
    ms: int = 80,
) -> bytes:
    """The race as an animated GIF (``size``×``size``, ``frames`` frames, ``ms`` per frame).

    The background is the map image resized; each optimizer's path is drawn up to the frame's
    step in its colour, its current point as a dot; a step counter and a legend sit on top.
    Paths are clipped to a box around the map so a diverged run cannot overflow the drawing.
    """
    (x0, x1), (y0, y1) = surface.bounds
    bg = decode_data_uri(image.uri).resize((size, size), Image.Resampling.BILINEAR)
    scale = size / 480
    font = _font(max(10, round(16 * scale)))
    line_w = max(2, round(3 * scale))
    dot_r = max(3, round(6 * scale))

    def to_px(xy: np.ndarray) -> np.ndarray:
        px = (np.asarray(xy, np.float64)[:, 0] - x0) / (x1 - x0) * (size - 1)
        py = (y1 - np.asarray(xy, np.float64)[:, 1]) / (y1 - y0) * (size - 1)
        return np.clip(np.stack([px, py], axis=1), -4 * size, 5 * size)

    bounds = (x0, x1, y0, y1)
    paths = [to_px(clip_path(t.params[:, :2], bounds, far=1.0)) for t in trajs]
    ends = [to_px(clipped_exit(t.params[:, :2], bounds)[None])[0] for t in trajs]
    finite = [np.all(np.isfinite(p), axis=1) for p in paths]
    t_max = max((len(t.params) - 1 for t in trajs), default=0)
    n = max(1, min(int(frames), t_max + 1))
    steps = np.round(np.linspace(0, t_max, n)).astype(int)
    stars = to_px(np.array([[m.x, m.y] for m in surface.minima], np.float64).reshape(-1, 2))

    images = []
    for s in steps:
        im = bg.copy()
        draw = ImageDraw.Draw(im)
        for path, ok, t in zip(paths, finite, trajs, strict=True):
            k = min(int(s), len(path) - 1)
            for seg in _runs(path[: k + 1], ok[: k + 1]):
                draw.line(seg, fill=t.color, width=line_w, joint="curve")
        for sx, sy in stars:
            draw.regular_polygon((sx, sy, dot_r + 3), 5, fill="#ffd700", outline="black")
        for t, path, ok, end in zip(trajs, paths, finite, ends, strict=True):
            k = min(int(s), len(path) - 1)
            if ok[k]:
                cx, cy = path[k]
                box = (cx - dot_r, cy - dot_r, cx + dot_r, cy + dot_r)
                draw.ellipse(box, fill=t.color, outline="white", width=max(1, line_w // 2))
            if t.diverged_at is not None and s >= len(path) - 1:  # a cross: it blew up
                r = 2 * dot_r
                cx, cy = np.clip(end, (r, 24 * scale + r), (size - r, size - r))
                for color, width in (("black", line_w + 4), (t.color, line_w + 1)):
                    draw.line((cx - r, cy - r, cx + r, cy + r), fill=color, width=width)
                    draw.line((cx - r, cy + r, cx + r, cy - r), fill=color, width=width)
        draw.rectangle((0, 0, size, round(24 * scale)), fill=(255, 255, 255))
        draw.text((6, 3), f"step {int(s)}", fill="black", font=font)
        x = size
        for t in reversed(trajs):
            x -= draw.textlength(t.label, font=font) + 14 * scale
            draw.text((x, 3), t.label, fill=t.color, font=font)
        images.append(im.convert("P", palette=Image.Palette.ADAPTIVE, colors=255))
    buf = io.BytesIO()
    images[0].save(
        buf, format="GIF", save_all=True, append_images=images[1:], duration=int(ms), loop=0
    )
    return buf.getvalue()
