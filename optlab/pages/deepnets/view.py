"""The Deep nets page's three sections: figures (``optlab.viz.nets*``) and the words around them.

Every number shown comes from ``compute``; this module only arranges and explains.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from optlab.config import deepnets as dn
from optlab.core.optimizers import OPTIMIZERS
from optlab.nets import data, tiny
from optlab.nets.mlp import ACTIVATIONS, INITS, NORMS
from optlab.pages.deepnets import compute
from optlab.pages.deepnets import controls as ctl
from optlab.shell import style
from optlab.viz import nets as viz_nets
from optlab.viz import nets_train as viz
from optlab.viz.transformer import clip_figure

CHART = {"displaylogo": False, "scrollZoom": False}
REG_COLORS = {dn.PLAIN: "#d62728", dn.REGULARISED: "#1f77b4"}
# Projector mode (?present=1): chart heights that keep each section's main chart and its
# control above the fold at 1280×720 (the explanations are folded into expanders).
PRESENT_HEIGHTS = {"graph": 400, "layers": 240, "acts": 235, "fit": 340, "ofloss": 340}
BACKPROP_INTRO = (
    "A 2-2-1 network on one example. **Backpropagation is the chain rule run backwards**: "
    "each step multiplies the gradient that reached a node by one local derivative — how "
    "much each weight contributed to the error."
)
FORWARD = (r"z_j = w_{j1}x_1 + w_{j2}x_2 + b_j,\quad h_j = f(z_j),\quad "
           r"y = v_1h_1 + v_2h_2 + c,\quad L = (y - t)^2")  # fmt: skip


def sized(present: bool, name: str) -> dict[str, int]:
    """A figure's ``height`` argument in projector mode (none otherwise: its own default)."""
    return {"height": PRESENT_HEIGHTS[name]} if present else {}


def chart(fig, key: str) -> None:
    st.plotly_chart(fig, key=key, config=CHART, theme=None)


# ---------------------------------------------------------------------------------------------
# Backprop step by step.


def backprop(cfg: dn.DeepNetsConfig, present: bool = False) -> dn.DeepNetsConfig:
    b = ctl.backprop_sidebar(cfg.bp)
    cfg = replace(cfg, bp=b)
    x = (b.x1, b.x2)
    p, values, steps, reference, losses = compute.walk(b.activation, x, b.target, b.seed, b.lr,
                                                       b.taken)  # fmt: skip
    act = ACTIVATIONS[b.activation]
    if present:  # the graph and its buttons above the fold; the words one click away
        style.explain(f"{BACKPROP_INTRO}\n\n$$\n{FORWARD}\n$$", True, "How backprop works")
    else:
        st.markdown(BACKPROP_INTRO)
        st.latex(FORWARD)
    left, right = st.columns([3, 2])
    with left:
        fig = viz_nets.backprop_figure(p, values, steps, b.walked, b.target, tiny.PRETTY,
                                       **sized(present, "graph"))  # fmt: skip
        chart(fig, "dn.graph")
        st.latex(r"f:\ " + act.latex)
    with right:
        st.markdown(f"##### Backward pass: step {b.walked} of {len(steps)}")
        ctl.walk_buttons(b)
        if b.walked == 0:
            st.info(
                f"**Forward pass done:** y = {values['y']:.4f}, L = {values['L']:.4f}. Press "
                "**Next step** to send the error back through the graph, one edge at a time.",
                icon=":material/arrow_forward:",
            )
        else:
            s = steps[b.walked - 1]
            kind = "a weight: its gradient is final" if s.param else "a node: passed on"
            st.markdown(f"**∂L/∂{tiny.PRETTY[s.target]}** ({kind})")
            st.code(s.formula(), language=None, wrap_lines=True)
            if b.walked == len(steps):
                st.success("Every weight's gradient is known: take a gradient step below.",
                           icon=":material/check:")  # fmt: skip
        st.markdown("##### Gradient descent on this example")
        ctl.descent_buttons(b)
        m1, m2 = st.columns(2)
        delta = losses[-1] - losses[-2] if len(losses) > 1 else None
        m1.metric("Loss L", f"{losses[-1]:.4f}", None if delta is None else f"{delta:+.4f}",
                  delta_color="inverse")  # fmt: skip
        m2.metric("Gradient steps taken", b.taken)
    found = tiny.gradients(steps[: b.walked])
    rows = [{"parameter": tiny.PRETTY[k], "value": p[k],
             "∂L/∂θ by the walk": found.get(k, math.nan), "∂L/∂θ by jax.grad": reference[k],
             "|difference|": abs(found[k] - reference[k]) if k in found else math.nan}
            for k in tiny.PARAMS]  # fmt: skip
    st.markdown("##### Every weight's gradient: the walk beside `jax.grad`")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.6g")
                                for c in list(rows[0])[1:]})  # fmt: skip
    st.caption("Empty cells: not reached yet. One gradient step is θ ← θ − η ∂L/∂θ for all "
               "nine weights at once; the walk then starts again at the new weights.")  # fmt: skip
    return cfg


