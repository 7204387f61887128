"""The effective-step panel's numbers: which steps float32 resolves, and a log range in
which a flat line looks flat (13.7: plain GD's flat η drew spikes)."""

from __future__ import annotations

import math
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


LABEL_EDGE = 0.1  # decades: a tick label nearer than this to the axis end is cut


def decade_range(*values, min_decades: float = 1.5) -> list[float] | None:
    """A log axis range (log10 units) over the finite positive ``values``, widened to at
    least ``min_decades`` around their geometric middle, and then to hold two decades at
    least ``LABEL_EDGE`` inside its ends: labelled one a decade, the axis reads with two
    labels, not one (a flat η at 10⁻² showed a lone "10⁻²"). None: nothing to show."""
    flat = np.concatenate([np.ravel(np.asarray(v, float)) for v in values])
    flat = flat[np.isfinite(flat) & (flat > 0)]
    if not flat.size:
        return None
    lo, hi = float(np.log10(flat.min())), float(np.log10(flat.max()))
    pad = max(0.1 * (hi - lo), (min_decades - (hi - lo)) / 2, 0.0)
    lo, hi = lo - pad, hi + pad
    if math.floor(hi - LABEL_EDGE) - math.ceil(lo + LABEL_EDGE) >= 1:
        return [lo, hi]
    # The narrowest widening that takes in a pair of neighbouring decades k, k + 1.
    pairs = range(math.floor(lo) - 1, math.ceil(hi) + 1)
    spans = [(min(lo, k - LABEL_EDGE), max(hi, k + 1 + LABEL_EDGE)) for k in pairs]
    lo, hi = min(spans, key=lambda s: s[1] - s[0])
    return [lo, hi]
