"""The Transformer page's numbers, behind one hashable ``TrainSpec`` (no Streamlit here).

``TrainSpec`` -> corpus, ``ModelConfig``, ``Contestant`` list, ``TrainConfig`` and schedule;
``Training(spec)`` drives the stages (pretraining, compiling, then ``train.Trainer.rounds``)
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
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import jax
import numpy as np

from optlab.core.optimizers import OPTIMIZERS
from optlab.core.schedules import SCHEDULES
from optlab.transformer import finetune, timing
from optlab.transformer.corpus import CORPORA, Corpus
from optlab.transformer.data import FULL_BATCH
from optlab.transformer.model import ModelConfig, Params, init_params
from optlab.transformer.train import ChunkReport, Contestant, TrainConfig, Trainer

Progress = Callable[[float], None] | None
DEFAULT_RUNS = (("gd", 0.1), ("momentum", 0.1), ("rmsprop", 0.001), ("adam", 0.003))
PRETRAIN_RUNS = (("adam", 0.003),)
MAX_PRETRAINED = 4
MAX_SNAPSHOTS = 12
SNAPSHOT_BYTES = 64 * 2**20  # per run of Train; finished runs are kept for every session


@dataclass(frozen=True)
class TrainSpec:
    """Everything a training run depends on (hashable: the cache key of finished runs).

    ``runs`` pairs each optimizer (an ``OPTIMIZERS`` key) with its learning rate; ``text`` is
    the pasted text (empty for the built-in corpora); ``schedule_params`` are the schedule's
    ``(name, value)`` pairs (missing ones take their defaults). Every optimizer runs once per
    batch size in ``batch_sizes``. With ``pretrain``, every run starts from a model pretrained
    on that corpus (Adam, ``pretrain_steps`` steps, cached), and with ``scratch`` each
    optimizer also runs from fresh weights at the first batch size, for the same steps.
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
    batches: tuple[int, ...] = ()  # batch sizes to compare (FULL_BATCH = all); () = batch_size
    pretrain: str = ""  # fine-tune: the corpus to pretrain on ("" = train from scratch)
    pretrain_steps: int = 1000
    scratch: bool = True  # fine-tune: also train each optimizer from scratch, same budget
    base_vocab: bool = False  # the shared vocabulary of pretrained models (finetune.py)

    @property
    def batch_sizes(self) -> tuple[int, ...]:
        return self.batches or (self.batch_size,)

    @property
    def fine_tune(self) -> bool:
        return bool(self.pretrain)


@functools.lru_cache(maxsize=8)
def corpus(name: str, text: str = "") -> Corpus:
    """The corpus (raises ``CorpusError`` with a message for the user on bad pasted text)."""
    return CORPORA[name].builder(text=text or None)


def spec_corpus(spec: TrainSpec) -> Corpus:
    """The corpus ``spec`` trains on, in the shared vocabulary when fine-tuning or pretraining."""
    c = corpus(spec.corpus, spec.text)
    if spec.base_vocab:
        return finetune.retokenized(c, finetune.base_tokenizer())
    if spec.fine_tune:
        return finetune.retokenized(c, finetune.target_tokenizer(c))
    return c


def n_windows(name: str, text: str, ctx: int) -> int:
    """How many training windows the corpus has (the size of a full batch)."""
    c = corpus(name, text)
    last = max(len(c.train_ids) - ctx, 0)
    starts = c.line_starts("train")
    return last + 1 if starts is None else max(1, int((starts <= last).sum()))


def pretrain_spec(spec: TrainSpec) -> TrainSpec:
    """What the pretrained model of a fine-tuning ``spec`` is: Adam on ``spec.pretrain``, the
    same model shape, in the shared vocabulary."""
    return TrainSpec(corpus=spec.pretrain, n_layer=spec.n_layer, d_model=spec.d_model,
                     n_head=spec.n_head, ctx=spec.ctx, dropout=spec.dropout, runs=PRETRAIN_RUNS,
                     steps=spec.pretrain_steps, seed=spec.seed, base_vocab=True)  # fmt: skip


def model_config(spec: TrainSpec, vocab_size: int) -> ModelConfig:
    return ModelConfig(vocab_size, spec.n_layer, spec.d_model, spec.n_head, spec.ctx, spec.dropout)


@functools.lru_cache(maxsize=64)
def count_params(cfg: ModelConfig) -> int:
    """The parameter count of ``cfg`` from shapes only (nothing is compiled or allocated)."""
    shapes = jax.eval_shape(lambda: init_params(jax.random.key(0), cfg))
    return sum(math.prod(x.shape) for x in jax.tree.leaves(shapes))


def label(opt: str) -> str:
    return OPTIMIZERS[opt].display


def batch_label(b: int) -> str:
    return "full batch" if b == FULL_BATCH else f"batch {b}"


def optimizer_runs(spec: TrainSpec) -> list[Contestant]:
    """The runs: each optimizer at each batch size (labels name the batch size only when
    there are several), then, when fine-tuning with ``scratch``, each from fresh weights."""
    reg = {"clip_norm": spec.clip_norm, "l2": spec.l2, "weight_decay": spec.weight_decay}
    sizes, out = spec.batch_sizes, []
    for o, lr in spec.runs:
        hp = {"learning_rate": lr}
        for b in sizes:
            name = label(o) + (f" · {batch_label(b)}" if len(sizes) > 1 else "")
            out.append(Contestant(name, o, hp, batch_size=b, **reg))
    if spec.fine_tune and spec.scratch:
        for o, lr in spec.runs:
            name = label(o) + (f" · {batch_label(sizes[0])}" if len(sizes) > 1 else "")
            out.append(Contestant(f"{name} · scratch", o, {"learning_rate": lr},
                                  batch_size=sizes[0], from_scratch=True, **reg))  # fmt: skip
    return out


