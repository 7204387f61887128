"""Deep nets: backprop as the chain rule made visible, vanishing and exploding gradients in deep
MLPs and what fixes them (initialisation, normalisation, residuals, clipping), overfitting and
regularisation.

Thin by design: the state and the sidebar in ``controls``, numbers in ``compute`` (bounded
caches over ``optlab.nets``), figures and words in ``view``.
"""

from __future__ import annotations

import streamlit as st

from optlab.config.deepnets import to_deepnets_query
from optlab.pages.deepnets import controls, view
from optlab.shell import setup, widgets

SECTION_VIEWS = {"backprop": view.backprop, "depth": view.depth, "overfit": view.overfit}


def render() -> None:
    cfg = controls.load()
    st.markdown("### Deep nets · backprop, gradient flow and regularisation")
    cfg = controls.section(cfg)
    widgets.notices_box(controls.notices())
    cfg = SECTION_VIEWS[cfg.section](cfg, setup.presenting())
    controls.save(cfg)
    widgets.share_box(to_deepnets_query(cfg), where=st.sidebar)
