"""The Transformer page after training: summary, then one panel at a time (generated samples,
addition accuracy, teacher forcing vs free generation, attention, text -> numbers; diagnostics,
the loss landscape and live timings are in ``transformer_probe``).

Every number comes from ``optlab.transformer.insight`` behind ``st.cache_data`` keyed by
``(spec, step)`` (the result itself is passed unhashed), so moving a control re-runs only what
it changes.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from optlab.pages.transformer import probe
from optlab.pages.transformer.probe import pick, valid
from optlab.transformer import insight, lab
from optlab.transformer.corpus import CORPORA
from optlab.transformer.lab import Result, TrainSpec
from optlab.viz import transformer as pt

CHART_CONFIG = {"displaylogo": False}
ACCURACY = "Exact-match accuracy"
PANELS = (
    "Samples",
    ACCURACY,
    "Teacher forcing vs generation",
    "Attention",
    "Text → numbers",
    "Diagnostics",
    "Loss landscape",
    "Size & sequence length",
)
TEMPERATURES = (0.0, 0.3, 0.5, 0.8, 1.0, 1.5, 2.0)
TOP_KS = (0, 1, 3, 5, 10, 20)
LENGTHS = (40, 80, 120, 200)


def colors(spec: TrainSpec) -> dict[str, str]:
    return lab.run_colors(spec)


def panels(result: Result) -> tuple[str, ...]:
    """The panels for this result: exact-match accuracy only on the arithmetic corpora."""
    arithmetic = CORPORA[result.corpus.name].arithmetic
    return tuple(p for p in PANELS if p != ACCURACY or arithmetic)


def key_of(result: Result) -> tuple:
    return result.spec, result.report.step


@st.cache_data(max_entries=64, show_spinner="Generating…")
def samples(key, _result, name, prompt, temperature, top_k, n_chars):
    return insight.samples(
        _result, name, prompt, temperature=temperature, top_k=top_k, n_chars=n_chars
    )


@st.cache_data(max_entries=16, show_spinner="Asking every model all held-out sums…")
def accuracy(key, _result):
    return insight.addition_scores(_result)


@st.cache_data(max_entries=64, show_spinner=False)
def teacher_free(key, _result, name, text, n_prompt):
    return insight.teacher_free(_result, name, text, n_prompt)


@st.cache_data(max_entries=64, show_spinner="Finding a held-out example…")
def teacher_prompt(key, _result, name):
    return insight.teacher_prompt(_result, name)


@st.cache_data(max_entries=64, show_spinner=False)
def attention(key, _result, name, text):
    return insight.attention(_result, name, text)


@st.cache_data(max_entries=64, show_spinner=False)
def pipeline(key, _result, name, text):
    r = _result
    return insight.text_pipeline(r.report.params[name], r.cfg, r.corpus.tokenizer, text)


def text_box(label: str, result: Result, key: str, limit: int, default: str, where=st) -> str:
    valid(key, lambda t: isinstance(t, str) and len(t) <= limit, default[:limit])
    widget = where.text_area if "\n" in default else where.text_input
    kw = {"height": 68} if widget == where.text_area else {}
    return widget(label, key=key, max_chars=limit, **kw)


def index_box(label: str, n: int, key: str, where=st) -> int:
    valid(key, lambda i: i in range(n), 0)
    return where.selectbox(label, range(n), key=key, format_func=lambda i: str(i + 1))


# ---------------------------------------------------------------------------------------------


def samples_panel(result: Result) -> None:
    lines = result.corpus.line_aligned
    c1, c2, c3, c4 = st.columns(4)
    prompt = text_box("Prompt (after ⟨bos⟩)", result, "t.prompt", result.cfg.ctx // 2, "", c1)
    temperature = c2.select_slider(
        "Temperature",
        TEMPERATURES,
        value=0.8,
        key="t.temp",
        format_func=lambda t: "0 (greedy)" if t == 0 else f"{t:g}",
    )
    top_k = c3.select_slider(
        "Top-k", TOP_KS, value=0, key="t.topk", format_func=lambda k: "all" if k == 0 else str(k)
    )
    if lines:
        n_chars = 0
        c4.caption(f"Line by line: each line from a fresh window of {result.cfg.ctx} characters.")
    else:
        n_chars = c4.select_slider("Characters", LENGTHS, value=120, key="t.nchars")
    how = (
        "each box one line, generated from ⟨bos⟩ + the prompt (blue) in a fresh window, as the "
        "model was trained, up to its end of line"
        if lines
        else "each box a text continuing the prompt (blue); past the context the window "
        "slides, keeping ⟨bos⟩ in front, as in training"
    )
    st.caption(
        f"Each column is one run, from its initial weights (step 0"
        f"{', the pretrained model' if result.spec.fine_tune else ''}) to the last step: {how}."
    )
    for col, name in zip(st.columns(len(result.labels)), result.labels, strict=True):
        col.markdown(f"**{name}**")
        for step, texts in samples(
            key_of(result), result, name, prompt, temperature, top_k, n_chars
        ):
            col.caption(f"step {step}")
            col.html(pt.samples_html(prompt, texts))


def accuracy_panel(result: Result) -> None:
    scores = accuracy(key_of(result), result)
    acc = {k: v[0] for k, v in scores.items()}
    n = len(next(iter(scores.values()))[1])
    st.plotly_chart(
        pt.accuracy_figure(acc, colors(result.spec)), key="t.acc", config=CHART_CONFIG, theme=None
    )
    st.caption(
        f"Greedy answers to all {n} held-out problems (never seen in training), read up to "
        "the first line break; an answer counts only if every digit is right."
    )
    rows = []
    for i, (prompt, answer, _) in enumerate(next(iter(scores.values()))[1][:12]):
        row = {"prompt": prompt, "answer": answer}
        for name, (_, items) in scores.items():
            got = items[i][2]
            row[name] = f"{got} {'✓' if got == answer else '✗'}"
        rows.append(row)
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def teacher_panel(result: Result) -> None:
    c1, c2, c3 = st.columns([1, 3, 1])
    name = pick("Model", result, "t.tf.opt", c1)
    ctx = result.cfg.ctx
    default, given = teacher_prompt(key_of(result), result, name)
    if st.session_state.get("t.tf.for") != (key_of(result), name):  # a new model: its example
        st.session_state["t.tf.for"] = (key_of(result), name)
        st.session_state["t.tf.text"], st.session_state["t.tf.n"] = default[:ctx], given
    text = text_box("True text (a held-out example)", result, "t.tf.text", ctx, default, c2)
    n_chars = len(result.corpus.tokenizer.encode(text)[:ctx])
    if n_chars < 2:
        st.info("Type at least two characters.")
        return
    valid("t.tf.n", lambda n: 0 <= n <= n_chars - 1, min(given, n_chars - 1))
    help_ = "The prompt: ⟨bos⟩ and this many characters of the true text."
    n_given = c3.number_input("Characters given", 0, n_chars - 1, key="t.tf.n", help=help_)
    labels, tvf = teacher_free(key_of(result), result, name, text, int(n_given) + 1)
    tok = result.corpus.tokenizer
    shown = [tok.token_label(int(i)) if i else "" for i in tvf.free_ids]
    prompt_ids = tok.encode(text)[: int(n_given)]
    fig = pt.teacher_free_figure(
        labels,
        [tok.token_label(int(i)) for i in tvf.teacher_ids],
        shown,
        tvf.teacher_correct,
        tvf.free_correct,
        prompt=[tok.token_label(int(i)) for i in prompt_ids],
        teacher_p=tvf.teacher_p,
        free_p=tvf.free_p,
        divergence=tvf.divergence,
    )
    st.plotly_chart(fig, key="t.tf.fig", config=CHART_CONFIG, theme=None)
    n = len(labels)
    at = tvf.divergence
    where = (
        "Free generation never left the true text here."
        if at is None
        else f"Free generation first leaves the true text at position {at + 1} (boxed): it "
        f"wrote “{shown[at] or '(end)'}” where the text has “{labels[at]}”. From there on "
        "teacher forcing still sees the true characters, free generation its own mistake."
    )
    st.markdown(
        f"**Teacher forcing** (how training scores the model): each prediction sees the *true* "
        f"text before it — {int(tvf.teacher_correct.sum())}/{n} right. **Free generation** (how "
        f"the model is used): each prediction sees the model's *own* earlier output — "
        f"{int(tvf.free_correct.sum())}/{n} right. {where} The percentages are the model's "
        "probability for the character it picked."
    )
    rows = [
        {"position": i + 1, "true": labels[i], "P(true | true prefix)": f"{tvf.true_p[i]:.1%}",
         "teacher forcing": labels_t, "free generation": shown[i] or "(stopped)"}
        for i, labels_t in enumerate(tok.token_label(int(j)) for j in tvf.teacher_ids)
    ]  # fmt: skip
    with st.expander("Token by token"):
        st.dataframe(pd.DataFrame(rows), hide_index=True)


def attention_panel(result: Result) -> None:
    c1, c2, c3, c4 = st.columns([1, 3, 1, 1])
    name = pick("Model", result, "t.att.opt", c1)
    text = text_box(
        "Text", result, "t.att.text", result.cfg.ctx - 1, insight.sample_text(result), c2
    )
    layer = index_box("Layer", result.cfg.n_layer, "t.att.layer", c3)
    head = index_box("Head", result.cfg.n_head, "t.att.head", c4)
    labels, maps = attention(key_of(result), result, name, text)
    title = f"{name} · layer {layer + 1} · head {head + 1}"
    st.plotly_chart(
        pt.attention_figure(maps[layer][head], labels, title),
        key="t.att.fig",
        config=CHART_CONFIG,
        theme=None,
    )
    st.caption(
        "Row i shows how position i spreads its attention over positions 0…i (each row "
        "sums to 1); nothing can look ahead, so the upper triangle is empty."
    )


def numbers_panel(result: Result) -> None:
    c1, c2 = st.columns([1, 3])
    name = pick("Model", result, "t.num.opt", c1)
    first_line = insight.sample_text(result).split("\n")[0]
    text = text_box("A string", result, "t.num.text", result.cfg.ctx - 1, first_line, c2)
    p = pipeline(key_of(result), result, name, text)
    st.markdown(
        "**1 · Characters become tokens, tokens become ids** (⟨bos⟩ marks the start; "
        "a character the corpus never had becomes ⟨unk⟩)."
    )
    ids = [str(i) for i in p.ids.tolist()]
    st.dataframe(pd.DataFrame([p.labels, ids], index=["token", "id"]), height=110)
    st.markdown(
        "**2 · Each id picks a row of the embedding table; the position adds its own "
        f"row.** {result.cfg.d_model} numbers per token go into the first block."
    )
    st.plotly_chart(
        pt.embedding_figure(p.labels, p.token_emb, p.pos_emb),
        key="t.num.emb",
        config=CHART_CONFIG,
        theme=None,
    )
    st.markdown(
        "**3 · …and back: the last layer scores every token of the vocabulary; "
        "softmax turns the scores (logits) into next-token probabilities.**"
    )
    rows = [
        {
            "after": f"{i}:{t}",
            **{f"#{j + 1}": f"{lab_} ({p.top_probs[i, j]:.0%})" for j, lab_ in enumerate(top)},
        }
        for i, (t, top) in enumerate(zip(p.labels, p.top_labels, strict=True))
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)


def results(result: Result, stopped: bool = False) -> None:
    """The summary table and the selected panel."""
    st.markdown("#### Results" + (" (partial: stopped early)" if stopped else ""))
    rows = lab.summary_rows(result)
    for row in rows:
        if row["diverged at"] is not None:
            st.warning(
                f"{row['optimizer']} diverged at step {row['diverged at']}: its weights "
                "stayed frozen from there on. Try a smaller learning rate or clipping."
            )
    table = pd.DataFrame(rows)
    table["diverged at"] = [("—" if d is None else str(d)) for d in table["diverged at"]]
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            k: st.column_config.NumberColumn(format="%.3f")
            for k in ("train loss", "val loss", "gap (val − train)", "best val")
        },
    )
    shown = panels(result)
    if st.session_state.get("t.panel") not in shown:
        st.session_state["t.panel"] = shown[0]
    panel = st.segmented_control("Look at", shown, key="t.panel", required=True)
    draw = {
        "Samples": samples_panel,
        ACCURACY: accuracy_panel,
        "Teacher forcing vs generation": teacher_panel,
        "Attention": attention_panel,
        "Text → numbers": numbers_panel,
        "Diagnostics": probe.diagnostics_panel,
        "Loss landscape": probe.landscape_panel,
        "Size & sequence length": probe.timing_panel,
    }
    draw[panel or shown[0]](result)
