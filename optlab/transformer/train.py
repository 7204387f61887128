"""Train several optimizers on the tiny transformer, from one init, on one batch sequence.

Fairness: every run starts from ``init_params(key(init_seed))``; the batch of global step ``t``
is drawn with ``fold_in(key(data_seed), t)`` and its dropout mask with
``fold_in(key(dropout_seed), t)``, so no randomness depends on the optimizer.

Speed: runs of equal batch size form a group, and one program steps the whole group: its
``lax.scan`` of ``chunk`` steps computes every run's gradient in one ``vmap`` over the stacked
params (same batch, one batched forward and backward pass), then applies each optimizer's own
update, and ends with every run's validation loss. A second program (``setup``) makes the start:
weights, optimizer states, validation batches, the loss at step 0. XLA runs one such program on
one core, so on a machine with ``WORKERS`` cores the runs of a batch size are cut into up to
``WORKERS`` groups whose chunks run at the same time, each round on a thread per group (XLA
leaves the GIL free while it runs). So the default comparison (4 optimizers, one batch size)
compiles two programs per core, at most 8. Measured on 2 cores: 21.9 ms per step of all four
instead of 30.8 ms, for 4 programs to compile instead of 2 (10.5 s instead of 6.5 s with an
empty cache). Static: the ``ModelConfig``, the optimizer factories, the batch size, the chunk
length and the (power-of-two bucketed) corpus size. Traced: every hyperparameter, the per-step
learning-rate multipliers, clipping, L2 and weight decay, so changing any of them never
recompiles. Programs are compiled through ``optlab.transformer.programs`` (once per shape, a
stage of its own: ``Trainer.compile``); ``Trainer.rounds`` yields a ``ChunkReport`` after each
round (every run one chunk further) for a progress bar, live curves and an early stop.

Per step, the lab's one step pipeline (``optlab.core.stepper.condition`` then ``advance``, as
in ``optlab.core.engine``): loss gradient -> global-norm clip -> + coupled L2 -> optimizer
update at ``lr * multiplier[t]`` -> + decoupled weight decay (on every parameter, LayerNorm and
biases included) -> apply. A step whose loss, gradient or result is not finite is not applied;
the run stays frozen from there on and ``diverged_at`` records the step.
"""

from __future__ import annotations

import itertools
import math
import os
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from optlab.core.optimizers import OPTIMIZERS, OptimizerSpec, check_runs
from optlab.transformer import programs
from optlab.transformer.chunk import eval_loss, setup, train_chunk
from optlab.transformer.corpus import Corpus
from optlab.transformer.data import FULL_BATCH, MAX_FULL_BATCH, make_data
from optlab.transformer.model import ModelConfig, Params, flatten_params, unravel

# Groups of one batch size stepped at the same time: one per core (XLA runs a program's steps
# on one core here), at most 4 (the page's default race has 4 optimizers).
WORKERS = max(1, min(os.cpu_count() or 1, 4))

__all__ = ["ChunkReport", "Contestant", "TrainConfig", "Trainer", "eval_loss", "train",
           "train_chunks"]  # fmt: skip


@dataclass(frozen=True)
class Contestant:
    """One contestant: an ``OPTIMIZERS`` entry, its hyperparameters and regularisation.

    ``label`` must be unique among the runs (two Adams with different learning rates need two
    labels). ``hparams`` override the spec's defaults. ``clip_norm=inf`` means no clipping.
    ``batch_size``: ``None`` for the loop's, ``FULL_BATCH`` for every window each step.
    ``from_scratch``: start from fresh weights even when the loop is given pretrained ones.
    """

    label: str
    optimizer: str
    hparams: Mapping[str, float] = field(default_factory=dict)
    clip_norm: float = math.inf
    l2: float = 0.0
    weight_decay: float = 0.0
    batch_size: int | None = None
    from_scratch: bool = False

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


@dataclass(frozen=True, eq=False)
class _Group:
    """Runs that share a batch size: one setup and one chunk program step all of them."""

    batch_size: int
    runs: tuple[Contestant, ...]
    factories: tuple
    hps: tuple
    regs: dict
    use_init_R: jax.Array


def _group(runs: Sequence[Contestant], batch_size: int, has_init: bool) -> _Group:
    hps = tuple(
        {k: np.float32(v) for k, v in {**r.spec.defaults(), **r.hparams}.items()} for r in runs
    )
    regs = {k: np.asarray([getattr(r, k) for r in runs], np.float32)
            for k in ("clip_norm", "l2", "weight_decay")}  # fmt: skip
    use = np.asarray([has_init and not r.from_scratch for r in runs])
    # device_put, not jnp.asarray: plain transfers compile nothing (jnp.asarray compiles a
    # small program per shape, and each counts against the page's compile budget)
    hps, regs, use = jax.device_put((hps, regs, use))
    return _Group(batch_size, tuple(runs), tuple(r.spec.factory for r in runs), hps, regs, use)


