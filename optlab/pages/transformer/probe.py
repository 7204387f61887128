"""The Transformer page's instruments: training diagnostics, the loss-landscape slice (on a
button, with a progress bar) and step time vs size and sequence length, measured live.

Slices and timings are kept in the session (``LANDSCAPES``, ``TIMINGS``) so that they stay on
screen while other controls move; every number comes from ``optlab.transformer``.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from optlab.transformer import insight, lab
from optlab.transformer.lab import Result
from optlab.viz import transformer as pt

CHART_CONFIG = {"displaylogo": False}
LANDSCAPES = "_optlab_tf_landscapes"
TIMINGS = "_optlab_tf_timings"
METHODS = {"pca": "PCA of the trajectory", "random": "random (filter-normalised)"}
GRID_SIZES = (11, 15, 21)


def valid(key: str, ok, default) -> None:
    """Reset widget ``key`` to ``default`` when its remembered value no longer fits (another
    result: other runs, a shorter context, fewer layers or heads)."""
    if key not in st.session_state or not ok(st.session_state[key]):
        st.session_state[key] = default


def pick(label: str, result: Result, key: str, where=st) -> str:
    """One of the runs; by default the one with the best validation loss."""
    names = result.labels
    valid(key, names.__contains__, min(names, key=lambda n: result.report.val_loss[n][-1]))
    return where.selectbox(label, names, key=key)


def _colors(result: Result) -> dict[str, str]:
    return lab.run_colors(result.spec)


def diagnostics_panel(result: Result) -> None:
    m = result.report.metrics
    st.markdown(
        "**Gradient norm per layer group** (log scale): which part of the network gets "
        "the big gradients, and how each optimizer's steps change them."
    )
    st.plotly_chart(
        pt.layer_norms_figure({k: v["layer_grad_norms"] for k, v in m.items()}),
        key="t.diag.layers",
        config=CHART_CONFIG,
        theme=None,
    )
    clip = result.spec.clip_norm
    st.markdown(
        "**Global gradient norm, raw vs after clipping**"
        + (f" at {clip:g}" if clip != float("inf") else " (clipping is off: they agree)")
    )
    st.plotly_chart(
        pt.clip_figure(
            {k: v["grad_norm"] for k, v in m.items()},
            {k: v["clipped_norm"] for k, v in m.items()},
            _colors(result),
            clip,
        ),
        key="t.diag.clip",
        config=CHART_CONFIG,
        theme=None,
    )
    st.markdown(
        "**Train-vs-validation gap**: validation loss minus the mean training loss of "
        "each chunk. Growing above zero = memorising the training text."
    )
    st.plotly_chart(
        pt.gap_figure(lab.gap_series(result), _colors(result)),
        key="t.diag.gap",
        config=CHART_CONFIG,
        theme=None,
    )


def landscape_panel(result: Result) -> None:
    c1, c2, c3 = st.columns([1, 2, 1])
    center = pick("Around the weights of", result, "t.land.center", c1)
    method = c2.radio(
        "Directions",
        list(METHODS),
        format_func=METHODS.__getitem__,
        key="t.land.method",
        horizontal=True,
    )
    n = c3.select_slider(
        "Grid", GRID_SIZES, value=15, key="t.land.n", format_func=lambda k: f"{k}×{k}"
    )
    too_few = method == "pca" and len(result.snap_steps) < 3
    if too_few:
        st.info("PCA needs at least three snapshots: train for two chunks or more.")
    key = (result.spec, result.report.step, center, method, n)
    store = st.session_state.setdefault(LANDSCAPES, {})
    if st.button(
        "Compute the slice", key="t.land.go", icon=":material/landscape:", disabled=too_few
    ):
        bar = st.progress(0.0, text=f"Evaluating the loss at {n * n} points…")
        store.clear()  # keep one slice: they hold little, but sessions add up
        store[key] = insight.landscape_slice(result, center, method, n, progress=bar.progress)
        bar.empty()
    land = store.get(key)
    if land is None:
        st.caption("Press *Compute the slice*: a few seconds (the first time includes compiling).")
        return
    if land.explained is not None:
        a, b = (100 * v for v in land.explained)
        titles = (f"PC1 ({a:.0f} % of the path's variance)", f"PC2 ({b:.0f} %)")
    else:
        titles = ("random direction 1 (α)", "random direction 2 (β)")
    fig = pt.landscape_figure(
        land.alphas, land.betas, land.Z, land.paths, land.path_loss, _colors(result), titles
    )
    st.plotly_chart(fig, key="t.land.fig", config=CHART_CONFIG, theme=None)
    st.caption(
        f"The map is the validation loss on a plane through {center}'s final weights (the "
        "origin), spanned by two directions in weight space. The paths are every run's "
        "snapshots (● = the shared start, ★ = last) *projected* onto that plane. The real "
        "weights lie off the plane, so a projected point need not sit on the map's value "
        "beneath it — hover a point for its true loss. Filter-normalised random directions "
        "(Li et al., 2018) scale each unit by its weights' norm, so α = 1 is a step as large "
        "as the weights themselves."
    )


def timing_panel(result: Result) -> None:
    vocab = result.cfg.vocab_size
    st.markdown(
        "How long one training step takes as the context grows and as the model widens, "
        "measured **now, on this server** (small sizes, batch 16; each row compiles a step, "
        "then times 5). Attention compares every position with every other, so its cost grows "
        "with the *square* of the context length L; the rest grows linearly with L."
    )
    if st.button("Measure now", key="t.time.go", icon=":material/timer:"):
        bar = st.progress(0.0, text="Compiling and timing…")
        st.session_state[TIMINGS] = lab.timing_rows(vocab, progress=bar.progress)
        bar.empty()
    rows = st.session_state.get(TIMINGS)
    if not rows:
        st.caption("Press *Measure now* (about half a minute).")
        return
    st.plotly_chart(pt.timing_figure(rows), key="t.time.fig", config=CHART_CONFIG, theme=None)
    table = pd.DataFrame(rows)[["sweep", "ctx", "d_model", "params", "ms_per_step", "compile_s"]]
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            "ms_per_step": st.column_config.NumberColumn(format="%.2f"),
            "compile_s": st.column_config.NumberColumn(format="%.2f"),
        },
    )
