"""The surfaces page's sidebar: every control, seeded from and read back into a ``Config``.

Each group is one function ``(cfg) -> cfg``; a group named in ``?hide=`` is not drawn and
keeps the configuration's (URL's) values.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace

import streamlit as st

from optlab.config.surfaces import (
    CLIP_AT,
    CLIP_MODES,
    CUSTOM,
    FRAME_MS_RANGE,
    STEPS_RANGE,
    WD_AT,
    WD_MODES,
    Config,
    bounds_of,
    surface_defaults,
    surface_label,
    surface_names,
    with_optimizers,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap
from optlab.core.theory import Quadratic
from optlab.pages.surfaces import compute, custom_controls, state
from optlab.shell.state import force, seed
from optlab.shell.widgets import hparam_widget, params_widgets, schedule_widgets
from optlab.viz import overlays
from surfaces import SURFACES

CLIP_LABELS = {"off": "off", "norm": "global norm", "value": "by value"}
WD_LABELS = {"off": "off", "l2": "coupled L2", "decoupled": "decoupled"}
THEORY_HELP = (
    "On quadratic surfaces (bowl, ravine, Booth, Matyas): the stability bound lr < 2/L and the "
    "optimal steps under the GD / momentum learning rates, the bound as a dotted red line on "
    "their final-loss-against-lr strips, and "
    "the predicted loss curves (dashed) beside the measured ones. On every surface: the "
    "Hessian at the inspected point, under *Inside the optimizer*."
)


# ---------------------------------------------------------------------------------------------
# Groups.


def surface_group(cfg: Config) -> Config:
    seed("surface", cfg.surface)
    name = st.selectbox("Surface", surface_names(), key="surface", format_func=surface_label)
    if name != cfg.surface:
        theta, start = surface_defaults(name, cfg.custom)
        cfg = replace(cfg, surface=name, theta=theta, start=start)
        force("start_x", start[0])
        force("start_y", start[1])
    if name == CUSTOM:
        return custom_controls.custom_group(cfg)
    theta = params_widgets(SURFACES[name].params, cfg.theta, f"theta.{name}")
    return replace(cfg, theta=theta)


def optimizers_group(cfg: Config) -> Config:
    seed("opt", list(cfg.optimizers))
    opts = st.multiselect(
        "Optimizers",
        list(OPTIMIZERS),
        key="opt",
        format_func=lambda n: OPTIMIZERS[n].display,
        placeholder="Pick optimizers to race",
    )
    return with_optimizers(cfg, opts)


def hparams_group(cfg: Config) -> Config:
    """Each optimizer's hyperparameters except its learning rate, which the live race's own
    slider sets (``apply_lrs``): its formula and the other settings in an expander."""
    hparams = []
    for opt, pairs in cfg.hparams:
        spec = OPTIMIZERS[opt]
        values = dict(pairs)
        new = dict(values)
        rest = [h for h in spec.hparams if h.name != "learning_rate"]
        with st.expander(f"{spec.display}: " + ("settings" if rest else "update rule")):
            st.latex(spec.latex)
            for h in rest:
                new[h.name] = hparam_widget(h, f"hp.{opt}.{h.name}", values[h.name])
        hparams.append((opt, tuple((h.name, new[h.name]) for h in spec.hparams)))
    return replace(cfg, hparams=tuple(hparams))


def with_lrs(cfg: Config, values: Mapping) -> Config:
    """``cfg`` with the learning rates the race component sent back (``{optimizer: value}``),
    each snapped to its slider's grid; anything else (unknown names, non-numbers, values out
    of range) is ignored."""
    hparams = []
    for opt, pairs in cfg.hparams:
        new = dict(pairs)
        v = values.get(opt)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            new["learning_rate"] = snap(compute.lr_param(opt), float(v))
        hparams.append((opt, tuple((k, new[k]) for k, _ in pairs)))
    return replace(cfg, hparams=tuple(hparams))


def apply_lrs(values: Mapping) -> None:
    """The race component's callback when a slider is released: the session and the URL
    take the chosen learning rates."""
    cfg = state.load()
    new = with_lrs(cfg, values)
    if new != cfg:
        state.save(new)


def start_clicked(point: tuple[float, float]) -> None:
    """The race component's callback for a click on the map: the start inputs take it (they
    live outside the race's fragment, so the page then reruns whole: ``start_moved``)."""
    cfg = state.load()
    (x0, x1), (y0, y1) = bounds_of(cfg)
    if cfg.hidden("start") or not all(map(math.isfinite, point)):
        return
    force("start_x", min(max(round(point[0], 3), x0), x1))
    force("start_y", min(max(round(point[1], 3), y0), y1))


