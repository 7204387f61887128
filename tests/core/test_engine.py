"""The step engine against a plain Python loop, recompilation, divergence, sweeps, optax."""

from __future__ import annotations

import math
import threading

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from optlab.core import engine
from optlab.core.engine import OptimizerRun, Settings, bucket_steps, run, sweep
from optlab.core.metrics import path_length, steps_to_tolerance, summarize
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.schedules import SCHEDULES
from surfaces import SURFACES
from surfaces.custom import custom_surface

ROSEN = SURFACES["rosenbrock"]
BOWL = SURFACES["bowl"]


def python_loop(problem, name, hp, x0, steps, settings: Settings):
    """An independent reference: one eager step at a time, clipping and decay in numpy."""
    spec = OPTIMIZERS[name]
    theta = problem.theta()
    mult = SCHEDULES[settings.schedule].multipliers(steps, **settings.schedule_params)
    x = np.asarray(x0, np.float32)
    state = spec.factory(**hp).init(jnp.asarray(x))
    xs = [x.copy()]
    for t in range(steps):
        g = np.asarray(jax.grad(problem.loss)(jnp.asarray(x), theta), np.float32)
        g = np.clip(g, -settings.clip_value, settings.clip_value)
        norm = float(np.linalg.norm(g))
        if norm > settings.clip_norm:
            g = g * (settings.clip_norm / norm)
        g = g + settings.l2 * x
        lr = np.float32(hp["learning_rate"] * mult[t])
        extra = {}
        if spec.needs_hessian:
            h = np.asarray(jax.hessian(problem.loss)(jnp.asarray(x), theta))
            extra["hessian"] = jnp.asarray(h + settings.l2 * np.eye(x.size), jnp.float32)
        tx = spec.factory(**{**hp, "learning_rate": lr})
        upd, state = tx.update(jnp.asarray(g), state, jnp.asarray(x), **extra)
        x = x + np.asarray(upd) - lr * settings.weight_decay * x
        xs.append(x.copy())
    return np.stack(xs)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_scan_matches_python_loop(name):
    spec = OPTIMIZERS[name]
    hp = spec.defaults() | {"learning_rate": spec.hparam("learning_rate").default * 0.5}
    settings = Settings(
        steps=40,
        schedule="cosine",
        clip_norm=5.0,
        l2=0.01,
        weight_decay=0.02 if name != "newton" else 0.0,
    )
    (traj,) = run(ROSEN, [OptimizerRun(name, hp)], (-1.2, 1.0), settings)
    ref = python_loop(ROSEN, name, hp, (-1.2, 1.0), 40, settings)
    assert traj.params.shape == ref.shape
    np.testing.assert_allclose(traj.params, ref, rtol=2e-4, atol=2e-5)
    np.testing.assert_allclose(
        traj.loss, [float(ROSEN.loss(jnp.asarray(p))) for p in ref], rtol=1e-3, atol=1e-5
    )


