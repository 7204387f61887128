"""Shared programs: every registry surface through the surface set's program, and every
optimizer through the optimizer set's, gives what its own program gives (with its own
parameters and moments), and once a shared program is compiled, another surface or another
optimizer compiles nothing."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from optlab.core import engine, shared
from optlab.core.engine import OptimizerRun, Settings
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.shared import OPTIMIZER_SET
from surfaces import SURFACE_SET, SURFACES
from surfaces.custom import custom_surface
from surfaces.data import DATA_LOSSES

SETTINGS = Settings(steps=25)
SHAPE = (25, 8, 1)  # the step bucket, batch rows and loss_every of the sweeps below
LRS = {"learning_rate": np.geomspace(1e-3, 0.3, 8)}
# parameters away from their defaults, so a set that passed a member the defaults would show
THETA = {"ravine": {"kappa": 50.0}, "rosenbrock": {"b": 10.0}}
# Float32 rounding apart, where a sum or a Hessian is fused differently in the two programs
# (measured: Adam 2.6e-6 on Styblinski-Tang's loss). Newton's steps amplify it (its
# eigen-decomposition: 2e-4 on Himmelblau after 17 steps at a diverging rate), so it is
# compared over its first steps. A wrong member would be off by O(1).
STEPS_COMPARED = {"adam": SETTINGS.steps + 1, "newton": 4}
TOL = {"rtol": 1e-5, "atol": 1e-6}


def _sweep(surface, name: str, share: bool = False) -> engine.SweepResult:
    start = (surface.starts[0].x, surface.starts[0].y)
    theta = THETA.get(surface.name)
    (res,) = engine.sweep(surface, [name], LRS, [start], SETTINGS, theta=theta, share=share)
    return res


@pytest.fixture
def fresh():
    """No shared program counts as compiled before or after the test."""
    shared.forget()
    yield
    shared.forget()


@pytest.mark.parametrize("name", ["adam", "newton"])  # newton: the set's Hessian too
def test_every_surface_through_the_set_equals_its_own_program(name, fresh):
    shared_runs = {s: _sweep(SURFACES[s], name, share=(s == "bowl")) for s in SURFACES}
    assert shared.program(SURFACES["ravine"], name, {}, SHAPE).problem is SURFACE_SET
    shared.forget()  # from here on each surface runs (and compiles) its own program
    for s, via_set in shared_runs.items():
        own = _sweep(SURFACES[s], name)
        n = STEPS_COMPARED[name]
        np.testing.assert_allclose(via_set.params[:, :n], own.params[:, :n], **TOL, err_msg=s)
        np.testing.assert_allclose(via_set.loss[:, :n], own.loss[:, :n], **TOL, err_msg=s)


@pytest.mark.parametrize(
    "problem", [SURFACES["rosenbrock"], custom_surface("x**2 + 3*sin(y) + 0.5*y**2")],
    ids=["rosenbrock", "custom"],
)  # fmt: skip
def test_every_optimizer_through_the_set_equals_its_own_program(problem, fresh):
    """Paths, losses and every moment with its label, for each optimizer in the set."""
    settings = Settings(steps=40, schedule="cosine")
    start = (problem.starts[0].x, problem.starts[0].y)

    def each() -> dict[str, engine.Trajectory]:
        return {n: engine.run(problem, [n], start, settings, pad_to=8)[0] for n in names}

    names = OPTIMIZER_SET.names
    engine.run(problem, ["adam"], start, settings, pad_to=8, share=True)
    via_set = each()
    assert shared.program(problem, "lion", {}, (50, 8, 1)).impl is OPTIMIZER_SET
    shared.forget()
    for a, b in zip(via_set.values(), each().values(), strict=True):
        np.testing.assert_allclose(a.params, b.params, **TOL, err_msg=a.name)
        np.testing.assert_allclose(a.loss, b.loss, **TOL, err_msg=a.name)
        assert a.moments.keys() == b.moments.keys(), a.name
        for label in a.moments:
            np.testing.assert_allclose(a.moments[label], b.moments[label], **TOL, err_msg=label)
    assert via_set["gd"].moments == {}
    assert len(via_set["amsgrad"].moments) == OPTIMIZER_SET.slots == 3  # the most moments


def test_a_data_loss_shares_the_optimizer_set(fresh):
    """Mini-batch runs (K seeds) through the optimizer set equal each optimizer's own."""
    linreg = DATA_LOSSES["linreg"]
    settings = Settings(steps=30, grad_noise=0.0)
    lrs = {"learning_rate": np.asarray([0.01, 0.05], np.float32)}

    def sweep(name: str, share: bool = False) -> engine.SweepResult:
        start = (linreg.view().starts[0].x, linreg.view().starts[0].y)
        (res,) = engine.sweep(linreg, [name], lrs, [start], settings, (0, 1, 2), share=share)
        return res

    shared_runs = {n: sweep(n, share=(n == "gd")) for n in ("gd", "adagrad", "lion")}
    assert shared.program(linreg, "adam", {}, (50, 8, 1)).impl is OPTIMIZER_SET
    shared.forget()
    for name, via_set in shared_runs.items():
        own = sweep(name)
        np.testing.assert_allclose(via_set.params, own.params, **TOL, err_msg=name)
        np.testing.assert_allclose(via_set.loss, own.loss, **TOL, err_msg=name)


