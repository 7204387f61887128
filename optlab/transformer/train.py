"""Train several optimizers on the tiny transformer, from one init, on one batch sequence.

Fairness: every run starts from ``init_params(key(init_seed))``; the batch of global step ``t``
is drawn with ``fold_in(key(data_seed), t)`` and its dropout mask with
``fold_in(key(dropout_seed), t)``, so no randomness depends on the optimizer.

Speed: one jitted function (``_train_chunk``) runs a ``lax.scan`` of ``chunk`` steps for one
optimizer. Static: the ``ModelConfig``, the optimizer factory, the batch size, the chunk length
and the (power-of-two bucketed) corpus size. Traced: every hyperparameter, the per-step
learning-rate multipliers, clipping, L2 and weight decay, so changing any of them never
recompiles. ``train_chunks`` drives the chunks from Python and yields a ``ChunkReport`` after
each round (every run one chunk further) for a progress bar, live curves and an early stop.

Per step, the lab's one step pipeline (``optlab.core.stepper.condition`` then ``advance``, as
in ``optlab.core.engine``): loss gradient -> global-norm clip -> + coupled L2 -> optimizer
update at ``lr * multiplier[t]`` -> + decoupled weight decay (on every parameter, LayerNorm and
biases included) -> apply. A step whose loss, gradient or result is not finite is not applied;
the run stays frozen from there on and ``diverged_at`` records the step.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optlab.core import stepper, transforms
from optlab.core.optimizers import OPTIMIZERS, OptimizerSpec
from optlab.transformer.corpus import Corpus
from optlab.transformer.data import batch_key, eval_batches, make_data, sample_batch
from optlab.transformer.model import (
    ModelConfig,
    Params,
    flatten_params,
    init_params,
    loss_fn,
    param_groups,
)


@partial(jax.jit, static_argnames="cfg")
def eval_loss(params: Params, seqs_NxBxT: jax.Array, cfg: ModelConfig) -> jax.Array:
    """Mean loss over a fixed set of batches (no dropout)."""
    return jax.lax.map(lambda seq: loss_fn(params, seq, cfg), seqs_NxBxT).mean()


@partial(jax.jit, static_argnames="factory")
def _init_state(params, hp, *, factory):
    return factory(**hp).init(params)


@partial(jax.jit, static_argnames=("cfg", "factory", "batch_size"))
def _train_chunk(carry, steps_K, lr_mult_K, *, hp, reg, data, seeds, cfg, factory, batch_size):
    """``K = len(steps_K)`` optimizer steps in one ``lax.scan``; returns carry and metrics."""
    dropout_key = jax.random.key(seeds[1])

    def body(carry, xs):
        params, state, alive, div_step = carry
        t, lr_mult = xs
        seq_BxT = sample_batch(data, batch_key(seeds[0], t), batch_size, cfg.ctx)
        dkey = jax.random.fold_in(dropout_key, t)
        loss, g = jax.value_and_grad(loss_fn)(params, seq_BxT, cfg, dkey, True)
        layer_norms = {name: transforms.global_norm(gr) for name, gr in param_groups(g).items()}
        g, raw_norm, clipped_norm = stepper.condition(g, params, reg)
        lr = hp["learning_rate"] * lr_mult
        update = factory(**{**hp, "learning_rate": lr}).update
        new_params, new_state, ok = stepper.advance(
            update, g, state, params, lr, reg["weight_decay"], alive, loss
        )
        new_carry = (new_params, new_state, ok, jnp.where(alive & ~ok, t, div_step))
        metrics = {
            "loss": loss,
            "grad_norm": raw_norm,
            "clipped_norm": clipped_norm,
            "lr": lr,
            "layer_grad_norms": layer_norms,
        }
        return new_carry, metrics

    return jax.lax.scan(body, carry, (steps_K, lr_mult_K))


@dataclass(frozen=True)
class Contestant:
    """One contestant: an ``OPTIMIZERS`` entry, its hyperparameters and regularisation.

    ``label`` must be unique among the runs (two Adams with different learning rates need two
    labels). ``hparams`` override the spec's defaults. ``clip_norm=inf`` means no clipping.
    """

    label: str
    optimizer: str
    hparams: Mapping[str, float] = field(default_factory=dict)
    clip_norm: float = math.inf
    l2: float = 0.0
    weight_decay: float = 0.0

    @property
    def spec(self) -> OptimizerSpec:
        return OPTIMIZERS[self.optimizer]


@dataclass(frozen=True)
class TrainConfig:
    """Loop settings: ``steps`` in chunks of ``chunk`` (a last shorter chunk compiles once more),
    validation on ``eval_batches`` fixed batches at every chunk end, snapshots of flattened
    params at every chunk end if ``keep_snapshots`` (for the PCA landscape)."""

    steps: int = 300
    chunk: int = 50
    batch_size: int = 32
    init_seed: int = 0
    data_seed: int = 0
    dropout_seed: int = 1
    eval_seed: int = 2
    eval_batches: int = 4
    keep_snapshots: bool = False


@dataclass
class ChunkReport:
    """Progress after a round of chunks. Arrays are numpy, one entry per step so far.

    Attributes:
        step: steps done by every run; ``total_steps`` planned; ``done`` when equal.
        elapsed_s: wall time since the start (first round includes compiling).
        eta_s: remaining time estimated from the latest round (high after the first round,
            which includes compiling).
        metrics: ``label -> {"loss", "grad_norm", "clipped_norm", "lr": [step],
            "layer_grad_norms": {group: [step]}}`` (raw gradient norms; the loss is the
            training-batch loss, with dropout).
        val_steps, val_loss: validation loss at step 0 and at every chunk end, ``label -> [n]``.
        params: latest params per run; ``diverged_at``: first non-finite step or ``None``.
        snapshots: ``label -> [n, P]`` flattened params at ``val_steps`` (if kept).
    """

    step: int
    total_steps: int
    elapsed_s: float
    eta_s: float
    metrics: dict[str, dict[str, Any]]
    val_steps: np.ndarray
    val_loss: dict[str, np.ndarray]
    params: dict[str, Params]
    diverged_at: dict[str, int | None]
    snapshots: dict[str, np.ndarray] | None = None

    @property
    def done(self) -> bool:
        return self.step >= self.total_steps


def _check_runs(runs: Sequence[Contestant]) -> None:
    labels = [r.label for r in runs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"run labels must be unique, got {labels}")
    for r in runs:
        if r.optimizer not in OPTIMIZERS:
            raise KeyError(f"unknown optimizer {r.optimizer!r}")
        if r.spec.needs_hessian:
            raise ValueError(f"{r.spec.display} needs a Hessian: not available for the transformer")
        unknown = set(r.hparams) - {h.name for h in r.spec.hparams}
        if unknown:
            raise TypeError(f"{r.spec.display} has no hyperparameter(s) {sorted(unknown)}")


def _concat(old, new):
    return jax.tree.map(lambda a, b: np.concatenate([a, b]), old, new)


def train_chunks(
    corpus: Corpus,
    cfg: ModelConfig,
    runs: Sequence[Contestant],
    tcfg: TrainConfig = TrainConfig(),
    lr_multipliers: np.ndarray | None = None,
) -> Iterator[ChunkReport]:
    """Train every run for ``tcfg.steps`` steps, yielding a ``ChunkReport`` after each round.

    Args:
        corpus: the data (``cfg.vocab_size`` must equal ``corpus.tokenizer.vocab_size``).
        cfg: the model.
        runs: the contestants; all start from the same params and see the same batches.
        tcfg: loop settings.
        lr_multipliers: float32 ``[steps]`` multiplying every run's learning rate per step
            (``SCHEDULES[name].multipliers(steps, ...)``); ``None`` for a constant rate.
    """
    _check_runs(runs)
    if cfg.vocab_size != corpus.tokenizer.vocab_size:
        raise ValueError("cfg.vocab_size does not match the corpus vocabulary")
    steps, chunk = tcfg.steps, min(tcfg.chunk, tcfg.steps)
    mult = np.ones(steps, np.float32) if lr_multipliers is None else np.asarray(lr_multipliers)
    if mult.shape != (steps,):
        raise ValueError(f"lr_multipliers must have shape ({steps},), got {mult.shape}")
    mult = mult.astype(np.float32)
    t0 = time.perf_counter()
    train_data = make_data(corpus.train_ids, cfg.ctx, corpus.line_starts("train"))
    val_data = make_data(corpus.val_ids, cfg.ctx, corpus.line_starts("val"))
    val_seqs = eval_batches(
        val_data,
        jax.random.key(tcfg.eval_seed),
        batch_size=tcfg.batch_size,
        ctx=cfg.ctx,
        n_batches=tcfg.eval_batches,
    )
    seeds = jnp.asarray([tcfg.data_seed, tcfg.dropout_seed], jnp.int32)
    params0 = init_params(jax.random.key(tcfg.init_seed), cfg)
    val0 = float(eval_loss(params0, val_seqs, cfg))
    carries, hps, regs = {}, {}, {}
    for r in runs:
        hps[r.label] = {k: jnp.float32(v) for k, v in {**r.spec.defaults(), **r.hparams}.items()}
        regs[r.label] = {k: jnp.float32(getattr(r, k)) for k in ("clip_norm", "l2", "weight_decay")}
        state = _init_state(params0, hps[r.label], factory=r.spec.factory)
        carries[r.label] = (params0, state, jnp.bool_(True), jnp.int32(-1))
    metrics: dict[str, Any] = dict.fromkeys(r.label for r in runs)
    val_steps, val_loss = [0], {r.label: [val0] for r in runs}
    snaps = {r.label: [flatten_params(params0)] for r in runs}
    done, round_s = 0, 0.0
    while done < steps:
        k = min(chunk, steps - done)
        t_round = time.perf_counter()
        steps_K = jnp.asarray(np.arange(done, done + k, dtype=np.int32))
        for r in runs:
            carry, m = _train_chunk(
                carries[r.label],
                steps_K,
                jnp.asarray(mult[done : done + k]),
                hp=hps[r.label],
                reg=regs[r.label],
                data=train_data,
                seeds=seeds,
                cfg=cfg,
                factory=r.spec.factory,
                batch_size=tcfg.batch_size,
            )
            carries[r.label] = carry
            m = jax.tree.map(np.asarray, m)
            metrics[r.label] = m if metrics[r.label] is None else _concat(metrics[r.label], m)
            val_loss[r.label].append(float(eval_loss(carry[0], val_seqs, cfg)))
            if tcfg.keep_snapshots:
                snaps[r.label].append(flatten_params(carry[0]))
        done += k
        val_steps.append(done)
        round_s = time.perf_counter() - t_round
        yield ChunkReport(
            step=done,
            total_steps=steps,
            elapsed_s=time.perf_counter() - t0,
            eta_s=round_s * math.ceil((steps - done) / chunk),
            metrics=dict(metrics),
            val_steps=np.asarray(val_steps),
            val_loss={lab: np.asarray(v) for lab, v in val_loss.items()},
            params={lab: c[0] for lab, c in carries.items()},
            diverged_at={
                lab: (int(c[3]) if int(c[3]) >= 0 else None) for lab, c in carries.items()
            },
            snapshots={lab: np.stack(s) for lab, s in snaps.items()}
            if tcfg.keep_snapshots
            else None,
        )


def train(
    corpus: Corpus,
    cfg: ModelConfig,
    runs: Sequence[Contestant],
    tcfg=TrainConfig(),
    lr_multipliers=None,
) -> ChunkReport:
    """Run ``train_chunks`` to the end and return the last report."""
    last = None
    for report in train_chunks(corpus, cfg, runs, tcfg, lr_multipliers):
        last = report
    return last
