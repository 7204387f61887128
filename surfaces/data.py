"""Data-driven 2-parameter losses: linear regression (MSE) and logistic regression (cross-entropy)
over ``θ = (w, b)``, on data sets generated in code, with true mini-batch gradients.

The data set lives in ``theta`` (traced arrays padded to ``MAX_POINTS`` with a mask), so changing
the number of points, the noise, the feature scale, standardisation, the data seed or the batch
size never recompiles. Mini-batches are drawn *without replacement within an epoch* and reshuffled
every epoch, inside the engine's scan: epoch ``e`` visits the points in the order
``k ↦ (a_e k + c_e) mod n`` (``a_e`` a prime larger than ``MAX_POINTS``, hence coprime with ``n``,
``c_e`` uniform — a fresh random affine permutation per epoch), and step ``s`` of the epoch takes
positions ``[s B, (s + 1) B)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from optlab.core.params import HParam
from surfaces.base import Point, Surface

MAX_POINTS = 2000
GATHER_SIZES = (16, 128)  # static gather widths; larger batches use a masked pass over all points
LOSS_CHUNK = 250  # ``losses`` sums the data in chunks of this many points, up to ``n``
assert MAX_POINTS % LOSS_CHUNK == 0
# The epoch multipliers a: primes above MAX_POINTS, hence coprime with every n.
PRIMES = (2003, 2011, 2017, 2027, 2029, 2039, 2053, 2063, 2069, 2081, 2083, 2087)
PRIMES += (2089, 2099, 2111, 2113, 2129, 2131, 2137, 2141, 2143, 2153, 2161, 2179)
_PRIMES = jnp.asarray(PRIMES, jnp.int32)

DATA_PARAMS = (
    HParam("n_points", "number of points n", 200, 10, MAX_POINTS, log=True),
    HParam("noise", "noise σ", 0.5, 0.0, 3.0),
    HParam("scale", "feature scale s", 3.0, 0.1, 10.0, log=True),
    HParam("offset", "feature offset μ", 4.0, -10.0, 10.0),
    HParam("standardize", "standardize features", 0.0, kind="bool"),
    HParam("data_seed", "data seed", 0, 0, 9999),
    HParam("batch_size", "batch size B", 16, 1, MAX_POINTS, log=True),
)


def _mse(pred, y):
    return 0.5 * (pred - y) ** 2


def _bce(logit, y):
    """Cross-entropy of a logit against a 0/1 label, stable for large |logit|."""
    return jax.nn.softplus(logit) - y * logit


def _sample_linear(rng: np.random.Generator, x: np.ndarray, noise: float) -> np.ndarray:
    return 2.0 * x - 1.0 + noise * rng.standard_normal(x.shape)


def _sample_logistic(rng: np.random.Generator, x: np.ndarray, noise: float) -> np.ndarray:
    logit = 2.0 * x - 1.0 + noise * rng.standard_normal(x.shape)
    return (rng.uniform(size=x.shape) < 1.0 / (1.0 + np.exp(-logit))).astype(np.float64)


@dataclass(frozen=True, eq=False)
class DataLoss:
    """A 2-parameter model ``pred = w x + b`` trained on a generated data set.

    The engine sees ``loss`` (the full-data loss, drawn on the map) and ``sample_loss`` (the
    mini-batch loss whose gradient the optimizers follow).
    """

    name: str
    display: str
    latex: str
    pointwise: Callable[[jax.Array, jax.Array], jax.Array]
    sample: Callable[[np.random.Generator, np.ndarray, float], np.ndarray]
    description: str
    params: tuple[HParam, ...] = DATA_PARAMS
    stochastic: bool = True
    lr_hint: float = 0.01

    def data(self, **controls: float) -> dict[str, np.ndarray]:
        """The data set for these controls (numpy, unpadded): ``x``, ``y`` and the raw ``x``."""
        c = {p.name: p.clip(controls.get(p.name, p.default)) for p in self.params}
        n = round(c["n_points"])
        rng = np.random.default_rng(int(c["data_seed"]))
        x_raw = c["offset"] + c["scale"] * rng.standard_normal(n)
        x_std = (x_raw - x_raw.mean()) / max(x_raw.std(), 1e-12)
        y = self.sample(rng, x_std, c["noise"])
        x = x_std if c["standardize"] else x_raw
        return {"x": x, "y": y, "x_raw": x_raw, "batch_size": min(int(c["batch_size"]), n)}

    def theta(self, **controls: float) -> dict[str, jax.Array]:
        """The traced view: data padded to ``MAX_POINTS`` with a mask, and the batch size."""
        d = self.data(**controls)
        n = len(d["x"])
        pad = MAX_POINTS - n
        return {
            "x": jnp.asarray(np.pad(d["x"], (0, pad)), jnp.float32),
            "y": jnp.asarray(np.pad(d["y"], (0, pad)), jnp.float32),
            "mask": jnp.asarray(np.arange(MAX_POINTS) < n, jnp.float32),
            "n": jnp.asarray(n, jnp.int32),
            "batch": jnp.asarray(d["batch_size"], jnp.int32),
            "prime_inv": jnp.asarray([pow(int(p), -1, n) for p in PRIMES], jnp.int32),
        }

    def loss(self, wb: jax.Array, theta: Mapping[str, jax.Array]) -> jax.Array:
        per_point = self.pointwise(wb[0] * theta["x"] + wb[1], theta["y"])
        return jnp.sum(theta["mask"] * per_point) / theta["n"]

    def losses(self, wb_k: jax.Array, theta: Mapping[str, jax.Array]) -> jax.Array:
        """``loss`` at many points ``wb_k [K, 2]`` at once, for recording (forward only): a
        loop over chunks of the data that stops after the ``n`` real points, so a small data
        set does not pay for the padding up to ``MAX_POINTS``."""

        def chunk(i, total):
            part = {k: jax.lax.dynamic_slice(theta[k], (i * LOSS_CHUNK,), (LOSS_CHUNK,))
                    for k in ("x", "y", "mask")}  # fmt: skip
            per = self.pointwise(wb_k[:, :1] * part["x"] + wb_k[:, 1:], part["y"])
            return total + jnp.sum(part["mask"] * per, axis=1)

        chunks = (theta["n"] + LOSS_CHUNK - 1) // LOSS_CHUNK
        zero = jnp.zeros(wb_k.shape[0], jnp.float32)
        return jax.lax.fori_loop(0, chunks, chunk, zero) / theta["n"]

    def batch_positions(self, theta, step, bits) -> tuple[jax.Array, jax.Array, jax.Array]:
        """``(a, c, first position)`` of the mini-batch taken at ``step``: epoch ``e`` orders
        the points ``k ↦ (a k + c) mod n`` with ``a, c`` from the run's random ``bits[e]``."""
        a, _, c, first = self._positions(theta, step, bits)
        return a, c, first

    def _positions(self, theta, step, bits):
        """``(a, a⁻¹ mod n, c, first)`` for ``step`` (see ``batch_positions``)."""
        n, b = theta["n"], theta["batch"]
        per_epoch = (n + b - 1) // b
        epoch, within = step // per_epoch, step % per_epoch
        j = (bits[epoch, 0] % len(PRIMES)).astype(jnp.int32)
        c = (bits[epoch, 1] % n.astype(jnp.uint32)).astype(jnp.int32)
        return _PRIMES[j], theta["prime_inv"][j], c, within * b

    def _branches(self, theta, step, bits):
        """The mini-batch loss of ``step`` as ``(branch, functions of wb)``: a gather of a
        static width (the smallest of ``GATHER_SIZES`` that holds the batch), a masked pass
        over all points for larger batches, or the plain full loss when the batch is the whole
        data set (batch gradient descent) — ``lax.switch`` runs only the chosen one."""
        a, a_inv, c, first = self._positions(theta, step, bits)
        n, b = theta["n"], theta["batch"]
        size = jnp.minimum(b, n - first)

        def gathered(width):
            def f(wb):
                k = first + jnp.arange(width, dtype=jnp.int32)
                idx = (a * k + c) % n
                x = theta["x"].at[idx].get(mode="promise_in_bounds")
                y = theta["y"].at[idx].get(mode="promise_in_bounds")
                w = (jnp.arange(width) < size).astype(jnp.float32)
                return jnp.sum(w * self.pointwise(wb[0] * x + wb[1], y)) / size

            return f

        def masked(wb):
            i = jnp.arange(MAX_POINTS, dtype=jnp.int32)
            rank = (a_inv * ((i - c) % n)) % n  # position of point i in the epoch's order
            w = theta["mask"] * ((rank >= first) & (rank < first + size))
            return jnp.sum(w * self.pointwise(wb[0] * theta["x"] + wb[1], theta["y"])) / size

        def full(wb):
            return self.loss(wb, theta)

        gather = jnp.searchsorted(jnp.asarray(GATHER_SIZES), b)
        branch = jnp.where(b >= n, len(GATHER_SIZES) + 1, gather)
        return branch, [*(gathered(g) for g in GATHER_SIZES), masked, full]

    def sample_loss(self, wb, theta, step, bits) -> jax.Array:
        """Mean loss over the mini-batch of ``step`` (without replacement within the epoch)."""
        branch, fns = self._branches(theta, step, bits)
        return jax.lax.switch(branch, fns, wb)

    def sample_value_and_grad(self, wb, theta, step, bits) -> tuple[jax.Array, jax.Array]:
        """``sample_loss`` and its gradient in ``wb``, each branch differentiated on its own
        (differentiating through the switch would carry every branch's residuals — a masked
        pass's ``[MAX_POINTS]`` arrays — out of it on every step, twice the time here)."""
        branch, fns = self._branches(theta, step, bits)
        return jax.lax.switch(branch, [jax.value_and_grad(f) for f in fns], wb)

    def optimum(self, **controls: float) -> np.ndarray:
        """The full-data minimiser ``(w*, b*)``, by Newton's method in float64."""
        d = self.data(**controls)
        x, y = d["x"], d["y"]
        design = np.stack([x, np.ones_like(x)], 1)
        wb = np.linalg.lstsq(design, y, rcond=None)[0] if self.name == "linreg" else np.zeros(2)
        if self.name != "linreg":
            for _ in range(50):
                p = 1 / (1 + np.exp(-(design @ wb)))
                hess = design.T @ (design * (p * (1 - p))[:, None]) / len(x) + 1e-9 * np.eye(2)
                wb = wb - np.linalg.solve(hess, design.T @ (p - y) / len(x))
        return wb

    def view(self, **controls: float) -> Surface:
        """A ``Surface`` for drawing: the full-data loss over a box around the optimum."""
        theta = self.theta(**controls)
        w, b = self.optimum(**controls)
        span_w = max(3.0, 1.5 * abs(w))
        span_b = max(3.0, 1.5 * abs(b))
        fmin = float(self.loss(jnp.asarray([w, b], jnp.float32), theta))

        def fn(x, y, p):
            del p
            pts = self.pointwise(x[..., None] * theta["x"] + y[..., None], theta["y"])
            return jnp.sum(theta["mask"] * pts, axis=-1) / theta["n"]

        return Surface(
            name=self.name,
            display=self.display,
            latex=self.latex,
            fn=fn,
            bounds=((w - span_w, w + span_w), (b - span_b, b + span_b)),
            minima=(Point(float(w), float(b), "full-data minimum", fmin),),
            starts=(Point(w - 0.8 * span_w, b + 0.8 * span_b),),
            log_color=True,
            lr_hint=self.lr_hint,
            description=self.description,
        )


LINREG = DataLoss(
    name="linreg",
    display="Linear regression (MSE)",
    latex=r"L(w, b) = \frac{1}{2n}\sum_i (w x_i + b - y_i)^2",
    pointwise=_mse,
    sample=_sample_linear,
    description="Fit y = w x + b. Unstandardised features with a large offset stretch the bowl "
    "into a ravine; standardising makes it round.",
    lr_hint=0.01,
)

LOGREG = DataLoss(
    name="logreg",
    display="Logistic regression (cross-entropy)",
    latex=r"L(w, b) = \frac1n\sum_i \log(1 + e^{w x_i + b}) - y_i (w x_i + b)",
    pointwise=_bce,
    sample=_sample_logistic,
    description="Classify y ∈ {0, 1} with p = σ(w x + b). The loss is convex but flat far out.",
    lr_hint=0.05,
)

DATA_LOSSES = {d.name: d for d in (LINREG, LOGREG)}
