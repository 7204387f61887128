"""The Transformer page's numbers, behind one hashable ``TrainSpec`` (no Streamlit here).

``TrainSpec`` -> corpus, model ``Config``, ``OptimizerRun`` list, ``TrainConfig`` and schedule;
``start(spec)`` is the chunked training generator (``train.train_chunks``, snapshots kept for
checkpoints and the PCA slice). A ``Result`` (finished or stopped) feeds the summary table,
the train-vs-validation gap and ``optlab.transformer.insight`` (samples, accuracy, attention,
landscape). ``timing_rows`` measures step times live, calling ``progress(fraction)`` after
each configuration for the page's progress bar.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jax
import numpy as np

from optlab.optimizers import OPTIMIZERS
from optlab.schedules import SCHEDULES
from optlab.transformer import timing
from optlab.transformer.corpus import CORPORA, Corpus
from optlab.transformer.model import Config, init_params
from optlab.transformer.train import ChunkReport, OptimizerRun, TrainConfig, train_chunks

Progress = Callable[[float], None] | None
DEFAULT_RUNS = (("gd", 0.1), ("momentum", 0.1), ("rmsprop", 0.001), ("adam", 0.003))


@dataclass(frozen=True)
class TrainSpec:
    """Everything a training run depends on (hashable: the cache key of finished runs).

    ``runs`` pairs each optimizer (an ``OPTIMIZERS`` key) with its learning rate; ``text`` is
    the pasted text (empty for the built-in corpora).
    """

    corpus: str = "addition"
    text: str = ""
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4
    ctx: int = 32
    dropout: float = 0.0
    runs: tuple[tuple[str, float], ...] = DEFAULT_RUNS
    schedule: str = "constant"
    clip_norm: float = math.inf
    l2: float = 0.0
    weight_decay: float = 0.0
    steps: int = 300
    chunk: int = 50
    batch_size: int = 32
    seed: int = 0


@functools.lru_cache(maxsize=8)
def corpus(name: str, text: str = "") -> Corpus:
    """The corpus (raises ``CorpusError`` with a message for the user on bad pasted text)."""
    return CORPORA[name].builder(text=text or None)


def model_config(spec: TrainSpec, vocab_size: int) -> Config:
    return Config(vocab_size, spec.n_layer, spec.d_model, spec.n_head, spec.ctx, spec.dropout)


@functools.lru_cache(maxsize=64)
def count_params(cfg: Config) -> int:
    """The parameter count of ``cfg`` from shapes only (nothing is compiled or allocated)."""
    shapes = jax.eval_shape(lambda k: init_params(k, cfg), jax.random.key(0))
    return sum(math.prod(x.shape) for x in jax.tree.leaves(shapes))


def label(opt: str) -> str:
    return OPTIMIZERS[opt].display


def optimizer_runs(spec: TrainSpec) -> list[OptimizerRun]:
    reg = {"clip_norm": spec.clip_norm, "l2": spec.l2, "weight_decay": spec.weight_decay}
    return [OptimizerRun(label(o), o, {"learning_rate": lr}, **reg) for o, lr in spec.runs]


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
        keep_snapshots=True,
    )


@dataclass
class Result:
    """A (possibly partial) run: its spec, corpus, model and the latest ``ChunkReport``."""

    spec: TrainSpec
    corpus: Corpus
    cfg: Config
    report: ChunkReport

    @property
    def done(self) -> bool:
        return self.report.done

    @property
    def labels(self) -> list[str]:
        return list(self.report.val_loss)


def start(spec: TrainSpec) -> tuple[Corpus, Config, Iterator[ChunkReport]]:
    """The corpus, the model and the training generator (one ``ChunkReport`` per round)."""
    c = corpus(spec.corpus, spec.text)
    cfg = model_config(spec, c.tokenizer.vocab_size)
    mult = SCHEDULES[spec.schedule].multipliers(spec.steps)
    return c, cfg, train_chunks(c, cfg, optimizer_runs(spec), train_config(spec), mult)


def train_all(spec: TrainSpec) -> Result:
    """Train to the end (benchmarks, tests)."""
    c, cfg, gen = start(spec)
    report = None
    for report in gen:  # noqa: B007
        pass
    return Result(spec, c, cfg, report)


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
    base = Config(vocab_size, **TIMING_BASE)
    cfgs = [("ctx", dataclasses.replace(base, ctx=c)) for c in CTX_SWEEP]
    cfgs += [("params", dataclasses.replace(base, d_model=d)) for d in WIDTH_SWEEP]
    rows = []
    for i, (sweep, cfg) in enumerate(cfgs):
        rows.append({"sweep": sweep, **timing.time_step(cfg, batch_size, n_steps)})
        if progress:
            progress((i + 1) / len(cfgs))
    return rows
