"""The deep-net trainer: the chunked ``lax.scan`` equals a plain Python loop of the same step,
a learning-rate (or init, clip, dropout, schedule) change compiles nothing, the records mean
what they say (raw vs clipped norm, step 0 at initialisation), and a non-finite step freezes
the run."""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest

from optlab.core import transforms
from optlab.core.schedules import SCHEDULES
from optlab.nets import data, mlp, train

CFG = mlp.NetConfig(d_in=2, width=8, depth=4, activation="tanh", norm="batch", residual=True)
DATA = data.make("spiral", 64, 0.05, 0, 32)
SETTINGS = train.Settings(steps=40, chunk=20, batch=16, schedule="cosine")


@pytest.mark.parametrize("opt", ["gd", "momentum", "adam"])
def test_scan_matches_a_python_loop(opt):
    run = train.Run("r", opt, {"learning_rate": 0.05}, clip_norm=0.5, l2=1e-3,
                    weight_decay=1e-2, dropout=0.2)  # fmt: skip
    (h,) = train.train(CFG, DATA, [run], SETTINGS)
    ref = train.python_loop(CFG, DATA, run, SETTINGS)
    rec = ref["records"]
    np.testing.assert_allclose(h.loss, rec["loss"], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(h.layer_grad, rec["layer_grad"], rtol=1e-3, atol=1e-7)
    np.testing.assert_allclose(h.val_loss[1:], rec["val_loss"], rtol=1e-4, atol=1e-6)
    got, want = (np.concatenate([np.ravel(x) for x in jax.tree.leaves(t)])
                 for t in (h.params, ref["params"]))  # fmt: skip
    # Adam's first steps are ≈ η·sign(g): a parameter whose gradient is near 0 (a bias behind
    # batch norm) amplifies float rounding, so parameters agree to 0.2 % of one step η.
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_records_mean_what_they_say():
    run = train.Run("clipped", "gd", {"learning_rate": 0.1}, clip_norm=0.05)
    (h,) = train.train(CFG, DATA, [run], train.Settings(steps=20, chunk=20))
    np.testing.assert_allclose(h.clipped_norm, np.minimum(h.grad_norm, 0.05), rtol=1e-4)
    # Per-layer norms make up the global norm: sqrt(sum of squares) = ||g||.
    np.testing.assert_allclose(np.sqrt((h.layer_grad**2).sum(axis=1)), h.grad_norm, rtol=1e-4)
    assert h.layer_grad.shape == (20, CFG.depth + 1)
    assert h.act.shape == (20, CFG.depth, 3)
    # Step 0 is measured at initialisation: the eval loss before any update is train_loss[0].
    params0 = train.initial_params(0, cfg=CFG, init="xavier")
    loss0, _ = train.evaluate(params0, mlp.init_stats(CFG), DATA.x, DATA.y, CFG, "classify")
    assert h.train_loss[0] == pytest.approx(float(loss0), rel=1e-5)
    assert len(h.train_loss) == 21
    assert h.diverged_at is None


def test_no_recompile_when_hyperparameters_change(compile_counter):
    base = train.Settings(steps=40, chunk=20, batch=16)
    train.train(CFG, DATA, [train.Run("a", "adam", {"learning_rate": 0.01})], base)
    for sched in ("cosine", "step"):  # the registry's eager multipliers compile once per schedule
        SCHEDULES[sched].multipliers(40)
    compile_counter.count = 0
    for lr, clip, dropout, init, sched in [(0.02, math.inf, 0.0, "xavier", "constant"),
                                           (0.003, 1.0, 0.3, "he", "cosine"),
                                           (0.1, 0.1, 0.1, "small", "step")]:  # fmt: skip
        settings = train.Settings(steps=40, chunk=20, batch=16, init=init, schedule=sched)
        run = train.Run("a", "adam", {"learning_rate": lr, "b1": 0.8}, clip_norm=clip,
                        dropout=dropout, weight_decay=0.01)  # fmt: skip
        train.train(CFG, data.make("spiral", 64, 0.2, 3, 32), [run], settings)
    assert compile_counter.count == 0


def test_a_non_finite_step_freezes_the_run():
    cfg = mlp.NetConfig(d_in=2, width=16, depth=6, activation="relu")
    run = train.Run("boom", "gd", {"learning_rate": 0.5})
    (h,) = train.train(cfg, DATA, [run], train.Settings(steps=20, chunk=20, init="large"))
    assert h.diverged_at is not None
    leaves = [np.asarray(x) for x in jax.tree.leaves(h.params)]
    assert all(np.isfinite(x).all() for x in leaves)  # the last finite params are kept
    assert transforms.global_norm(h.params) > 0


def test_bad_runs_are_refused():
    with pytest.raises(KeyError):
        train.train(CFG, DATA, [train.Run("x", "nope")])
    with pytest.raises(ValueError, match="Hessian"):
        train.train(CFG, DATA, [train.Run("x", "newton")])
    with pytest.raises(ValueError, match="unique"):
        train.train(CFG, DATA, [train.Run("x", "gd"), train.Run("x", "adam")])
    with pytest.raises(ValueError, match="inputs"):
        train.train(mlp.NetConfig(d_in=1), DATA, [train.Run("x", "gd")])
