"""The Transformer page's numbers, behind one hashable ``TrainSpec`` (no Streamlit here).

``TrainSpec`` -> corpus, ``ModelConfig``, ``Contestant`` list, ``TrainConfig`` and schedule;
``Training(spec)`` drives the chunked training generator (``train.train_chunks``) round by round
and keeps a thinned, memory-bounded set of weight snapshots (for checkpoints and the PCA slice;
``train_chunks``' own snapshots would be one per chunk, gigabytes at the largest sizes). A
``Result`` (finished or stopped) feeds the summary table, the train-vs-validation gap and
``optlab.transformer.insight`` (samples, accuracy, attention, landscape). ``timing_rows``
measures step times live, calling ``progress(fraction)`` after each configuration.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jax
import numpy as np

from optlab.core.optimizers import OPTIMIZERS
from optlab.core.schedules import SCHEDULES
from optlab.transformer import timing
from optlab.transformer.corpus import CORPORA, Corpus
from optlab.transformer.model import ModelConfig, flatten_params, init_params
from optlab.transformer.train import ChunkReport, Contestant, TrainConfig, train_chunks

Progress = Callable[[float], None] | None
DEFAULT_RUNS = (("gd", 0.1), ("momentum", 0.1), ("rmsprop", 0.001), ("adam", 0.003))
MAX_SNAPSHOTS = 12
SNAPSHOT_BYTES = 64 * 2**20  # per run of Train; finished runs are kept for every session


@dataclass(frozen=True)
class TrainSpec:
    """Everything a training run depends on (hashable: the cache key of finished runs).

    ``runs`` pairs each optimizer (an ``OPTIMIZERS`` key) with its learning rate; ``text`` is
    the pasted text (empty for the built-in corpora); ``schedule_params`` are the schedule's
    ``(name, value)`` pairs (missing ones take their defaults).
    """

    corpus: str = "addition"
    text: str = ""
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    ctx: int = 16  # with 1000 steps: Adam ~80 % exact match on held-out sums (bench)
    dropout: float = 0.0
    runs: tuple[tuple[str, float], ...] = DEFAULT_RUNS
    schedule: str = "constant"
    schedule_params: tuple[tuple[str, float], ...] = ()
    clip_norm: float = math.inf
    l2: float = 0.0
    weight_decay: float = 0.0
    steps: int = 1000
    chunk: int = 50
    batch_size: int = 32
    seed: int = 0


@functools.lru_cache(maxsize=8)
def corpus(name: str, text: str = "") -> Corpus:
    """The corpus (raises ``CorpusError`` with a message for the user on bad pasted text)."""
    return CORPORA[name].builder(text=text or None)


def model_config(spec: TrainSpec, vocab_size: int) -> ModelConfig:
    return ModelConfig(vocab_size, spec.n_layer, spec.d_model, spec.n_head, spec.ctx, spec.dropout)


@functools.lru_cache(maxsize=64)
def count_params(cfg: ModelConfig) -> int:
    """The parameter count of ``cfg`` from shapes only (nothing is compiled or allocated)."""
    shapes = jax.eval_shape(lambda k: init_params(k, cfg), jax.random.key(0))
    return sum(math.prod(x.shape) for x in jax.tree.leaves(shapes))


def label(opt: str) -> str:
    return OPTIMIZERS[opt].display


def optimizer_runs(spec: TrainSpec) -> list[Contestant]:
    reg = {"clip_norm": spec.clip_norm, "l2": spec.l2, "weight_decay": spec.weight_decay}
    return [Contestant(label(o), o, {"learning_rate": lr}, **reg) for o, lr in spec.runs]


def train_config(spec: TrainSpec) -> TrainConfig:
    s = spec.seed
    return TrainConfig(
        steps=spec.steps,
        chunk=min(spec.chunk, spec.steps),
        batch_size=spec.batch_size,
        init_seed=s,
        data_seed=s,
        dropout_seed=s + 1,
        eval_seed=s + 2,
        keep_snapshots=False,  # ``Training`` keeps a bounded, thinned set instead
    )


def snapshot_rounds(spec: TrainSpec, n_params: int) -> set[int]:
    """The rounds (0 = the initial weights) after which ``Training`` keeps a snapshot: at most
    ``MAX_SNAPSHOTS``, fewer when they would take more than ``SNAPSHOT_BYTES`` (never fewer than
    three, what a PCA plane needs), spread evenly; the last round is always kept."""
    rounds = math.ceil(spec.steps / min(spec.chunk, spec.steps))
    per_round = 4 * n_params * len(spec.runs)
    n = min(MAX_SNAPSHOTS, max(3, SNAPSHOT_BYTES // per_round), rounds + 1)
    return {round(x) for x in np.linspace(0, rounds, n)}


@dataclass
class Result:
    """A (possibly partial) run: its spec, corpus, model, the latest ``ChunkReport`` and the
    flattened weights of every run at ``snap_steps`` (``snapshots``: label -> ``[S, P]``)."""

    spec: TrainSpec
    corpus: Corpus
    cfg: ModelConfig
    report: ChunkReport
    snap_steps: np.ndarray
    snapshots: dict[str, np.ndarray]

    @property
    def done(self) -> bool:
        return self.report.done

    @property
    def labels(self) -> list[str]:
        return list(self.report.val_loss)


def start(spec: TrainSpec) -> tuple[Corpus, ModelConfig, Iterator[ChunkReport]]:
    """The corpus, the model and the training generator (one ``ChunkReport`` per round)."""
    c = corpus(spec.corpus, spec.text)
    cfg = model_config(spec, c.tokenizer.vocab_size)
    mult = SCHEDULES[spec.schedule].multipliers(spec.steps, **dict(spec.schedule_params))
    return c, cfg, train_chunks(c, cfg, optimizer_runs(spec), train_config(spec), mult)


class Training:
    """A training in progress: ``advance()`` runs one round of chunks (every optimizer one
    chunk further) and refreshes ``result``; snapshots are kept after ``snapshot_rounds``."""

    def __init__(self, spec: TrainSpec) -> None:
        self.spec = spec
        self.corpus, self.cfg, self._gen = start(spec)
        self._keep = snapshot_rounds(spec, count_params(self.cfg))
        init = flatten_params(init_params(jax.random.key(spec.seed), self.cfg))
        self._snaps = {label(o): [init] for o, _ in spec.runs}
        self._steps = [0]
        self._stacked = {k: v[0][None] for k, v in self._snaps.items()}
        self._round = 0
        self.result: Result | None = None

    def advance(self) -> bool:
        """One round; returns whether another one follows."""
        report = next(self._gen, None)
        if report is None:
            return False
        self._round += 1
        if self._round in self._keep or report.done:
            for name, p in report.params.items():
                self._snaps[name].append(flatten_params(p))
            self._steps.append(report.step)
            self._stacked = {k: np.stack(v) for k, v in self._snaps.items()}
        self.result = Result(self.spec, self.corpus, self.cfg, report,
                             np.asarray(self._steps), self._stacked)  # fmt: skip
        return not report.done

    def close(self) -> None:
        self._gen.close()


def train_all(spec: TrainSpec) -> Result:
    """Train to the end (benchmarks, tests)."""
    t = Training(spec)
    while t.advance():
        pass
    return t.result


# ---------------------------------------------------------------------------------------------
# Summaries and live timing.


def summary_rows(result: Result) -> list[dict]:
    """Per run: training loss (mean over the last chunk), validation loss, their gap."""
    r, rows = result.report, []
    tail = max(1, min(result.spec.chunk, r.step))
    for name in result.labels:
        train = float(np.mean(r.metrics[name]["loss"][-tail:]))
        val = float(r.val_loss[name][-1])
        rows.append(
            {
                "optimizer": name,
                "train loss": train,
                "val loss": val,
                "gap (val − train)": val - train,
                "best val": float(np.min(r.val_loss[name])),
                "diverged at": r.diverged_at[name],
            }
        )
    return rows


def gap_series(result: Result) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per run ``(steps, train loss averaged over each chunk, validation loss)`` at chunk ends."""
    r, out = result.report, {}
    ends = r.val_steps[1:]
    starts = np.concatenate([[0], ends[:-1]])
    for name in result.labels:
        loss = r.metrics[name]["loss"]
        means = np.array([loss[a:b].mean() for a, b in zip(starts, ends, strict=True)])
        out[name] = (ends, means, r.val_loss[name][1:])
    return out


CTX_SWEEP = (16, 32, 64, 128, 256)
WIDTH_SWEEP = (16, 32, 64, 128)
TIMING_BASE = {"n_layer": 2, "d_model": 32, "n_head": 4, "ctx": 32}


def timing_rows(
    vocab_size: int, batch_size: int = 16, n_steps: int = 5, progress: Progress = None
) -> list[dict]:
    """Measured ms per training step: a context sweep and a width sweep (``sweep`` column),
    each row compiled and timed here and now (small sizes: a few seconds each)."""
    base = ModelConfig(vocab_size, **TIMING_BASE)
    cfgs = [("ctx", dataclasses.replace(base, ctx=c)) for c in CTX_SWEEP]
    cfgs += [("params", dataclasses.replace(base, d_model=d)) for d in WIDTH_SWEEP]
    rows = []
    for i, (sweep, cfg) in enumerate(cfgs):
        rows.append({"sweep": sweep, **timing.time_step(cfg, batch_size, n_steps)})
        if progress:
            progress((i + 1) / len(cfgs))
    return rows
