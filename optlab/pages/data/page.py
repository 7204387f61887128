"""Data & SGD: mini-batch gradients on real data losses (and gradient noise on an analytic
surface), K seeds at once, with the full-data loss as the map.

Thin by design: the sidebar and the URL state in ``data_controls``, numbers in
``optlab.pages.data.compute`` (behind ``st.cache_data`` keyed by hashable specs), figures in
``optlab.viz.data`` (behind ``st.cache_resource``).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from optlab.config.data import DataConfig, lr_spec, regime, to_data_query
from optlab.core.params import value_grid
from optlab.pages.data import compute
from optlab.pages.data import controls as data_controls
from optlab.pages.data.compute import SeedRuns, SeedSpec
from optlab.shell import classroom, setup, style, widgets
from optlab.shell import race as race_ui
from optlab.shell.state import force, seed
from optlab.shell.widgets import fmt_value, notices_box
from optlab.viz import data as plots_data
from optlab.viz import live, tables
from optlab.viz.colormap import SurfaceImage
from optlab.viz.style import image_bounds
from surfaces import SURFACES
from surfaces.data import DATA_LOSSES

PRESENT_FONT = 22  # projector mode, as on the Surfaces page
CHART_CONFIG = {"displaylogo": False, "scrollZoom": False}
AT_STEPS = "_optlab_data_at_steps"  # the step count the step slider was drawn for
Pairs = tuple[tuple[str, float], ...]


# ---------------------------------------------------------------------------------------------
# Cached numbers and figures (shared by every session).


@st.cache_resource(max_entries=64, show_spinner=False)
def lr_grid(spec: SeedSpec):
    """One optimizer's K seeds at every learning rate of its slider (shared, read-only)."""
    return compute.lr_seed_grid(spec)


def seed_runs(spec: SeedSpec) -> SeedRuns:
    """The K runs at ``spec``'s learning rate: rows of its grid (what the race draws)."""
    return compute.seeds_at(lr_grid(compute.structural(spec)), spec)


@st.cache_data(max_entries=32, show_spinner=False)
def loss_image(problem: str, controls: Pairs, surface: str) -> SurfaceImage:
    return compute.loss_image(problem, controls, surface)


@st.cache_data(max_entries=32, show_spinner=False)
def dataset(problem: str, controls: Pairs) -> dict:
    return DATA_LOSSES[problem].data(**dict(controls))


@st.cache_resource(max_entries=32, show_spinner=False)
def race_data(cfg_key: tuple, specs: tuple[SeedSpec, ...], log_loss: bool, sample: bool):
    """The live race's id and data: every optimizer's K seeds over its lr grid."""
    problem, controls, surface = cfg_key
    grids = [value_grid(lr_spec(s.optimizer)) for s in specs]
    start = specs[0].start if specs else compute.start_of(*cfg_key)
    data = live.seed_race_data(
        [lr_grid(s) for s in specs], specs[0].seeds if specs else 1, grids,
        [[fmt_value(v) for v in g] for g in grids], compute.view(problem, controls, surface),
        start, specs[0].steps if specs else 1, log_loss=log_loss, sample=sample,
        equal=problem == "surface",  # w and b have different units: fill the panel
        axis_titles=("x", "y") if problem == "surface" else ("w (slope)", "b (intercept)"),
    )  # fmt: skip
    if specs:
        live.add_schedule(*data, specs[0].schedule, specs[0].steps)
    return live.digest("data", cfg_key, specs, log_loss, sample), data


def live_race(
    cfg: DataConfig, cfg_key: tuple, specs: tuple[SeedSpec, ...], present: bool = False
) -> int:
    """The map and the loss bands, redrawn in the browser while a learning rate is dragged
    (``optlab.shell.race``); a release saves the chosen values (``apply_lrs``)."""
    structural = tuple(compute.structural(s) for s in specs)
    race_id, data = race_data(cfg_key, structural, cfg.log_loss, cfg.is_data)
    image = loss_image(*cfg_key)
    current = {s.optimizer: live.grid_index(value_grid(lr_spec(s.optimizer)), s.lr) for s in specs}
    return race_ui.live_race(
        "d.race", race_id=race_id, race=data, bg_id=live.digest("data-bg", cfg_key),
        image={"uri": image.uri, "bounds": list(image_bounds(image))}, current=current,
        ui={"font": PRESENT_FONT if present else 15, "height": 480, "frame_ms": 60,
            "sliders": True, "click": False, "fit": present},
        on_lrs=data_controls.apply_lrs,
    )  # fmt: skip


@st.cache_resource(max_entries=256, show_spinner=False)
def fit_figure(problem: str, controls: Pairs, specs: tuple[SeedSpec, ...], step: int):
    d = dataset(problem, controls)
    optimum = compute.view(problem, controls, "").minima[0]
    runs = [seed_runs(s) for s in specs]
    return plots_data.data_fit_figure(problem, d["x"], d["y"], runs, step, (optimum.x, optimum.y))


# ---------------------------------------------------------------------------------------------
# Page parts.


