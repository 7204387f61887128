"""Cached figure builders for the pages: one shared figure per distinct input.

Building a plotly figure costs far more than the engine run, so every figure is kept in
``st.cache_resource`` keyed by what it depends on: a revisited setting, a rerun that changed
something else, or thirty students opening the same link all reuse it. Figures are cached as
``plots.ReadyFigure`` — the finished JSON dict, which ``st.plotly_chart`` serialises as is
instead of deep-copying a ``go.Figure`` on every rerun. The race itself is the live component
(``optlab.shell.race``); ``lab`` builds it as a plotly figure for the HTML download only. The
cached figures are shared between sessions and must not be modified.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from optlab.config.surfaces import RunKey, surface_of
from optlab.core.engine import Trajectory
from optlab.pages.surfaces.compute import background, compute, predicted
from optlab.viz import race

PRESENT_FONT = 22


def height(present: bool) -> int:
    return 760 if present else 560


def _ready(fig: go.Figure, present: bool) -> race.ReadyFigure:
    """``fig`` frozen into its JSON dict (projector mode: bigger text everywhere)."""
    if present:
        fig.update_layout(font_size=PRESENT_FONT, legend_font_size=PRESENT_FONT)
    return race.ReadyFigure(fig.to_dict())


@st.cache_resource(max_entries=64, show_spinner=False)
def lab(
    key: RunKey, frame_ms: int, log_loss: bool, present: bool, theory: bool = True
) -> race.ReadyFigure:
    """Map + loss curves with Play/Pause and the step scrubber (and the click grid); with
    ``theory``, the predicted loss curves on quadratic surfaces (dashed)."""
    surface = surface_of(key)
    spec = race.lab_spec(
        surface,
        compute(key) if key.optimizers else [],
        background(key.surface, key.theta, key.custom),
        start=key.start,
        frame_ms=frame_ms,
        log_loss=log_loss,
        height=height(present),
        font=PRESENT_FONT if present else race.FONT,
        overlays=predicted(key) if theory and key.optimizers else (),
    )
    # What Streamlit sets on a chart with point selection: set here, the figure it mounts
    # needs no second full redraw for them (clickmode is a full-replot attribute).
    spec["layout"].update(clickmode="event+select", dragmode="pan")
    return race.ReadyFigure(spec)


@st.cache_resource(max_entries=16, show_spinner=False)
def view3d(key: RunKey, present: bool) -> race.ReadyFigure:
    surface = surface_of(key)
    fig = race.surface3d_figure(surface, compute(key), dict(key.theta))
    fig.update_layout(height=height(present))
    return _ready(fig, present)


@st.cache_resource(max_entries=256, show_spinner=False)
def state(_traj: Trajectory, key: RunKey, step: int, present: bool) -> race.ReadyFigure:
    """Gradient, moment and update arrows at ``step`` of the run ``key.single(i)`` (``_traj``
    is that run's trajectory; the key alone identifies it, so moving another optimizer's
    slider reuses this figure)."""
    fig = race.state_figure(_traj, step, background(key.surface, key.theta, key.custom))
    return _ready(fig, present)


@st.cache_resource(max_entries=64, show_spinner=False)
def eff_step(_traj: Trajectory, key: RunKey, present: bool) -> race.ReadyFigure:
    """Effective step size over the run ``key.single(i)`` (see ``state``)."""
    return _ready(race.eff_step_figure(_traj), present)
