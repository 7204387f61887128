"""The lab: pick a surface, race optimizers on it, share the exact setup as a link.

Thin by design: controls in ``controls``, the race and the panels in ``view``, downloads in
``exports``, numbers in ``compute`` (cached), the URL in ``state``.

The race is the live component (``optlab.shell.race``): the server computes each optimizer
over its whole learning-rate grid once per structural change, and the browser redraws while
a learning-rate slider moves, with no rerun. Releasing a slider reruns only the ``live``
fragment (the sidebar's ~30 widgets are neither rerun nor resent), in which the component
gets a small header and no race data again, and what follows the chosen values (the class
box, warnings, the optimizer's state when open, results, exports, the share link) is drawn
anew: about 4 KB, most of it Streamlit's own framing. The page used to fight a rerun per
slider move with a head start for the chart (a 40 ms sleep) and reading the sliders ahead of
drawing them (and rereading when that missed); with no rerun during a move, neither is needed.
"""

from __future__ import annotations

import streamlit as st

from optlab.config.surfaces import CUSTOM, Config, surface_of
from optlab.config.surfaces_link import to_query
from optlab.pages.surfaces import compute, controls, custom_controls, exports, figures, state, view
from optlab.shell import classroom, style, widgets
from optlab.shell.widgets import notices_box

SHARE_NOTE = (
    "Anyone opening this link sees the same surface, optimizers, hyperparameters, "
    "steps, start, schedule and transforms. Add `present=1` for a projector and "
    "`hide=schedule,clip,wd` to hide control groups (see *About*)."
)


RACE_SHOWN = "_optlab_race_structure"  # the structure of the race this session last drew
INSIDE_OPEN = "inside_open"  # the "Inside the optimizer" expander's key (open: True)

VIEW3D_NOTE = (
    "A still picture: the whole paths at the learning rates last released, drawn on the "
    "surface. It does not follow Play or the step scrubber above; drag to turn it."
)


def render() -> None:
    cfg = state.load()
    style.apply(cfg.present)
    share_slot = None if cfg.hidden("share") else widgets.share_expander(st.sidebar, cfg.present)
    cfg = controls.sidebar(cfg)
    state.save(cfg)
    err = custom_controls.custom_error(cfg.custom) if cfg.surface == CUSTOM else None
    if err is not None:
        classroom.student_box("surfaces", cfg)
        share(share_slot, cfg)
        st.markdown("### Your function")
        notices_box(state.notices())
        custom_controls.refused(cfg, err)
        return
    surface = surface_of(cfg)
    title, formula = st.columns([2, 3], vertical_alignment="center")
    title.markdown(f"### {surface.display}")
    formula.latex(surface.latex)
    about = surface.description if cfg.surface != CUSTOM else custom_controls.CAPTION
    if cfg.present:  # projector mode: the race above the fold, the text one click away
        style.explain(about, True, "About this surface")
    else:
        title.caption(about)
    live(share_slot)


def share(slot, cfg: Config) -> None:
    if slot is not None:
        with slot:
            widgets.share_link(to_query(cfg), SHARE_NOTE)


def start_moved(cfg: Config) -> bool:
    """A click on the map has set a start the configuration does not have yet."""
    x, y = st.session_state.get("start_x"), st.session_state.get("start_y")
    if cfg.hidden("start") or x is None or y is None:
        return False
    return (float(x), float(y)) != tuple(cfg.start)


@st.fragment
def live(share_slot) -> None:
    """The race and everything its learning rates change. A fragment: a released slider
    reruns only this (see the module); a click on the map reruns the whole page, whose
    sidebar holds the start inputs."""
    cfg = state.load()
    if start_moved(cfg):
        st.rerun(scope="app")
    classroom.student_box("surfaces", cfg)  # class mode: "your values now" follow the sliders
    notices_box(state.notices())
    if not cfg.optimizers:
        view.empty_state()
    skey = compute.structure(cfg.run_key())
    with widgets.spinner_for_new(
        RACE_SHOWN, skey, "Preparing the race… (a fresh server compiles it first)"
    ):
        view.live(cfg)  # the title above is already shown; the spinner only after 0.5 s
    if cfg.optimizers:
        view.hint(cfg)
    trajs = compute.compute(cfg.run_key()) if cfg.optimizers else []
    view.divergence_warnings(trajs)
    if cfg.theory:
        controls.theory_notes(cfg)
    details(cfg, trajs)
    # After the panels: "Inside the optimizer" writes its optimizer and step into the saved
    # configuration, and the share link must hold them (it lagged the address bar by one).
    share(share_slot, state.load())


INSIDE = "Inside the optimizer: its state, update and effective step at any step"


def inside(cfg: Config, trajs) -> None:
    """The optimizer's state, in an expander drawn only while open: closed, its two plotly
    charts are neither computed, sent nor re-rendered, so a first visit loads no plotly.js
    (4.7 MB) and a structural change repaints the race sooner (measured: 150 ms of a change
    went to re-rendering these charts). A link naming an optimizer or step opens it."""
    panel = st.expander(
        INSIDE, expanded=bool(cfg.inspect) or cfg.at > 0, key=INSIDE_OPEN, on_change="rerun",
        icon=":material/biotech:",
    )  # fmt: skip
    if panel.open:
        with panel:
            view.state_panel(trajs)


def details(cfg: Config, trajs) -> None:
    """Below the race: the 3-D view, the optimizer's state, the results, the exports."""
    if cfg.view3d:
        st.markdown("#### In 3-D")
        st.caption(VIEW3D_NOTE)
        view.view3d(cfg)
    if not trajs:
        return
    key = cfg.run_key()
    if not cfg.hidden("state"):
        inside(cfg, trajs)
    if not cfg.hidden("results"):
        st.markdown("#### Results")
        view.results_table(compute.results(key))
    if not cfg.hidden("exports"):
        st.markdown("#### Export")
        image = compute.background(cfg.surface, cfg.theta, key.custom)
        figure = lambda: figures.lab(key, cfg.frame_ms, cfg.log_loss, cfg.present, cfg.theory)  # noqa: E731
        exports.render(cfg, trajs, figure, image)
