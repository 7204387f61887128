"""Optimizers: parity with optax, hand-derived references, descent, tracing, specs, schedules."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

from optlab.core.optimizers import OPTIMIZERS

N_STEPS = 100
BOWL_STEPS = 200
ROSEN_START = (-1.2, 1.0)
BOWL_START = (-2.0, 1.5)


# ---------------------------------------------------------------------------------------------
# Problems: a fixed pseudo-random gradient sequence on a pytree, and two real 2-D losses.


def rosenbrock(p):
    return (1.0 - p[0]) ** 2 + 100.0 * (p[1] - p[0] ** 2) ** 2


def bowl(p):
    return 0.5 * (p[0] ** 2 + p[1] ** 2)


LOSSES = {"rosenbrock": rosenbrock, "bowl": bowl}


def _random_problem(n: int = N_STEPS):
    """Params {"w": (3, 2), "b": (2,)} and n gradients per leaf (a few exact zeros in "b")."""
    rng = np.random.default_rng(0)
    p0 = {
        "w": rng.normal(size=(3, 2)).astype(np.float32),
        "b": rng.normal(size=(2,)).astype(np.float32),
    }
    grads = {
        "w": (rng.normal(size=(n, 3, 2)) + 0.3).astype(np.float32),
        "b": (2.0 * rng.normal(size=(n, 2)) - 0.5).astype(np.float32),
    }
    grads["b"][:5, 0] = 0.0  # a coordinate that sees no gradient at first
    return jax.tree.map(jnp.asarray, p0), jax.tree.map(jnp.asarray, grads)


def _trajectory(opt, problem: str, p0, grads, *, n: int, needs_hessian: bool = False):
    """Params and updates after each of n steps (params evolve by ``opt``'s own updates)."""

    def grad_fn(p, t):
        if problem == "random":
            return jax.tree.map(lambda g: g[t], grads)
        return jax.grad(LOSSES[problem])(p)

    def step(carry, t):
        p, s = carry
        g = grad_fn(p, t)
        extra = {}
        if needs_hessian:
            flat, unravel = ravel_pytree(p)
            extra["hessian"] = jax.hessian(lambda f: LOSSES[problem](unravel(f)))(flat)
        u, s = opt.update(g, s, p, **extra)
        p = jax.tree.map(jnp.add, p, u)
        return (p, s), (p, u)

    _, (ps, us) = jax.lax.scan(step, (p0, opt.init(p0)), jnp.arange(n))
    return ps, us


@functools.partial(jax.jit, static_argnames=("name", "problem", "n"))
def run_ours(name: str, problem: str, hparams, p0, *, grads=None, n: int = N_STEPS):
    """Our optimizer ``name`` with every hyperparameter a traced array."""
    spec = OPTIMIZERS[name]
    opt = spec.factory(**hparams)
    return _trajectory(opt, problem, p0, grads, n=n, needs_hessian=spec.needs_hessian)


@functools.partial(jax.jit, static_argnames=("name", "make_optax"))
def run_pairs(name: str, make_optax, hparams, problems):
    """Ours and optax's trajectories on each problem: ``{problem: (ours, optax's)}``.

    One compile covers both optimizers and both problems.
    """
    out = {}
    for problem, (p0, grads) in problems.items():
        ours = _trajectory(OPTIMIZERS[name].factory(**hparams), problem, p0, grads, n=N_STEPS)
        out[problem] = ours, _trajectory(make_optax(hparams), problem, p0, grads, n=N_STEPS)
    return out


def _as_arrays(hparams: dict[str, float]) -> dict[str, jax.Array]:
    return {k: jnp.asarray(v, jnp.float32) for k, v in hparams.items()}


def _problem_args(problem: str):
    if problem == "random":
        return _random_problem()
    start = ROSEN_START if problem == "rosenbrock" else BOWL_START
    return jnp.asarray(start, jnp.float32), None


# ---------------------------------------------------------------------------------------------
# (1) Parity with optax: same hyperparameters, same gradient sequence, 100 steps.

# Under jit, XLA fuses our graph and optax's differently, and optax computes β**t where we carry
# a running product, so the two differ in the last bit now and then. The settings below keep
# Rosenbrock's trajectories non-chaotic so that such bits do not grow past rtol 1e-5: centered
# RMSProp with a short memory (ρ=0.85) and Adadelta at η=1 amplify them to 1e-3 within 100 steps.
_b = {"b1": 0.8, "b2": 0.95, "eps": 1e-8}
PARITY = [
    # (case id, registry name, hyperparameters (over the spec's defaults), optax constructor)
    ("gd", "gd", {"learning_rate": 5e-4}, lambda h: optax.sgd(h["learning_rate"])),
    (
        "momentum",
        "momentum",
        {"learning_rate": 5e-4, "beta": 0.8},
        lambda h: optax.sgd(h["learning_rate"], momentum=h["beta"]),
    ),
    (
        "nesterov",
        "nesterov",
        {"learning_rate": 5e-4, "beta": 0.8},
        lambda h: optax.sgd(h["learning_rate"], momentum=h["beta"], nesterov=True),
    ),
    (
        "adagrad",
        "adagrad",
        {"learning_rate": 0.1, "initial_accumulator_value": 0.1, "eps": 1e-7},
        lambda h: optax.adagrad(**h),
    ),
    (
        "adagrad-G0=0",
        "adagrad",
        {"learning_rate": 0.1, "initial_accumulator_value": 0.0, "eps": 1e-6},
        lambda h: optax.adagrad(**h),
    ),
    (
        "rmsprop",
        "rmsprop",
        {"learning_rate": 1e-2, "decay": 0.85, "eps": 1e-8, "centered": 0.0},
        lambda h: optax.rmsprop(h["learning_rate"], h["decay"], h["eps"]),
    ),
    (
        "rmsprop-centered",
        "rmsprop",
        {"learning_rate": 1e-2, "decay": 0.99, "eps": 1e-4, "centered": 1.0},
        lambda h: optax.rmsprop(h["learning_rate"], h["decay"], h["eps"], centered=True),
    ),
    (
        "adadelta",
        "adadelta",
        {"learning_rate": 0.5, "rho": 0.9, "eps": 1e-4},
        lambda h: optax.adadelta(**h),
    ),
    (
        "adam",
        "adam",
        {"learning_rate": 1e-2, **_b, "bias_correction": 1.0},
        lambda h: optax.adam(h["learning_rate"], h["b1"], h["b2"], h["eps"]),
    ),
    (
        "adamw",
        "adamw",
        {"learning_rate": 1e-2, **_b, "weight_decay": 0.1},
        lambda h: optax.adamw(
            h["learning_rate"], h["b1"], h["b2"], h["eps"], weight_decay=h["weight_decay"]
        ),
    ),
    (
        "amsgrad",
        "amsgrad",
        {"learning_rate": 1e-2, **_b},
        lambda h: optax.amsgrad(h["learning_rate"], h["b1"], h["b2"], h["eps"]),
    ),
    (
        "nadam",
        "nadam",
        {"learning_rate": 1e-2, **_b},
        lambda h: optax.nadam(h["learning_rate"], h["b1"], h["b2"], h["eps"]),
    ),
    (
        "adamax",
        "adamax",
        {"learning_rate": 1e-2, **_b},
        lambda h: optax.adamax(h["learning_rate"], h["b1"], h["b2"], h["eps"]),
    ),
    (
        "lion",
        "lion",
        {"learning_rate": 1e-3, "b1": 0.85, "b2": 0.98, "weight_decay": 0.1},
        lambda h: optax.lion(h["learning_rate"], h["b1"], h["b2"], weight_decay=h["weight_decay"]),
    ),
]
# Registry entries optax has no equivalent for (tested against numpy loops below).
NO_OPTAX = {"newton"}


def test_parity_table_covers_registry():
    assert {name for _, name, _, _ in PARITY} | NO_OPTAX == set(OPTIMIZERS)


@pytest.mark.parametrize(
    ("name", "hparams", "make_optax"),
    [pytest.param(n, h, m, id=i) for i, n, h, m in PARITY],
)
def test_matches_optax(name, hparams, make_optax):
    """On the random pytree problem and on Rosenbrock: params and updates at every step."""
    hp = _as_arrays({**OPTIMIZERS[name].defaults(), **hparams})
    problems = {p: _problem_args(p) for p in ("random", "rosenbrock")}
    for problem, ((ours_p, ours_u), (ref_p, ref_u)) in run_pairs(
        name, make_optax, hp, problems
    ).items():
        assert bool(jnp.all(jnp.isfinite(ravel_pytree(ours_p)[0]))), problem
        for ours, ref in ((ours_p, ref_p), (ours_u, ref_u)):
            jax.tree.map(
                lambda a, b, pb=problem: np.testing.assert_allclose(
                    a, b, rtol=1e-5, atol=1e-6, err_msg=pb
                ),
                ours,
                ref,
            )
        # The run must actually go somewhere (a frozen trajectory would match trivially).
        p0 = problems[problem][0]
        moved = jax.tree.map(lambda p, q: float(jnp.max(jnp.abs(p[-1] - q))), ours_p, p0)
        assert max(jax.tree.leaves(moved)) > 1e-3, problem


# ---------------------------------------------------------------------------------------------
# (3) Every optimizer descends a bowl at its default hyperparameters.


def _bowl_run(name: str, hparams: dict[str, float]):
    p0 = jnp.asarray(BOWL_START, jnp.float32)
    ps, _ = run_ours(name, "bowl", _as_arrays(hparams), p0, n=BOWL_STEPS)
    return np.asarray(jax.vmap(bowl)(ps))


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_descends_bowl_at_defaults(name):
    losses = _bowl_run(name, OPTIMIZERS[name].defaults())
    start = bowl(np.array(BOWL_START))
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.05 * start, f"{name}: {start} -> {losses[-1]}"


# ---------------------------------------------------------------------------------------------
# (4) Hyperparameters are traced: new values never recompile.


def _varied(name: str, k: int) -> dict[str, float]:
    """The k-th of several hyperparameter settings, all inside the spec's ranges."""
    out = {}
    for h in OPTIMIZERS[name].hparams:
        if h.kind == "bool":
            out[h.name] = float(k % 2)
        elif h.name == "learning_rate":
            out[h.name] = h.clip(h.default * 0.6**k)
        else:
            out[h.name] = h.clip(h.default * (1.0 - 0.05 * k) if h.default else 0.01 * k)
    return out


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_traced_hparams_never_recompile(name, compile_counter):
    finals = [_bowl_run(name, _varied(name, 0))[-1]]
    after_first = compile_counter.count
    finals += [_bowl_run(name, _varied(name, k))[-1] for k in range(1, 5)]
    assert compile_counter.count == after_first, f"{name} recompiled for new hyperparameters"
    assert len(set(finals)) > 1, "the hyperparameters had no effect"


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_vmap_over_hparams_matches_single_runs(name):
    """The engine's sweep: vmap over a hyperparameter axis (bools included)."""
    settings = [_varied(name, k) for k in range(3)]
    stacked = {k: jnp.asarray([s[k] for s in settings], jnp.float32) for k in settings[0]}
    p0 = jnp.asarray(BOWL_START, jnp.float32)
    sweep = jax.vmap(lambda h: run_ours(name, "bowl", h, p0, n=BOWL_STEPS)[0])(stacked)
    for i, s in enumerate(settings):
        single, _ = run_ours(name, "bowl", _as_arrays(s), p0, n=BOWL_STEPS)
        # first half only: near the minimum AdaMax's oscillation amplifies last-bit
        # differences between the batched and the single program to ~1e-5
        half = BOWL_STEPS // 2
        np.testing.assert_allclose(sweep[i, :half], single[:half], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# (5) Moments are shaped like the parameters (the registry specs: ``test_optimizer_registry``).


STATELESS = {"gd", "newton"}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_moments_are_shaped_like_params(name):
    spec = OPTIMIZERS[name]
    p0, grads = _random_problem(n=1)
    g = jax.tree.map(lambda x: x[0], grads)
    opt = spec.make()
    extra = {}
    if spec.needs_hessian:
        extra["hessian"] = jnp.eye(ravel_pytree(p0)[0].size)
    state = jax.jit(lambda g, p: opt.update(g, opt.init(p), p, **extra)[1])(g, p0)
    assert int(state.count) == 1
    moments = spec.moments(state)
    assert bool(moments) == (name not in STATELESS)
    for label, tree in moments.items():
        assert label
        assert jax.tree.structure(tree) == jax.tree.structure(p0)
        for leaf, p in zip(jax.tree.leaves(tree), jax.tree.leaves(p0), strict=True):
            assert leaf.shape == p.shape
            assert leaf.dtype == jnp.float32


# ---------------------------------------------------------------------------------------------
# (6) A schedule as the learning rate.


SCHEDULE = optax.exponential_decay(5e-2, transition_steps=10, decay_rate=0.7)


@pytest.mark.parametrize(
    ("name", "make_optax"),
    [
        ("gd", optax.sgd),
        ("adam", optax.adam),
        ("adamw", lambda lr: optax.adamw(lr, weight_decay=1e-2)),
    ],
)
def test_schedule_learning_rate(name, make_optax):
    p0, grads = _random_problem()
    ours = OPTIMIZERS[name].make(learning_rate=SCHEDULE)
    run = jax.jit(lambda opt: _trajectory(opt, "random", p0, grads, n=N_STEPS), static_argnums=0)
    ours_p, ours_u = run(ours)
    ref_p, ref_u = run(make_optax(SCHEDULE))
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6), ours_p, ref_p)
    # the step really shrinks (the rate falls by 0.7**9 between the first and last 10 steps)
    early = float(jnp.mean(jnp.abs(ours_u["w"][:10])))
    late = float(jnp.mean(jnp.abs(ours_u["w"][-10:])))
    assert late < 0.1 * early
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-8), ours_u, ref_u)