def header(cfg: DataConfig, present: bool) -> None:
    """Title and formula; the description under the title, or folded into an expander in
    projector mode (so the race fits above the fold)."""
    title, formula = st.columns([3, 2] if present else [2, 3], vertical_alignment="center")
    if cfg.is_data:
        loss = DATA_LOSSES[cfg.problem]
        name, about, latex = loss.display, loss.description, loss.latex
    else:
        s = SURFACES[cfg.surface]
        name, latex = f"{s.display} with gradient noise", s.latex
        about = "Each step sees the true gradient plus Gaussian noise: g̃ = ∇f + σ ξ."
    title.markdown(f"### Data & SGD · {name}")
    formula.latex(latex)
    if present:
        style.explain(about, True, "About this problem")
    else:
        title.caption(about)


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


def divergence_banner(runs: list[SeedRuns]) -> None:
    """One compact banner for every optimizer with diverged seeds."""
    gone = [(r.label, int((r.diverged_at >= 0).sum()), len(r.diverged_at)) for r in runs]
    parts = [f"**{label}** in {bad} of {k} seeds" for label, bad, k in gone if bad > 0]
    if parts:
        st.warning(
            f"Diverged: {', '.join(parts)}. Try a smaller learning rate.",
            icon=":material/warning:",
        )


SUMMARY_GONE = ("final loss (mean)", "± std over seeds", "mean end → minimum")


def summary_table(cfg: DataConfig, runs: list[SeedRuns]) -> None:
    """The summary as text for people (``viz.tables``): a row whose seeds all diverged says so
    instead of showing inf or 1e+25."""
    view = compute.view(cfg.problem, cfg.controls() if cfg.is_data else (), cfg.surface)
    m = view.minima[0] if view.minima else None
    rows = [compute.summary(r, (m.x, m.y) if m else None) for r in runs]
    all_gone = {r.label for r in runs if bool((r.diverged_at >= 0).all())}
    shown = tables.people_rows(
        rows,
        diverged=lambda row: "diverged" if row["optimizer"] in all_gone else None,
        gone=SUMMARY_GONE,
    )
    st.markdown(tables.markdown(shown))
    st.caption(
        "*spread of end points*: RMS distance of the K final iterates from their mean — the "
        "size of the noise ball. *mean end → minimum*: how far the average end point is from "
        "the full-data minimum."
    )


def render() -> None:
    cfg = data_controls.sidebar(data_controls.load())
    data_controls.save(cfg)
    share_slot = widgets.share_expander(st.sidebar)
    present = setup.presenting()
    header(cfg, present)
    live_lab(share_slot, present)


RACE_SHOWN = "_optlab_data_race_structure"  # the structure of the race this session last drew


@st.fragment
def live_lab(share_slot, present: bool) -> None:
    """The race and everything its learning rates change. A fragment: a released slider
    reruns only this (the sidebar's widgets are neither rerun nor resent), as on Surfaces."""
    cfg = data_controls.load()
    classroom.student_box("data", cfg)  # class mode: "your values now" follow the sliders
    notices_box(data_controls.notices())
    controls = cfg.controls() if cfg.is_data else ()
    specs = tuple(compute.specs(cfg))
    if not specs:
        st.info(
            "**No optimizer selected.** Pick one or more in the sidebar.",
            icon=":material/sports_score:",
        )
    structure = tuple(compute.structural(s) for s in specs)
    text = f"Running {cfg.seeds} seeds at every learning rate (a first run compiles)…"
    with widgets.spinner_for_new(RACE_SHOWN, structure, text):
        runs = [seed_runs(s) for s in specs]
        cfg_key = (cfg.problem, controls, cfg.surface if not cfg.is_data else "")
        live_race(cfg, cfg_key, specs, present)
    divergence_banner(runs)
    if not present:
        st.markdown("#### What to notice")
    style.explain(explanation(cfg), present, "What to notice")
    if cfg.is_data and specs:
        model_at_one_step(cfg)
    if runs:
        st.markdown("#### Results over seeds")
        summary_table(cfg, runs)
    with share_slot:
        widgets.share_link(to_data_query(data_controls.load()))


FIT_OPEN = "d.fit_open"  # the model panel's expander key (open: True)
FIT_LABEL = "The model at one step: the data and each optimizer's fitted model"


def model_at_one_step(cfg: DataConfig) -> None:
    """The data and the fitted models, in an expander drawn only while open: closed, its
    plotly chart (6.5 KB, resent with every released learning rate) is neither computed nor
    sent, and a first visit loads no plotly.js. A link with a step (``at=``) opens it."""
    # A constant label: a new label would be a new, closed expander.
    panel = st.expander(
        FIT_LABEL, expanded=cfg.at >= 0, key=FIT_OPEN, on_change="rerun",
        icon=":material/show_chart:",
    )  # fmt: skip
    if panel.open:
        with panel:
            name = regime(cfg.batch, cfg.n_points)
            st.caption(f"{name}; the mean of the {cfg.seeds} seeds' models bold, each seed faint.")
            fit_panel()
