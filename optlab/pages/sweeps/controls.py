"""The Sweeps page's sidebar and its state: every control seeded from and read back into a
``SweepConfig``, which lives in the session and the URL (like the surfaces page's
``optlab.shell.state``; widget keys start with ``sw.``)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from optlab.config.surfaces import CUSTOM
from optlab.config.sweeps import (
    BATCH_OPTIONS,
    FULL,
    LR_GRID,
    N2_RANGE,
    N_LR_RANGE,
    PROBLEMS,
    SAMPLES_RANGE,
    SEEDS_RANGE,
    STARTS_RANGE,
    STEPS_OPTIONS,
    SweepConfig,
    axis2_choices,
    parse_sweep_query,
    problem_label,
    to_sweep_query,
    with_optimizers,
    with_problem,
    with_steps,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import value_grid
from optlab.shell.state import UrlState, force, seed
from surfaces import SURFACES

AXIS2_LABELS = {"none": "nothing (learning rate only)", "beta": "momentum β",
                "b1": "Adam's β₁", "decay": "RMSprop's decay ρ", "rho": "Adadelta's ρ"}  # fmt: skip


STATE = UrlState("sweeps", parse_sweep_query, to_sweep_query)
load, notices, save = STATE.load, STATE.notices, STATE.save
CFG, LOADED, NOTICES = STATE.keys


def _fmt(v: float) -> str:
    return f"{v:.4g}"


def problem_group(cfg: SweepConfig) -> SweepConfig:
    seed("sw.problem", cfg.problem)
    name = st.selectbox("Problem", PROBLEMS, key="sw.problem", format_func=problem_label)
    if name != cfg.problem:
        cfg = with_problem(cfg, name)
    if name in SURFACES:
        current, theta = dict(cfg.theta), []
        for p in SURFACES[name].params:
            key = f"sw.s.{name}.{p.name}"
            seed(key, current[p.name])
            value = st.select_slider(p.label, value_grid(p), key=key, format_func=_fmt)
            theta.append((p.name, float(value)))
        cfg = replace(cfg, theta=tuple(theta))
    elif name == CUSTOM:
        seed("sw.f", cfg.custom)
        cfg = replace(cfg, custom=st.text_input("f(x, y) =", key="sw.f").strip())
    else:
        seed("sw.batch", cfg.batch)
        batch = st.select_slider("Batch size", BATCH_OPTIONS, key="sw.batch",
                                 format_func=lambda b: "full" if b == FULL else str(b))  # fmt: skip
        cfg = replace(cfg, batch=int(batch))
    seed("sw.opt", list(cfg.optimizers))
    opts = st.multiselect("Optimizers", list(OPTIMIZERS), key="sw.opt",
                          format_func=lambda o: OPTIMIZERS[o].display)  # fmt: skip
    return with_optimizers(cfg, opts)


def axes_group(cfg: SweepConfig) -> SweepConfig:
    # A range slider is a range only when given a tuple ``value`` (not through the session).
    lo, hi = st.select_slider("Learning-rate range (log scale)", LR_GRID, key="sw.lr",
                              value=(cfg.lr_low, cfg.lr_high), format_func=_fmt)  # fmt: skip
    if lo == hi:  # a range needs two ends
        i = LR_GRID.index(hi)
        lo, hi = (LR_GRID[i - 1], hi) if i else (lo, LR_GRID[1])
    choices = axis2_choices(cfg.optimizers)
    seed("sw.axis2", cfg.axis2)
    if st.session_state["sw.axis2"] not in choices:
        force("sw.axis2", "none")
    axis2 = st.selectbox("Also sweep", choices, key="sw.axis2",
                         format_func=lambda a: AXIS2_LABELS.get(a, a))  # fmt: skip
    seed("sw.search", cfg.search)
    search = st.radio("Search", ("grid", "random"), key="sw.search", horizontal=True,
                      format_func={"grid": "grid", "random": "random samples"}.get)  # fmt: skip
    cfg = replace(cfg, lr_low=float(lo), lr_high=float(hi), axis2=axis2, search=search)
    if search == "grid":
        seed("sw.n", cfg.n_lr)
        cfg = replace(cfg, n_lr=st.slider("Learning rates", *N_LR_RANGE, key="sw.n"))
        if axis2 != "none":
            seed("sw.n2", cfg.n2)
            cfg = replace(cfg, n2=st.slider(f"Values of {axis2} (0 … 0.99)", *N2_RANGE,
                                            key="sw.n2"))  # fmt: skip
    else:
        seed("sw.samples", cfg.samples)
        cfg = replace(cfg, samples=st.slider("Random samples", *SAMPLES_RANGE, key="sw.samples"))
    return cfg


def runs_group(cfg: SweepConfig) -> SweepConfig:
    seed("sw.starts", cfg.starts)
    hint = "The surface's own start first, then random ones."
    cfg = replace(cfg, starts=st.slider("Start points", *STARTS_RANGE, key="sw.starts", help=hint))
    if cfg.is_data:
        seed("sw.seeds", cfg.seeds)
        cfg = replace(cfg, seeds=st.slider("Seeds (mini-batch orders)", *SEEDS_RANGE,
                                           key="sw.seeds"))  # fmt: skip
    seed("sw.steps", cfg.steps)
    steps = st.select_slider("Steps per run", STEPS_OPTIONS, key="sw.steps")
    if steps != cfg.steps:
        cfg = with_steps(cfg, int(steps))
        force("sw.horizon", cfg.horizon)
    seed("sw.horizon", cfg.horizon)
    horizon = st.slider("Tuning horizon (steps counted)", 1, cfg.steps, key="sw.horizon",
                        help="Objectives look at the first *horizon* steps only.")  # fmt: skip
    return replace(cfg, horizon=int(horizon))
