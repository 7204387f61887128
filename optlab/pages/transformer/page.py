"""Tiny transformer: train a character-level GPT with several optimizers on CPU and compare.

Training is not slider-interactive, so it runs on **Train**: a ``Job`` in the session holds the
training in progress (``lab.Training``); each round of chunks updates the progress bar and
the curves. A click anywhere (Stop included) makes Streamlit start a new run of the script at
once, while the old run is still inside a chunk (pure JAX, no Streamlit call to stop it); the
old run stops at its next drawing call. So the training is advanced only under the job's lock,
together with storing its result: a new run waits for the chunk in flight, no report is lost.
**Stop** (a callback) only marks the job stopped — the loop checks the flag between chunks —
and the page shows the partial result; any other click resumes the loop in the new run.
Finished runs are kept for every session (``finished``) keyed by the full ``TrainSpec``:
revisiting a configuration shows it at once, without retraining.

Thin by design: controls and URL state in ``transformer_controls``, panels in
``transformer_view`` / ``transformer_probe``, numbers in ``optlab.transformer.lab`` /
``insight``, figures in ``optlab.viz.transformer``.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import streamlit as st

from optlab.pages.transformer import controls, view
from optlab.shell import setup, style
from optlab.shell.runs import FinishedRuns, finished_runs
from optlab.shell.widgets import notices_box
from optlab.transformer import lab
from optlab.transformer.corpus import CORPORA
from optlab.transformer.lab import Result, TrainSpec
from optlab.viz import transformer as pt

JOB = "_optlab_tf_job"
MAX_FINISHED = 16
CHART_CONFIG = {"displaylogo": False}
LIVE_EVERY_S = 1.0
PRESENT_HEIGHT = 320  # the loss curves in projector mode: Train and the curves above the fold
ABOUT = (
    "A character-level GPT (the nanoGPT recipe, in JAX) trained on your CPU by several "
    "optimizers from the same initial weights on the same batches."
)


@dataclass
class Job:
    """One press of Train: the generator, the latest (partial) result and the status
    (``running``, ``stopped``, ``done`` or ``failed``)."""

    spec: TrainSpec
    training: lab.Training | None = None
    result: Result | None = None
    status: str = "running"
    error: str = ""
    cached: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


def finished() -> FinishedRuns:
    """Finished runs for every session (the least recently shown dropped)."""
    return finished_runs("transformer", MAX_FINISHED)


def remember(result: Result) -> None:
    finished().put(result.spec, result)


def cached(spec: TrainSpec) -> Result | None:
    return finished().get(spec)


def on_train(spec: TrainSpec) -> None:
    if (done := cached(spec)) is not None:
        st.session_state[JOB] = Job(spec, result=done, status="done", cached=True)
        return
    try:
        st.session_state[JOB] = Job(spec, lab.Training(spec))
    except ValueError as e:  # e.g. a full batch of a corpus too large for one: say so
        st.session_state[JOB] = Job(spec, status="failed", error=str(e))


def on_stop() -> None:
    """Mark the job stopped (the chunk in flight, if any, still lands in the result)."""
    job = st.session_state.get(JOB)
    if job is not None and job.status == "running":
        job.status = "stopped"


def settle(job: Job) -> None:
    """Wait for a chunk in flight (an older run may be inside it); release a training that
    will not be advanced again."""
    with job.lock:
        if job.status != "running" and job.training is not None:
            job.training.close()
            job.training = None


def advance(job: Job) -> bool:
    """One round of chunks under the job's lock, its report stored before the lock is
    released; returns whether the job still runs."""
    with job.lock:
        if job.status != "running":
            return False
        try:
            more = job.training.advance()
        except Exception as e:  # shown to the user; the partial result stays
            job.status, job.error = "failed", f"{type(e).__name__}: {e}"
            return False
        job.result = job.training.result
        if not more:
            job.status = "done"
            remember(job.result)
        return more


def stage_text(training: lab.Training) -> str:
    """What a running job does before its first curve point: pretraining, compiling, or the
    first chunk."""
    spec = training.spec
    if training.stage == "pretrain":
        pre = training.pretraining
        done = pre.result.report.step if pre.result is not None else 0
        steps = f"step {done} of {pre.spec.steps}"
        what = {"compile": "compiling its training program", "train": steps}
        corpus = CORPORA[spec.pretrain].display
        return (
            f"Stage 1 of 3 · pretraining a model on {corpus} with Adam (once; cached for "
            f"every fine-tuning of this model shape): {what.get(pre.stage, 'finishing')}…"
        )
    n = 3 if spec.fine_tune else 2
    if training.stage == "compile":
        return (f"Stage {n - 1} of {n} · compiling the training program for this model shape "
                "(once per shape and process; a few seconds)…")  # fmt: skip
    ready = f"compiled in {training.compile_s:.1f} s · " if training.compile_s else ""
    return f"Stage {n} of {n} · {ready}running the first chunk…"


def fraction(job: Job) -> float:
    """The progress bar: the run's steps, or the pretraining's while it runs."""
    if job.result is not None:
        return job.result.report.step / job.result.report.total_steps
    pre = job.training.pretraining if job.training is not None else None
    if pre is not None and pre.result is not None:
        return pre.result.report.step / pre.result.report.total_steps
    return 0.0


def status_text(job: Job) -> str:
    r = job.result.report if job.result is not None else None
    if r is None:
        if job.status == "running":
            return stage_text(job.training) if job.training is not None else "Starting…"
        if job.status == "stopped":
            return "Stopped before the first chunk finished."
        return "Training failed before the first chunk finished."
    if job.status == "running":
        eta = (
            "time left: estimated after the next chunk (this one included compiling)"
            if r.step <= job.spec.chunk
            else f"about {r.eta_s:.0f} s left"
        )
        return f"Step {r.step} of {r.total_steps} · {r.elapsed_s:.0f} s elapsed · {eta}"
    if job.status == "stopped":
        return f"Stopped at step {r.step} of {r.total_steps} after {r.elapsed_s:.0f} s."
    if job.status == "failed":
        return f"Failed after step {r.step} of {r.total_steps}."
    where = " (trained earlier; from the cache)" if job.cached else ""
    n = len(job.result.labels)
    return f"Done: {r.total_steps} steps × {n} runs in {r.elapsed_s:.0f} s{where}."


def draw(job: Job, progress, chart, key: str, curves: bool = True) -> None:
    """The progress bar and (``curves``) the loss curves, sized for the projector in
    projector mode."""
    progress.progress(fraction(job), text=status_text(job))
    if curves and job.result is not None:
        r = job.result.report
        fig = pt.loss_curves_figure(
            {k: m["loss"] for k, m in r.metrics.items()},
            r.val_steps,
            r.val_loss,
            view.colors(job.spec),
            r.total_steps,
            **({"height": PRESENT_HEIGHT} if setup.presenting() else {}),
        )
        chart.plotly_chart(fig, key=key, config=CHART_CONFIG, theme=None)


def train_loop(job: Job, progress, chart) -> None:
    """Advance the job round by round, drawing after each. The curves are redrawn at most
    every ``LIVE_EVERY_S`` (a plot takes the browser a moment to draw; fast chunks would keep
    it blank), the progress bar after every round."""
    draw(job, progress, chart, "t.live.start")
    drawn = -math.inf
    running, rounds = True, 0
    while running:
        running = advance(job)
        rounds += 1
        now = time.monotonic()
        due = not running or now - drawn >= LIVE_EVERY_S
        draw(job, progress, chart, f"t.live.{rounds}", curves=due)
        drawn = now if due else drawn
    settle(job)


def shown_job(spec: TrainSpec) -> Job | None:
    """The job whose results the page shows: this configuration's, else a finished run of it
    from the cache, else the last job (flagged as another configuration)."""
    job = st.session_state.get(JOB)
    if job is not None and (job.spec == spec or job.status == "running"):
        return job
    if (done := cached(spec)) is not None:
        job = Job(spec, result=done, status="done", cached=True)
        st.session_state[JOB] = job
        return job
    return job if job is not None and job.result is not None else None


def render() -> None:
    cfg = controls.load()
    cfg, error = controls.sidebar(cfg)
    controls.save(cfg)
    st.markdown("### Tiny transformer")
    if setup.presenting():  # projector mode: Train and the curves above the fold
        style.explain(ABOUT, True, "About this page")
    else:
        st.caption(ABOUT)
    notices_box(controls.notices())
    if error is not None:
        st.info("Fix the text in the sidebar to train on it.", icon=":material/edit_note:")
        return
    if not cfg.optimizers:
        st.info("Pick at least one optimizer in the sidebar.", icon=":material/tune:")
        return
    spec = cfg.train_spec()
    job = shown_job(spec)
    running = job is not None and job.status == "running"
    left, right, _ = st.columns([1, 1, 6])
    left.button(
        "Train",
        key="t.train",
        type="primary",
        icon=":material/play_arrow:",
        on_click=on_train,
        args=(spec,),
        disabled=running,
        help="Training is running: press Stop first." if running else None,
    )
    right.button(
        "Stop", key="t.stop", icon=":material/stop:", on_click=on_stop, disabled=not running
    )
    progress, chart = st.empty(), st.empty()
    if job is None:
        n, corpus = cfg.n_runs, CORPORA[cfg.corpus].display
        how = (
            f"fine-tune {n} run{'s' * (n > 1)} of a model pretrained on "
            f"*{CORPORA[cfg.pretrain].display}*"
            if cfg.pretrain
            else f"train {n} run{'s' * (n > 1)}"
        )
        progress.info(
            f"Press **Train** to {how} for {cfg.steps} steps on *{corpus}*. The curves start "
            "after the first chunk; the first time a model shape is trained its training "
            "program is compiled first (a few seconds, shown as a stage).",
            icon=":material/model_training:",
        )
        return
    if job.spec != spec:
        st.warning(
            ("Training" if running else "These results are for")
            + " the settings of the last **Train**; press **Train** for the current ones.",
            icon=":material/history:",
        )
    if running:
        train_loop(job, progress, chart)
        st.rerun()  # redraw with the buttons' new state (the results are cached by then)
    settle(job)
    draw(job, progress, chart, "t.curves")
    if job.status == "failed":
        st.error(f"Training stopped with an error: {job.error}", icon=":material/error:")
    if job.result is not None and job.status != "running":
        view.results(job.result, stopped=job.status != "done")
