"""The Transformer page's sidebar and its shareable state (session + URL).

Widget keys carry a ``t.`` prefix so they never collide with the other pages' widgets in the
shared session state. On a session's first visit the URL is parsed
(``optlab.config.transformer``); afterwards every change is mirrored into the URL. The pasted
text is part of the configuration; it goes into the URL (packed) when it is short enough, and
the share box says so when it is not. The schedule's parameters and its learning-rate curve
are the shared widgets (``optlab.shell.widgets``).
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from optlab.config.links import fmt_num
from optlab.config.transformer import (
    BATCHES,
    CHUNKS,
    CLIPS,
    CTXS,
    D_MODELS,
    DROPOUTS,
    HEADS,
    LAYERS,
    LR_GRID,
    MAX_BATCHES,
    MAX_OPTIMIZERS,
    PRETRAIN_STEPS,
    STEPS_OPTIONS,
    WD_GRID,
    WD_MODES,
    TfConfig,
    fit_batches,
    parse_tf_query,
    text_note,
    to_tf_query,
    transformer_optimizers,
)
from optlab.core.optimizers import OPTIMIZERS
from optlab.shell import widgets
from optlab.shell.state import UrlState, seed
from optlab.shell.widgets import grid_slider, schedule_widgets
from optlab.transformer import lab
from optlab.transformer.corpus import CORPORA, MAX_CHARS, CorpusError
from optlab.transformer.data import FULL_BATCH, MAX_FULL_BATCH

WD_LABELS = {"off": "off", "l2": "L2 (coupled)", "decoupled": "decoupled"}


# ---------------------------------------------------------------------------------------------
# State.


STATE = UrlState("transformer", parse_tf_query, to_tf_query)
load, notices, save = STATE.load, STATE.notices, STATE.save
CFG, LOADED, NOTICES = STATE.keys


# ---------------------------------------------------------------------------------------------
# Widgets.


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
    n_layer = grid_slider("Layers", LAYERS, cfg.n_layer, "t.layers", str)
    d_model = grid_slider("Width d_model", D_MODELS, cfg.d_model, "t.d", str)
    n_head = grid_slider(
        "Attention heads",
        HEADS,
        cfg.n_head,
        "t.heads",
        str,
        help="d_model is split evenly between the heads.",
    )
    ctx = grid_slider("Context length (characters)", CTXS, cfg.ctx, "t.ctx", str)
    dropout = grid_slider("Dropout", DROPOUTS, cfg.dropout, "t.dropout")
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
        lr = grid_slider(
            f"{OPTIMIZERS[o].display} · learning rate η", LR_GRID, cfg.lr(o), f"t.lr.{o}"
        )
        lrs.append((o, float(lr)))
    return replace(cfg, lrs=tuple(lrs))


def training_group(cfg: TfConfig) -> TfConfig:
    st.subheader("Training", divider="gray")
    steps = grid_slider("Steps", STEPS_OPTIONS, cfg.steps, "t.steps", str)
    chunk = grid_slider(
        "Steps per chunk",
        CHUNKS,
        cfg.chunk,
        "t.chunk",
        str,
        help="The curves and the progress bar update after every chunk.",
    )
    cfg = batch_group(replace(cfg, steps=int(steps)))
    cfg = schedule_group(cfg)
    clip = grid_slider(
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
        wd_at = grid_slider("λ", WD_GRID, cfg.wd_at, "t.wd_at")
    return replace(
        cfg,
        chunk=int(chunk),
        clip=float(clip),
        wd=wd,
        wd_at=float(wd_at),
    )


def batch_group(cfg: TfConfig) -> TfConfig:
    """The batch size(s): several are compared side by side; a full batch only where the
    corpus is small enough."""
    seed("t.batch", list(cfg.batches))
    picked = st.multiselect(
        "Batch size (windows per step)",
        list(BATCHES),
        key="t.batch",
        max_selections=MAX_BATCHES,
        format_func=lambda b: "full batch" if b == FULL_BATCH else str(b),
        help="Pick two or three to compare mini-batches with each other or with the full "
        "batch (every training window at every step: plain gradient descent).",
    )
    batches = tuple(picked) or (32,)
    if FULL_BATCH in batches:
        n = lab.n_windows(cfg.corpus, cfg.train_spec().text, cfg.ctx)
        if n > MAX_FULL_BATCH:
            st.warning(
                f"A full batch would be all {n:,} training windows at every step, too slow "
                f"here (at most {MAX_FULL_BATCH:,}): left out. Try the small subtraction "
                "corpus or a short pasted text.",
                icon=":material/speed:",
            )
            batches = tuple(b for b in batches if b != FULL_BATCH) or (32,)
        else:
            st.caption(f"Full batch: all {n:,} training windows at every step.")
    return fit_batches(replace(cfg, batches=batches))


def finetune_group(cfg: TfConfig) -> TfConfig:
    """Train from scratch, or fine-tune a model pretrained on another corpus."""
    st.subheader("Start from", divider="gray")
    options = [""] + [n for n, c in CORPORA.items() if c.pretrain and n != cfg.corpus]
    seed("t.pretrain", cfg.pretrain if cfg.pretrain in options else "")
    if st.session_state["t.pretrain"] not in options:  # the target became the pretraining corpus
        st.session_state["t.pretrain"] = ""
    pretrain = st.selectbox(
        "Initial weights",
        options,
        key="t.pretrain",
        format_func=lambda n: (
            f"pretrained on {CORPORA[n].display}" if n else "random (from scratch)"
        ),
        help="Fine-tuning: every run starts from one model pretrained with Adam on another "
        "corpus (trained once, then cached), in one shared vocabulary.",
    )
    if not pretrain:
        return replace(cfg, pretrain="")
    steps = grid_slider("Pretraining steps", PRETRAIN_STEPS, cfg.pretrain_steps, "t.pre_steps", str)
    seed("t.scratch", cfg.scratch)
    scratch = st.checkbox(
        "Also train each optimizer from scratch (same steps)",
        key="t.scratch",
        help="The baseline: how far the same budget gets without pretraining.",
    )
    return fit_batches(replace(cfg, pretrain=pretrain, pretrain_steps=int(steps),
                               scratch=bool(scratch)))  # fmt: skip


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
        cfg = finetune_group(cfg)
        cfg = model_group(cfg, vocab)
        cfg = optimizers_group(cfg)
        cfg = training_group(cfg)
        share_box(cfg)
        return cfg, error
