"""Hyperparameters as the UI shows them, and the value grids their sliders offer.

Every float control is a select-slider over nice values, so a link's value is snapped to the
same grid the widget offers (and the round trip is exact). ``snap_grid`` is the one snapping
rule; ``snap`` applies it to a hyperparameter's own grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class HParam:
    """One hyperparameter as the UI shows it.

    ``kind`` is ``"float"`` (a slider, log-scaled if ``log``) or ``"bool"`` (a toggle; the
    optimizer receives it as 0.0 / 1.0 so it can be traced).
    """

    name: str
    label: str
    default: float
    low: float = 0.0
    high: float = 1.0
    log: bool = False
    kind: str = "float"
    symbol: str = ""
    help: str = ""

    def clip(self, value: float) -> float:
        """The value forced into ``[low, high]`` (bools into {0, 1})."""
        if self.kind == "bool":
            return 1.0 if value else 0.0
        return min(max(float(value), self.low), self.high)


def _round_sig(v: float, digits: int = 6) -> float:
    return float(f"{v:.{digits}g}")


@lru_cache(maxsize=512)
def value_grid(h: HParam) -> tuple[float, ...]:
    """The values a slider for ``h`` offers: log-spaced (10 per decade) or linear (~100
    steps, plus 0.95 … 0.9999 near 1 for decay rates); always with low, high and default."""
    if h.kind == "bool":
        return (0.0, 1.0)
    values = {h.low, h.high, h.default}
    if h.log and h.low > 0:
        mantissas = (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
        for e in range(math.floor(math.log10(h.low)), math.ceil(math.log10(h.high)) + 1):
            values.update(m * 10.0**e for m in mantissas)
    else:
        raw = (h.high - h.low) / 100
        mag = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
        step = next((m * mag for m in (1, 2, 5, 10) if m * mag >= raw), 10 * mag)
        n = math.floor((h.high - h.low) / step + 1e-9)
        values.update(h.low + i * step for i in range(n + 1))
        values.update((0.95, 0.98, 0.99, 0.995, 0.999, 0.9995, 0.9999))
    lo, hi = h.low * (1 - 1e-9), h.high * (1 + 1e-9) if h.high > 0 else h.high
    return tuple(sorted({_round_sig(v) for v in values if lo <= v <= hi}))


def snap_grid(grid: Sequence[float], value: float, log: bool = False, below: bool = False) -> float:
    """The grid value nearest ``value`` (in log distance when ``log`` and both positive);
    with ``below``, the largest grid value not above ``value`` (the smallest if none is)."""
    if below:
        under = [g for g in grid if g <= value * (1 + 1e-9)]
        return max(under) if under else min(grid)
    if log and value > 0:
        return min(grid, key=lambda g: abs(math.log(g) - math.log(value)) if g > 0 else math.inf)
    return min(grid, key=lambda g: abs(g - value))


def snap(h: HParam, value: float, below: bool = False) -> float:
    """The value on ``h``'s slider grid nearest ``value`` (in log distance on log grids); with
    ``below``, the nearest grid value not above it."""
    if h.kind == "bool":
        return 1.0 if value else 0.0
    return snap_grid(value_grid(h), value, log=h.log and h.low > 0, below=below)
