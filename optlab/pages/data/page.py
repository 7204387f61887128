"""Data & SGD: mini-batch gradients on real data losses (and gradient noise on an analytic
surface), K seeds at once, with the full-data loss as the map.

Thin by design: the sidebar and the URL state in ``data_controls``, numbers in
``optlab.pages.data.compute`` (behind ``st.cache_data`` keyed by hashable specs), figures in
``optlab.viz.data`` (behind ``st.cache_resource``).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from optlab.config.data import DataConfig, regime, to_data_query
from optlab.pages.data import compute
from optlab.pages.data import controls as data_controls
from optlab.pages.data.compute import SeedRuns, SeedSpec
from optlab.shell import classroom, widgets
from optlab.shell.state import force, seed
from optlab.shell.widgets import notices_box
from optlab.viz import data as plots_data
from optlab.viz.colormap import SurfaceImage
from surfaces import SURFACES
from surfaces.data import DATA_LOSSES

CHART_CONFIG = {"displaylogo": False, "scrollZoom": False}
AT_STEPS = "_optlab_data_at_steps"  # the step count the step slider was drawn for
Pairs = tuple[tuple[str, float], ...]


# ---------------------------------------------------------------------------------------------
# Cached numbers and figures (shared by every session).


@st.cache_data(max_entries=256, show_spinner=False)
def seed_runs(spec: SeedSpec) -> SeedRuns:
    return compute.run_seeds(spec)


@st.cache_data(max_entries=32, show_spinner=False)
def loss_image(problem: str, controls: Pairs, surface: str) -> SurfaceImage:
    return compute.loss_image(problem, controls, surface)


@st.cache_data(max_entries=32, show_spinner=False)
def dataset(problem: str, controls: Pairs) -> dict:
    return DATA_LOSSES[problem].data(**dict(controls))


@st.cache_resource(max_entries=64, show_spinner=False)
def map_figure(cfg_key: tuple, specs: tuple[SeedSpec, ...]) -> go.Figure:
    problem, controls, surface = cfg_key
    view = compute.view(problem, controls, surface)
    titles = ("x", "y") if problem == "surface" else ("w (slope)", "b (intercept)")
    start = specs[0].start if specs else compute.start_of(*cfg_key)
    return plots_data.seeds_map_figure(
        view,
        loss_image(*cfg_key),
        [seed_runs(s) for s in specs],
        start,
        axis_titles=titles,
        equal=problem == "surface",  # w and b have different units: fill the panel
    )


@st.cache_resource(max_entries=64, show_spinner=False)
def loss_figure(specs: tuple[SeedSpec, ...], log_y: bool, sample: bool) -> go.Figure:
    return plots_data.loss_band_figure([seed_runs(s) for s in specs], log_y=log_y, sample=sample)


@st.cache_resource(max_entries=256, show_spinner=False)
def fit_figure(problem: str, controls: Pairs, specs: tuple[SeedSpec, ...], step: int):
    d = dataset(problem, controls)
    optimum = compute.view(problem, controls, "").minima[0]
    runs = [seed_runs(s) for s in specs]
    return plots_data.data_fit_figure(problem, d["x"], d["y"], runs, step, (optimum.x, optimum.y))


# ---------------------------------------------------------------------------------------------
# Page parts.


def header(cfg: DataConfig) -> None:
    title, formula = st.columns([2, 3], vertical_alignment="center")
    if cfg.is_data:
        loss = DATA_LOSSES[cfg.problem]
        title.markdown(f"### Data & SGD · {loss.display}")
        title.caption(loss.description)
        formula.latex(loss.latex)
    else:
        s = SURFACES[cfg.surface]
        title.markdown(f"### Data & SGD · {s.display} with gradient noise")
        title.caption("Each step sees the true gradient plus Gaussian noise: g̃ = ∇f + σ ξ.")
        formula.latex(s.latex)


def share_box(cfg: DataConfig) -> None:
    widgets.share_box(to_data_query(cfg), where=st.sidebar)


def explanation(cfg: DataConfig) -> str:
    """What to notice, for the current setting."""
    lines = []
    noisy = cfg.grad_noise > 0 or (cfg.is_data and cfg.batch_points < cfg.n_points)
    if not noisy:
        lines.append(
            "**No noise:** every seed computes the same gradient, so the K faint "
            "paths coincide. Lower the batch size or add gradient noise σ."
        )
    else:
        what = "which points each step saw" if cfg.is_data else "the gradient noise"
        lines.append(
            f"**Noise:** the K faint paths differ only in {what}. They fan out, jitter, and "
            "with a constant learning rate never settle: they keep bouncing in a *noise ball* "
            "around the minimum (the cloud of end points), larger for larger η"
            + (" and smaller batches." if cfg.is_data else " and σ.")
        )
        if cfg.schedule == "constant":
            lines.append(
                "**Shrink the ball:** pick a decaying schedule (cosine, exponential): "
                "smaller late steps average the noise out."
            )
        else:
            lines.append(
                "**Decay:** the schedule shrinks η, so the end points gather closer to "
                "the minimum than with a constant rate."
            )
    if cfg.is_data and not cfg.standardize and abs(cfg.offset) > 0.5:
        lines.append(
            f"**Conditioning:** the raw feature has offset μ = {cfg.offset:g}, so the "
            "bowl is a long thin ravine (GD crawls along it). Switch *Standardize the "
            "feature* and watch the map turn round."
        )
    elif cfg.is_data:
        lines.append(
            "**Conditioning:** with a centred feature the bowl is nearly round: "
            "one learning rate suits both directions."
        )
    lines.append(
        "**Curves:** dotted is the mini-batch loss each step saw (a noisy estimate), "
        "solid the full-data loss; bands are ± one standard deviation over seeds."
        if cfg.is_data
        else "**Curves:** the loss f at each step; bands are ± one standard deviation over seeds."
    )
    return "\n".join(f"- {line}" for line in lines)


@st.fragment
def fit_panel() -> None:
    """The data and each optimizer's model at the chosen step (a fragment: moving the step
    slider reruns only this panel)."""
    cfg = data_controls.load()
    specs = tuple(compute.specs(cfg))
    if not specs:
        return
    if st.session_state.get(AT_STEPS) != cfg.steps:
        force("d.at", cfg.step_shown())
        st.session_state[AT_STEPS] = cfg.steps
    seed("d.at", cfg.step_shown())
    at = st.slider("Step shown", 0, cfg.steps, key="d.at", help="Scrub through the run.")
    new = -1 if at == cfg.steps else int(at)
    if new != cfg.at:
        data_controls.save(replace(cfg, at=new))
    fig = fit_figure(cfg.problem, cfg.controls(), specs, int(at))
    st.plotly_chart(fig, key="d.fit", config=CHART_CONFIG, theme=None)


def summary_table(cfg: DataConfig, runs: list[SeedRuns]) -> None:
    view = compute.view(cfg.problem, cfg.controls() if cfg.is_data else (), cfg.surface)
    m = view.minima[0] if view.minima else None
    rows = [compute.summary(r, (m.x, m.y) if m else None) for r in runs]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(
        "*spread of end points*: RMS distance of the K final iterates from their mean — the "
        "size of the noise ball. *mean end → minimum*: how far the average end point is from "
        "the full-data minimum."
    )


def render() -> None:
    cfg = data_controls.sidebar(data_controls.load())
    data_controls.save(cfg)
    classroom.student_box("data", cfg)  # class mode: the joined class's submit box
    share_box(cfg)
    header(cfg)
    notices_box(data_controls.notices())
    controls = cfg.controls() if cfg.is_data else ()
    specs = tuple(compute.specs(cfg))
    if not specs:
        st.info(
            "**No optimizer selected.** Pick one or more in the sidebar.",
            icon=":material/sports_score:",
        )
    with st.spinner(f"Running {cfg.seeds} seeds (a first run compiles for a few seconds)…"):
        runs = [seed_runs(s) for s in specs]
    cfg_key = (cfg.problem, controls, cfg.surface if not cfg.is_data else "")
    left, right = st.columns(2)
    left.plotly_chart(map_figure(cfg_key, specs), key="d.map", config=CHART_CONFIG, theme=None)
    right.plotly_chart(
        loss_figure(specs, cfg.log_loss, cfg.is_data), key="d.loss", config=CHART_CONFIG, theme=None
    )
    for r in runs:
        if (bad := int((r.diverged_at >= 0).sum())) > 0:
            st.warning(
                f"**{r.label}** diverged in {bad} of {len(r.diverged_at)} seeds: try a "
                "smaller learning rate.",
                icon=":material/warning:",
            )
    st.markdown("#### What to notice")
    st.markdown(explanation(cfg))
    if cfg.is_data and specs:
        name = regime(cfg.batch, cfg.n_points)
        st.markdown(f"#### The model at one step ({name}, mean of {cfg.seeds} seeds bold)")
        fit_panel()
    if runs:
        st.markdown("#### Results over seeds")
        summary_table(cfg, runs)
