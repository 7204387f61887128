"""The live race's data: every optimizer's path and loss over its learning-rate grid, packed
compactly for the browser (arrays in, bytes out; no Streamlit).

The page computes, once per structural change, one vmapped sweep per optimizer over the
values its learning-rate slider offers (``optlab.core.params.value_grid``: 61 values, 10 per
decade) and ships the result here as one binary blob; the in-page component
(``optlab.shell.race``) then redraws map, paths and loss curves for any slider position
without asking the server.

Layout of a blob (``pack`` / ``unpack``, little-endian)::

    uint32 n | n bytes of UTF-8 JSON header | zero padding to a multiple of 4 | arrays

The header's ``arrays`` lists ``[name, dtype, offset, count]`` for each array (offsets from
the start of the array section, 4-byte aligned), so JavaScript reads each as a typed-array
view without copying.

Per optimizer ``i`` over its grid of ``G`` learning rates (``race_arrays``):

- ``steps{i}``: ``int32[P - 1]``, the recorded step of each drawn point (``subsample``: the first
  half of the budget step by step, the rest evenly spread; at most ``P`` points per path, so
  the blob stays small whatever the step count);
- ``xy{i}``: ``float32[G, P, 2]`` and ``loss{i}``: ``float32[G, P]``, the point and the full
  loss at those steps; a run that diverged keeps the points up to its last finite step
  ``kept[g]`` and then that point itself, then NaN;
- ``kept{i}``: ``int32[G]``, the number of steps each run kept (the last finite point);
  ``div{i}``: ``int32[G]``, the step it diverged at (−1: never); ``final{i}``: ``float32[G]``,
  the loss at its last finite point (the sensitivity curve).

The drawn points are the engine's float32 values, unrounded: the path the page draws at
grid value η is ``engine.run`` at η.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from optlab.core.schedules import SCHEDULES
from optlab.viz.style import LossAxis, subsample

BUDGET_BYTES = 250_000  # the paths of one structural change, whatever the optimizer count
MIN_POINTS, MAX_POINTS = 61, 401
DTYPES = {"float32": np.float32, "int32": np.int32}


# ---------------------------------------------------------------------------------------------
# The blob.


def pack(header: Mapping, arrays: Mapping[str, np.ndarray] | None = None) -> bytes:
    """``header`` (JSON-ready) and ``arrays`` (float32 / int32) as one blob (see the module)."""
    parts, table, offset = [], [], 0
    for name, given in (arrays or {}).items():
        a = np.ascontiguousarray(given)
        dtype = a.dtype.name
        if dtype not in DTYPES:
            raise TypeError(f"array {name!r}: dtype {dtype} is not one of {sorted(DTYPES)}")
        raw = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        table.append([name, dtype, offset, int(a.size)])
        parts.append(raw)
        offset += len(raw)  # 4-byte items: offsets stay aligned
    head = json.dumps({**header, "arrays": table}, separators=(",", ":"), allow_nan=False)
    head_b = head.encode()
    pad = (-(4 + len(head_b))) % 4
    return b"".join([struct.pack("<I", len(head_b)), head_b, b" " * pad, *parts])


def unpack(blob: bytes) -> tuple[dict, dict[str, np.ndarray]]:
    """``pack``'s inverse (the tests read what the page sent with it)."""
    (n,) = struct.unpack_from("<I", blob)
    header = json.loads(blob[4 : 4 + n].decode())
    base = 4 + n + (-(4 + n)) % 4
    arrays = {
        name: np.frombuffer(blob, DTYPES[dtype], count, base + offset).copy()
        for name, dtype, offset, count in header.pop("arrays")
    }
    return header, arrays


def digest(*parts) -> str:
    """A short content key (what the browser caches a blob under)."""
    return hashlib.blake2b(repr(parts).encode(), digest_size=8).hexdigest()


