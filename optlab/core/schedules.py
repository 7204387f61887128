"""Learning-rate schedules as plain functions of the step count, and the ``SCHEDULES`` registry.

Each factory validates its arguments up front and returns a closure ``schedule(count) -> value``
that is ``jnp``-traceable in ``count`` (a Python int, an int array or a tracer inside ``jit`` /
``lax.scan``); values are float32. Numeric arguments (``init_value``, ``gamma`` ...) may also be
traced JAX scalars: they are then not validated (a tracer has no value to check). Each factory
names the optax schedule it matches; ``tests/core/test_schedules.py`` checks the parity.

The registry describes schedules *relative to a run*: ``SCHEDULES["cosine"].multipliers(steps,
alpha=0.1)`` is a float32 array ``[steps]`` of learning-rate multipliers (peak 1), which the
engine multiplies into each optimizer's own learning rate inside its scan. The array is data, not
code, so moving a schedule slider never recompiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optlab.core.params import HParam

Schedule = Callable[[Any], jax.Array]


# ---------------------------------------------------------------------------------------------
# Argument checks (only on concrete values; tracers pass through unchecked).


def _concrete(value: Any) -> float | None:
    """``value`` as a Python float, or ``None`` when it is traced (no value to check)."""
    try:
        return float(np.asarray(value))
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError):
        return None


def _int_arg(name: str, value: Any, minimum: int = 1) -> int:
    """A step count argument: an integer (``100`` or ``100.0``) that is ``>= minimum``."""
    ok = not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating)
    if ok and math.isfinite(value) and float(value).is_integer() and value >= minimum:
        return int(value)
    kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
    raise ValueError(f"{name} must be {kind}, got {value!r}")


def _check(name: str, value: Any, ok: Callable[[float], bool], what: str) -> None:
    v = _concrete(value)
    if v is not None and not (math.isfinite(v) and ok(v)):
        raise ValueError(f"{name} must be {what}, got {value!r}")


def _count(count: Any) -> jax.Array:
    return jnp.asarray(count, jnp.float32)


# ---------------------------------------------------------------------------------------------
# Absolute schedules.


def constant_schedule(value: float | jax.Array) -> Schedule:
    """``value`` at every step (shaped like ``count``). Matches ``optax.constant_schedule``."""
    _check("value", value, lambda v: True, "a finite number")
    return lambda count: jnp.zeros(jnp.shape(count), jnp.float32) + value


def step_decay(init_value: float | jax.Array, step_size: int, gamma: float | jax.Array) -> Schedule:
    r"""Piecewise-constant decay: multiply by ``gamma`` every ``step_size`` steps.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / s \rfloor}

    Matches ``optax.exponential_decay(init_value, step_size, gamma, staircase=True)`` (and
    PyTorch's ``StepLR``).
    """
    step_size = _int_arg("step_size", step_size)
    _check("gamma", gamma, lambda v: v > 0, "positive")

    def schedule(count):
        t = jnp.maximum(_count(count), 0.0)
        return init_value * jnp.power(gamma, jnp.floor(t / step_size))

    return schedule


def exponential_decay(
    init_value: float | jax.Array,
    transition_steps: int,
    decay_rate: float | jax.Array,
    *,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | jax.Array | None = None,
) -> Schedule:
    r"""Exponential decay by ``decay_rate`` every ``transition_steps`` steps.

    .. math:: \eta_t = \eta_0 \, r^{(t - B)/T} \quad (t > B), \qquad \eta_0 \ (t \le B)

    With ``staircase`` the exponent is floored; ``end_value`` bounds the value (from below when
    ``decay_rate < 1``, from above otherwise). Matches ``optax.exponential_decay`` (which,
    unlike this one, silently accepts a non-positive ``transition_steps`` or a zero rate).
    """
    transition_steps = _int_arg("transition_steps", transition_steps)
    transition_begin = _int_arg("transition_begin", transition_begin, minimum=0)
    _check("decay_rate", decay_rate, lambda v: v > 0, "positive")

    def schedule(count):
        elapsed = _count(count) - transition_begin
        p = elapsed / transition_steps
        if staircase:
            p = jnp.floor(p)
        value = jnp.where(elapsed <= 0, init_value, init_value * jnp.power(decay_rate, p))
        if end_value is not None:
            value = jnp.where(
                decay_rate < 1.0, jnp.maximum(value, end_value), jnp.minimum(value, end_value)
            )
        return value

    return schedule


def cosine_decay(
    init_value: float | jax.Array,
    decay_steps: int,
    alpha: float | jax.Array = 0.0,
    exponent: float | jax.Array = 1.0,
) -> Schedule:
    r"""Cosine decay from ``init_value`` to ``alpha * init_value`` over ``decay_steps`` steps.

    .. math::
        \eta_t = \eta_0 \left[(1 - \alpha)\left(\tfrac12\left(1 + \cos\tfrac{\pi \min(t, T)}{T}
        \right)\right)^p + \alpha\right]

    Matches ``optax.cosine_decay_schedule``. Reference: Loshchilov & Hutter, *SGDR*, 2017.
    """
    decay_steps = _int_arg("decay_steps", decay_steps)
    _check("alpha", alpha, lambda v: 0.0 <= v <= 1.0, "in [0, 1]")
    _check("exponent", exponent, lambda v: v > 0, "positive")

    def schedule(count):
        t = jnp.clip(_count(count), 0.0, decay_steps)
        cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * t / decay_steps))
        return init_value * ((1.0 - alpha) * cosine**exponent + alpha)

    return schedule


def warmup_cosine_decay(
    init_value: float | jax.Array,
    peak_value: float | jax.Array,
    warmup_steps: int,
    decay_steps: int,
    end_value: float | jax.Array = 0.0,
) -> Schedule:
    r"""Linear warmup from ``init_value`` to ``peak_value``, then cosine decay to ``end_value``.

    ``decay_steps`` is the total length, warmup included (as in optax). Matches
    ``optax.warmup_cosine_decay_schedule``.
    """
    warmup_steps = _int_arg("warmup_steps", warmup_steps, minimum=0)
    decay_steps = _int_arg("decay_steps", decay_steps)
    if decay_steps <= warmup_steps:
        raise ValueError(
            f"decay_steps (total length, warmup included) must exceed warmup_steps, "
            f"got decay_steps={decay_steps}, warmup_steps={warmup_steps}"
        )
    cos_steps = decay_steps - warmup_steps

    def schedule(count):
        t = _count(count)
        frac = jnp.clip(t / max(warmup_steps, 1), 0.0, 1.0)
        warm = init_value + (peak_value - init_value) * frac
        c = jnp.clip(t - warmup_steps, 0.0, cos_steps)
        cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * c / cos_steps))
        return jnp.where(t < warmup_steps, warm, end_value + (peak_value - end_value) * cosine)

    return schedule


def one_cycle(
    transition_steps: int,
    peak_value: float | jax.Array,
    pct_start: float = 0.25,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
) -> Schedule:
    r"""The one-cycle policy: cosine up from ``peak/div_factor`` to ``peak``, then cosine down.

    The rise lasts ``int(pct_start * transition_steps)`` steps; the value then falls to
    ``peak / (div_factor * final_div_factor)`` at ``transition_steps`` and stays there. Matches
    ``optax.cosine_onecycle_schedule`` (whose ``pct_start`` default is 0.3, not 0.25).
    Reference: Smith & Topin, *Super-Convergence*, 2017.
    """
    transition_steps = _int_arg("transition_steps", transition_steps)
    if not 0.0 <= pct_start < 1.0:
        raise ValueError(f"pct_start must be in [0, 1), got {pct_start!r}")
    _check("div_factor", div_factor, lambda v: v > 0, "positive")
    _check("final_div_factor", final_div_factor, lambda v: v > 0, "positive")
    rise = int(pct_start * transition_steps)
    fall = transition_steps - rise

    def interp(start, end, pct):  # cosine from start (pct=0) to end (pct=1)
        return end + (start - end) / 2.0 * (jnp.cos(jnp.pi * pct) + 1.0)

    def schedule(count):
        t = jnp.maximum(_count(count), 0.0)
        low = peak_value / div_factor
        final = low / final_div_factor
        up = interp(low, peak_value, t / max(rise, 1))
        down = interp(peak_value, final, jnp.minimum((t - rise) / max(fall, 1), 1.0))
        return jnp.where(t < rise, up, down)

    return schedule


# ---------------------------------------------------------------------------------------------
# The registry: schedules relative to a run of ``steps`` steps, for the UI and the engine.


@dataclass(frozen=True)
class ScheduleSpec:
    """A registry entry: a schedule described relative to the run length.

    Attributes:
        name: registry key (``"cosine"``).
        display: human name (``"Cosine decay"``).
        latex: the multiplier :math:`m_t` as LaTeX, with :math:`T` the number of steps.
        params: relative parameters as slider specs (fractions of the run, floors, factors).
        build: ``build(steps, **params) -> schedule`` with peak value 1 (absolute factory call).
    """

    name: str
    display: str
    latex: str
    params: tuple[HParam, ...]
    build: Callable[..., Schedule]

    def defaults(self) -> dict[str, float]:
        return {p.name: p.default for p in self.params}

    def resolve(self, **params: float) -> dict[str, float]:
        """Defaults, overridden by ``params``, each clipped into its slider range."""
        known = {p.name: p for p in self.params}
        unknown = set(params) - set(known)
        if unknown:
            raise TypeError(f"{self.display} schedule has no parameter(s) {sorted(unknown)}")
        return {n: p.clip(params.get(n, p.default)) for n, p in known.items()}

    def schedule(self, steps: int, **params: float) -> Schedule:
        """The absolute schedule (peak 1) for a run of ``steps`` steps."""
        return self.build(_int_arg("steps", steps), **self.resolve(**params))

    def multipliers(self, steps: int, **params: float) -> np.ndarray:
        """Learning-rate multiplier at each step ``0 .. steps-1``: float32 array ``[steps]``.

        Missing parameters take their defaults; out-of-range ones are clipped. The schedule is
        evaluated eagerly on a power-of-two bucket of counts (then cut to ``steps``), so a new
        run length costs a few op compiles only when it crosses into a new bucket.
        """
        steps = _int_arg("steps", steps)
        fn = self.schedule(steps, **params)
        counts = np.arange(max(64, 1 << (steps - 1).bit_length()), dtype=np.int32)
        values = np.broadcast_to(np.asarray(fn(counts), np.float32), counts.shape)
        return np.array(values[:steps])


def _fraction(steps: int, f: float) -> int:
    return max(1, round(f * steps))


_ALPHA = HParam("alpha", "floor α (fraction of the lr)", 0.0, 0.0, 1.0, symbol=r"\alpha")
_EVERY = HParam("every", "drop every (fraction of the run)", 0.25, 0.01, 1.0, symbol="f")
_GAMMA = HParam("gamma", "factor per drop γ", 0.5, 0.01, 1.0, symbol=r"\gamma")
_FINAL = HParam("final", "final fraction of the lr ρ", 0.01, 1e-4, 1.0, log=True, symbol=r"\rho")
_WARMUP = HParam("warmup", "warmup (fraction of the run)", 0.1, 0.0, 0.5, symbol="W/T")
_PCT = HParam("pct_start", "rising part (fraction of the run)", 0.25, 0.0, 0.95, symbol="p")
_DIV = HParam("div_factor", "initial divisor d", 25.0, 1.0, 1e3, log=True, symbol="d")
_FDIV = HParam("final_div_factor", "final divisor d_f", 1e4, 1.0, 1e5, log=True, symbol="d_f")
_COS = r"\tfrac12\left(1 + \cos\tfrac{\pi %s}{%s}\right)"

SCHEDULES: dict[str, ScheduleSpec] = {
    s.name: s
    for s in (
        ScheduleSpec("constant", "Constant", r"m_t = 1", (), lambda steps: constant_schedule(1.0)),
        ScheduleSpec(
            "step",
            "Step decay",
            r"m_t = \gamma^{\lfloor t / (fT) \rfloor}",
            (_EVERY, _GAMMA),
            lambda steps, every, gamma: step_decay(1.0, _fraction(steps, every), gamma),
        ),
        ScheduleSpec(
            "exponential",
            "Exponential decay",
            r"m_t = \rho^{t / T}",
            (_FINAL,),
            lambda steps, final: exponential_decay(1.0, steps, final),
        ),
        ScheduleSpec(
            "cosine",
            "Cosine decay",
            r"m_t = \alpha + (1 - \alpha)\," + _COS % ("t", "T"),
            (_ALPHA,),
            lambda steps, alpha: cosine_decay(1.0, steps, alpha),
        ),
        ScheduleSpec(
            "warmup_cosine",
            "Warmup + cosine",
            r"m_t = \begin{cases} t / W & t < W \\ \alpha + (1 - \alpha)\,"
            + _COS % ("(t - W)", "T - W")
            + r" & t \ge W \end{cases}",
            (_WARMUP, _ALPHA),
            lambda steps, warmup, alpha: warmup_cosine_decay(
                0.0, 1.0, min(round(warmup * steps), steps - 1), steps, alpha
            ),
        ),
        ScheduleSpec(
            "one_cycle",
            "One-cycle",
            r"m_t = \begin{cases} \tfrac1d + (1 - \tfrac1d)\left(1 - "
            + _COS % ("t", "pT")
            + r"\right) & t < pT \\ \tfrac{1}{d d_f} + (1 - \tfrac{1}{d d_f})\,"
            + _COS % ("(t - pT)", "(1 - p)T")
            + r" & t \ge pT \end{cases}",
            (_PCT, _DIV, _FDIV),
            lambda steps, pct_start, div_factor, final_div_factor: one_cycle(
                steps, 1.0, pct_start, div_factor, final_div_factor
            ),
        ),
    )
}
