"""The Data & SGD page's sidebar and its shareable state (session + URL).

Widget keys carry a ``d.`` prefix so they never collide with the surfaces page's widgets in
the shared session state. On a session's first visit the URL is parsed
(``optlab.config.data``); afterwards every change is mirrored into the URL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import streamlit as st

from optlab.config.data import (
    DEFAULT_GRAD_NOISE,
    FULL,
    GRAD_NOISE_GRID,
    N_GRID,
    NOISE_GRID,
    OFFSET_GRID,
    PROBLEM_LABELS,
    PROBLEMS,
    SCALE_GRID,
    SEEDS_RANGE,
    STEPS_OPTIONS,
    DataConfig,
    batch_options,
    batch_size,
    lr_spec,
    parse_data_query,
    regime,
    to_data_query,
    with_optimizers,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap_grid, value_grid
from optlab.core.schedules import SCHEDULES
from optlab.shell.state import UrlState, force, seed
from optlab.shell.widgets import grid_slider
from surfaces import SURFACES

REGIME_COLORS = {"SGD": "red", "mini-batch": "orange", "full-batch GD": "green"}


# ---------------------------------------------------------------------------------------------
# State.


STATE = UrlState("data", parse_data_query, to_data_query)
load, notices, save = STATE.load, STATE.notices, STATE.save
CFG, LOADED, NOTICES = STATE.keys


# ---------------------------------------------------------------------------------------------
# Widgets.


def problem_group(cfg: DataConfig) -> DataConfig:
    seed("d.problem", cfg.problem)
    problem = st.radio("Problem", PROBLEMS, key="d.problem", format_func=PROBLEM_LABELS.__getitem__)
    if problem != cfg.problem:
        noise = cfg.grad_noise
        if noise == DEFAULT_GRAD_NOISE[cfg.problem]:  # untouched: take the new default
            noise = DEFAULT_GRAD_NOISE[problem]
            force("d.grad_noise", noise)
        cfg = replace(cfg, problem=problem, grad_noise=noise)
    if problem == "surface":
        seed("d.surface", cfg.surface)
        surface = st.selectbox(
            "Surface", list(SURFACES), key="d.surface", format_func=lambda n: SURFACES[n].display
        )
        cfg = replace(cfg, surface=surface)
    return cfg


def data_group(cfg: DataConfig) -> DataConfig:
    st.subheader("Data", divider="gray")
    n = grid_slider("Number of points n", N_GRID, cfg.n_points, "d.n", str)
    noise = grid_slider("Label noise", NOISE_GRID, cfg.noise, "d.noise")
    scale = grid_slider("Feature scale s", SCALE_GRID, cfg.scale, "d.scale")
    offset = grid_slider("Feature offset μ", OFFSET_GRID, cfg.offset, "d.offset")
    seed("d.std", cfg.standardize)
    std = st.toggle(
        "Standardize the feature", key="d.std",
        help="x ← (x − mean) / std: the loss's bowl turns from a long ravine into a round bowl.",
    )  # fmt: skip
    seed("d.data_seed", cfg.data_seed)
    data_seed = st.number_input("Data seed", 0, 9999, step=1, key="d.data_seed")
    return replace(
        cfg, n_points=int(n), noise=float(noise), scale=float(scale), offset=float(offset),
        standardize=bool(std), data_seed=int(data_seed),
    )  # fmt: skip


def batch_group(cfg: DataConfig) -> DataConfig:
    """One slider from 1 (SGD) through mini-batches to the whole set (batch GD)."""
    n = cfg.n_points
    options = batch_options(n)
    held = st.session_state.get("d.batch", cfg.batch)
    if held not in options:  # n changed under it
        force("d.batch", FULL if held >= n else int(snap_grid(options[:-1], held, log=True)))
    seed("d.batch", cfg.batch if cfg.batch in options else FULL)
    batch = st.select_slider(
        "Batch size B", options=list(options), key="d.batch",
        format_func=lambda b: f"all {n}" if b == FULL else str(b),
        help="How many points each step's gradient averages over.",
    )  # fmt: skip
    name, b = regime(batch, n), batch_size(batch, n)
    per_epoch = -(-n // b)
    st.markdown(
        f":{REGIME_COLORS[name]}-badge[{name}] {b} of {n} points per step, "
        f"{per_epoch} step{'s' * (per_epoch > 1)} per epoch"
    )
    return replace(cfg, batch=int(batch))


def noise_group(cfg: DataConfig) -> DataConfig:
    label = "Gradient noise σ" if cfg.problem == "surface" else "Extra gradient noise σ"
    sigma = grid_slider(
        label, GRAD_NOISE_GRID, cfg.grad_noise, "d.grad_noise",
        help="Gaussian noise N(0, σ²) added to every gradient component (per seed).",
    )  # fmt: skip
    return replace(cfg, grad_noise=float(sigma))


def optimizers_group(cfg: DataConfig) -> DataConfig:
    st.subheader("Optimizers", divider="gray")
    seed("d.opt", list(cfg.optimizers))
    opts = st.multiselect(
        "Optimizers", list(OPTIMIZERS), key="d.opt", format_func=lambda o: OPTIMIZERS[o].display,
        placeholder="Pick optimizers", label_visibility="collapsed",
    )  # fmt: skip
    st.caption("Each optimizer's learning rate is set on its slider under the race.")
    return with_optimizers(cfg, opts)


def with_lrs(cfg: DataConfig, values: Mapping) -> DataConfig:
    """``cfg`` with the learning rates the race component sent back (``{optimizer: value}``),
    snapped to each slider's grid; unknown names and non-numbers are ignored."""
    lrs = []
    for o in cfg.optimizers:
        v = values.get(o)
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0
        lrs.append((o, snap_grid(value_grid(lr_spec(o)), float(v), log=True) if ok else cfg.lr(o)))
    return replace(cfg, lrs=tuple(lrs))


def apply_lrs(values: Mapping) -> None:
    """The race component's callback when a slider is released: session and URL follow."""
    cfg = load()
    if (new := with_lrs(cfg, values)) != cfg:
        save(new)


def run_group(cfg: DataConfig) -> DataConfig:
    st.subheader("Run", divider="gray")
    steps = grid_slider("Steps", STEPS_OPTIONS, cfg.steps, "d.steps", str)
    seed("d.sched", cfg.schedule)
    schedule = st.selectbox(
        "Learning-rate schedule", list(SCHEDULES), key="d.sched",
        format_func=lambda s: SCHEDULES[s].display,
        help="A decaying schedule shrinks the noise ball that a constant rate leaves.",
    )  # fmt: skip
    seed("d.seeds", cfg.seeds)
    seeds = st.slider(
        "Seeds K", *SEEDS_RANGE, key="d.seeds",
        help="Independent runs: other mini-batch orders and gradient noise, same start.",
    )  # fmt: skip
    seed("d.log", cfg.log_loss)
    log_loss = st.toggle("Log-scale loss axis", key="d.log")
    at = cfg.at if cfg.at < steps else -1  # -1: the last step
    return replace(
        cfg, steps=int(steps), schedule=schedule, seeds=int(seeds), log_loss=bool(log_loss), at=at
    )


def sidebar(cfg: DataConfig) -> DataConfig:
    with st.sidebar:
        cfg = problem_group(cfg)
        if cfg.is_data:
            cfg = data_group(cfg)
            cfg = batch_group(cfg)
        cfg = noise_group(cfg)
        cfg = optimizers_group(cfg)
        return run_group(cfg)
