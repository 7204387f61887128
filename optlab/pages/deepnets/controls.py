"""The Deep nets page's controls and its shareable state (session + URL).

Widget keys carry a ``dn.`` prefix. Every control reads its value from the configuration
(``seed``) and the sidebar functions return the new configuration; the buttons of the backprop
walk change it in their callbacks (``STATE.update``), before the rerun draws the page.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import streamlit as st

from optlab.config import deepnets as dn
from optlab.config.links import fmt_num
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import snap_grid
from optlab.core.schedules import SCHEDULES
from optlab.nets.data import DATASETS
from optlab.nets.mlp import ACTIVATIONS, INITS, NORMS
from optlab.shell import setup
from optlab.shell.state import UrlState, force, seed
from optlab.shell.widgets import hparam_widget

STATE = UrlState("deepnets", dn.parse_deepnets_query, dn.to_deepnets_query)
load, notices, save, update = STATE.load, STATE.notices, STATE.save, STATE.update


def grid_slider(label: str, grid: Sequence, value, key: str, fmt: Callable = fmt_num, **kw):
    """A select-slider over ``grid`` seeded with ``value`` (snapped onto the grid)."""
    seed(key, type(grid[0])(snap_grid(grid, value)))
    return st.select_slider(label, options=list(grid), key=key, format_func=fmt, **kw)


def choice(label: str, options: dict, value: str, key: str, **kw) -> str:
    seed(key, value)
    return st.selectbox(label, list(options), key=key, format_func=lambda k: options[k], **kw)


def section(cfg: dn.DeepNetsConfig) -> dn.DeepNetsConfig:
    seed("dn.section", cfg.section)
    name = st.radio("Section", list(dn.SECTIONS), key="dn.section", horizontal=True,
                    format_func=dn.SECTIONS.__getitem__, label_visibility="collapsed")  # fmt: skip
    return replace(cfg, section=name)


# ---------------------------------------------------------------------------------------------
# Backprop step by step.


def backprop_sidebar(b: dn.BackpropConfig) -> dn.BackpropConfig:
    st.sidebar.markdown("#### The tiny network")
    with st.sidebar:
        act = choice("Hidden activation f", {k: a.display for k, a in ACTIVATIONS.items()},
                     b.activation, "dn.bp.act")  # fmt: skip
        x1 = grid_slider("Input x₁", dn.X_GRID, b.x1, "dn.bp.x1")
        x2 = grid_slider("Input x₂", dn.X_GRID, b.x2, "dn.bp.x2")
        t = grid_slider("Target t", dn.X_GRID, b.target, "dn.bp.t")
        seed("dn.bp.seed", b.seed)
        s = st.number_input("Initial weights: seed", *dn.SEED_RANGE, key="dn.bp.seed", step=1,
                            help="Weights drawn from N(0, 1), rounded to 2 decimals.")  # fmt: skip
        lr = grid_slider("Learning rate η (gradient step)", dn.BP_LR_GRID, b.lr, "dn.bp.lr")
    new = replace(b, activation=act, x1=x1, x2=x2, target=t, seed=int(s), lr=lr)
    if (new.activation, new.x1, new.x2, new.target, new.seed) != (
        b.activation, b.x1, b.x2, b.target, b.seed,
    ):  # a new network or example: start the walk and the descent again  # fmt: skip
        new = replace(new, walked=0, taken=0)
    return new


def _bp(fn: Callable[[dn.BackpropConfig], dn.BackpropConfig]) -> Callable[[], None]:
    return lambda: update(lambda c: replace(c, bp=fn(c.bp)))


def walk_buttons(b: dn.BackpropConfig) -> None:
    nxt, back = st.columns([2, 1])
    nxt.button("Next step ▶", key="dn.bp.next", type="primary", width="stretch",
               disabled=b.walked >= dn.BP_STEPS,
               on_click=_bp(lambda c: replace(c, walked=min(c.walked + 1, dn.BP_STEPS))),
               )  # fmt: skip
    back.button("◀ Back", key="dn.bp.back", disabled=b.walked == 0, width="stretch",
                on_click=_bp(lambda c: replace(c, walked=max(c.walked - 1, 0))))  # fmt: skip
    done, reset = st.columns(2)
    done.button("Show all", key="dn.bp.all", disabled=b.walked >= dn.BP_STEPS, width="stretch",
                on_click=_bp(lambda c: replace(c, walked=dn.BP_STEPS)))  # fmt: skip
    reset.button("Reset", key="dn.bp.reset", disabled=b.walked == 0, width="stretch",
                 on_click=_bp(lambda c: replace(c, walked=0)))  # fmt: skip


def descent_buttons(b: dn.BackpropConfig) -> None:
    st.button(f"Take a gradient step (η = {b.lr:g})", key="dn.bp.step", icon=":material/south:",
              disabled=b.taken >= dn.MAX_TAKEN, width="stretch", type="primary",
              help="θ ← θ − η ∂L/∂θ for all nine weights, with the gradients the walk finds.",
              on_click=_bp(lambda c: replace(c, taken=c.taken + 1, walked=0)))  # fmt: skip
    st.button("Back to the initial weights", key="dn.bp.undo", disabled=b.taken == 0,
              width="stretch", on_click=_bp(lambda c: replace(c, taken=0, walked=0)))  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Depth and gradient flow.


def _fmt_batch(b: int) -> str:
    return "all 200" if b == dn.FULL else str(b)


def network_group(n: dn.DepthConfig) -> dn.DepthConfig:
    st.markdown("#### Network")
    data = choice("Data set", {k: d.display for k, d in DATASETS.items() if d.d_in == 2},
                  n.data, "dn.data")  # fmt: skip
    seed("dn.depth", n.depth)
    depth = st.slider("Depth L (hidden layers)", *dn.DEPTH_RANGE, key="dn.depth")
    width = grid_slider("Width (units per layer)", dn.WIDTH_GRID, n.width, "dn.width")
    act = choice("Activation", {k: a.display for k, a in ACTIVATIONS.items()}, n.activation,
                 "dn.act")  # fmt: skip
    init = choice("Initialisation", {k: s.display for k, s in INITS.items()}, n.init, "dn.init",
                  help="Weights ~ N(0, σ²): " + "; ".join(
                      f"{s.display}: {s.note}" for s in INITS.values()))  # fmt: skip
    norm = choice("Normalisation", NORMS, n.norm, "dn.norm")
    seed("dn.res", n.residual)
    res = st.toggle("Residual connections (a ← a + f(…)/√L)", key="dn.res")
    seed("dn.seed", n.seed)
    s = st.number_input("Init seed", *dn.SEED_RANGE, key="dn.seed", step=1)
    return replace(n, data=data, depth=int(depth), width=width, activation=act, init=init,
                   norm=norm, residual=bool(res), seed=int(s))  # fmt: skip


def optimizer_group(n: dn.DepthConfig) -> dn.DepthConfig:
    st.markdown("#### Optimizers")
    seed("dn.opt", list(n.optimizers))
    opts = st.multiselect("Optimizers (side by side)", list(dn.NET_OPTIMIZERS), key="dn.opt",
                          format_func=lambda o: OPTIMIZERS[o].display,
                          max_selections=dn.MAX_OPTIMIZERS)  # fmt: skip
    n = dn.with_optimizers(n, opts)
    lrs = tuple((o, hparam_widget(dn.lr_spec(o), f"dn.{o}.lr", n.lr(o),
                                  f"{OPTIMIZERS[o].display} · learning rate η"))
                for o in opts)  # fmt: skip
    steps = grid_slider("Steps", dn.STEPS_GRID, n.steps, "dn.steps")
    batch = grid_slider("Batch size", dn.BATCH_OPTIONS, n.batch, "dn.batch", _fmt_batch)
    return replace(n, lrs=lrs, steps=steps, batch=batch, at=n.at if steps == n.steps else -1)


def schedule_group(n: dn.DepthConfig) -> dn.DepthConfig:
    name = choice("Learning-rate schedule", {k: s.display for k, s in SCHEDULES.items()},
                  n.schedule, "dn.sched")  # fmt: skip
    st.latex(SCHEDULES[name].latex)
    return replace(n, schedule=name)


def clip_group(n: dn.DepthConfig) -> dn.DepthConfig:
    seed("dn.clip.on", not math.isinf(n.clip))
    on = st.toggle("Clip the gradient's global norm", key="dn.clip.on",
                   help="g ← g · min(1, c / ‖g‖): the direction is kept, the length capped.",
                   )  # fmt: skip
    if not on:
        return replace(n, clip=math.inf)
    c = grid_slider("Clip threshold c", dn.CLIP_GRID, 1.0 if math.isinf(n.clip) else n.clip,
                    "dn.clip")  # fmt: skip
    return replace(n, clip=c)


def depth_sidebar(n: dn.DepthConfig) -> dn.DepthConfig:
    hidden = setup.hidden()
    groups = (("network", network_group), ("optimizers", optimizer_group),
              ("schedule", schedule_group), ("clip", clip_group))  # fmt: skip
    with st.sidebar:
        for name, group in groups:
            if name not in hidden:
                n = group(n)
    return n


def step_slider(n: dn.DepthConfig) -> dn.DepthConfig:
    key, drawn_for = "dn.at", "_optlab_dn_at_steps"  # the run length the slider was drawn for
    if st.session_state.get(drawn_for) != n.steps:  # a new run: show its last step
        force(key, n.step_shown())
        st.session_state[drawn_for] = n.steps
    seed(key, n.step_shown())
    at = st.slider("Step shown in the per-layer plots", 0, n.steps - 1, key=key,
                   help="0 is the network at initialisation, before any update.")  # fmt: skip
    return replace(n, at=-1 if at == n.steps - 1 else int(at))


# ---------------------------------------------------------------------------------------------
# Overfitting and regularisation.


def overfit_sidebar(o: dn.OverfitConfig) -> dn.OverfitConfig:
    hidden = setup.hidden()
    with st.sidebar:
        if "network" not in hidden:
            st.markdown("#### Data and network")
            n = grid_slider("Training points", dn.OF_N_GRID, o.n, "dn.of.n")
            noise = grid_slider("Noise σ on y", dn.OF_NOISE_GRID, o.noise, "dn.of.noise")
            width = grid_slider("Width", dn.OF_WIDTH_GRID, o.width, "dn.of.width")
            seed("dn.of.depth", o.depth)
            depth = st.slider("Depth (hidden layers)", *dn.OF_DEPTH_RANGE, key="dn.of.depth")
            act = choice("Activation", {k: a.display for k, a in ACTIVATIONS.items()},
                         o.activation, "dn.of.act")  # fmt: skip
            o = replace(o, n=n, noise=noise, width=width, depth=int(depth), activation=act)
        if "optimizers" not in hidden:
            st.markdown("#### Optimizer")
            opt = choice("Optimizer", {k: OPTIMIZERS[k].display for k in dn.NET_OPTIMIZERS},
                         o.optimizer, "dn.of.opt")  # fmt: skip
            lr = o.lr if opt == o.optimizer else dn.default_lr(opt)
            lr = hparam_widget(dn.lr_spec(opt), f"dn.of.{opt}.lr", lr, "Learning rate η")
            steps = grid_slider("Steps", dn.OF_STEPS_GRID, o.steps, "dn.of.steps")
            o = replace(o, optimizer=opt, lr=lr, steps=steps)
        if "regularisation" not in hidden:
            st.markdown("#### Regularisation")
            wd = choice("Weight decay", dn.WD_MODES, o.wd, "dn.of.wd")
            lam = grid_slider("λ (decay strength)", dn.LAM_GRID, o.lam, "dn.of.lam",
                              disabled=wd == "off")  # fmt: skip
            drop = grid_slider("Dropout rate p (hidden units, training only)", dn.DROPOUT_GRID,
                               o.dropout, "dn.of.drop")  # fmt: skip
            o = replace(o, wd=wd, lam=lam, dropout=drop)
    return o
