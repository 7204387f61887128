"""The pages' only way to numbers: cached calls into the engine, plots and metrics.

``compute`` is keyed by ``RunKey`` (the hashable part of the configuration that the numbers
depend on), so revisiting a setting is a cache hit and moving a slider never recompiles (the
engine takes hyperparameters as arrays and buckets the step count).
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from optlab import engine, metrics, plots
from optlab.schedules import SCHEDULES
from optlab.urlstate import Custom, Pairs, RunKey, named_surface, surface_of


def settings(key: RunKey) -> engine.Settings:
    return engine.Settings(
        steps=key.steps,
        schedule=key.schedule,
        schedule_params=dict(key.schedule_params),
        clip_norm=key.clip_at if key.clip == "norm" else math.inf,
        clip_value=key.clip_at if key.clip == "value" else math.inf,
        l2=key.wd_at if key.wd == "l2" else 0.0,
        weight_decay=key.wd_at if key.wd == "decoupled" else 0.0,
    )


@st.cache_data(max_entries=64, show_spinner=False)
def compute(key: RunKey) -> list[engine.Trajectory]:
    """Every selected optimizer's trajectory for this configuration (one engine call)."""
    runs = [engine.OptimizerRun(name, dict(hp)) for name, hp in key.optimizers]
    return engine.run(surface_of(key), runs, key.start, settings(key), theta=dict(key.theta))


@st.cache_data(max_entries=32, show_spinner=False)
def background(surface: str, theta: Pairs, custom: Custom | None = None) -> plots.SurfaceImage:
    """The surface rendered once per (surface, parameters[, user's function]) as the map's
    background image."""
    return plots.surface_image(named_surface(surface, custom), dict(theta))


@st.cache_data(max_entries=64, show_spinner=False)
def multipliers(schedule: str, steps: int, params: Pairs) -> np.ndarray:
    """The schedule's learning-rate multiplier per step."""
    return SCHEDULES[schedule].multipliers(steps, **dict(params))


@st.cache_data(max_entries=64, show_spinner=False)
def results(key: RunKey) -> list[dict]:
    """One results-table row per optimizer."""
    minima = surface_of(key).minima
    return [metrics.summarize(t, minima) for t in compute(key)]