def _shade(hex_color: str, t: float) -> str:
    """``hex_color`` mixed with white (``t > 0``) or black (``t < 0``) by ``|t|``."""
    rgb = [int(hex_color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)]
    end = 255 if t > 0 else 0
    return "#" + "".join(f"{round(c + abs(t) * (end - c)):02x}" for c in rgb)


def run_colors(spec: TrainSpec) -> dict[str, str]:
    """Each run's colour: its optimizer's, lighter for every further batch size, greyer for
    runs from scratch."""
    colors = {}
    for run in optimizer_runs(spec):
        base = OPTIMIZERS[run.optimizer].color
        i = spec.batch_sizes.index(run.batch_size)
        colors[run.label] = _shade(base, -0.45) if run.from_scratch else _shade(base, 0.3 * i)
    return colors


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


def trainer(spec: TrainSpec, init: Params | None = None) -> Trainer:
    """The ``Trainer`` of ``spec`` (its corpus, model and runs), from ``init`` if given."""
    c = spec_corpus(spec)
    cfg = model_config(spec, c.tokenizer.vocab_size)
    mult = None  # constant: a multiplier of 1 at every step (and no eager schedule ops)
    if spec.schedule != "constant":
        mult = SCHEDULES[spec.schedule].multipliers(spec.steps, **dict(spec.schedule_params))
    return Trainer(c, cfg, optimizer_runs(spec), train_config(spec), mult, init)


_PRETRAINED: OrderedDict[TrainSpec, Result] = OrderedDict()
_PRETRAINED_LOCK = threading.Lock()


def pretrained(spec: TrainSpec) -> Result | None:
    """The finished pretraining ``pretrain_spec(spec)`` if this process has it."""
    with _PRETRAINED_LOCK:
        return _PRETRAINED.get(pretrain_spec(spec))


def _keep_pretrained(result: Result) -> None:
    with _PRETRAINED_LOCK:
        _PRETRAINED[result.spec] = result
        while len(_PRETRAINED) > MAX_PRETRAINED:
            _PRETRAINED.popitem(last=False)


class Training:
    """A training in progress, one ``advance()`` per stage step: ``"pretrain"`` (fine-tuning
    only, when the pretrained model is not cached: a nested ``Training``, one of its steps per
    call), ``"compile"`` (the programs, once per shape; skipped when compiled already), then
    ``"train"``, one round of chunks per call (every run one chunk further), refreshing
    ``result``. Snapshots are kept after ``snapshot_rounds``."""

    def __init__(self, spec: TrainSpec) -> None:
        self.spec = spec
        self.pretraining: Training | None = None
        self._trainer: Trainer | None = None
        self.stage = "compile"
        if spec.fine_tune and pretrained(spec) is None:
            self.pretraining, self.stage = Training(pretrain_spec(spec)), "pretrain"
        else:
            self._build()
        self._gen: Iterator[ChunkReport] | None = None
        self._round = 0
        self.result: Result | None = None

    def _build(self) -> None:
        init = None
        if self.spec.fine_tune:
            base = pretrained(self.spec)
            vocab = spec_corpus(self.spec).tokenizer.vocab_size
            init = finetune.extend_vocab(base.report.params["Adam"], vocab, self.spec.seed)
        self._trainer = trainer(self.spec, init)
        self.corpus, self.cfg = spec_corpus(self.spec), self._trainer.cfg
        if self._trainer.ready:
            self.stage = "train"
        self._keep = snapshot_rounds(self.spec, count_params(self.cfg))

    @property
    def compile_s(self) -> float:
        return self._trainer.compile_s if self._trainer is not None else 0.0

    def advance(self) -> bool:
        """One stage step; returns whether another one follows."""
        if self.stage == "pretrain":
            if not self.pretraining.advance():
                _keep_pretrained(self.pretraining.result)
                self.pretraining = None
                self.stage = "compile"
                self._build()
            return True
        if self.stage == "compile":
            self._trainer.compile()
            self.stage = "train"
            return True
        if self._gen is None:
            self._gen = self._trainer.rounds()
        report = next(self._gen, None)
        if report is None:
            return False
        if self._round == 0:
            self._snaps = {k: [v] for k, v in self._trainer.initial.items()}
            self._steps = [0]
        self._round += 1
        if self._round in self._keep or report.done:
            for name, flat in self._trainer.latest.items():
                self._snaps[name].append(flat)
            self._steps.append(report.step)
            self._stacked = {k: np.stack(v) for k, v in self._snaps.items()}
        elif self._round == 1:
            self._stacked = {k: np.stack(v) for k, v in self._snaps.items()}
        self.result = Result(self.spec, self.corpus, self.cfg, report,
                             np.asarray(self._steps), self._stacked)  # fmt: skip
        if report.done:
            self.stage = "done"
        return not report.done

    def close(self) -> None:
        if self._gen is not None:
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