def finite(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


# ---------------------------------------------------------------------------------------------
# The race over learning-rate grids.


def points_budget(n_optimizers: int, grid_size: int, steps: int) -> int:
    """Points per drawn path: the byte budget shared by every (optimizer, lr) path."""
    per_point = 12  # x, y, loss as float32
    fit = BUDGET_BYTES // max(1, n_optimizers * grid_size * per_point)
    return int(min(steps + 1, max(MIN_POINTS, min(MAX_POINTS, fit))))


def grid_index(grid: Sequence[float], value: float) -> int:
    """The grid position nearest ``value`` (log distance: the grids are log-spaced)."""
    g = np.log(np.maximum(np.asarray(grid, np.float64), 1e-300))
    return int(np.argmin(np.abs(g - math.log(max(float(value), 1e-300)))))


def race_arrays(
    i: int, params: np.ndarray, loss: np.ndarray, diverged_at: np.ndarray, steps: int, points: int
) -> dict[str, np.ndarray]:
    """Optimizer ``i``'s arrays (see the module) from its sweep over ``G`` learning rates:
    ``params [G, steps+1, D]``, ``loss [G, steps+1]``, ``diverged_at [G]`` (−1: never)."""
    G = params.shape[0]
    idx = subsample(steps + 1, points)
    points = len(idx) + 1  # one slot more: a diverged run's last finite point
    kept = np.where(diverged_at >= 0, diverged_at, steps).astype(np.int64)
    # ``engine.sweep`` freezes a diverged run at its last finite point: step ``kept`` holds it.
    at = np.take_along_axis(loss, kept[:, None], axis=1)[:, 0]
    bad = ~np.isfinite(at) & (kept > 0)
    kept = np.where(bad, kept - 1, kept)
    xy_GxPx2 = np.full((G, points, 2), np.nan, np.float32)
    loss_GxP = np.full((G, points), np.nan, np.float32)
    for g in range(G):
        m = int(np.searchsorted(idx, kept[g], side="right"))  # drawn points up to ``kept``
        rows = idx[:m] if idx[m - 1] == kept[g] else np.append(idx[:m], kept[g])
        xy_GxPx2[g, : len(rows)] = params[g, rows, :2]
        loss_GxP[g, : len(rows)] = loss[g, rows]
    final = np.take_along_axis(loss, kept[:, None], axis=1)[:, 0].astype(np.float32)
    return {
        f"steps{i}": idx.astype(np.int32),
        f"xy{i}": xy_GxPx2,
        f"loss{i}": loss_GxP,
        f"kept{i}": kept.astype(np.int32),
        f"div{i}": np.asarray(diverged_at, np.int32),
        f"final{i}": final,
    }


def grid_loss_axis(losses: Sequence[np.ndarray], diverged: Sequence[np.ndarray], minima_values,
                   log_loss: bool) -> LossAxis:  # fmt: skip
    """One fixed loss axis for every learning rate of every optimizer, so the curves move
    under a still axis while a slider is dragged: from the lowest loss any run reached to a
    decade (log) or half the start gap (linear) above the start; runs that blow up leave
    through the top."""
    fin = [v[np.isfinite(v)] for v in losses]
    allv = np.concatenate([v.ravel() for v in fin]) if fin else np.zeros(0)
    if allv.size == 0:
        return LossAxis("linear", 0.0, 0.0, 0.0, 1.0, "loss")
    start = float(np.nanmax([v[:, 0].max() for v in losses]))
    shift, title = 0.0, "loss (log scale)" if log_loss else "loss"
    if log_loss:
        if not (allv > 0).all():
            shift = float(min([*minima_values, allv.min()]))
            title = f"loss − f* (log), f* = {shift:.4g}" if shift else title
        y = allv - shift
        pos = y[y > 0]
        hi = max(start - shift, 1e-30) * 10.0
        lo = max(float(pos.min()) if pos.size else hi * 1e-6, hi * 1e-14, 1e-300)
        return LossAxis("log", shift, lo, lo, hi, title)
    ok = [v[~d.astype(bool)] for v, d in zip(losses, diverged, strict=True)]
    lo = float(min((np.nanmin(v) for v in ok if v.size), default=allv.min()))
    hi = start + 0.5 * max(start - lo, 1e-12)
    pad = 0.05 * (hi - lo)
    return LossAxis("linear", 0.0, 0.0, lo - pad, hi + pad, title)


def axis_header(ax: LossAxis) -> dict:
    return {"log": ax.type == "log", "shift": ax.shift, "floor": ax.floor,
            "lo": ax.lo_data, "hi": ax.hi_data, "title": ax.title}  # fmt: skip


def race_data(
    sweeps: Sequence,
    grids: Sequence[Sequence[float]],
    labels: Sequence[Sequence[str]],
    surface,
    start: Sequence[float],
    steps: int,
    *,
    log_loss: bool = True,
    equal: bool = True,
    axis_titles: tuple[str, str] = ("x", "y"),
) -> tuple[dict, dict[str, np.ndarray]]:
    """The race's header part and arrays (``pack``) from one sweep per optimizer over its
    learning-rate grid (``engine.SweepResult``-like: ``name``, ``label``, ``color``,
    ``params [G, steps+1, D]``, ``loss [G, steps+1]``, ``diverged_at [G]``) on ``surface``.
    """
    G = max((len(g) for g in grids), default=1)
    points = points_budget(len(sweeps), G, steps)
    arrays: dict[str, np.ndarray] = {}
    opts = []
    for i, (s, grid, names) in enumerate(zip(sweeps, grids, labels, strict=True)):
        arrays.update(race_arrays(i, s.params, s.loss, s.diverged_at, steps, points))
        opts.append({"name": s.name, "label": s.label, "color": s.color,
                     "grid": [float(v) for v in grid], "labels": list(names)})  # fmt: skip
    minima = [m.value for m in surface.minima if m.value is not None]
    ax = grid_loss_axis([s.loss for s in sweeps], [s.diverged_at >= 0 for s in sweeps],
                        minima, log_loss)  # fmt: skip
    marks = [[float(p.x), float(p.y), "global"] for p in surface.minima]
    marks += [[float(p.x), float(p.y), "local"] for p in surface.local_minima]
    marks.append([float(start[0]), float(start[1]), "start"])
    (x0, x1), (y0, y1) = surface.bounds
    meta = {
        "steps": int(steps), "points": len(arrays["steps0"]) + 1 if sweeps else points,
        "opts": opts, "axis": axis_header(ax),
        "bounds": [float(x0), float(x1), float(y0), float(y1)], "landmarks": marks,
        "equal": bool(equal), "axis_titles": list(axis_titles),
    }  # fmt: skip
    return meta, arrays


def seed_race_data(
    sweeps: Sequence, seeds: int, grids: Sequence[Sequence[float]],
    labels: Sequence[Sequence[str]], surface, start: Sequence[float], steps: int, *,
    log_loss: bool = True, equal: bool = True, axis_titles: tuple[str, str] = ("x", "y"),
    sample: bool = False, points: int = 61,
) -> tuple[dict, dict[str, np.ndarray]]:  # fmt: skip
    """``race_data`` for K seeds per learning rate (the Data & SGD page): each sweep's rows
    are (lr, seed) pairs, lr-major (``engine.sweep`` over a grid × ``range(K)``). Per optimizer
    ``i`` the mean path and mean full loss over the seeds take the places of the single run
    (``xy{i}``, ``loss{i}``, ``final{i}``: the mean final loss), and

    - ``lstd{i}``: ``float32[G, P]``, the full loss's standard deviation over the seeds (the
      band, mean ± one std);
    - ``smean{i}``: ``float32[G, P]``, the mean mini-batch loss each step saw (with ``sample``);
    - ``ends{i}``: ``float32[G, K, 2]``, every seed's final point (the noise ball);
    - ``ndiv{i}``: ``int32[G]``, how many seeds diverged.
    """
    arrays: dict[str, np.ndarray] = {}
    opts = []
    for i, (s, grid, names) in enumerate(zip(sweeps, grids, labels, strict=True)):
        G = len(grid)
        params = s.params.reshape(G, seeds, steps + 1, -1)
        loss = np.asarray(s.loss, np.float64).reshape(G, seeds, steps + 1)
        div = np.asarray(s.diverged_at).reshape(G, seeds)
        with np.errstate(invalid="ignore", over="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all seeds diverged: NaN
            mean_xy = np.nanmean(params, axis=1)
            mean_loss, std_loss = np.nanmean(loss, axis=1), np.nanstd(loss, axis=1)
        base = race_arrays(i, mean_xy, mean_loss, np.full(G, -1), steps, points)
        idx = base[f"steps{i}"]
        P = base[f"xy{i}"].shape[1]
        lstd = np.full((G, P), np.nan, np.float32)
        lstd[:, : len(idx)] = std_loss[:, idx]
        arrays.update(base)
        arrays[f"lstd{i}"] = lstd
        if sample:
            seen = np.asarray(s.sample_loss, np.float64).reshape(G, seeds, steps)
            seen = np.concatenate([seen, loss[:, :, -1:]], axis=2)  # the last step: full loss
            smean = np.full((G, P), np.nan, np.float32)
            with np.errstate(invalid="ignore", over="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                smean[:, : len(idx)] = np.nanmean(seen, axis=1)[:, idx]
            arrays[f"smean{i}"] = smean
        arrays[f"ends{i}"] = params[:, :, -1, :2].astype(np.float32)
        arrays[f"ndiv{i}"] = (div >= 0).sum(axis=1).astype(np.int32)
        opts.append({"name": s.name, "label": s.label, "color": s.color,
                     "grid": [float(v) for v in grid], "labels": list(names)})  # fmt: skip
    minima = [m.value for m in surface.minima if m.value is not None]
    means = [arrays[f"loss{i}"] for i in range(len(sweeps))]
    ax = grid_loss_axis(means, [np.zeros(m.shape, bool) for m in means], minima, log_loss)
    marks = [[float(p.x), float(p.y), "global"] for p in surface.minima]
    marks.append([float(start[0]), float(start[1]), "start"])
    (x0, x1), (y0, y1) = surface.bounds
    meta = {
        "steps": int(steps), "points": len(arrays["steps0"]) + 1 if sweeps else points,
        "opts": opts, "axis": axis_header(ax), "seeds": int(seeds), "sample": bool(sample),
        "bounds": [float(x0), float(x1), float(y0), float(y1)], "landmarks": marks,
        "equal": bool(equal), "axis_titles": list(axis_titles),
    }  # fmt: skip
    return meta, arrays


def add_schedule(
    meta: dict, arrays: dict[str, np.ndarray], schedule: str, steps: int, params=None
) -> None:
    """Ship the learning-rate schedule's multiplier η(t)/η per step (``sched``) when it is
    not constant: the race draws it under the loss curves on the same step axis."""
    spec = SCHEDULES.get(schedule)
    if spec is None or schedule == "constant":
        return
    arrays["sched"] = np.asarray(spec.multipliers(int(steps), **dict(params or {})), np.float32)
    meta["schedule"] = spec.display.lower()
