"""The Deep nets page's scenarios (vanishing gradients, initialisation, batch norm, residuals,
clipping, weight decay) and their checks.

Each query is a link in the page's own scheme (``optlab.config.deepnets``); each check reads it
with the page's parser, trains what the page trains (``optlab.config.deepnets``'s adapters into
``optlab.nets.train``) and the one change the claim is about, and measures the claim.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np

from optlab.config import deepnets as dn
from optlab.nets import train
from optlab.scenarios.base import Scenario

PAGE = "deepnets"


def read(query) -> dn.DeepNetsConfig:
    cfg, notices = dn.parse_deepnets_query(query)
    if notices:
        raise ValueError(f"query not understood: {notices}")
    return cfg


def depth_histories(n: dn.DepthConfig) -> list[train.History]:
    """What the page's depth section trains for ``n``."""
    return train.train(dn.depth_net(n), dn.depth_data(n), dn.depth_runs(n), dn.depth_settings(n))


def flow(h: train.History) -> float:
    """Gradient norm at layer 1 over the one at the last hidden layer, at initialisation."""
    g = h.layer_grad[0]
    return float(g[0] / g[-2]) if g[-2] > 0 else 0.0


def spread(h: train.History) -> float:
    """The last hidden layer's activation std over the first's, at initialisation."""
    a = h.act[0, :, 1]
    return float(a[-1] / a[0])


# ---------------------------------------------------------------------------------------------
# Checks: each takes its scenario's query and returns (passed, evidence).


def _sigmoid_vanishes(q):
    n = read(q).net
    (sig,) = depth_histories(n)
    (tanh,) = depth_histories(replace(n, activation="tanh"))
    learned = sig.train_loss[-1] / sig.train_loss[0]
    ok = flow(sig) < 1e-6 and flow(tanh) > 1e-3 and learned > 0.95
    return ok, (
        f"depth {n.depth}, at initialisation: ‖∂L/∂θ₁‖ / ‖∂L/∂θ_L‖ = {flow(sig):.1e} with sigmoid "
        f"(σ′ ≤ ¼ per layer) vs {flow(tanh):.1e} with tanh; after {n.steps} steps the sigmoid "
        f"net's loss is still {learned:.0%} of its start"
    )


def _he_init(q):
    n = read(q).net
    (he,) = depth_histories(n)
    (xavier,) = depth_histories(replace(n, init="xavier"))
    ok = (0.05 < spread(he) < 20 and spread(xavier) < 1e-3 and flow(he) > 1e-2
          and flow(xavier) < 1e-4 and he.train_loss[-1] < 0.5 * xavier.train_loss[-1])  # fmt: skip
    return ok, (
        f"ReLU depth {n.depth}: last/first layer activation std He {spread(he):.2g} vs Xavier "
        f"{spread(xavier):.1e}; gradient layer 1 / layer L He {flow(he):.2g} vs Xavier "
        f"{flow(xavier):.1e}; training loss after {n.steps} steps He "
        f"{he.train_loss[-1]:.3g} vs Xavier {xavier.train_loss[-1]:.3g}"
    )


def _batch_norm(q):
    n = read(q).net
    (bn,) = depth_histories(n)
    (plain,) = depth_histories(replace(n, norm="none"))
    g_bn, g_plain = float(bn.layer_grad[0, 0]), float(plain.layer_grad[0, 0])
    # The training loss the optimizer sees (batch statistics). The eval-mode loss uses running
    # averages that lag a depth-30 net whose weights Adam moves fast: it spikes from step to
    # step, so its value at one step says little (and flipped with a JAX release).
    ok = g_plain < 1e-12 * g_bn and bn.loss[-1] < 0.8 * plain.loss[-1]
    return ok, (
        f"init σ² = 10⁻⁴, depth {n.depth}: layer-1 gradient {g_plain:.1e} without normalisation "
        f"vs {g_bn:.2g} with batch norm; last layer's activation std {plain.act[0, -1, 1]:.1e} "
        f"vs {bn.act[0, -1, 1]:.2g}; training loss (batch statistics) after {n.steps} steps "
        f"{plain.loss[-1]:.3f} vs {bn.loss[-1]:.3f}"
    )


def _residual(q):
    n = read(q).net
    (res,) = depth_histories(n)
    (plain,) = depth_histories(replace(n, residual=False))
    ok = flow(res) > 1e-2 and flow(plain) < 1e-10 and res.train_loss[-1] < plain.train_loss[-1]
    return ok, (
        f"{n.depth} sigmoid layers: gradient layer 1 / layer L {flow(plain):.1e} plain vs "
        f"{flow(res):.2g} with residual paths; loss after {n.steps} steps "
        f"{plain.train_loss[-1]:.3f} vs {res.train_loss[-1]:.3f}"
    )


def _clipping(q):
    n = read(q).net
    (clip,) = depth_histories(n)
    (raw,) = depth_histories(replace(n, clip=math.inf))
    share = float(np.mean(clip.grad_norm > n.clip))
    tamed = clip.diverged_at is None and clip.train_loss[-1] < 1e-2 * clip.train_loss[0]
    wild = raw.diverged_at is not None or not raw.train_loss[-1] < raw.train_loss[0]
    return tamed and wild and share > 0.5, (
        f"init σ² = 1, ReLU depth {n.depth}: initial loss {clip.train_loss[0]:.3g}, raw ‖g‖ "
        f"{clip.grad_norm[0]:.2g}; unclipped GD "
        + (f"diverged at step {raw.diverged_at}" if raw.diverged_at is not None else
           f"ended at {raw.train_loss[-1]:.3g}")
        + f"; clipped at c = {n.clip:g} ({share:.0%} of the steps) it ended at "
        f"{clip.train_loss[-1]:.3g}"
    )  # fmt: skip