# ---------------------------------------------------------------------------------------------
# Depth and gradient flow.


def _colors(hists) -> dict[str, str]:
    return {h.label: OPTIMIZERS[h.optimizer].color for h in hists}


def _flow(ratio: float) -> str:
    if not ratio >= 1e-3:  # NaN too: nothing reached the last layer
        return "It **vanishes**: the early layers barely learn."
    if ratio > 1e3:
        return "It **explodes** on the way back."
    return "The gradient flows through every layer."


def depth_notes(n: dn.DepthConfig, hists) -> list[str]:
    g0 = hists[0].layer_grad[0]
    first, last = float(g0[0]), float(g0[-2])
    ratio = first / last if last > 0 else math.nan
    act = ACTIVATIONS[n.activation]
    lines = [
        f"**At initialisation** the gradient reaching layer 1 is **{ratio:.1e} ×** the one at "
        f"layer {n.depth} ({first:.2e} vs {last:.2e}). {_flow(ratio)}"
    ]
    inactive = float(hists[0].act[0, :, 2].mean())
    if inactive > 0.3:
        lines.append(f"**{inactive:.0%} of the units are {act.inactive}** at initialisation "
                     "(f′(z) ≈ 0): every one of them multiplies the gradient by ~0.")  # fmt: skip
    if n.activation == "sigmoid" and n.norm == "none" and not n.residual:
        lines.append("**Why sigmoid vanishes:** σ′(z) ≤ ¼, so L layers multiply the gradient by "
                     "at most (¼)^L times the weights' gains. Try tanh/ReLU, batch norm or "
                     "residual connections.")  # fmt: skip
    lines.append(f"**Initialisation** {INITS[n.init].display} (${INITS[n.init].latex}$): "
                 f"{INITS[n.init].note}. **Normalisation:** {NORMS[n.norm]}"
                 + (", **residual** paths on." if n.residual else "."))  # fmt: skip
    for h in hists:
        if h.diverged_at is not None:
            lines.append(f"**{h.label} diverged at step {h.diverged_at}** (a non-finite loss or "
                         "gradient; the run froze). Clip the gradient or lower η.")  # fmt: skip
    if not math.isinf(n.clip):
        share = np.mean([np.mean(h.grad_norm > n.clip) for h in hists])
        lines.append(f"**Clipping at c = {n.clip:g}** rescaled {share:.0%} of the steps.")
    return lines


def depth(cfg: dn.DeepNetsConfig, present: bool = False) -> dn.DeepNetsConfig:
    n = ctl.depth_sidebar(cfg.net)
    cfg = replace(cfg, net=n)
    ds = data.DATASETS[n.data]
    about = (f"**{ds.display}** ({ds.description}; {dn.N_TRAIN} training and "
             f"{dn.N_VAL} validation points) · an MLP of **{n.depth} hidden layers × "
             f"{n.width} units**, {ACTIVATIONS[n.activation].display}, "
             f"{INITS[n.init].display} init.")  # fmt: skip
    if present:
        style.explain(about, True, "About this network")
    else:
        st.caption(about)
    if not n.lrs:
        st.info("**No optimizer selected.** Pick one or more in the sidebar.",
                icon=":material/sports_score:")  # fmt: skip
        return cfg
    hists = compute.depth_runs(n)
    # Projector mode: the step slider above the charts, both above the fold.
    slider, charts = (st.container(), st.container())[:: 1 if present else -1]
    with slider:
        n = ctl.step_slider(n)
    cfg = replace(cfg, net=n)
    at, colors = n.step_shown(), _colors(hists)
    left, right = charts.columns(2)
    with left:
        what = "" if present else " ‖∂L/∂θ_l‖, log scale"  # (one line on a projector)
        st.markdown(f"**Gradient norm per layer**{what} · step {at}")
        chart(viz.layer_grad_figure(hists[0].layer_grad[0],
                                    {h.label: h.layer_grad[at] for h in hists}, colors, at,
                                    **sized(present, "layers")), "dn.layers")  # fmt: skip
    with right:
        st.markdown(f"**Activations per layer** · step {at}")
        chart(viz.activation_figure(hists[0].act[0], {h.label: h.act[at] for h in hists}, colors,
                                    at, ACTIVATIONS[n.activation].inactive,
                                    **sized(present, "acts")), "dn.acts")  # fmt: skip
    left, right = st.columns(2)
    with left:
        st.markdown("**Loss** (solid: training set, dotted: validation)")
        chart(viz.loss_figure({h.label: h.train_loss for h in hists},
                              {h.label: h.val_loss for h in hists}, colors), "dn.loss")  # fmt: skip
    with right:
        st.markdown("**Global gradient norm**: raw (solid) vs clipped (dashed)")
        clip = None if math.isinf(n.clip) else n.clip
        chart(clip_figure({h.label: h.grad_norm for h in hists},
                              {h.label: h.clipped_norm for h in hists}, colors, clip),
              "dn.clipfig")  # fmt: skip
    if not present:
        st.markdown("#### What to notice")
    style.explain("\n".join(f"- {line}" for line in depth_notes(n, hists)), present,
                  "What to notice")  # fmt: skip
    st.dataframe(pd.DataFrame([{
        "optimizer": h.label, "final training loss": float(h.train_loss[-1]),
        "final validation loss": float(h.val_loss[-1]),
        "validation accuracy": float(h.val_acc[-1]),
        "diverged at": "—" if h.diverged_at is None else h.diverged_at,
    } for h in hists]), hide_index=True, width="stretch")  # fmt: skip
    return cfg


