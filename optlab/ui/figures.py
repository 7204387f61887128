"""Cached figure builders for the pages: one shared ``go.Figure`` per distinct input.

Building a plotly figure (object validation) costs far more than the engine run, so every
figure is kept in ``st.cache_resource`` keyed by what it depends on: a revisited setting, a
rerun that changed something else, or thirty students opening the same link all reuse it.
The cached figures are shared between sessions and must not be modified by callers.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from optlab import plots
from optlab.engine import Trajectory
from optlab.ui.compute import background, compute, multipliers
from optlab.urlstate import Pairs, RunKey
from surfaces import SURFACES

PRESENT_FONT = 22


def height(present: bool) -> int:
    return 760 if present else 560


def _enlarge(fig: go.Figure, present: bool) -> go.Figure:
    """Projector mode: bigger text everywhere in the figure."""
    if present:
        fig.update_layout(font_size=PRESENT_FONT, legend_font_size=PRESENT_FONT)
    return fig


@st.cache_resource(max_entries=64, show_spinner=False)
def lab(key: RunKey, frame_ms: int, log_loss: bool, present: bool) -> go.Figure:
    """Map + loss curves with Play/Pause and the step scrubber (and the click grid)."""
    surface = SURFACES[key.surface]
    fig = plots.lab_figure(
        surface,
        compute(key) if key.optimizers else [],
        background(key.surface, key.theta),
        start=key.start,
        frame_ms=frame_ms,
        log_loss=log_loss,
        height=height(present),
    )
    return _enlarge(fig, present)


@st.cache_resource(max_entries=16, show_spinner=False)
def view3d(key: RunKey, present: bool) -> go.Figure:
    surface = SURFACES[key.surface]
    fig = plots.surface3d_figure(surface, compute(key), dict(key.theta))
    fig.update_layout(height=height(present))
    return _enlarge(fig, present)


@st.cache_resource(max_entries=256, show_spinner=False)
def state(_traj: Trajectory, key: RunKey, step: int, present: bool) -> go.Figure:
    """Gradient, moment and update arrows at ``step`` of the run ``key.single(i)`` (``_traj``
    is that run's trajectory; the key alone identifies it, so moving another optimizer's
    slider reuses this figure)."""
    fig = plots.state_figure(_traj, step, background(key.surface, key.theta))
    return _enlarge(fig, present)


@st.cache_resource(max_entries=64, show_spinner=False)
def eff_step(_traj: Trajectory, key: RunKey, present: bool) -> go.Figure:
    """Effective step size over the run ``key.single(i)`` (see ``state``)."""
    return _enlarge(plots.eff_step_figure(_traj), present)


@st.cache_resource(max_entries=64, show_spinner=False)
def lr_curve(schedule: str, steps: int, params: Pairs, lrs: tuple[tuple[str, float], ...]):
    mult: np.ndarray = multipliers(schedule, steps, params)
    return plots.lr_curve_figure(mult, dict(lrs))
