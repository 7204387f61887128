r"""Train the MLP with any ``OPTIMIZERS`` entry, recording what flows through every layer.

One step (``train_step``), the lab's one step pipeline as in every other trainer::

    loss, g   <- value_and_grad of the (mini-)batch loss   (train mode: batch statistics, dropout)
    per layer <- ||g_l|| for every layer l (before clipping), activation mean/std/inactive
    g         <- stepper.condition(g): clip by global norm, + coupled L2 λ₂θ
    θ, state  <- stepper.advance: optimizer update at η·m_t, − η λ θ decoupled decay,
                 frozen when the loss, the gradient or the result is not finite
    eval      <- loss (and accuracy) on the whole training and validation sets (eval mode)

Speed: ``_train_chunk`` runs a ``lax.scan`` of ``chunk`` steps for one optimizer. Static: the
``NetConfig``, the optimizer's factory, the task, the batch size and the chunk length (so a
depth or width change compiles once per shape). Traced: every hyperparameter, the schedule's
per-step multipliers, clipping, L2, weight decay, the dropout rate, the data and the initial
params — moving a learning-rate slider or picking another init never recompiles.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from optlab.core import stepper
from optlab.core.optimizers import OPTIMIZERS, check_runs
from optlab.core.schedules import SCHEDULES
from optlab.nets.data import Dataset
from optlab.nets.mlp import (
    NetConfig,
    Params,
    forward,
    init_params,
    init_stats,
    init_stds,
    layer_norms,
)


def _mse(out_BxO, y_B):
    return jnp.mean((out_BxO[:, 0] - y_B) ** 2)


def _bce(out_BxO, y_B):
    """Binary cross-entropy on logits: mean of ``log(1 + e^f) − y f``."""
    f = out_BxO[:, 0]
    return jnp.mean(jax.nn.softplus(f) - y_B * f)


def _accuracy(out_BxO, y_B):
    return jnp.mean((out_BxO[:, 0] > 0) == (y_B > 0.5))


LOSSES = {"regress": _mse, "classify": _bce}


@dataclass(frozen=True)
class Run:
    """One contestant: an ``OPTIMIZERS`` entry, its hyperparameters and regularisation
    (``clip_norm=inf``: no clipping; ``l2``: coupled λ₂; ``weight_decay``: decoupled λ;
    ``dropout``: the rate p in training)."""

    label: str
    optimizer: str
    hparams: Mapping[str, float] | tuple[tuple[str, float], ...] = ()  # pairs: hashable
    clip_norm: float = math.inf
    l2: float = 0.0
    weight_decay: float = 0.0
    dropout: float = 0.0


@dataclass(frozen=True)
class Settings:
    """Loop settings: ``steps`` in chunks of ``chunk`` (one compile for every chunk);
    ``batch`` 0 = the whole training set; one init and one batch order for every run."""

    steps: int = 300
    chunk: int = 100
    batch: int = 0
    init: str = "xavier"
    init_seed: int = 0
    batch_seed: int = 0
    schedule: str = "constant"
    schedule_params: tuple[tuple[str, float], ...] = ()


class History(NamedTuple):
    """One run's records (NumPy; ``T`` steps, ``L`` hidden layers). Step ``t``'s records are
    measured *before* its update: step 0 is the network at initialisation."""

    label: str
    optimizer: str
    loss: np.ndarray  # [T] the batch loss the optimizer saw (train mode)
    grad_norm: np.ndarray  # [T] raw global gradient norm
    clipped_norm: np.ndarray  # [T] after clipping
    layer_grad: np.ndarray  # [T, L + 1] per-layer gradient norm (last: the output layer)
    act: np.ndarray  # [T, L, 3] per layer: activation mean, std, inactive fraction
    lr: np.ndarray  # [T]
    train_loss: np.ndarray  # [T + 1] whole training set, eval mode (index t: after t steps)
    val_loss: np.ndarray  # [T + 1]
    train_acc: np.ndarray  # [T + 1] (classification; NaN for regression)
    val_acc: np.ndarray  # [T + 1]
    params: Params  # final
    stats: Params  # final batch-norm running statistics
    diverged_at: int | None


def _batch(data, seed, t, batch: int):
    x, y = data["x"], data["y"]
    if batch <= 0 or batch >= x.shape[0]:
        return x, y
    idx = jax.random.randint(jax.random.fold_in(jax.random.key(seed), t), (batch,), 0, x.shape[0])
    return x[idx], y[idx]


def evaluate(params, stats, x, y, cfg: NetConfig, task: str):
    """``(loss, accuracy)`` on a whole set in eval mode (accuracy NaN for regression)."""
    out, _, _ = forward(params, x, cfg, stats)
    acc = _accuracy(out, y) if task == "classify" else jnp.float32(jnp.nan)
    return LOSSES[task](out, y), acc


def train_step(carry, xs, *, hp, reg, data, seed, cfg: NetConfig, factory, task, batch):
    """One step of the pipeline (module docstring): ``(carry, record)``; ``carry`` is
    ``(params, opt state, bn stats, alive, diverged step)``, ``xs`` ``(t, lr multiplier)``."""
    params, state, stats, alive, div = carry
    t, mult = xs
    x, y = _batch(data, seed[0], t, batch)
    dkey = jax.random.fold_in(jax.random.key(seed[1]), t)

    def loss_fn(p):
        out, new_stats, act = forward(p, x, cfg, stats, train=True, key=dkey,
                                      dropout=reg["dropout"])  # fmt: skip
        return LOSSES[task](out, y), (new_stats, act)

    (loss, (new_stats, act)), g = jax.value_and_grad(loss_fn, has_aux=True)(params)
    per_layer = layer_norms(g)
    g, raw, clipped = stepper.condition(g, params, reg)
    lr = hp["learning_rate"] * mult
    update = factory(**{**hp, "learning_rate": lr}).update
    new_params, new_state, ok = stepper.advance(update, g, state, params, lr,
                                                reg["weight_decay"], alive, loss)  # fmt: skip
    new_stats = jax.tree.map(partial(jnp.where, ok), new_stats, stats)
    tr = evaluate(new_params, new_stats, data["x"], data["y"], cfg, task)
    va = evaluate(new_params, new_stats, data["x_val"], data["y_val"], cfg, task)
    record = {"loss": loss, "grad_norm": raw, "clipped_norm": clipped, "layer_grad": per_layer,
              "act": act, "lr": lr, "train_loss": tr[0], "val_loss": va[0], "train_acc": tr[1],
              "val_acc": va[1]}  # fmt: skip
    carry = (new_params, new_state, new_stats, ok, jnp.where(alive & ~ok, t, div))
    return carry, record


STATIC = ("cfg", "factory", "task", "batch")


@partial(jax.jit, static_argnames=STATIC)
def _train_chunk(carry, t_K, mult_K, hp, reg, data, seed, *, cfg, factory, task, batch):
    step = partial(train_step, hp=hp, reg=reg, data=data, seed=seed, cfg=cfg, factory=factory,
                   task=task, batch=batch)  # fmt: skip
    return jax.lax.scan(step, carry, (t_K, mult_K))


def initial_params(seed: int, *, cfg: NetConfig, init: str) -> Params:
    """The params every run starts from (the scheme's stds traced: no compile per scheme)."""
    return _initial_params(jnp.int32(seed), init_stds(cfg, init), cfg=cfg)


@partial(jax.jit, static_argnames="cfg")
def _initial_params(seed, stds, *, cfg: NetConfig) -> Params:
    return init_params(jax.random.key(seed), cfg, stds)


@partial(jax.jit, static_argnames="factory")
def _init_state(params, hp, *, factory):
    return factory(**hp).init(params)


@partial(jax.jit, static_argnames=("cfg", "task"))
def _evaluate(params, stats, x, y, *, cfg, task):
    return evaluate(params, stats, x, y, cfg, task)


@partial(jax.jit, static_argnames="cfg")
def predict(params, stats, x_BxD, cfg: NetConfig):
    """The network's outputs ``[B]`` in eval mode (the fitted function)."""
    return forward(params, x_BxD, cfg, stats)[0][:, 0]


def arrays(data: Dataset) -> dict[str, jax.Array]:
    return {k: jnp.asarray(getattr(data, k)) for k in ("x", "y", "x_val", "y_val")}


def inputs(run: Run, settings: Settings, cfg: NetConfig, data: Dataset):
    """What a run starts from: ``(carry, hp, reg, multipliers [steps], seed)``."""
    spec = OPTIMIZERS[run.optimizer]
    hp = {k: jnp.float32(v) for k, v in {**spec.defaults(), **dict(run.hparams)}.items()}
    reg = {k: jnp.float32(getattr(run, k)) for k in ("clip_norm", "l2", "weight_decay", "dropout")}
    params = initial_params(settings.init_seed, cfg=cfg, init=settings.init)
    state = _init_state(params, hp, factory=spec.factory)
    carry = (params, state, init_stats(cfg), jnp.bool_(True), jnp.int32(-1))
    sched = SCHEDULES[settings.schedule]
    mult = sched.multipliers(settings.steps, **dict(settings.schedule_params))
    seed = jnp.asarray([settings.batch_seed, settings.batch_seed + 1], jnp.int32)
    return carry, hp, reg, mult, seed


def train(
    cfg: NetConfig,
    data: Dataset,
    runs: Sequence[Run],
    settings: Settings = Settings(),
    progress: Callable[[float], None] | None = None,
) -> list[History]:
    """Train every run from the same initial params on the same batches; ``progress(f)`` is
    called with the fraction done after every chunk."""
    check_runs(runs, "deep nets")
    if cfg.d_in != data.x.shape[1]:
        raise ValueError(f"the data has {data.x.shape[1]} inputs, the network {cfg.d_in}")
    steps = settings.steps
    chunk = settings.chunk if steps % settings.chunk == 0 else steps
    static = {"cfg": cfg, "task": data.task, "batch": settings.batch}
    d = arrays(data)
    out, total, done = [], len(runs) * (steps // chunk), 0
    for run in runs:
        carry, hp, reg, mult, seed = inputs(run, settings, cfg, data)
        factory = OPTIMIZERS[run.optimizer].factory
        ev = _evaluate(carry[0], carry[2], d["x"], d["y"], cfg=cfg, task=data.task)
        ev_val = _evaluate(carry[0], carry[2], d["x_val"], d["y_val"], cfg=cfg, task=data.task)
        parts = []
        for start in range(0, steps, chunk):
            t_K = jnp.arange(start, start + chunk, dtype=jnp.int32)
            carry, rec = _train_chunk(carry, t_K, jnp.asarray(mult[start : start + chunk]), hp,
                                      reg, d, seed, factory=factory, **static)  # fmt: skip
            parts.append(jax.device_get(rec))
            done += 1
            if progress is not None:
                progress(done / total)
        rec = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        out.append(_history(run, rec, ev, ev_val, carry))
    return out


def _history(run: Run, rec: dict, ev, ev_val, carry) -> History:
    def with_start(first, key):
        return np.concatenate([[float(first)], rec[key]]).astype(np.float32)

    div = int(carry[4])
    return History(
        run.label, run.optimizer, rec["loss"], rec["grad_norm"], rec["clipped_norm"],
        rec["layer_grad"], rec["act"], rec["lr"],
        with_start(ev[0], "train_loss"), with_start(ev_val[0], "val_loss"),
        with_start(ev[1], "train_acc"), with_start(ev_val[1], "val_acc"),
        jax.device_get(carry[0]), jax.device_get(carry[2]), div if div >= 0 else None,
    )  # fmt: skip


def python_loop(cfg: NetConfig, data: Dataset, run: Run, settings: Settings) -> dict[str, Any]:
    """The same training as ``train`` for one run, as a plain Python loop over a jitted
    ``train_step`` (the reference the tests and the benchmark compare the scan with)."""
    carry, hp, reg, mult, seed = inputs(run, settings, cfg, data)
    d = arrays(data)
    step = jax.jit(partial(train_step, cfg=cfg, factory=OPTIMIZERS[run.optimizer].factory,
                           task=data.task, batch=settings.batch))  # fmt: skip
    records = []
    for t in range(settings.steps):
        xs = (jnp.int32(t), jnp.float32(mult[t]))
        carry, rec = step(carry, xs, hp=hp, reg=reg, data=d, seed=seed)
        records.append(jax.device_get(rec))
    return {"records": {k: np.stack([r[k] for r in records]) for k in records[0]},
            "params": jax.device_get(carry[0])}  # fmt: skip