def test_trajectory_fields_are_consistent():
    lrs = {"gd": 1e-3, "adam": 0.05, "momentum": 2e-4}
    runs = [OptimizerRun(n, {"learning_rate": lr}) for n, lr in lrs.items()]
    trajs = run(ROSEN, runs, (-1.5, 2.0), Settings(steps=30))
    for t in trajs:
        assert t.params.shape == (31, 2)
        assert t.loss.shape == (31,)
        assert t.grad.shape == t.update.shape == (30, 2)
        np.testing.assert_allclose(t.params[1:] - t.params[:-1], t.update, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(t.lr, lrs[t.name])
        np.testing.assert_allclose(t.grad_norm, np.linalg.norm(t.grad, axis=1), rtol=1e-5)
        assert t.diverged_at is None
    assert trajs[1].moments
    assert all(v.shape == (30, 2) for v in trajs[1].moments.values())


def test_no_recompile_when_sliders_move(compile_counter):
    """Twenty settings of everything a slider moves, after twenty others: zero backend
    compiles. The first twenty warm up what any run in this bucket needs (the engine compiles
    once; each schedule's few eager ops compile once per run-length bucket, whenever a
    (schedule, steps) pair is first evaluated, so a warm-up must evaluate fresh pairs too)."""
    names = ["gd", "momentum", "rmsprop", "adam"]
    ravine = SURFACES["ravine"]
    schedules = list(SCHEDULES)

    def slider_moves(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for i in range(20):
            lrs = [float(10 ** rng.uniform(-3, -1)) for _ in names]
            runs = [
                OptimizerRun(n, {"learning_rate": lr}) for n, lr in zip(names, lrs, strict=True)
            ]
            runs[1] = OptimizerRun("momentum", {"beta": float(rng.uniform(0.5, 0.99))})
            settings = Settings(
                steps=int(rng.integers(101, 200)),  # same bucket (200)
                schedule=schedules[i % len(schedules)],
                clip_norm=float(rng.choice([math.inf, 1.0, 3.0])),
                clip_value=float(rng.choice([math.inf, 0.5])),
                l2=float(rng.uniform(0, 0.1)),
                weight_decay=float(rng.uniform(0, 0.1)),
                grad_noise=float(rng.uniform(0, 0.5)),
                seed=i,
            )
            start = tuple(rng.uniform(-2, 2, size=2))
            run(ravine, runs, start, settings, theta={"kappa": float(rng.uniform(1, 100))})

    slider_moves(seed=0)
    warm = compile_counter.count
    assert warm >= 1  # the warm-up did compile (the counter is listening)
    slider_moves(seed=1)
    assert compile_counter.count == warm


def test_step_counts_are_bucketed():
    assert [bucket_steps(s) for s in (1, 25, 26, 200, 201, 2000)] == [25, 25, 50, 200, 300, 2000]
    with pytest.raises(ValueError, match="steps must be"):
        bucket_steps(0)
    short = run(BOWL, ["gd"], (1.0, 1.0), Settings(steps=7))[0]
    long = run(BOWL, ["gd"], (1.0, 1.0), Settings(steps=20))[0]
    assert short.steps == 7
    np.testing.assert_allclose(short.params, long.params[:8])


def test_divergence_is_detected_and_trajectory_stays_finite():
    (t,) = run(BOWL, [OptimizerRun("gd", {"learning_rate": 10.0})], (1.0, 1.0), Settings(200))
    assert t.diverged_at is not None
    assert 0 < t.diverged_at < 200
    assert np.all(np.isfinite(t.params))
    assert np.all(np.isfinite(t.loss))
    assert t.steps == t.diverged_at
    assert len(t.params) == t.diverged_at + 1
    row = summarize(t, BOWL.minima)
    assert row["status"] == f"diverged at step {t.diverged_at}"


def test_gd_on_bowl_matches_closed_form():
    """On f = ½‖x‖², GD contracts by exactly (1 − η) per step."""
    lr = 0.3
    (t,) = run(BOWL, [OptimizerRun("gd", {"learning_rate": lr})], (2.0, -1.0), Settings(25))
    expected = np.array([2.0, -1.0]) * (1 - lr) ** np.arange(26)[:, None]
    np.testing.assert_allclose(t.params, expected, rtol=1e-5, atol=1e-7)


def test_optax_transformation_runs_in_the_lab():
    ours, theirs = run(
        ROSEN,
        [OptimizerRun("adam", {"learning_rate": 0.05}), optax.adam(0.05)],
        (-1.5, 2.0),
        Settings(steps=60),
    )
    np.testing.assert_allclose(ours.params, theirs.params, rtol=1e-5, atol=1e-6)
    assert theirs.label == "optax transform"


def test_sweep_matches_individual_runs():
    lrs = np.array([1e-4, 1e-3, 2e-3], np.float32)
    starts = [(-1.5, 2.0), (1.5, 1.5)]
    (res,) = sweep(ROSEN, ["gd"], {"learning_rate": lrs}, starts, Settings(steps=50))
    assert res.loss.shape == (6, 51)
    assert res.params.shape == (6, 51, 2)
    for i in range(6):
        lr, start = float(res.grid["learning_rate"][i]), tuple(res.start[i])
        (t,) = run(ROSEN, [OptimizerRun("gd", {"learning_rate": lr})], start, Settings(50))
        np.testing.assert_allclose(res.params[i], t.params, rtol=1e-5, atol=1e-6)


def test_sweep_marks_divergence_and_seeds_only_matter_with_noise():
    lrs = np.array([1e-3, 10.0], np.float32)
    (res,) = sweep(BOWL, ["gd"], {"learning_rate": lrs}, [(1.0, 1.0)], Settings(steps=100))
    assert res.diverged_at[0] == -1
    assert 0 < res.diverged_at[1] < 100
    quiet, noisy = (
        sweep(BOWL, ["gd"], {}, [(1.0, 1.0)], Settings(steps=30, grad_noise=s), seeds=(0, 1))[0]
        for s in (0.0, 1.0)
    )
    np.testing.assert_array_equal(quiet.params[0], quiet.params[1])
    assert not np.allclose(noisy.params[0], noisy.params[1])


def test_grad_noise_has_requested_scale():
    (t,) = run(
        SURFACES["bowl"],
        [OptimizerRun("gd", {"learning_rate": 1e-5})],
        (0.0, 0.0),
        Settings(steps=400, grad_noise=2.0),
    )
    assert abs(float(np.std(t.grad)) - 2.0) < 0.15


def test_metrics_against_hand_values():
    params = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 0.0]])
    assert path_length(params) == pytest.approx(9.0)
    assert steps_to_tolerance(np.array([5.0, 1.0, 0.01, 0.001]), 0.0, 0.02) == 2
    assert steps_to_tolerance(np.array([5.0, 1.0]), 0.0, 0.02) is None


