"""Shared programs: every registry surface through the surface set's one compiled program gives
what its own program gives, with its own parameters, and picking another surface compiles
nothing once the set's program is compiled."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from optlab.core import engine, shared
from optlab.core.engine import Settings
from optlab.core.optimizers import OPTIMIZERS
from surfaces import SURFACE_SET, SURFACES
from surfaces.custom import custom_surface
from surfaces.data import DATA_LOSSES

SETTINGS = Settings(steps=25)
LRS = {"learning_rate": np.geomspace(1e-3, 0.3, 8)}
# parameters away from their defaults, so a set that passed a member the defaults would show
THETA = {"ravine": {"kappa": 50.0}, "rosenbrock": {"b": 10.0}}


def _sweep(surface, name: str, share: bool = False) -> engine.SweepResult:
    start = (surface.starts[0].x, surface.starts[0].y)
    theta = THETA.get(surface.name)
    (res,) = engine.sweep(surface, [name], LRS, [start], SETTINGS, theta=theta, share=share)
    return res


@pytest.fixture
def fresh_set():
    SURFACE_SET.forget()
    yield SURFACE_SET
    SURFACE_SET.forget()


# Float32 rounding apart, where a sum or a Hessian is fused differently in the two programs
# (measured: Adam 2.6e-6 on Styblinski-Tang's loss). Newton's steps amplify it (its
# eigen-decomposition: 2e-4 on Himmelblau after 17 steps at a diverging rate), so it is
# compared over its first steps. A wrong member would be off by O(1).
STEPS_COMPARED = {"adam": SETTINGS.steps + 1, "newton": 4}


@pytest.mark.parametrize("name", ["adam", "newton"])  # newton: the set's Hessian too
def test_every_surface_through_the_set_equals_its_own_program(name, fresh_set):
    shared_runs = {s: _sweep(SURFACES[s], name, share=(s == "bowl")) for s in SURFACES}
    assert fresh_set.compiled((name, 25, 8, 1))
    fresh_set.forget()  # from here on each surface runs (and compiles) its own program
    for s, via_set in shared_runs.items():
        own = _sweep(SURFACES[s], name)
        n, tol = STEPS_COMPARED[name], {"rtol": 1e-5, "atol": 1e-6, "err_msg": s}
        np.testing.assert_allclose(via_set.params[:, :n], own.params[:, :n], **tol)
        np.testing.assert_allclose(via_set.loss[:, :n], own.loss[:, :n], **tol)


def test_the_set_passes_each_member_its_own_parameters(fresh_set):
    """The recorded loss at every recorded point is the member's own formula there, with the
    parameters given (an independent evaluation, not through the engine)."""
    for s in ("ravine", "rosenbrock", "ackley"):
        res = _sweep(SURFACES[s], "gd", share=True)
        surface = SURFACES[s]
        theta = surface.theta(**THETA.get(s, {}))
        x, y = res.params[..., 0], res.params[..., 1]
        expected = np.asarray(surface.fn(jnp.asarray(x), jnp.asarray(y), theta))
        finite = np.isfinite(res.loss)
        np.testing.assert_allclose(res.loss[finite], expected[finite], rtol=1e-5, err_msg=s)


def test_another_surface_compiles_nothing_once_the_set_is_compiled(fresh_set, compile_counter):
    _sweep(SURFACES["bowl"], "momentum", share=True)
    _sweep(SURFACES["saddle"], "momentum")  # the schedule's few eager ops, once per bucket
    before = compile_counter.count
    for s in ("ravine", "himmelblau", "rastrigin", "goldstein_price"):
        _sweep(SURFACES[s], "momentum")
    assert compile_counter.count == before


def test_until_the_set_is_compiled_each_member_runs_its_own_program(fresh_set):
    key = ("rmsprop", 25, 8, 1)
    problem, theta = shared.program(SURFACES["ravine"], {"kappa": 5.0}, key)
    assert problem is SURFACES["ravine"]
    assert float(theta["kappa"]) == 5.0
    _sweep(SURFACES["bowl"], "rmsprop")  # a plain run compiles the member's program only
    assert not fresh_set.compiled(key)
    _sweep(SURFACES["bowl"], "rmsprop", share=True)
    problem, theta = shared.program(SURFACES["ravine"], {"kappa": 5.0}, key)
    assert problem is SURFACE_SET
    assert int(theta["which"]) == list(SURFACES).index("ravine")
    assert float(theta["members"][int(theta["which"])]["kappa"]) == 5.0
    # another step bucket or batch size is another program: not compiled yet
    assert shared.program(SURFACES["ravine"], {}, ("rmsprop", 50, 8, 1))[0] is SURFACES["ravine"]
    assert shared.program(SURFACES["ravine"], {}, ("rmsprop", 25, 16, 1))[0] is SURFACES["ravine"]


def test_what_is_not_in_a_set_runs_its_own_program(fresh_set):
    custom = custom_surface("x**2 + 3*y**2")
    key = ("gd", 25, 8, 1)
    assert shared.program(custom, {}, key, share=True)[0] is custom
    assert shared.program(SURFACES["bowl"], {}, (OPTIMIZERS["gd"].factory(0.1), 25, 8, 1),
                          share=True)[0] is SURFACES["bowl"]  # fmt: skip
    with pytest.raises(ValueError, match="deterministic"):
        shared.ProblemSet([DATA_LOSSES["linreg"]])
    res = engine.sweep(custom, ["gd"], LRS, [(1.0, 1.0)], SETTINGS, share=True)
    assert np.isfinite(res[0].loss).all()
    assert not fresh_set.compiled(key)
