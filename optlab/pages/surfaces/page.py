"""The lab: pick a surface, race optimizers on it, share the exact setup as a link.

Thin by design: controls in ``controls``, figures in ``lab_view``, downloads in ``exports``,
numbers in ``compute`` (cached), the URL in ``state``. The hyperparameter sliders and what
they change run as a fragment (``race``), so a slider move reruns and resends only that.
"""

from __future__ import annotations

import time

import streamlit as st

from optlab.config.surfaces import CUSTOM, Config, surface_of
from optlab.config.surfaces_link import to_query
from optlab.pages.surfaces import compute, controls, custom_controls, exports, state, view
from optlab.shell import classroom, style, widgets
from optlab.shell.widgets import notices_box

FULL_RUN = "_optlab_full_run"  # set while the whole page runs (not a fragment rerun)
REREAD = "_optlab_reread"
# A pause after the new chart is sent, before the rest of the race: the browser batches the
# elements that arrive together into one render pass, and without it the chart waited for
# the sliders, the state panel and the results to be rendered with it. Measured (A/B, moves
# interleaved, load ~5 on 2 cores): key press -> chart updated p50 304 -> 223 ms, p95 497 ->
# 374 ms; 20 ms helped less, 80 ms no more. The pause holds no lock (other sessions run).
CHART_HEAD_START_S = 0.04


SHARE_NOTE = (
    "Anyone opening this link sees the same surface, optimizers, hyperparameters, "
    "steps, start, schedule and transforms. Add `present=1` for a projector and "
    "`hide=schedule,clip,wd` to hide control groups (see *About*)."
)


def share_box(cfg) -> None:
    widgets.share_box(to_query(cfg), SHARE_NOTE, expanded=cfg.present)


def render() -> None:
    cfg = state.load()
    style.apply(cfg.present)
    classroom.student_box("surfaces", cfg)  # class mode: the joined class's submit box
    share_slot = st.sidebar.container() if not cfg.hidden("share") else None
    cfg, lr_slot, deferred = controls.sidebar(cfg, defer=("hparams",))
    hp_slot = deferred.get("hparams")

    err = custom_controls.custom_error(cfg.custom) if cfg.surface == CUSTOM else None
    if err is not None:
        cfg = hparams(hp_slot, cfg)
        state.save(cfg)
        share(share_slot, cfg)
        st.markdown("### Your function")
        notices_box(state.notices())
        custom_controls.refused(cfg, err)
        return
    state.save(cfg)
    surface = surface_of(cfg)
    title, formula = st.columns([2, 3], vertical_alignment="center")
    title.markdown(f"### {surface.display}")
    title.caption(surface.description if cfg.surface != CUSTOM else custom_controls.CAPTION)
    formula.latex(surface.latex)
    st.session_state[FULL_RUN] = True
    try:
        race(hp_slot, lr_slot, share_slot)
    finally:
        st.session_state[FULL_RUN] = False


def hparams(slot, cfg: Config) -> Config:
    """The optimizers' hyperparameter widgets, drawn into their place in the sidebar."""
    if slot is None:  # hidden: the link's values stand
        return cfg
    with slot:
        return controls.hparams_group(cfg)


def share(slot, cfg: Config) -> None:
    if slot is not None:
        with slot:
            share_box(cfg)


def start_moved(cfg: Config) -> bool:
    """A click on the map has set a start the configuration does not have yet."""
    x, y = st.session_state.get("start_x"), st.session_state.get("start_y")
    if cfg.hidden("start") or x is None or y is None:
        return False
    return (float(x), float(y)) != tuple(cfg.start)


@st.fragment
def race(hp_slot, lr_slot, share_slot) -> None:
    """The hyperparameter sliders and everything they change: the race, the learning-rate
    curve, the optimizer's state, the results, the exports and the share link.

    A fragment, so moving a slider reruns only this: the other sidebar groups (~30 widgets),
    the title and the formula are neither rerun nor resent, which the browser feels most
    (it re-renders every element it is sent). Their values come from the configuration the
    last full run saved; changing one of them reruns the whole page as before.

    The new chart is sent first, and alone (``CHART_HEAD_START_S``): the sliders' values are
    read ahead from the session (``controls.hparams_now``) and the sliders drawn after the
    chart, into their container in the sidebar (``hp_slot``, placed by the full run between
    the optimizer choice and the run settings); notices and warnings go into a container
    above the chart, filled after it; the learning-rate curve comes last.
    """
    loaded = state.load()
    if not st.session_state.get(FULL_RUN) and start_moved(loaded):
        st.rerun(scope="app")  # a click on the map: the start inputs live outside
    cfg = controls.hparams_now(loaded) if hp_slot is not None else loaded
    state.save(cfg)
    head = st.container()
    key = cfg.run_key()
    trajs = compute.compute(key) if cfg.optimizers else []
    fig = view.lab_chart(cfg)
    time.sleep(CHART_HEAD_START_S)
    drawn = hparams(hp_slot, loaded)
    if drawn.hparams != cfg.hparams and not st.session_state.get(REREAD):
        st.session_state[REREAD] = True  # the read-ahead missed (a bug): draw again, once
        state.save(drawn)
        st.rerun(scope="app")
    st.session_state.pop(REREAD, None)
    share(share_slot, cfg)
    with head:
        notices_box(state.notices())
        if not trajs:
            view.empty_state()
        view.divergence_warnings(trajs)
    details(cfg, trajs, fig)
    controls.lr_curve(lr_slot, cfg)  # last: its chart reaches the browser after the race's


def details(cfg: Config, trajs, fig) -> None:
    """Below the race: the 3-D view, the optimizer's state, the results, the exports."""
    if cfg.view3d:
        st.markdown("#### In 3-D")
        view.view3d(cfg)
    if not trajs:
        return
    key = cfg.run_key()
    if not cfg.hidden("state"):
        st.markdown("#### Inside the optimizer")
        view.state_panel(trajs)
    if not cfg.hidden("results"):
        st.markdown("#### Results")
        view.results_table(compute.results(key))
    if not cfg.hidden("exports"):
        st.markdown("#### Export")
        image = compute.background(cfg.surface, cfg.theta, key.custom)
        exports.render(cfg, trajs, fig, image)