def quadratic_of(cfg: Config) -> Quadratic | None:
    """The surface's quadratic form when the theory overlays are on (cached), else ``None``."""
    if not cfg.theory:
        return None
    return compute.quadratic(cfg.surface, cfg.theta, cfg.run_key().custom)


def theory_notes(cfg: Config) -> None:
    """Under the race, on a quadratic surface: for each optimizer the theory covers, the
    Hessian's eigenvalues, the stability bound (``lr < 2/L``), the optimal setting, and a
    warning past the bound, for the learning rate chosen."""
    if (q := quadratic_of(cfg)) is None:
        return
    for opt in cfg.optimizers:
        if opt in overlays.BOUNDS and (note := overlays.lr_note(opt, q, cfg.hp(opt))) is not None:
            st.caption(f"**{OPTIMIZERS[opt].display}** · {note}")


def steps_group(cfg: Config) -> Config:
    seed("steps", cfg.steps)
    lo, hi = STEPS_RANGE
    return replace(cfg, steps=int(st.slider("Steps", lo, hi, step=10, key="steps")))


def start_group(cfg: Config) -> Config:
    (x0, x1), (y0, y1) = bounds_of(cfg)
    seed("start_x", float(cfg.start[0]))
    seed("start_y", float(cfg.start[1]))
    left, right = st.columns(2)
    x = left.number_input("start x", x0, x1, step=0.1, format="%.3f", key="start_x")
    y = right.number_input("start y", y0, y1, step=0.1, format="%.3f", key="start_y")
    st.caption("…or click anywhere on the map to start there.")
    return replace(cfg, start=(float(x), float(y)))


def schedule_group(cfg: Config) -> Config:
    name, params = schedule_widgets("sched", cfg.schedule, cfg.schedule_params)
    return replace(cfg, schedule=name, schedule_params=params)


def clip_group(cfg: Config) -> Config:
    seed("clip", cfg.clip)
    mode = st.radio(
        "Gradient clipping", CLIP_MODES, key="clip", horizontal=True,
        format_func=CLIP_LABELS.__getitem__,
    )  # fmt: skip
    at = cfg.clip_at
    if mode != "off":
        at = hparam_widget(CLIP_AT, "clip_at", cfg.clip_at, "clipping threshold")
    return replace(cfg, clip=mode, clip_at=at)


def wd_group(cfg: Config) -> Config:
    seed("wd", cfg.wd)
    mode = st.radio(
        "Weight decay", WD_MODES, key="wd", horizontal=True, format_func=WD_LABELS.__getitem__,
        help="Coupled L2 adds λθ to the gradient (so adaptive methods rescale it); decoupled "
        "decay shrinks θ by ηλθ after the update (AdamW-style).",
    )  # fmt: skip
    at = cfg.wd_at
    if mode != "off":
        at = hparam_widget(WD_AT, "wd_at", cfg.wd_at, "weight decay λ")
    return replace(cfg, wd=mode, wd_at=at)


def display_group(cfg: Config) -> Config:
    seed("log_loss", cfg.log_loss)
    seed("frame_ms", cfg.frame_ms)
    seed("view3d", cfg.view3d)
    seed("theory", cfg.theory)
    log_loss = st.toggle("Log-scale loss axis", key="log_loss")
    lo, hi = FRAME_MS_RANGE
    frame_ms = st.slider("Animation: ms per frame", lo, hi, step=10, key="frame_ms")
    view3d = st.toggle("3-D view", key="view3d")
    theory = st.toggle("Theory overlays", key="theory", help=THEORY_HELP)
    return replace(
        cfg, log_loss=bool(log_loss), frame_ms=int(frame_ms), view3d=bool(view3d),
        theory=bool(theory),
    )  # fmt: skip


GROUPS = (
    ("surface", surface_group, None),
    ("optimizers", optimizers_group, None),
    ("hparams", hparams_group, None),
    ("steps", steps_group, "Run"),
    ("start", start_group, None),
    ("schedule", schedule_group, "Schedule"),
    ("clip", clip_group, "Gradient transforms"),
    ("wd", wd_group, None),
    ("display", display_group, "Display"),
)


def sidebar(cfg: Config) -> Config:
    """Draw every visible control group in the sidebar; returns the configuration they
    describe. (The learning rates themselves are the live race's sliders, in the main area.)"""
    with st.sidebar:
        for name, group, heading in GROUPS:
            if cfg.hidden(name):
                continue
            if heading:
                st.subheader(heading, divider="gray")
            cfg = group(cfg)
    return cfg
