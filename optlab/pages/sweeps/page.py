"""Learning-rate sweeps: tune every optimizer on the same problem, then compare them fairly,
each at its own best learning rate (and momentum), with the theory drawn on top.

Thin by design: controls and state in ``controls``, numbers in ``compute`` (one cached
``run_sweep`` call per configuration), figures in ``optlab.viz.sweeps``, the transformer sweep
in ``transformer``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import streamlit as st

from optlab.config import surfaces_link
from optlab.config.sweeps import OBJECTIVE_LABELS, TOL_GRID, SweepConfig
from optlab.core.expr import ExprError
from optlab.core.sweeps import OBJECTIVES
from optlab.pages.sweeps import compute, controls, transformer
from optlab.shell import navigation, setup, style
from optlab.shell.state import seed
from optlab.shell.widgets import notices_box
from optlab.viz import sweeps as figures

INTRO = (
    "A fair comparison tunes every optimizer first. Each one runs at every learning rate of "
    "the range (and every start, seed and second-axis value); the objective scores each "
    "setting over the *tuning horizon*. ★ marks each optimizer's best setting among those "
    "where no run diverged; the shaded band is where at least half the runs diverge."
)


def objective_bar(cfg: SweepConfig) -> SweepConfig:
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        seed("sw.objective", cfg.objective)
        objective = st.radio("Objective", OBJECTIVES, key="sw.objective", horizontal=True,
                             format_func=OBJECTIVE_LABELS.get)  # fmt: skip
    tol = cfg.tol
    if objective == "steps_to_tol":
        with right:
            seed("sw.tol", cfg.tol)
            tol = st.select_slider("Tolerance (loss − f*)", TOL_GRID, key="sw.tol",
                                   format_func=lambda v: f"{v:g}")  # fmt: skip
    return replace(cfg, objective=objective, tol=float(tol))


def best_table(cfg: SweepConfig, out: compute.SweepOutcome, bests, edges) -> None:
    rows = []
    for r in out.table.rows:
        b = bests.get(r.key)
        row = {"optimizer": r.key, "best η": b.hparams.get("learning_rate") if b else None}
        if cfg.two_axes:
            row[f"best {cfg.axis2}"] = b.hparams.get(cfg.axis2) if b else None
        row[OBJECTIVE_LABELS[cfg.objective]] = (
            float(r.objectives[cfg.objective][b.index]) if b else None
        )
        row["diverges from η ≈"] = None if math.isnan(edges[r.key]) else edges[r.key]
        rows.append(row)
    number = st.column_config.NumberColumn(format="%.4g")
    st.dataframe(
        pd.DataFrame(rows),
        hide_index=True,
        column_config={k: number for k in rows[0] if k != "optimizer"} if rows else None,
    )


def tuned_link(cfg: SweepConfig, out: compute.SweepOutcome, bests) -> None:
    if cfg.is_data:
        target, label = "data", "Use tuned values on the Data & SGD page"
        query = compute.tuned_data_query(cfg, out.table, bests)
    else:
        target, label = "surfaces", "Use tuned values on the Surfaces page"
        query = surfaces_link.to_query(compute.tuned_config(cfg, out.table, bests))
    page = navigation.page(target)
    if page is not None:
        st.page_link(page, label=label, icon=":material/tune:", query_params=query)
    st.caption("Opens a race of these optimizers, each at its best value (snapped to the "
               "page's slider steps): `" + "&".join(f"{k}={v}" for k, v in query.items())
               + "`")  # fmt: skip


def charts(cfg: SweepConfig, out: compute.SweepOutcome) -> None:
    table = out.table
    bests = compute.best_points(table, cfg.objective)
    edges = compute.divergence_edges(table)
    quad = compute.quadratic(replace(SweepConfig(), problem=cfg.problem, theta=cfg.theta,
                             custom=cfg.custom, batch=cfg.batch))  # fmt: skip
    lines = figures.theory_lines(quad) if quad is not None else []
    curves = figures.curves_from_table(table, cfg.objective, bests, edges)
    fig = figures.lr_figure(curves, cfg.objective, lines, (cfg.lr_low, cfg.lr_high))
    st.plotly_chart(fig, key="sweep_lr_chart")
    if quad is not None:
        st.caption(
            f"This problem is a quadratic (curvatures μ = {quad.mu:.3g}, L = {quad.L:.3g}): GD "
            f"converges for η < 2/L = {quad.gd_max_lr:.3g} and is fastest at η = 2/(μ+L) = "
            f"{quad.gd_opt_lr:.3g}. Momentum with β is stable up to 2(1+β)/L."
        )
    if cfg.two_axes:
        st.markdown(f"#### Learning rate × {cfg.axis2}")
        st.plotly_chart(figures.heatmap_figure(table, cfg.objective, bests),
                        key="sweep_heatmap")  # fmt: skip
    st.markdown("#### Best settings")
    best_table(cfg, out, bests, edges)
    tuned_link(cfg, out, bests)
    if out.curves[cfg.objective]:
        st.markdown("#### Loss curves at the tuned values")
        colors = {r.key: r.color for r in table.rows}
        st.plotly_chart(figures.best_curves_figure(
            out.curves[cfg.objective], colors, table.target, cfg.horizon),
            key="sweep_best_curves")  # fmt: skip


def render() -> None:
    cfg = controls.load()
    with st.sidebar:
        st.markdown("### Problem")
        cfg = controls.problem_group(cfg)
        st.markdown("### What to sweep")
        cfg = controls.axes_group(cfg)
        st.markdown("### Runs")
        cfg = controls.runs_group(cfg)
    st.title("Learning-rate sweeps")
    style.explain(INTRO, setup.presenting(), "How the sweep compares optimizers")
    cfg = objective_bar(cfg)
    controls.save(cfg)
    notices_box(controls.notices())
    n_opt = len(cfg.optimizers)
    st.caption(f"{cfg.runs()} runs × {n_opt} optimizer{'s' * (n_opt != 1)}, {cfg.steps} steps "
               f"each; objectives over the first {cfg.horizon} steps.")  # fmt: skip
    if not cfg.optimizers:
        st.info("Pick at least one optimizer in the sidebar.", icon=":material/arrow_back:")
    elif cfg.too_big():
        st.warning("That is too many runs for one sweep: lower the number of learning rates, "
                   "samples, starts, seeds or steps.", icon=":material/hourglass:")  # fmt: skip
    else:
        try:
            with st.spinner("Sweeping… (a new problem or size compiles first, a few seconds)"):
                out = compute.outcome(cfg.run_key())
        except ExprError as e:
            st.error(f"Your function cannot be used: {e}", icon=":material/function:")
        else:
            charts(cfg, out)
    transformer.render()