def _split(runs: Sequence[Contestant], parts: int) -> list[tuple[Contestant, ...]]:
    """``runs`` cut into at most ``parts`` contiguous slices of near-equal size, in order."""
    n = min(parts, len(runs))
    cuts = [round(i * len(runs) / n) for i in range(n + 1)]
    return [tuple(runs[a:b]) for a, b in itertools.pairwise(cuts)]


def _host(tree):
    return jax.tree.map(np.asarray, jax.device_get(tree))


class Trainer:
    """Every run for ``tcfg.steps`` steps from the same start, in two stages: ``compile()``
    (the programs, once per shape; ``ready`` says whether they are compiled already) and
    ``rounds()``, a ``ChunkReport`` after each round (every run one chunk further).

    Args:
        corpus: the data (``cfg.vocab_size`` must equal ``corpus.tokenizer.vocab_size``).
        cfg: the model.
        runs: the contestants; all see the same batches (those of equal batch size the same
            windows) and start from the same params: ``init`` (e.g. pretrained weights) if
            given, except runs ``from_scratch``, else ``init_params(key(tcfg.init_seed))``.
        tcfg: loop settings.
        lr_multipliers: float32 ``[steps]`` multiplying every run's learning rate per step
            (``SCHEDULES[name].multipliers(steps, ...)``); ``None`` for a constant rate.
        workers: how many groups the runs of one batch size are cut into (stepped at the
            same time; see the module); ``None``: ``WORKERS``.
    """

    def __init__(self, corpus: Corpus, cfg: ModelConfig, runs: Sequence[Contestant],
                 tcfg: TrainConfig = TrainConfig(), lr_multipliers: np.ndarray | None = None,
                 init: Params | None = None, workers: int | None = None) -> None:  # fmt: skip
        check_runs(runs, "transformer")
        if cfg.vocab_size != corpus.tokenizer.vocab_size:
            raise ValueError("cfg.vocab_size does not match the corpus vocabulary")
        steps = tcfg.steps
        mult = np.ones(steps, np.float32) if lr_multipliers is None else np.asarray(lr_multipliers)
        if mult.shape != (steps,):
            raise ValueError(f"lr_multipliers must have shape ({steps},), got {mult.shape}")
        self.runs, self.cfg, self.tcfg = list(runs), cfg, tcfg
        self.init = None if init is None else jax.device_put(flatten_params(init))
        self.mult = mult.astype(np.float32)
        self.chunk = min(tcfg.chunk, steps)
        self.train_data = make_data(corpus.train_ids, cfg.ctx, corpus.line_starts("train"))
        self.val_data = make_data(corpus.val_ids, cfg.ctx, corpus.line_starts("val"))
        sizes = [tcfg.batch_size if r.batch_size is None else r.batch_size for r in runs]
        if FULL_BATCH in sizes and int(self.train_data.n_starts) > MAX_FULL_BATCH:
            raise ValueError(
                f"full batch needs at most {MAX_FULL_BATCH} training windows; this corpus has "
                f"{int(self.train_data.n_starts):,} (pick a mini-batch size)"
            )
        by_size = {b: [r for r, s in zip(runs, sizes, strict=True) if s == b] for b in sizes}
        self.groups = [_group(part, b, init is not None) for b, rs in by_size.items()
                       for part in _split(rs, workers or WORKERS)]  # fmt: skip
        self.seeds, self.setup_seeds = jax.device_put(
            (np.asarray([tcfg.data_seed, tcfg.dropout_seed], np.int32),
             np.asarray([tcfg.init_seed, tcfg.eval_seed], np.int32))
        )  # fmt: skip
        self.compile_s = 0.0

    def setup_args(self, g: _Group):
        args = (self.setup_seeds, g.hps, g.use_init_R, self.init, self.val_data)
        static = {"cfg": self.cfg, "factories": g.factories, "eval_batch": self.tcfg.batch_size,
                  "n_eval": self.tcfg.eval_batches}  # fmt: skip
        return args, static

    def _chunk_args(self, g: _Group, carry, val_seqs, steps_K, mult_K):
        args = (carry, steps_K, mult_K, g.hps, g.regs, self.train_data, self.seeds, val_seqs)
        return args, {"cfg": self.cfg, "factories": g.factories, "batch_size": g.batch_size}

    def _lengths(self) -> list[int]:
        return sorted({self.chunk, self.tcfg.steps % self.chunk or self.chunk}, reverse=True)

    def _each_program(self, get):
        """``get(jitted, *args, **static)`` on every program the run needs, in order."""
        out = []
        for g in self.groups:
            args, static = self.setup_args(g)
            out.append(get(setup, *args, **static))
            carry, val_seqs, _ = jax.eval_shape(partial(setup, **static), *args)
            for k in self._lengths():
                steps_K = jax.ShapeDtypeStruct((k,), jnp.int32)
                mult_K = jax.ShapeDtypeStruct((k,), jnp.float32)
                cargs, cstatic = self._chunk_args(g, carry, val_seqs, steps_K, mult_K)
                out.append(get(train_chunk, *cargs, **cstatic))
        return out

    @property
    def ready(self) -> bool:
        """Whether every program is compiled already (then ``compile()`` returns at once)."""
        return all(self._each_program(programs.ready))

    def compile(self) -> float:
        """Compile what is not compiled yet; returns the seconds it took. (One after another:
        on two threads the default's four programs took 9.9 s instead of 10.5 s, since
        lowering and compiling hold the GIL most of the time.)"""
        t0 = time.perf_counter()
        self._each_program(programs.program)
        self.compile_s = time.perf_counter() - t0
        return self.compile_s

    def rounds(self) -> Iterator[ChunkReport]:
        """Train, yielding a ``ChunkReport`` after each round (compiling first if needed)."""
        t0 = time.perf_counter()
        steps, chunk, keep = self.tcfg.steps, self.chunk, self.tcfg.keep_snapshots
        labels = [r.label for r in self.runs]
        carries, val_seqs, val_loss = [], [], {lab: [] for lab in labels}
        for g in self.groups:
            args, static = self.setup_args(g)
            carry, seqs, val0 = programs.run(setup, *args, **static)
            carries.append(carry)
            val_seqs.append(seqs)
            for r, v in zip(g.runs, np.asarray(val0), strict=True):
                val_loss[r.label].append(float(v))
        flat = self.initial = self.latest = self._flat(carries)
        snaps = {lab: [flat[lab]] for lab in labels} if keep else None
        metrics: dict[str, Any] = dict.fromkeys(labels)
        diverged: dict[str, int | None] = dict.fromkeys(labels)
        val_steps, done = [0], 0
        while done < steps:
            k = min(chunk, steps - done)
            t_round = time.perf_counter()
            steps_K, mult_K = jax.device_put(
                (np.arange(done, done + k, dtype=np.int32), self.mult[done : done + k])
            )
            with ThreadPoolExecutor(max_workers=len(self.groups)) as pool:  # side by side
                chunk_of = partial(self._chunk, steps_K, mult_K)
                outs = list(pool.map(chunk_of, self.groups, carries, val_seqs))
            for i, g in enumerate(self.groups):
                carries[i], m, val = outs[i]
                m, val, div = _host(m), np.asarray(val), np.asarray(carries[i][3])
                for r, run in enumerate(g.runs):
                    mine = jax.tree.map(lambda x, r=r: x[:, r], m)
                    old = metrics[run.label]
                    metrics[run.label] = mine if old is None else _concat(old, mine)
                    val_loss[run.label].append(float(val[r]))
                    diverged[run.label] = int(div[r]) if div[r] >= 0 else None
            flat = self.latest = self._flat(carries)
            if keep:
                for lab in labels:
                    snaps[lab].append(flat[lab])
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
                params={lab: unravel(p, self.cfg) for lab, p in flat.items()},
                diverged_at=dict(diverged),
                snapshots={lab: np.stack(s) for lab, s in snaps.items()} if keep else None,
            )

    def _chunk(self, steps_K, mult_K, g: _Group, carry, val_seqs):
        """Group ``g``'s next chunk, waited for (so that, on a thread each, the groups' chunks
        run at the same time: XLA's CPU client runs one dispatched program after another)."""
        cargs, cstatic = self._chunk_args(g, carry, val_seqs, steps_K, mult_K)
        return jax.block_until_ready(programs.run(train_chunk, *cargs, **cstatic))

    def _flat(self, carries) -> dict[str, np.ndarray]:
        """Each run's latest params as a host vector ``[P]``, in run order."""
        out = {}
        for g, carry in zip(self.groups, carries, strict=True):
            host_RxP = np.asarray(carry[0])
            for r, run in enumerate(g.runs):
                out[run.label] = host_RxP[r]
        return {r.label: out[r.label] for r in self.runs}


def _concat(old, new):
    return jax.tree.map(lambda a, b: np.concatenate([a, b]), old, new)


def train_chunks(
    corpus: Corpus,
    cfg: ModelConfig,
    runs: Sequence[Contestant],
    tcfg: TrainConfig = TrainConfig(),
    lr_multipliers: np.ndarray | None = None,
    init: Params | None = None,
) -> Iterator[ChunkReport]:
    """``Trainer(...).rounds()``: train every run, a ``ChunkReport`` after each round."""
    return Trainer(corpus, cfg, runs, tcfg, lr_multipliers, init).rounds()


def train(
    corpus: Corpus,
    cfg: ModelConfig,
    runs: Sequence[Contestant],
    tcfg=TrainConfig(),
    lr_multipliers=None,
    init: Params | None = None,
) -> ChunkReport:
    """Run ``train_chunks`` to the end and return the last report."""
    last = None
    for report in train_chunks(corpus, cfg, runs, tcfg, lr_multipliers, init):
        last = report
    return last