def test_the_set_passes_each_member_its_own_parameters(fresh):
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


def test_another_surface_or_optimizer_compiles_nothing_once_shared(fresh, compile_counter):
    _sweep(SURFACES["bowl"], "momentum", share=True)
    _sweep(SURFACES["saddle"], "momentum")  # the schedule's few eager ops, once per bucket
    before = compile_counter.count
    for s, name in [("ravine", "nesterov"), ("himmelblau", "adam"), ("rastrigin", "lion"),
                    ("goldstein_price", "adadelta"), ("bowl", "gd")]:  # fmt: skip
        assert shared.program(SURFACES[s], name, {}, SHAPE)[:2] == (SURFACE_SET, OPTIMIZER_SET)
        _sweep(SURFACES[s], name)
    assert compile_counter.count == before


def test_until_a_shared_program_is_compiled_each_runs_its_own(fresh):
    problem = shared.program(SURFACES["ravine"], "rmsprop", {"kappa": 5.0}, SHAPE)
    assert problem.problem is SURFACES["ravine"]
    assert problem.impl == "rmsprop"
    assert float(problem.theta["kappa"]) == 5.0
    _sweep(SURFACES["bowl"], "rmsprop")  # a plain run compiles the member's program only
    assert shared.program(SURFACES["ravine"], "rmsprop", {}, SHAPE).impl == "rmsprop"
    _sweep(SURFACES["bowl"], "rmsprop", share=True)
    prog = shared.program(SURFACES["ravine"], "adam", {"kappa": 5.0}, SHAPE)
    assert prog.problem is SURFACE_SET
    assert prog.impl is OPTIMIZER_SET
    which = int(prog.theta["which"])
    assert which == list(SURFACES).index("ravine")
    assert float(prog.theta["members"][which]["kappa"]) == 5.0
    assert int(prog.tp[shared.WHICH]) == OPTIMIZER_SET.names.index("adam")
    # another step bucket or batch size is another program: not compiled yet
    assert shared.program(SURFACES["ravine"], "adam", {}, (50, 8, 1)).impl == "adam"
    assert shared.program(SURFACES["ravine"], "adam", {}, (25, 16, 1)).impl == "adam"


def test_what_cannot_share_runs_its_own_program(fresh):
    custom = custom_surface("x**2 + 3*y**2")
    prog = shared.program(custom, "gd", {}, SHAPE, share=True)
    assert prog.problem is custom  # no set of surfaces holds it: only the optimizer set
    assert prog.impl is OPTIMIZER_SET
    newton = shared.program(SURFACES["bowl"], "newton", {}, SHAPE, share=True)
    assert newton.problem is SURFACE_SET  # the Hessian's optimizer is in no optimizer set
    assert newton.impl == "newton"
    tx = OPTIMIZERS["gd"].factory(0.1)  # an optax-protocol transformation: nothing shared
    assert shared.program(SURFACES["bowl"], tx, {}, SHAPE, share=True)[:2] == (SURFACES["bowl"], tx)
    with pytest.raises(ValueError, match="deterministic"):
        shared.ProblemSet([DATA_LOSSES["linreg"]])
    with pytest.raises(ValueError, match="Hessian"):
        shared.OptimizerSet(("gd", "newton"))
    run = engine.run(custom, [OptimizerRun("momentum")], (1.0, 1.0), SETTINGS, share=True)
    assert np.isfinite(run[0].loss).all()
    assert list(run[0].moments) == ["velocity"]
