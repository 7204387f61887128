"""A small learning-rate sweep on the tiny transformer, in an expander on the Sweeps page.

A transformer is not slider-interactive (seconds per run on a CPU), so this sweep runs on a
button press, trains every (optimizer, learning rate) pair on the same batches in chunks
(``optlab.transformer.train.train_chunks``) with a progress bar, and keeps finished sweeps
for everyone (``finished()``, an ``optlab.shell.runs`` store). Defaults are tiny: one layer,
d = 32, 3 learning rates, 40 steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import streamlit as st

from optlab.config.sweeps import LR_GRID
from optlab.core.optimizers import OPTIMIZERS
from optlab.shell.runs import FinishedRuns, finished_runs
from optlab.viz.sweeps import Curve, lr_figure

MODEL = {"n_layer": 1, "d_model": 32, "n_head": 2, "ctx": 32}
BATCH = 16
CORPUS = "rhymes"
STEPS_OPTIONS = (10, 20, 40, 60, 100, 150)
N_RANGE = (2, 6)
TAIL = 10  # the score: mean training loss over the last TAIL steps
MAX_FINISHED = 16
SHOWN = "_optlab_tf_sweep"  # the sweep whose results this session shows


@dataclass(frozen=True)
class TfSweep:
    optimizers: tuple[str, ...] = ("adam", "gd")
    lr_low: float = 1e-3
    lr_high: float = 0.1
    n: int = 3
    steps: int = 40

    def lrs(self) -> np.ndarray:
        return np.geomspace(self.lr_low, self.lr_high, self.n)

    def labels(self) -> list[tuple[str, str, float]]:
        return [(f"{o} η={lr:.3g}", o, float(lr)) for o in self.optimizers for lr in self.lrs()]


def finished() -> FinishedRuns:
    """Finished sweeps, for every session (the least recently shown dropped)."""
    return finished_runs("sweeps.transformer", MAX_FINISHED)


def run(spec: TfSweep, progress: Callable[[float, str], None]) -> dict:
    """Train every pair; ``{"train": {label: score}, "val": {...}, "diverged": {...}}``."""
    from optlab.transformer import train as tr
    from optlab.transformer.corpus import CORPORA
    from optlab.transformer.model import ModelConfig

    corpus = CORPORA[CORPUS].builder()
    cfg = ModelConfig(corpus.tokenizer.vocab_size, **MODEL)
    runs = [tr.Contestant(label, o, {"learning_rate": lr}) for label, o, lr in spec.labels()]
    tcfg = tr.TrainConfig(steps=spec.steps, chunk=min(20, spec.steps), batch_size=BATCH)
    report = None
    for report in tr.train_chunks(corpus, cfg, runs, tcfg):
        text = f"step {report.step} of {report.total_steps} · {report.elapsed_s:.0f} s"
        progress(report.step / report.total_steps, text)
    assert report is not None
    return {
        "train": {k: float(np.mean(m["loss"][-TAIL:])) for k, m in report.metrics.items()},
        "val": {k: float(v[-1]) for k, v in report.val_loss.items()},
        "diverged": {k: d is not None for k, d in report.diverged_at.items()},
    }


def curves(spec: TfSweep, result: dict, what: str) -> list[Curve]:
    """One curve per optimizer: ``result[what]`` against the learning rate; ★ at the lowest,
    the divergence edge at the smallest learning rate that diverged."""
    out = []
    for o in spec.optimizers:
        pairs = [(lr, label) for label, oo, lr in spec.labels() if oo == o]
        x = np.array([lr for lr, _ in pairs])
        bad = np.array([result["diverged"][label] for _, label in pairs])
        y = np.array([result[what][label] for _, label in pairs], np.float64)
        y = np.where(bad | ~np.isfinite(y), np.nan, y)
        i = int(np.nanargmin(y)) if np.isfinite(y).any() else None
        best = (float(x[i]), float(y[i])) if i is not None else None
        edge = float(x[bad].min()) if bad.any() else math.nan
        spec_o = OPTIMIZERS[o]
        out.append(Curve(o, spec_o.display, spec_o.color, x, y, best, edge))
    return out


def _controls() -> TfSweep:
    choices = [o for o, s in OPTIMIZERS.items() if not s.needs_hessian]
    # These widgets keep their own URL state (``bind="query-params"``: the parameter is the key,
    # a default is dropped from the URL, an invalid value is ignored), which serves them fully:
    # they are on fixed grids, so nothing needs a notice or snapping.
    opts = st.multiselect("Optimizers", choices, default=list(TfSweep.optimizers),
                          key="swt.opt", format_func=lambda o: OPTIMIZERS[o].display,
                          bind="query-params")  # fmt: skip
    lo, hi = st.select_slider("Learning-rate range", LR_GRID, key="swt.lr",
                              value=(TfSweep.lr_low, TfSweep.lr_high),
                              bind="query-params")  # fmt: skip
    if lo == hi:
        hi = LR_GRID[min(LR_GRID.index(hi) + 1, len(LR_GRID) - 1)]
    left, right = st.columns(2)
    n = left.slider("Learning rates", *N_RANGE, value=TfSweep.n, key="swt.n",
                    bind="query-params")  # fmt: skip
    steps = right.select_slider("Steps", STEPS_OPTIONS, value=TfSweep.steps, key="swt.steps",
                                bind="query-params")  # fmt: skip
    return TfSweep(tuple(opts), float(lo), float(hi), int(n), int(steps))


def render() -> None:
    with st.expander("Sweep the tiny transformer", icon=":material/smart_toy:"):
        st.caption(
            f"A {MODEL['n_layer']}-layer character model (d = {MODEL['d_model']}) on nursery "
            f"rhymes; every pair sees the same initial weights and batches. Score: the mean "
            f"training loss over the last {TAIL} steps; also the validation loss at the end."
        )
        spec = _controls()
        pairs = len(spec.optimizers) * spec.n
        st.caption(f"{pairs} training runs of {spec.steps} steps (about 1–3 s to compile per "
                   f"optimizer, then a few hundred steps per second in all).")  # fmt: skip
        if st.button("Run the transformer sweep", key="swt.run", disabled=not spec.optimizers,
                     icon=":material/play_arrow:"):  # fmt: skip
            if spec not in finished():
                bar = st.progress(0.0, text="compiling…")
                result = run(spec, lambda f, text: bar.progress(f, text=text))
                bar.empty()
                finished().put(spec, result)
            st.session_state[SHOWN] = spec
        shown = st.session_state.get(SHOWN)
        result = finished().get(shown) if shown is not None else None
        if result is None:
            return
        for what, title in (("train", f"training loss (last {TAIL} steps)"),
                            ("val", "validation loss (end)")):  # fmt: skip
            fig = lr_figure(curves(shown, result, what), "final_loss", (),
                            (shown.lr_low, shown.lr_high), y_title=title, log_y=False)  # fmt: skip
            st.plotly_chart(fig, key=f"tf_sweep_{what}")