# ---------------------------------------------------------------------------------------------
# Overfitting and regularisation.


def _reg_text(o: dn.OverfitConfig) -> str:
    parts = []
    if o.wd == "l2":
        parts.append(f"L2 λ = {o.lam:g} (+ λθ in the gradient)")
    elif o.wd == "decoupled":
        parts.append(f"decoupled weight decay λ = {o.lam:g} (θ ← θ − ηλθ)")
    if o.dropout > 0:
        parts.append(f"dropout p = {o.dropout:g}")
    return ", ".join(parts)


def overfit(cfg: dn.DeepNetsConfig, present: bool = False) -> dn.DeepNetsConfig:
    o = ctl.overfit_sidebar(cfg.of)
    cfg = replace(cfg, of=o)
    about = (f"**{o.n} noisy points** of y = sin(3x) + noise (σ = {o.noise:g}) and a network "
             f"of {o.depth} × {o.width} {ACTIVATIONS[o.activation].display} units: far more "
             "weights than points, so it can memorise the noise.")  # fmt: skip
    style.explain(about, present, "About this experiment")
    hists, curves = compute.overfit_runs(o)
    ds = dn.overfit_data(o)
    colors = {h.label: REG_COLORS[h.label] for h in hists}
    reg = _reg_text(o)
    if not reg:
        st.info("**Regularisation is off.** Pick weight decay or dropout in the sidebar to "
                "compare a regularised run with this one.", icon=":material/tune:")  # fmt: skip
    left, right = st.columns(2)
    with left:
        st.markdown("**The fitted function over the data**")
        chart(viz.fit_figure(ds.x[:, 0], ds.y, ds.x_val[:, 0], ds.y_val, compute.FIT_GRID,
                             curves, colors, data.wave_function(compute.FIT_GRID),
                             **sized(present, "fit")), "dn.fit")  # fmt: skip
    with right:
        st.markdown("**MSE** (solid: training points, dotted: validation)")
        fig = viz.loss_figure({h.label: h.train_loss for h in hists},
                              {h.label: h.val_loss for h in hists}, colors,
                              **sized(present, "ofloss"))  # fmt: skip
        chart(fig, "dn.ofloss")
    cols = st.columns(len(hists))
    for col, h in zip(cols, hists, strict=True):
        gap = float(h.val_loss[-1] - h.train_loss[-1])
        tip = f"training {h.train_loss[-1]:.4f}, validation {h.val_loss[-1]:.4f}"
        col.metric(f"{h.label}: validation − training loss", f"{gap:.3f}", help=tip)
    style.explain(
        "- **Overfitting** shows as the gap: the training loss keeps falling while the "
        "validation loss (new points from the same curve) stops falling or rises — the fit "
        "wiggles through the noise.\n"
        + (f"- **Regularised** ({reg}): smaller weights make a smoother function; "
           "the gap closes at the price of a slightly higher training loss.\n" if reg else "")
        + "- Noise σ² is the floor of the validation MSE: no model beats it on average.",
        present,
        "What to notice",
    )  # fmt: skip
    return cfg
