"""Schedules: parity with optax, traceability, argument checks, and the SCHEDULES registry."""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optlab.core import schedules as S

N = 120
COUNTS = np.arange(N + 1)

# (our schedule, the optax oracle), both evaluated at counts 0..N
PARITY = {
    "constant": (S.constant_schedule(0.3), optax.constant_schedule(0.3)),
    "step": (S.step_decay(0.5, 17, 0.3), optax.exponential_decay(0.5, 17, 0.3, staircase=True)),
    "step_gamma_above_1": (
        S.step_decay(0.1, 25, 1.5),
        optax.exponential_decay(0.1, 25, 1.5, staircase=True),
    ),
    "exponential": (S.exponential_decay(1.0, 30, 0.5), optax.exponential_decay(1.0, 30, 0.5)),
    "exponential_begin_staircase_end": (
        S.exponential_decay(2.0, 10, 0.7, transition_begin=15, staircase=True, end_value=0.3),
        optax.exponential_decay(2.0, 10, 0.7, transition_begin=15, staircase=True, end_value=0.3),
    ),
    "exponential_growth_capped": (
        S.exponential_decay(0.01, 20, 2.0, end_value=0.5),
        optax.exponential_decay(0.01, 20, 2.0, end_value=0.5),
    ),
    "cosine": (S.cosine_decay(0.7, 100), optax.cosine_decay_schedule(0.7, 100)),
    "cosine_alpha_exponent": (
        S.cosine_decay(1.0, 80, alpha=0.1, exponent=2.0),
        optax.cosine_decay_schedule(1.0, 80, alpha=0.1, exponent=2.0),
    ),
    "warmup_cosine": (
        S.warmup_cosine_decay(0.0, 1.0, 10, 100, end_value=0.05),
        optax.warmup_cosine_decay_schedule(0.0, 1.0, 10, 100, end_value=0.05),
    ),
    "warmup_cosine_nonzero_init": (
        S.warmup_cosine_decay(0.1, 0.5, 30, 90),
        optax.warmup_cosine_decay_schedule(0.1, 0.5, 30, 90),
    ),
    "warmup_cosine_no_warmup": (
        S.warmup_cosine_decay(0.0, 1.0, 0, 50, end_value=0.2),
        optax.warmup_cosine_decay_schedule(0.0, 1.0, 0, 50, end_value=0.2),
    ),
    "one_cycle": (S.one_cycle(100, 1.0), optax.cosine_onecycle_schedule(100, 1.0, pct_start=0.25)),
    "one_cycle_custom": (
        S.one_cycle(90, 0.3, pct_start=0.4, div_factor=10.0, final_div_factor=100.0),
        optax.cosine_onecycle_schedule(90, 0.3, 0.4, 10.0, 100.0),
    ),
    "one_cycle_no_rise": (
        S.one_cycle(50, 1.0, pct_start=0.0),
        optax.cosine_onecycle_schedule(50, 1.0, pct_start=0.0),
    ),
}


