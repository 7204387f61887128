"""The effective-step panel's numbers: which steps float32 resolves, and a log range in
which a flat line looks flat (13.7: plain GD's flat η drew spikes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from optlab.core.engine import Trajectory


RESOLVED_ULPS = 100  # |Δθᵢ| must span this many float32 spacings of θᵢ to be drawn (1 % error)


def resolved_eff_step(traj: Trajectory) -> np.ndarray:
    """``traj.eff_step`` where it means something: NaN where the move ``|Δθᵢ|`` is too small
    for float32 to resolve next to ``θᵢ`` (fewer than ``RESOLVED_ULPS`` spacings). There
    ``Δθ = θ_{t+1} − θ_t`` is rounding noise, and plain GD's flat η showed spikes (13.7)."""
    n = len(traj.update)
    theta = np.abs(np.asarray(traj.params[: n + 1], np.float32))
    spacing = np.spacing(np.maximum(theta[:n], theta[1 : n + 1]))
    ok = np.abs(traj.update) >= RESOLVED_ULPS * spacing
    return np.where(ok, traj.eff_step, np.nan)


def decade_range(*values, min_decades: float = 1.5) -> list[float] | None:
    """A log axis range (log10 units) over the finite positive ``values``, widened to at
    least ``min_decades`` around their geometric middle (None: nothing to show)."""
    flat = np.concatenate([np.ravel(np.asarray(v, float)) for v in values])
    flat = flat[np.isfinite(flat) & (flat > 0)]
    if not flat.size:
        return None
    lo, hi = float(np.log10(flat.min())), float(np.log10(flat.max()))
    pad = max(0.1 * (hi - lo), (min_decades - (hi - lo)) / 2, 0.0)
    return [lo - pad, hi + pad]
