"""The data-page scenarios (SGD noise vs batch size, feature scaling) and their checks."""

from __future__ import annotations

import numpy as np

from optlab.core import engine
from optlab.core.sweeps import best, lr_grid, run_sweep
from optlab.scenarios.base import Scenario, data_inputs, page_values
from optlab.scenarios.base import scenario as _s

_DATA_PAD = 32  # the data checks pad their sweeps to one batch size: one compile for both


def _batch_noise(q):
    v = page_values("data", q)
    excess, spread = {}, {}
    for b in v["batch"]:
        problem, runs, theta = data_inputs(v, b, v["std"][0])
        settings = engine.Settings(steps=v["steps"])
        res = engine.sweep(problem, runs, {}, [v["start"]], settings, range(v["seeds"]), theta,
                           pad_to=_DATA_PAD)  # fmt: skip
        final = res[0].loss[:, -1].astype(np.float64)
        excess[b] = float(np.mean(final) - problem.view(**theta).minima[0].value)
        spread[b] = float(np.std(final))
    lo, hi = min(v["batch"]), max(v["batch"])
    ok = excess[lo] > 10 * excess[hi] and spread[lo] > spread[hi]
    return ok, (
        f"final loss above the optimum (mean over {v['seeds']} seeds): batch {lo} "
        f"{excess[lo]:.2e}, batch {hi} {excess[hi]:.2e}; spread {spread[lo]:.1e} vs "
        f"{spread[hi]:.1e}"
    )


def _scaling(q):
    v = page_values("data", q)
    found = {}
    for s in v["std"]:
        problem, runs, theta = data_inputs(v, v["batch"][0], s)
        target = problem.view(**theta).minima[0].value
        grid = {"learning_rate": lr_grid(1e-3, 2.0, 24)}
        table = run_sweep(problem, runs, grid, [v["start"]], steps=v["steps"], theta=theta,
                          target=target, pad_to=_DATA_PAD)  # fmt: skip
        found[s] = next(iter(best(table, "steps_to_tol").values()))
    raw, std = found[0], found[1]
    ok = raw is not None and std is not None and 10 * std.value <= raw.value
    return ok, (
        f"steps to within 1e-3 of the optimum, each at its best swept η: raw features "
        f"{raw.value:.0f} (η = {raw.hparams['learning_rate']:.3g}), standardized "
        f"{std.value:.0f} (η = {std.hparams['learning_rate']:.3g})"
    )


SCENARIOS: tuple[Scenario, ...] = (
    _s("sgd-batch-noise", "SGD noise and the batch size", "data",
       {"data": "linreg", "opt": "gd", "gd.lr": "0.1", "std": "1", "batch": "1,64",
        "seeds": "8", "steps": "300"},
       "Mini-batch gradients are noisy estimates of the full gradient. With batch 1 SGD keeps "
       "jittering in a 'noise ball' around the optimum, and every seed ends somewhere else; "
       "batch 64 averages the noise away (variance ∝ 1/B) and all seeds agree.",
       "How could you shrink the noise ball without a larger batch?", _batch_noise),
    _s("feature-scaling", "Feature scaling", "data",
       {"data": "linreg", "opt": "gd", "gd.lr": "0.05", "batch": "200", "std": "0,1",
        "steps": "300"},
       "With raw features (mean 4, spread 3) the loss is a narrow tilted ravine (κ ≈ 70) and GD "
       "needs a small step. Standardizing makes it round (κ = 1): at its best step GD converges "
       "in a couple of steps. Each is compared at its own best learning rate.",
       "Why does a feature's offset (its mean) make the problem ill-conditioned?", _scaling),
)  # fmt: skip