@pytest.mark.parametrize("name", PARITY)
def test_matches_optax(name):
    ours, theirs = PARITY[name]
    got = np.array([ours(c) for c in COUNTS])
    want = np.array([theirs(c) for c in COUNTS])
    # float32: 1 + cos(.) near the end of a cosine cancels, so compare with an absolute floor
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    # vectorised over an array of counts gives the same values
    np.testing.assert_allclose(np.asarray(ours(jnp.asarray(COUNTS))), got, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name", PARITY)
def test_traceable_in_count_under_scan(name):
    ours, _ = PARITY[name]

    @jax.jit
    def run():
        def body(c, _):
            return c + 1, ours(c)

        return jax.lax.scan(body, jnp.zeros([], jnp.int32), None, length=N + 1)[1]

    want = np.array([ours(c) for c in COUNTS])
    np.testing.assert_allclose(np.asarray(run()), want, rtol=2e-6, atol=1e-6)


def test_values_may_be_traced():
    @jax.jit
    def f(count, init, gamma, alpha, peak):
        return (
            S.step_decay(init, 10, gamma)(count),
            S.exponential_decay(init, 10, gamma, end_value=alpha)(count),
            S.cosine_decay(init, 50, alpha)(count),
            S.warmup_cosine_decay(0.0, peak, 5, 50, alpha)(count),
            S.one_cycle(50, peak)(count),
        )

    got = f(23, 0.5, 0.3, 0.1, 2.0)
    want = (
        S.step_decay(0.5, 10, 0.3)(23),
        S.exponential_decay(0.5, 10, 0.3, end_value=0.1)(23),
        S.cosine_decay(0.5, 50, 0.1)(23),
        S.warmup_cosine_decay(0.0, 2.0, 5, 50, 0.1)(23),
        S.one_cycle(50, 2.0)(23),
    )
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_float32_and_shapes():
    for fn, _ in PARITY.values():
        assert fn(3).dtype == jnp.float32
        assert fn(3).shape == ()
        assert fn(jnp.arange(4)).shape == (4,)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: S.cosine_decay(1.0, 0), "decay_steps must be a positive integer, got 0"),
        (lambda: S.cosine_decay(1.0, 2.5), "decay_steps must be a positive integer, got 2.5"),
        (lambda: S.cosine_decay(1.0, True), "decay_steps must be a positive integer, got True"),
        (lambda: S.cosine_decay(1.0, 10, alpha=1.5), "alpha must be in [0, 1], got 1.5"),
        (lambda: S.cosine_decay(1.0, 10, exponent=0.0), "exponent must be positive"),
        (lambda: S.step_decay(1.0, -3, 0.5), "step_size must be a positive integer, got -3"),
        (lambda: S.step_decay(1.0, 3, 0.0), "gamma must be positive, got 0.0"),
        (lambda: S.exponential_decay(1.0, 0, 0.5), "transition_steps must be a positive integer"),
        (lambda: S.exponential_decay(1.0, 5, -0.5), "decay_rate must be positive"),
        (lambda: S.exponential_decay(1.0, 5, 0.5, transition_begin=-1), "integer >= 0, got -1"),
        (lambda: S.warmup_cosine_decay(0.0, 1.0, 10, 10), "decay_steps (total length"),
        (lambda: S.warmup_cosine_decay(0.0, 1.0, -1, 10), "warmup_steps must be an integer >= 0"),
        (lambda: S.one_cycle(0, 1.0), "transition_steps must be a positive integer, got 0"),
        (lambda: S.one_cycle(10, 1.0, pct_start=1.0), "pct_start must be in [0, 1), got 1.0"),
        (lambda: S.one_cycle(10, 1.0, div_factor=0.0), "div_factor must be positive"),
        (lambda: S.constant_schedule(float("nan")), "value must be a finite number"),
    ],
)
def test_arguments_checked_up_front(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()


def test_integral_float_step_counts_accepted():
    np.testing.assert_allclose(S.cosine_decay(1.0, 100.0)(50), S.cosine_decay(1.0, 100)(50))


# ---------------------------------------------------------------------------------------------
# The registry.

EXPECTED_KEYS = {"constant", "step", "exponential", "cosine", "warmup_cosine", "one_cycle"}


def test_registry_keys():
    assert set(S.SCHEDULES) == EXPECTED_KEYS
    for key, spec in S.SCHEDULES.items():
        assert spec.name == key
        assert spec.display
        assert spec.latex


@pytest.mark.parametrize("steps", [1, 2, 7, 100, 1000])
@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_multipliers_shape_dtype_range(name, steps):
    spec = S.SCHEDULES[name]
    m = spec.multipliers(steps)
    assert isinstance(m, np.ndarray)
    assert m.dtype == np.float32
    assert m.shape == (steps,)
    assert np.all(np.isfinite(m))
    assert np.all(m >= 0.0)
    assert np.all(m <= 1.0 + 1e-6)


@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_multipliers_defaults_and_slider_extremes(name):
    spec = S.SCHEDULES[name]
    np.testing.assert_array_equal(spec.multipliers(50), spec.multipliers(50, **spec.defaults()))
    for params in (
        {p.name: p.low for p in spec.params},
        {p.name: p.high for p in spec.params},
    ):
        m = spec.multipliers(200, **params)
        assert m.shape == (200,)
        assert np.all(np.isfinite(m))
    for p in spec.params:
        assert p.low <= p.default <= p.high


@pytest.mark.parametrize("name", sorted(EXPECTED_KEYS))
def test_multipliers_clip_out_of_range_params(name):
    spec = S.SCHEDULES[name]
    too_low = {p.name: p.low - 10.0 for p in spec.params}
    too_high = {p.name: p.high * 10.0 + 10.0 for p in spec.params}
    np.testing.assert_array_equal(
        spec.multipliers(64, **too_low),
        spec.multipliers(64, **{p.name: p.low for p in spec.params}),
    )
    np.testing.assert_array_equal(
        spec.multipliers(64, **too_high),
        spec.multipliers(64, **{p.name: p.high for p in spec.params}),
    )


def test_multipliers_reject_unknown_params_and_bad_steps():
    with pytest.raises(TypeError, match="no parameter"):
        S.SCHEDULES["cosine"].multipliers(10, gamma=0.5)
    with pytest.raises(ValueError, match="steps must be a positive integer, got 0"):
        S.SCHEDULES["cosine"].multipliers(0)


def test_multiplier_shapes_of_each_schedule():
    T = 100
    np.testing.assert_array_equal(S.SCHEDULES["constant"].multipliers(T), np.ones(T, np.float32))

    step = S.SCHEDULES["step"].multipliers(T, every=0.25, gamma=0.1)
    np.testing.assert_allclose(
        step[[0, 24, 25, 49, 50, 75, 99]], [1, 1, 0.1, 0.1, 0.01, 1e-3, 1e-3]
    )

    expo = S.SCHEDULES["exponential"].multipliers(T, final=0.01)
    assert expo[0] == 1.0
    np.testing.assert_allclose(expo[50], 0.1, rtol=1e-5)  # halfway: sqrt(final)
    assert np.all(np.diff(expo) < 0)

    cos = S.SCHEDULES["cosine"].multipliers(T, alpha=0.2)
    np.testing.assert_allclose(cos[[0, 50]], [1.0, 0.6], rtol=1e-6)
    assert cos[-1] > 0.2
    assert np.all(np.diff(cos) <= 0)

    warm = S.SCHEDULES["warmup_cosine"].multipliers(T, warmup=0.1, alpha=0.0)
    assert warm[0] == 0.0
    np.testing.assert_allclose(warm[[5, 10]], [0.5, 1.0], rtol=1e-6)
    assert np.argmax(warm) == 10

    oc = S.SCHEDULES["one_cycle"].multipliers(T, pct_start=0.3, div_factor=20.0)
    np.testing.assert_allclose(oc[0], 1 / 20, rtol=1e-6)
    assert np.argmax(oc) == 30
    np.testing.assert_allclose(oc.max(), 1.0)
    assert oc[-1] < oc[0]


def test_multipliers_match_the_absolute_factories():
    T = 80
    np.testing.assert_allclose(
        S.SCHEDULES["one_cycle"].multipliers(T),
        [S.one_cycle(T, 1.0)(t) for t in range(T)],
        rtol=2e-6,
        atol=1e-6,
    )
    np.testing.assert_allclose(
        S.SCHEDULES["warmup_cosine"].multipliers(T, warmup=0.25, alpha=0.1),
        [S.warmup_cosine_decay(0.0, 1.0, 20, T, 0.1)(t) for t in range(T)],
        rtol=2e-6,
        atol=1e-6,
    )


def test_changing_schedule_does_not_recompile(compile_counter):
    """The engine's pattern: multipliers enter the jitted scan as data."""

    @jax.jit
    def run(lr, mults):
        def body(x, m):
            x = x - lr * m * 2.0 * x
            return x, x

        return jax.lax.scan(body, jnp.float32(1.0), mults)[1]

    T = 64
    arrays = [spec.multipliers(T) for spec in S.SCHEDULES.values()]
    arrays += [S.SCHEDULES["cosine"].multipliers(T, alpha=a) for a in (0.1, 0.5)]
    run(0.1, arrays[0]).block_until_ready()
    before = compile_counter.count
    for a in arrays:
        run(0.1, a).block_until_ready()
    assert compile_counter.count == before
