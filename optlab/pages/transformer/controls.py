"""The Transformer page's sidebar and its shareable state (session + URL).

Widget keys carry a ``t.`` prefix so they never collide with the other pages' widgets in the
shared session state. On a session's first visit the URL is parsed
(``optlab.config.transformer``); afterwards every change is mirrored into the URL. The pasted
text is part of the configuration; it goes into the URL (packed) when it is short enough, and
the share box says so when it is not. The schedule's parameters and its learning-rate curve
are the shared widgets (``optlab.shell.widgets``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import streamlit as st

from optlab.config.links import fmt_num
from optlab.config.transformer import (
    CHUNKS,
    CLIPS,
    CTXS,
    D_MODELS,
    DROPOUTS,
    HEADS,
    LAYERS,
    LR_GRID,
    MAX_OPTIMIZERS,
    STEPS_OPTIONS,
    WD_GRID,
    WD_MODES,
    TfConfig,
    parse_tf_query,
    text_note,
    to_tf_query,
    transformer_optimizers,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.shell import widgets
from optlab.shell.state import UrlState, seed
from optlab.shell.widgets import schedule_widgets
from optlab.transformer import lab
from optlab.transformer.corpus import CORPORA, MAX_CHARS, CorpusError

WD_LABELS = {"off": "off", "l2": "L2 (coupled)", "decoupled": "decoupled"}


# ---------------------------------------------------------------------------------------------
# State.


STATE = UrlState("transformer", parse_tf_query, to_tf_query)
load, notices, save = STATE.load, STATE.notices, STATE.save
CFG, LOADED, NOTICES = STATE.keys


# ---------------------------------------------------------------------------------------------
# Widgets.


def grid(label: str, options: Sequence, value, key: str, fmt: Callable = fmt_num, **kw):
    seed(key, value if value in options else options[0])
    return st.select_slider(label, options=list(options), key=key, format_func=fmt, **kw)


def corpus_group(cfg: TfConfig) -> tuple[TfConfig, str | None]:
    """The corpus; for pasted text, the text box and any ``CorpusError`` right under it."""
    seed("t.corpus", cfg.corpus)
    name = st.selectbox(
        "Corpus", list(CORPORA), key="t.corpus", format_func=lambda n: CORPORA[n].display
    )
    st.caption(CORPORA[name].description)
    error, text = None, cfg.text
    if CORPORA[name].needs_text:
        seed("t.text", cfg.text)
        text = st.text_area(
            "Your text",
            key="t.text",
            height=160,
            max_chars=MAX_CHARS,
            placeholder="Paste a few paragraphs (at least 200 characters).",
        )
        text = text or ""
        try:
            lab.corpus(name, text)
        except CorpusError as e:
            error = str(e)
            st.error(error, icon=":material/error:")
    return replace(cfg, corpus=name, text=text), error


def model_group(cfg: TfConfig, vocab_size: int | None) -> TfConfig:
    st.subheader("Model", divider="gray")
    n_layer = grid("Layers", LAYERS, cfg.n_layer, "t.layers", str)
    d_model = grid("Width d_model", D_MODELS, cfg.d_model, "t.d", str)
    n_head = grid(
        "Attention heads",
        HEADS,
        cfg.n_head,
        "t.heads",
        str,
        help="d_model is split evenly between the heads.",
    )
    ctx = grid("Context length (characters)", CTXS, cfg.ctx, "t.ctx", str)
    dropout = grid("Dropout", DROPOUTS, cfg.dropout, "t.dropout")
    cfg = replace(
        cfg,
        n_layer=int(n_layer),
        d_model=int(d_model),
        n_head=int(n_head),
        ctx=int(ctx),
        dropout=float(dropout),
    )
    if vocab_size is not None:
        n = lab.count_params(lab.model_config(cfg.train_spec(), vocab_size))
        st.markdown(f"**{n:,} parameters** · vocabulary of {vocab_size} tokens")
    return cfg


def optimizers_group(cfg: TfConfig) -> TfConfig:
    st.subheader("Optimizers", divider="gray")
    seed("t.opt", list(cfg.optimizers))
    opts = st.multiselect(
        "Optimizers",
        transformer_optimizers(),
        key="t.opt",
        max_selections=MAX_OPTIMIZERS,
        format_func=lambda o: OPTIMIZERS[o].display,
        placeholder="Pick optimizers",
        label_visibility="collapsed",
    )
    cfg = cfg.with_optimizers(opts)
    lrs = []
    for o in cfg.optimizers:
        lr = grid(f"{OPTIMIZERS[o].display} · learning rate η", LR_GRID, cfg.lr(o), f"t.lr.{o}")
        lrs.append((o, float(lr)))
    return replace(cfg, lrs=tuple(lrs))


def training_group(cfg: TfConfig) -> TfConfig:
    st.subheader("Training", divider="gray")
    steps = grid("Steps", STEPS_OPTIONS, cfg.steps, "t.steps", str)
    chunk = grid(
        "Steps per chunk",
        CHUNKS,
        cfg.chunk,
        "t.chunk",
        str,
        help="The curves and the progress bar update after every chunk.",
    )
    cfg = schedule_group(replace(cfg, steps=int(steps)))
    clip = grid(
        "Clip the global gradient norm at",
        CLIPS,
        cfg.clip,
        "t.clip",
        lambda v: "off" if v == 0 else fmt_num(v),
    )
    seed("t.wd", cfg.wd)
    wd = st.radio(
        "Weight decay",
        WD_MODES,
        key="t.wd",
        horizontal=True,
        format_func=WD_LABELS.__getitem__,
        help="L2 adds λ·w to the gradient; decoupled subtracts η·λ·w after the "
        "optimizer's update (AdamW-style).",
    )
    wd_at = cfg.wd_at
    if wd != "off":
        wd_at = grid("λ", WD_GRID, cfg.wd_at, "t.wd_at")
    return replace(
        cfg,
        chunk=int(chunk),
        clip=float(clip),
        wd=wd,
        wd_at=float(wd_at),
    )


def schedule_group(cfg: TfConfig) -> TfConfig:
    """The schedule, its parameters (the Surfaces page's sliders), its formula and each
    optimizer's learning rate over the run."""
    name, params = schedule_widgets("t.sched", cfg.schedule, cfg.schedule_params)
    cfg = replace(cfg, schedule=name, schedule_params=params)
    if cfg.optimizers:
        lrs = tuple((OPTIMIZERS[o].display, lr) for o, lr in cfg.lrs)
        widgets.lr_curve(st, "t.lr_curve", cfg.schedule, cfg.steps, cfg.schedule_params, lrs)
    return cfg


def share_box(cfg: TfConfig) -> None:
    """The link to this exact setup, and why the pasted text is not in it (if so)."""
    widgets.share_box(to_tf_query(cfg), text_note(cfg))


def sidebar(cfg: TfConfig) -> tuple[TfConfig, str | None]:
    """Every control; returns the new configuration and the corpus error (or ``None``)."""
    with st.sidebar:
        cfg, error = corpus_group(cfg)
        vocab = None
        if error is None:
            vocab = lab.corpus(cfg.corpus, cfg.train_spec().text).tokenizer.vocab_size
        cfg = model_group(cfg, vocab)
        cfg = optimizers_group(cfg)
        cfg = training_group(cfg)
        share_box(cfg)
        return cfg, error
