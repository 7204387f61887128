"""Cached figure builders for the pages: one shared figure per distinct input.

Building a plotly figure costs far more than the engine run, so every figure is kept in
``st.cache_resource`` keyed by what it depends on: a revisited setting, a rerun that changed
something else, or thirty students opening the same link all reuse it. Figures are cached as
``plots.ReadyFigure`` — the finished JSON dict, which ``st.plotly_chart`` serialises as is
instead of deep-copying a ``go.Figure`` on every rerun; the figures redrawn on a slider move
(the lab chart, the learning-rate curve) are built as dicts in the first place, never as
plotly objects. The cached figures are shared between sessions and must not be modified.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from optlab import plots
from optlab.engine import Trajectory
from optlab.ui.compute import background, compute, multipliers, predicted
from optlab.urlstate import Pairs, RunKey, surface_of

PRESENT_FONT = 22


def height(present: bool) -> int:
    return 760 if present else 560


def _ready(fig: go.Figure, present: bool) -> plots.ReadyFigure:
    """``fig`` frozen into its JSON dict (projector mode: bigger text everywhere)."""
    if present:
        fig.update_layout(font_size=PRESENT_FONT, legend_font_size=PRESENT_FONT)
    return plots.ReadyFigure(fig.to_dict())


@st.cache_resource(max_entries=64, show_spinner=False)
def lab(
    key: RunKey, frame_ms: int, log_loss: bool, present: bool, theory: bool = True
) -> plots.ReadyFigure:
    """Map + loss curves with Play/Pause and the step scrubber (and the click grid); with
    ``theory``, the predicted loss curves on quadratic surfaces (dashed)."""
    surface = surface_of(key)
    spec = plots.lab_spec(
        surface,
        compute(key) if key.optimizers else [],
        background(key.surface, key.theta, key.custom),
        start=key.start,
        frame_ms=frame_ms,
        log_loss=log_loss,
        height=height(present),
        font=PRESENT_FONT if present else plots.FONT,
        overlays=predicted(key) if theory and key.optimizers else (),
    )
    # What Streamlit sets on a chart with point selection: set here, the figure it mounts
    # needs no second full redraw for them (clickmode is a full-replot attribute).
    spec["layout"].update(clickmode="event+select", dragmode="pan")
    return plots.ReadyFigure(spec)


@st.cache_resource(max_entries=16, show_spinner=False)
def view3d(key: RunKey, present: bool) -> plots.ReadyFigure:
    surface = surface_of(key)
    fig = plots.surface3d_figure(surface, compute(key), dict(key.theta))
    fig.update_layout(height=height(present))
    return _ready(fig, present)


@st.cache_resource(max_entries=256, show_spinner=False)
def state(_traj: Trajectory, key: RunKey, step: int, present: bool) -> plots.ReadyFigure:
    """Gradient, moment and update arrows at ``step`` of the run ``key.single(i)`` (``_traj``
    is that run's trajectory; the key alone identifies it, so moving another optimizer's
    slider reuses this figure)."""
    fig = plots.state_figure(_traj, step, background(key.surface, key.theta, key.custom))
    return _ready(fig, present)


@st.cache_resource(max_entries=64, show_spinner=False)
def eff_step(_traj: Trajectory, key: RunKey, present: bool) -> plots.ReadyFigure:
    """Effective step size over the run ``key.single(i)`` (see ``state``)."""
    return _ready(plots.eff_step_figure(_traj), present)


@st.cache_resource(max_entries=64, show_spinner=False)
def lr_curve(
    schedule: str,
    steps: int,
    params: Pairs,
    lrs: tuple[tuple[str, float], ...],
    limit: tuple[str, float] | None = None,
) -> plots.ReadyFigure:
    """Each optimizer's learning rate over the run; ``limit``: a stability bound to mark."""
    mult: np.ndarray = multipliers(schedule, steps, params)
    return plots.ReadyFigure(plots.lr_curve_spec(mult, dict(lrs), limit=limit))
