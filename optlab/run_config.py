"""A surfaces-page configuration's engine settings (pure: no Streamlit).

One function serves the page's cached compute (``optlab.ui.compute``, given a ``RunKey``) and the
scenario checks (``optlab.scenarios``, given a ``Config``): both carry the same run fields.
"""

from __future__ import annotations

import math

from optlab import engine


def engine_settings(cfg) -> engine.Settings:
    """The run-wide ``engine.Settings`` of a ``Config`` or ``RunKey`` (steps, schedule and its
    parameters, clipping, weight decay; ``off`` modes become no-ops)."""
    return engine.Settings(
        steps=cfg.steps,
        schedule=cfg.schedule,
        schedule_params=dict(cfg.schedule_params),
        clip_norm=cfg.clip_at if cfg.clip == "norm" else math.inf,
        clip_value=cfg.clip_at if cfg.clip == "value" else math.inf,
        l2=cfg.wd_at if cfg.wd == "l2" else 0.0,
        weight_decay=cfg.wd_at if cfg.wd == "decoupled" else 0.0,
    )
