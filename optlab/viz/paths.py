"""Paths clipped for drawing (pure NumPy): a run that flies off the map (or to 1e30) stays
drawable, its steps keep their indexes, and its end is marked where it last left the map."""

from __future__ import annotations

import numpy as np


def _inside(xy: np.ndarray, box) -> np.ndarray:
    """Which points (rows of ``xy``, x and y first) are finite and inside ``box``."""
    x0, x1, y0, y1 = box
    x, y = xy[:, 0], xy[:, 1]
    with np.errstate(invalid="ignore"):
        inside = (x0 <= x) & (x <= x1) & (y0 <= y) & (y <= y1)
    return np.isfinite(xy).all(axis=1) & inside


def segment_exit(p: np.ndarray, q: np.ndarray, box) -> np.ndarray:
    """Where the segment from ``p`` (inside ``box``) to ``q`` (outside) crosses the box edge."""
    lo = np.array([box[0], box[2]], np.float64)
    hi = np.array([box[1], box[3]], np.float64)
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    d = q - p
    t = 1.0
    for a in range(2):
        if q[a] > hi[a] and d[a] != 0:
            t = min(t, (hi[a] - p[a]) / d[a])
        elif q[a] < lo[a] and d[a] != 0:
            t = min(t, (lo[a] - p[a]) / d[a])
    return p + max(t, 0.0) * d


def clip_path(xy: np.ndarray, bounds, far: float = 10.0) -> np.ndarray:
    """The path with points beyond ``far`` spans outside ``bounds`` cut at that far box.

    Indexes are kept (point ``i`` is still step ``i``): the first point of an excursion becomes
    the exit point on the far box, the last one the re-entry point, the rest NaN (a gap).
    Inside the far box nothing changes; it only keeps a run that flew off (1e30) drawable.
    """
    x0, x1, y0, y1 = bounds
    sx, sy = far * (x1 - x0), far * (y1 - y0)
    box = (x0 - sx, x1 + sx, y0 - sy, y1 + sy)
    xy = np.array(xy, np.float64)
    out = xy.copy()
    ins = _inside(xy, box)
    for i in np.flatnonzero(~ins):
        out[i] = np.nan
        if not np.all(np.isfinite(xy[i])):
            continue
        if i > 0 and ins[i - 1]:
            out[i] = segment_exit(xy[i - 1], xy[i], box)
        elif i + 1 < len(xy) and ins[i + 1]:
            out[i] = segment_exit(xy[i + 1], xy[i], box)
    return out


def clipped_exit(xy: np.ndarray, bounds) -> np.ndarray:
    """Where a path finally is: its last point if on the map, else where it last left the map."""
    xy = np.asarray(xy, np.float64)
    ins = _inside(xy, bounds)
    last = xy[-1]
    if ins[-1] or not ins.any():
        x0, x1, y0, y1 = bounds
        return np.array([np.clip(last[0], x0, x1), np.clip(last[1], y0, y1)])
    i = int(np.flatnonzero(ins)[-1])
    return segment_exit(xy[i], xy[i + 1], bounds)
