"""Per-run metrics for the results table and the tests: plain numpy over a ``Trajectory``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optlab.core.engine import Trajectory


def nearest_minimum_distance(point: np.ndarray, minima: Sequence) -> float:
    """Euclidean distance from ``point`` to the nearest of ``minima`` (``nan`` if none known)."""
    if not minima:
        return float("nan")
    pts = np.array([[m.x, m.y] for m in minima], np.float64)
    return float(np.min(np.linalg.norm(pts - np.asarray(point, np.float64), axis=1)))


def steps_to_tolerance(loss: np.ndarray, target: float, tol: float) -> int | None:
    """The first step ``t`` with ``loss[t] - target <= tol``, or ``None`` if never reached."""
    hit = np.flatnonzero(np.asarray(loss, np.float64) - target <= tol)
    return int(hit[0]) if hit.size else None


def path_length(params: np.ndarray) -> float:
    """Total distance travelled: the sum of ``‖θ_{t+1} − θ_t‖``."""
    return float(np.sum(np.linalg.norm(np.diff(np.asarray(params, np.float64), axis=0), axis=1)))


def summarize(traj: Trajectory, minima: Sequence = (), tol: float = 1e-3) -> dict:
    """One results-table row: final/best loss, distance to the nearest minimum, steps to
    ``tol`` above the best known minimum value, path length and divergence."""
    finite = traj.loss[np.isfinite(traj.loss)]
    values = [m.value for m in minima if m.value is not None]
    target = min(values) if values else 0.0
    return {
        "optimizer": traj.label,
        "final loss": float(traj.loss[-1]),
        "best loss": float(finite.min()) if finite.size else float("nan"),
        "distance to minimum": nearest_minimum_distance(traj.params[-1], minima),
        "steps to tolerance": steps_to_tolerance(traj.loss, target, tol),
        "path length": path_length(traj.params),
        "status": "ok" if traj.diverged_at is None else f"diverged at step {traj.diverged_at}",
    }
