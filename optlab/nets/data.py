"""Small generated data sets for the deep-nets lab (NumPy, seeded; no downloads).

Each ``DataSpec`` draws ``(x [N, D], y [N])`` from its distribution; ``make`` draws a training
and a validation set from the same distribution (different random streams of one seed).
``wave`` with a dozen noisy points and a wide network is the set that overfits visibly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class DataSpec:
    name: str
    display: str
    task: str  # "classify" (y in {0, 1}, cross-entropy) | "regress" (MSE)
    d_in: int
    description: str
    draw: Callable[[np.random.Generator, int, float], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True, eq=False)
class Dataset:
    spec: DataSpec
    x: np.ndarray  # [N, D] float32
    y: np.ndarray  # [N] float32
    x_val: np.ndarray
    y_val: np.ndarray
    noise: float

    @property
    def task(self) -> str:
        return self.spec.task


def _spiral(rng, n, noise):
    label = rng.integers(0, 2, n)
    r = rng.uniform(0.1, 1.0, n)
    angle = 3.0 * np.pi * r + np.pi * label
    x = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1)
    return x + noise * rng.normal(size=x.shape), label


def _circles(rng, n, noise):
    label = rng.integers(0, 2, n)
    r = np.where(label == 1, 0.5, 1.0) + noise * rng.normal(size=n)
    angle = rng.uniform(0, 2 * np.pi, n)
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=1), label


def wave_function(x: np.ndarray) -> np.ndarray:
    """The true function behind ``wave``: ``sin(3x)``."""
    return np.sin(3.0 * x)


def _wave(rng, n, noise):
    x = rng.uniform(-1.0, 1.0, (n, 1))
    return x, wave_function(x[:, 0]) + noise * rng.normal(size=n)


DATASETS: dict[str, DataSpec] = {
    s.name: s
    for s in (
        DataSpec("spiral", "Two spirals", "classify", 2,
                 "two interleaved spiral arms, labels 0/1: needs a curved boundary", _spiral),
        DataSpec("circles", "Two circles", "classify", 2,
                 "an inner and an outer ring, labels 0/1", _circles),
        DataSpec("wave", "Noisy sine wave", "regress", 1,
                 "y = sin(3x) + noise, x in [-1, 1]: few points overfit a wide net", _wave),
    )
}  # fmt: skip


@lru_cache(maxsize=64)
def make(name: str, n: int, noise: float, seed: int = 0, n_val: int = 200) -> Dataset:
    """``n`` training and ``n_val`` validation points of data set ``name``."""
    spec = DATASETS[name]
    x, y = spec.draw(np.random.default_rng([seed, 0]), n, noise)
    xv, yv = spec.draw(np.random.default_rng([seed, 1]), n_val, noise)
    f32 = lambda a: np.ascontiguousarray(a, np.float32)  # noqa: E731
    return Dataset(spec, f32(x), f32(y), f32(xv), f32(yv), noise)