def _weight_decay(q):
    o = read(q).of
    plain, reg = train.train(dn.overfit_net(o), dn.overfit_data(o), dn.overfit_runs(o),
                             dn.overfit_settings(o))  # fmt: skip
    gap = {h.label: float(h.val_loss[-1] - h.train_loss[-1]) for h in (plain, reg)}
    ok = gap[dn.PLAIN] > 0.1 and gap[dn.REGULARISED] < gap[dn.PLAIN] / 3
    return ok, (
        f"{o.n} points, {o.depth}×{o.width} net, {o.steps} steps: validation − training loss "
        f"{gap[dn.PLAIN]:.3f} without regularisation (training {plain.train_loss[-1]:.4f}) vs "
        f"{gap[dn.REGULARISED]:.3f} with decay λ = {o.lam:g} (training "
        f"{reg.train_loss[-1]:.4f}); noise floor σ² = {o.noise**2:.2f}"
    )


def _s(key, title, query, notice, question, check) -> Scenario:
    return Scenario(key, title, PAGE, query, notice, question, functools.partial(check, query))


DEPTH = {"section": "depth"}
SCENARIOS: tuple[Scenario, ...] = (
    _s("sigmoid-depth-vanishes", "Sigmoid at depth 20: the gradient vanishes",
       {**DEPTH, "depth": "20", "act": "sigmoid", "opt": "adam"},
       "Read the per-layer gradient plot from right (output) to left (input): on a log axis the "
       "line falls straight down, by ~10⁻¹³ over 20 layers. Backprop multiplies by σ′(z) ≤ ¼ at "
       "every layer, so the first layers get almost no signal and the loss stays flat at ln 2.",
       "Why does switching to tanh (whose derivative reaches 1) keep the line level?",
       _sigmoid_vanishes),
    _s("he-init-relu-30", "He initialisation fixes ReLU at depth 30",
       {**DEPTH, "depth": "30", "act": "relu", "init": "he", "opt": "adam", "adam.lr": "0.001"},
       "A ReLU zeroes half of its inputs, so with Xavier's σ² = 1/n each layer halves the "
       "signal's variance: after 30 layers activations and gradients are ~10⁻⁵ smaller. He's "
       "σ² = 2/n doubles it back and the activation std stays level; the net trains.",
       "What variance would keep the signal level for a unit that zeroes 3/4 of its inputs?",
       _he_init),
    _s("batchnorm-rescues-init", "Batch norm rescues a bad initialisation",
       {**DEPTH, "depth": "30", "act": "relu", "init": "small", "norm": "batch", "opt": "adam",
        "adam.lr": "0.01"},
       "With weights of σ² = 10⁻⁴ the signal dies within a few layers and the gradient at layer 1 "
       "is exactly 0: nothing trains. Batch norm rescales each layer's inputs to mean 0 and "
       "std 1 over the batch, so the scale of the weights no longer matters. Turn it off to "
       "compare.",
       "Batch norm uses batch statistics in training and running averages at test time: why?",
       _batch_norm),
    _s("residual-50-layers", "Residual connections carry the gradient through 50 layers",
       {**DEPTH, "depth": "50", "act": "sigmoid", "res": "1", "opt": "adam"},
       "Each layer adds to its input instead of replacing it (a ← a + f(Wa)/√L), so backprop has "
       "an identity path: ∂a_l/∂a_{l−1} = I + J/√L never multiplies the gradient down to "
       "nothing. The per-layer gradient stays within one decade over 50 sigmoid layers; turn "
       "residuals off and it underflows to 0.",
       "Why does the identity path matter more than the size of each branch's Jacobian J?",
       _residual),
    _s("clip-exploding-init", "Clipping tames an exploding initialisation",
       {**DEPTH, "depth": "6", "act": "relu", "init": "large", "opt": "gd", "gd.lr": "0.5",
        "clip": "1"},
       "With σ² = 1 each ReLU layer multiplies the signal by ≈ √(n/2) = 4: the first loss is "
       "in the hundreds and the raw gradient norm is huge. Unclipped, one GD step throws the "
       "weights to infinity (the run freezes). Clipped to ‖g‖ ≤ 1, the direction is kept and "
       "the step bounded: the loss falls steadily. Compare raw and clipped norms.",
       "Clipping keeps the direction but not the length: when does that stop helping?",
       _clipping),
    _s("weight-decay-gap", "Weight decay closes the overfitting gap",
       {"section": "overfit", "of.wd": "decoupled", "of.lam": "1"},
       "Twelve noisy points and ~33,000 weights: without regularisation the fit threads every "
       "point, the training loss falls near 0 and the validation loss climbs (the gap). "
       "Decoupled weight decay θ ← θ − ηλθ keeps the weights small and the function smooth: "
       "training loss rises a little, validation loss falls, the gap closes.",
       "Why is the validation loss never below the noise variance σ²?",
       _weight_decay),
)  # fmt: skip