def test_clipping_bounds_the_gradient_and_records_raw_norm():
    cliff = SURFACES["rosenbrock"]
    (t,) = run(cliff, ["gd"], (-2.0, 3.0), Settings(steps=20, clip_norm=1.0))
    assert np.all(t.clipped_norm <= 1.0 + 1e-5)
    assert t.grad_norm[0] > 100
    assert engine.MAX_STEPS >= 2000


@pytest.mark.parametrize(
    ("surface", "start"), [("himmelblau", (-0.5, -0.5)), ("rosenbrock", (-1.2, 1))]
)
def test_a_run_is_bit_for_bit_its_row_of_a_sweep(surface, start):
    """Batches padded to full vector lanes (``engine.LANES``): a run of one and row η of a
    61-value sweep are the same floats, even where a path jumps across the map (where the
    last bits once carried runs 0.2 apart); the live race draws grid rows as the runs."""
    grid = np.geomspace(1e-4, 3.0, 61).astype(np.float32)
    settings = Settings(steps=700)
    for opt in ("gd", "nesterov", "adam"):
        (rows,) = sweep(SURFACES[surface], [opt], {"learning_rate": grid}, [start], settings)
        for g in (0, 20, 38, 45, 52, 60):
            (t,) = run(SURFACES[surface], [OptimizerRun(opt, {"learning_rate": float(grid[g])})],
                       start, settings)  # fmt: skip
            n = len(t.params)
            np.testing.assert_array_equal(rows.params[g, :n], t.params)
            assert rows.diverged_at[g] == (-1 if t.diverged_at is None else t.diverged_at)


def test_a_new_optimizer_set_reuses_what_each_optimizer_compiled(compile_counter):
    """Compiled per (problem, optimizer): racing GD, momentum and Adam together, in any
    order, compiles nothing once each has run (with GD and momentum, Adam on its own)."""
    # A surface of this test's own, so nothing another test compiled can count as reuse here.
    bowl = custom_surface("(x - 0.3)**2 + 3*(y + 0.2)**2 + 0.1*x*y")
    start, settings = (0.5, -1.5), Settings(steps=120)
    run(bowl, ["gd", "momentum"], start, settings)
    run(bowl, ["adam"], start, settings)
    compile_counter.count = 0
    trajs = run(bowl, ["gd", "momentum", "adam"], start, settings)
    run(bowl, ["adam", "gd"], start, settings)
    assert compile_counter.count == 0
    (alone,) = run(bowl, ["adam"], start, settings)
    np.testing.assert_array_equal(trajs[2].params, alone.params)
    compile_counter.count = 0
    run(bowl, ["gd", "rmsprop"], start, settings)
    assert compile_counter.count >= 1  # RMSProp is new: it (and only it) compiles


def test_threads_asking_for_one_new_program_compile_it_once(compile_counter):
    """A server's warm-up thread and its first visitor run the same default race at once:
    the program is compiled once (JAX's compile cache makes a second caller of a program in
    flight wait for it) and every thread gets the same trajectory. The warm-ups rely on it."""
    start, settings = (1.0, 1.0), Settings(steps=90)
    bowls = [custom_surface(f"(x + 0.4)**2 + {k}*(y - 0.1)**2 - 0.2*x*y") for k in (2, 3, 4)]
    run(bowls[0], ["gd"], start, settings)  # what any run at this step count compiles
    compile_counter.count = 0
    run(bowls[1], ["gd"], start, settings)
    one_program = compile_counter.count  # a new surface: only its program is new
    assert one_program >= 1

    barrier, results = threading.Barrier(3), []

    def visitor():
        barrier.wait()
        results.append(run(bowls[2], ["gd"], start, settings)[0])

    threads = [threading.Thread(target=visitor) for _ in range(3)]
    compile_counter.count = 0
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert compile_counter.count == one_program
    assert len(results) == 3
    for traj in results[1:]:
        np.testing.assert_array_equal(traj.params, results[0].params)
