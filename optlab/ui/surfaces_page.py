"""The lab: pick a surface, race optimizers on it, share the exact setup as a link.

Thin by design: controls in ``controls``, figures in ``lab_view``, downloads in ``exports``,
numbers in ``compute`` (cached), the URL in ``state``.
"""

from __future__ import annotations

import streamlit as st

from optlab.ui import compute, controls, exports, lab_view, state, style
from surfaces import SURFACES


def notices_box(notices: list[str]) -> None:
    if notices:
        st.warning(
            "Some link parameters were adjusted or ignored (defaults used instead):\n\n"
            + "\n".join(f"- {n}" for n in notices),
            icon=":material/link_off:",
        )


def share_box(cfg) -> None:
    with st.expander("Share this exact setup", icon=":material/link:", expanded=cfg.present):
        st.code(state.share_url(cfg), language=None, wrap_lines=True)
        st.caption(
            "Anyone opening this link sees the same surface, optimizers, hyperparameters, "
            "steps, start, schedule and transforms. Add `present=1` for a projector and "
            "`hide=schedule,clip,wd` to hide control groups (see *About*)."
        )


def render() -> None:
    cfg = state.load()
    style.apply(cfg.present)
    share_slot = st.sidebar.container() if not cfg.hidden("share") else None
    cfg, lr_slot = controls.sidebar(cfg)
    state.save(cfg)
    if share_slot is not None:
        with share_slot:
            share_box(cfg)

    surface = SURFACES[cfg.surface]
    title, formula = st.columns([2, 3], vertical_alignment="center")
    title.markdown(f"### {surface.display}")
    title.caption(surface.description)
    formula.latex(surface.latex)
    notices_box(state.notices())
    key = cfg.run_key()
    trajs = compute.compute(key) if cfg.optimizers else []
    if not trajs:
        lab_view.empty_state()
    lab_view.divergence_warnings(trajs)
    fig = lab_view.lab_chart(cfg)
    controls.lr_curve(lr_slot, cfg)
    if cfg.view3d:
        st.markdown("#### In 3-D")
        lab_view.view3d(cfg)
    if not trajs:
        return
    if not cfg.hidden("state"):
        st.markdown("#### Inside the optimizer")
        lab_view.state_panel(trajs)
    if not cfg.hidden("results"):
        st.markdown("#### Results")
        lab_view.results_table(compute.results(key))
    if not cfg.hidden("exports"):
        st.markdown("#### Export")
        exports.render(cfg, trajs, fig, compute.background(cfg.surface, cfg.theta))
