"""The Data & SGD scenarios (SGD noise vs batch size, feature scaling) and their checks; each
compares two links to the page, in the page's own scheme."""

from __future__ import annotations

import numpy as np

from optlab.core import engine
from optlab.core.sweeps import best, lr_grid, run_sweep
from optlab.scenarios.base import Scenario, data_inputs, read_link
from optlab.scenarios.base import scenario as _s

_DATA_PAD = 32  # the data checks pad their sweeps to one batch size: one compile for both


def _batch_noise(queries):
    excess, spread, batch = [], [], []
    for q in queries:
        cfg = read_link("data", q)
        problem, runs, start, settings, theta, seeds = data_inputs(cfg)
        res = engine.sweep(problem, runs, {}, [start], settings, range(seeds), theta,
                           pad_to=_DATA_PAD)  # fmt: skip
        final = res[0].loss[:, -1].astype(np.float64)
        excess.append(float(np.mean(final) - problem.view(**theta).minima[0].value))
        spread.append(float(np.std(final)))
        batch.append(cfg.batch_points)
    (lo, hi), (e_lo, e_hi), (s_lo, s_hi) = batch, excess, spread
    ok = lo < hi and e_lo > 10 * e_hi and s_lo > s_hi
    return ok, (
        f"final loss above the optimum (mean over {seeds} seeds): batch {lo} {e_lo:.2e}, "
        f"batch {hi} {e_hi:.2e}; spread {s_lo:.1e} vs {s_hi:.1e}"
    )


def _scaling(queries):
    found = []
    for q in queries:
        cfg = read_link("data", q)
        problem, runs, start, settings, theta, _ = data_inputs(cfg)
        target = problem.view(**theta).minima[0].value
        grid = {"learning_rate": lr_grid(1e-3, 2.0, 24)}
        table = run_sweep(problem, runs, grid, [start], steps=settings.steps, theta=theta,
                          target=target, pad_to=_DATA_PAD)  # fmt: skip
        found.append(next(iter(best(table, "steps_to_tol").values())))
    raw, std = found
    ok = raw is not None and std is not None and 10 * std.value <= raw.value
    return ok, (
        f"steps to within 1e-3 of the optimum, each at its best swept η: raw features "
        f"{raw.value:.0f} (η = {raw.hparams['learning_rate']:.3g}), standardized "
        f"{std.value:.0f} (η = {std.hparams['learning_rate']:.3g})"
    )


_NOISE = {"std": "1", "opt": "gd", "gd.lr": "0.1", "steps": "300", "seeds": "8"}
_SCALING = {"batch": "full", "opt": "gd", "steps": "300", "seeds": "1"}

SCENARIOS: tuple[Scenario, ...] = (
    _s("sgd-batch-noise", "SGD noise and the batch size", "data",
       (("Open · batch 1", {**_NOISE, "batch": "1"}),
        ("Open · batch 64", {**_NOISE, "batch": "64"})),
       "Mini-batch gradients are noisy estimates of the full gradient. With batch 1 SGD keeps "
       "jittering in a 'noise ball' around the optimum, and every seed ends somewhere else; "
       "batch 64 averages the noise away (variance ∝ 1/B) and all seeds agree.",
       "How could you shrink the noise ball without a larger batch?", _batch_noise),
    _s("feature-scaling", "Feature scaling", "data",
       (("Open · raw features", _SCALING),
        ("Open · standardized", {**_SCALING, "std": "1"})),
       "With raw features (mean 4, spread 3) the loss is a narrow tilted ravine (κ ≈ 70) and GD "
       "needs a small step. Standardizing makes it round (κ = 1): at its best step GD converges "
       "in a couple of steps. Each is compared at its own best learning rate.",
       "Why does a feature's offset (its mean) make the problem ill-conditioned?", _scaling),
)  # fmt: skip
