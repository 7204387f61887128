"""Class mode, the student's side (shared by the Surfaces and the Data & SGD pages).

A session joins a class through the Class page's join link (``/classroom?join=CODE``, also
the QR code); from then on ``student_box(page, cfg)`` shows, above the lab, the challenge,
its locked settings, what the student tunes, and a "Submit to the class" button. Pressing it
sends the *settings* only: the server checks them against the challenge and recomputes the
score with the engine (``optlab.config.classroom.evaluate``) before storing it. Without a
joined class the box draws nothing and touches no database.
"""

from __future__ import annotations

import json
import secrets

import numpy as np
import streamlit as st

from optlab.config import classroom as challenge_model
from optlab.config.classroom import Challenge
from optlab.config.links import BadValue
from optlab.core.optimizers import OPTIMIZERS
from optlab.shell import navigation
from optlab.store import connection, db
from optlab.viz import tables

JOINED = "_optlab_class_code"
STUDENT = "_optlab_class_student"
MESSAGE = "_optlab_class_message"  # (kind, text) of the last submission
NAME_KEY = "class.name"
plain = tables.literal  # user text (names, titles) made inert for ``st.markdown``


def join(code: str) -> None:
    st.session_state[JOINED] = code
    st.session_state.pop(MESSAGE, None)


def joined() -> str | None:
    return st.session_state.get(JOINED)


def leave() -> None:
    st.session_state.pop(JOINED, None)
    st.session_state.pop(MESSAGE, None)


def student_id() -> str:
    """This session's student id (random; it lets a student replace only their own entry)."""
    if STUDENT not in st.session_state:
        st.session_state[STUDENT] = secrets.token_urlsafe(16)
    return st.session_state[STUDENT]


def setup_text(ch: Challenge) -> str:
    """The locked setup as ``key=value`` pairs (the page's link scheme)."""
    return "  ".join(f"{k}={v}" for k, v in ch.locked()) or "(the page's defaults)"


def tuned_text(ch: Challenge) -> str:
    parts = []
    for o in ch.optimizers:
        labels = ", ".join(h.label for h in ch.open_params(o))
        parts.append(f"{OPTIMIZERS[o].display}: {labels}")
    return "; ".join(parts)


@st.cache_data(max_entries=512, show_spinner=False)
def evaluated(challenge_json: str, opt: str, values: tuple[tuple[str, float], ...]):
    """The server's score of these settings (cached per challenge and settings)."""
    return challenge_model.evaluate(challenge_model.from_json(challenge_json), opt, dict(values))


def detail_json(result) -> str:
    path = np.round(np.asarray(result.path, np.float64), 5)
    path = np.where(np.isfinite(path), path, 0.0)
    return json.dumps(
        {
            "path": path.tolist(),
            "final_loss": result.final_loss if np.isfinite(result.final_loss) else None,
            "diverged_at": result.diverged_at,
        }
    )


def submit(code: str, ch: Challenge, challenge_json: str, name: str, settings: dict) -> str:
    """Check, score and store one submission: the message to show (raises ``db.Refused`` or
    ``BadValue`` with a message)."""
    engine = connection.engine()
    student = student_id()
    row = db.check_submit(engine, code, student, name)  # refused before any engine run
    try:
        opt, values = challenge_model.parse_settings(ch, settings)
    except BadValue:
        db.count_refusal(engine, row.id)
        raise
    result = evaluated(challenge_json, opt, tuple(sorted(values.items())))
    db.submit(
        engine,
        code,
        student,
        name,
        json.dumps({"optimizer": opt, **values}),
        result.score,
        detail_json(result),
    )
    score = (
        "no score (the run diverged)"
        if result.diverged_at is not None
        else (
            "no score (the target was not reached)"
            if result.score is None
            else f"score {result.score:.4g}"
        )
    )
    scores = [r.score for r in db.board(engine, row.id)]
    rank = ""
    if result.score is not None:
        better = sum(1 for v in scores if v is not None and v < result.score)
        rank = f", rank {better + 1} of {len(scores)} so far"
    return f"Submitted: {score}{rank} — {ch.score_label()}. Look at the board!"


def _setup_link(ch: Challenge, page: str) -> None:
    target = navigation.page(ch.page)
    if target is not None:
        label = (
            "Reload the challenge's setup"
            if page == ch.page
            else (f"Open the challenge on the {challenge_model.PAGES[ch.page]} page")
        )
        st.page_link(
            target, label=label, icon=":material/restart_alt:", query_params=ch.page_query()
        )


def student_box(page: str, cfg) -> None:
    """The joined class's challenge and the "Submit to the class" button (nothing when this
    session has joined no class). ``page``: ``"surfaces"`` or ``"data"``; ``cfg``: the page's
    current configuration (the open hyperparameters are read from it)."""
    code = joined()
    if code is None:
        return
    with st.container(border=True, key="class_box"):
        try:
            row = db.open_class(connection.engine(), code)
            ch = challenge_model.from_json(row.challenge)
        except (db.Refused, BadValue) as e:
            st.error(getattr(e, "message", str(e)), icon=":material/groups:")
            if st.button("Leave the class", key="class.leave.bad", type="tertiary"):
                leave()
                st.rerun()
            return
        _box(page, cfg, code, row, ch)


def _box(page: str, cfg, code: str, row: db.ClassRow, ch: Challenge) -> None:
    title = f" · {plain(ch.title)}" if ch.title else ""
    st.markdown(f"**:material/groups: Class {code}**{title}")
    if page != ch.page:
        st.info(f"This class's challenge runs on the {challenge_model.PAGES[ch.page]} page.")
        _setup_link(ch, page)
        return
    st.caption("Locked settings (the class scores every submission on exactly these):")
    st.code(setup_text(ch), language=None, wrap_lines=True)
    st.markdown(f"**You tune:** {tuned_text(ch)}  \n**Score:** {ch.score_label()}")
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        opts = [o for o in ch.optimizers if o in getattr(cfg, "optimizers", ())] or list(
            ch.optimizers
        )
        opt = (
            opts[0]
            if len(opts) == 1
            else st.selectbox(
                "Submit the values of",
                opts,
                key="class.opt",
                format_func=lambda o: OPTIMIZERS[o].display,
            )
        )
        values = challenge_model.current_settings(ch, cfg, opt)
        shown = ", ".join(f"{h.label} = {values[h.name]:.4g}" for h in ch.open_params(opt))
        st.markdown(f"Your values now ({OPTIMIZERS[opt].display}): {shown}")
        name = st.text_input(
            "Your display name", key=NAME_KEY, max_chars=db.NAME_MAX, placeholder="e.g. Ada"
        )
    with right:
        closed = row.closed
        pressed = st.button(
            "Submit to the class",
            key="class.submit",
            type="primary",
            icon=":material/send:",
            disabled=closed,
            width="stretch",
        )
        if closed:
            st.caption("The teacher has closed submissions.")
    if pressed:
        try:
            with st.spinner("Scoring your settings with the engine…"):
                msg = submit(code, ch, row.challenge, name, {"optimizer": opt, **values})
            st.session_state[MESSAGE] = ("success", msg)
        except (db.Refused, BadValue) as e:
            st.session_state[MESSAGE] = ("error", getattr(e, "message", str(e)))
    kind, text = st.session_state.get(MESSAGE, (None, None))
    if kind == "success":
        st.success(text, icon=":material/check_circle:")
    elif kind == "error":
        st.error(text, icon=":material/block:")
    a, b = st.columns(2)
    with a:
        _setup_link(ch, page)
    with b:
        if st.button("Leave the class", key="class.leave", type="tertiary"):
            leave()
            st.rerun()
