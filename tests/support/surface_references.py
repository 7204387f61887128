"""Independent references for ``test_surfaces``, typed from the published formulas and papers
(not from the ``surfaces`` modules): each surface's formula in NumPy (``REFERENCE``), its
published minima and other points (``LITERATURE``), and the teaching set that must be there
(``REQUIRED``)."""

from __future__ import annotations

import numpy as np


def _softplus_relu(z, k=50.0):
    return np.logaddexp(0.0, k * z) / k


def _st(u):
    return u**4 - 16 * u**2 + 5 * u


REFERENCE = {
    "bowl": lambda x, y, p: (x * x + y * y) / 2,
    "ravine": lambda x, y, p: (x * x + p["kappa"] * y * y) / 2,
    "booth": lambda x, y, p: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "matyas": lambda x, y, p: 0.26 * (x * x + y * y) - 0.48 * x * y,
    "saddle": lambda x, y, p: x * x - y * y + y**4 / 4,
    "cliff": lambda x, y, p: (
        0.2 * x
        - 40 * _softplus_relu(-x)
        + 40 * _softplus_relu(-x - 0.5)
        + _softplus_relu(-x - 0.5) ** 2 / 8
        + 0.1 * y * y
    ),
    "rosenbrock": lambda x, y, p: (1 - x) ** 2 + p["b"] * (y - x * x) ** 2,
    "beale": lambda x, y, p: (
        (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y**3) ** 2
    ),
    "himmelblau": lambda x, y, p: (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
    "three_hump_camel": lambda x, y, p: 2 * x * x - 1.05 * x**4 + x**6 / 6 + x * y + y * y,
    "six_hump_camel": lambda x, y, p: (
        (4 - 2.1 * x * x + x**4 / 3) * x * x + x * y + (-4 + 4 * y * y) * y * y
    ),
    "goldstein_price": lambda x, y, p: (
        (1 + (x + y + 1) ** 2 * (19 - 14 * x + 3 * x * x - 14 * y + 6 * x * y + 3 * y * y))
        * (
            30
            + (2 * x - 3 * y) ** 2 * (18 - 32 * x + 12 * x * x + 48 * y - 36 * x * y + 27 * y * y)
        )
    ),
    "styblinski_tang": lambda x, y, p: (_st(x) + _st(y)) / 2,
    "rastrigin": lambda x, y, p: (
        20 + x * x - 10 * np.cos(2 * np.pi * x) + y * y - 10 * np.cos(2 * np.pi * y)
    ),
    "ackley": lambda x, y, p: (
        -20 * np.exp(-0.2 * np.sqrt((x * x + y * y) / 2))
        - np.exp((np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y)) / 2)
        + np.e
        + 20
    ),
}

# Published global minima (and a few other published points) with the digits they were published
# to: (x, y, f, tolerance on x and y, tolerance on f). The saddle and cliff are this project's own
# (their minima follow in closed form). Typed independently of the modules.
LITERATURE = {
    "bowl": {"minima": [(0, 0, 0, 0, 0)]},
    "ravine": {"minima": [(0, 0, 0, 0, 0)]},
    "booth": {"minima": [(1, 3, 0, 0, 0)]},
    "matyas": {"minima": [(0, 0, 0, 0, 0)]},
    "saddle": {"minima": [(0, 2**0.5, -1, 1e-15, 0), (0, -(2**0.5), -1, 1e-15, 0)]},
    "cliff": {"minima": [(-1.3, 0, -20.18, 1e-12, 1e-12)]},
    "rosenbrock": {"minima": [(1, 1, 0, 0, 0)]},
    "beale": {"minima": [(3, 0.5, 0, 0, 0)]},
    "himmelblau": {
        "minima": [
            (3, 2, 0, 0, 0),
            (-2.805118, 3.131312, 0, 1e-6, 1e-12),
            (-3.779310, -3.283186, 0, 1e-6, 1e-12),
            (3.584428, -1.848126, 0, 1e-6, 1e-12),
        ],
        "local_maxima": [(-0.270845, -0.923039, 181.617, 1e-6, 1e-3)],
    },
    "three_hump_camel": {"minima": [(0, 0, 0, 0, 0)]},
    "six_hump_camel": {
        "minima": [(0.0898, -0.7126, -1.0316, 1e-4, 1e-4), (-0.0898, 0.7126, -1.0316, 1e-4, 1e-4)]
    },
    "goldstein_price": {
        "minima": [(0, -1, 3, 0, 0)],
        "local_minima": [(-0.6, -0.4, 30, 1e-12, 1e-9), (1.8, 0.2, 84, 1e-12, 1e-9)],
    },
    "styblinski_tang": {"minima": [(-2.903534, -2.903534, -78.33234, 1e-6, 1e-5)]},
    "rastrigin": {"minima": [(0, 0, 0, 0, 0)]},
    "ackley": {"minima": [(0, 0, 0, 0, 0)]},
}

REQUIRED = {
    "bowl", "ravine", "saddle", "cliff", "rosenbrock", "beale", "himmelblau", "booth", "matyas",
    "three_hump_camel", "six_hump_camel", "goldstein_price", "rastrigin", "ackley",
    "styblinski_tang",
}  # fmt: skip
