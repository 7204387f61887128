"""The teacher's board: join code, link and QR code to project, the teacher's buttons, and the
live part (leaderboard, every path on one map, the class's sweep) refreshing itself."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import segno
import streamlit as st

from optlab.config import classroom as challenge_model
from optlab.config.classroom import Challenge
from optlab.core.optimizers import OPTIMIZERS
from optlab.pages.classroom import compute
from optlab.shell import classroom, setup, style, widgets
from optlab.store import connection, db
from optlab.viz import classroom as figures

REFRESH_S = 1.0  # the board re-reads the database this often (submit -> visible p95 ≤ 2 s)
EMPTY = (
    "No submissions yet. Students: open the join link, tune, press *Submit to the "
    "class*. This board refreshes itself."
)
TEXT_COLUMNS = ("rank", "name", "optimizer", "updated")
CHART = {"displaylogo": False, "scrollZoom": False}
# Projector mode (?present=1) at 1280×720: join code, QR code, the teacher's two buttons and
# the board (leaderboard and map) above the fold; the rest in an expander or the sidebar.
PRESENT = {"qr": 150, "table": 290, "map": 340}


def qr_png(url: str) -> bytes:
    """The join link as a QR code (PNG, large modules for a projector)."""
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="png", scale=8, border=2)
    return buf.getvalue()


def join_url(code: str) -> str:
    return widgets.share_url({"join": code})


def header(row: db.ClassRow, ch: Challenge, token: str, present: bool = False):
    """Title, join code, link and QR code, the challenge's terms and the private teacher link.
    In projector mode the link is one line, the terms fold into an expander in a row the
    teacher's buttons join (returned), and the private link goes to the (collapsed) sidebar,
    off the projected page."""
    until = datetime.fromtimestamp(row.expires_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
    terms = (f"{challenge_model.PAGES[ch.page]} page · students tune {classroom.tuned_text(ch)}"
             f" · score: {ch.score_label()} · open until {until}")  # fmt: skip
    locked = "Locked setup: " + classroom.setup_text(ch)
    left, right = st.columns([3, 1] if not present else [5, 1], vertical_alignment="center")
    with left:
        title = classroom.plain(ch.title) if ch.title else "Class challenge"
        st.markdown(f"## {title}")
        if present:
            st.markdown(f"Join code: **:blue[{row.code}]** · `{join_url(row.code)}`")
            actions = st.container(horizontal=True, vertical_alignment="center")
            with actions:
                style.explain(f"{terms}\n\n{locked}", True, "About this challenge")
        else:
            st.markdown(f"Join code: **:blue[{row.code}]** — open the link or scan the code:")
            st.code(join_url(row.code), language=None)
            st.caption(terms)
    with right:
        st.image(qr_png(join_url(row.code)), caption=f"join {row.code}",
                 width=PRESENT["qr"] if present else 220)  # fmt: skip
    private = st.sidebar if present else st  # the sidebar: off the projected page
    with private.expander("Private teacher link (do not project it)", icon=":material/key:"):
        st.code(widgets.share_url({"class": row.code, "teacher": token}), language=None)
        st.caption("Anyone with this link can close, reveal, reset or delete the class.")
    if present:
        return actions
    st.caption(locked)
    return None


def buttons(row: db.ClassRow, token: str, actions=None) -> None:
    """Reveal, close, reset and delete; in projector mode Reveal and Close join the header's
    ``actions`` row and Reset and Delete (with their "I am sure") go to the sidebar."""
    engine = connection.engine()
    cols = st.columns(5) if actions is None else [actions, actions, *[st.sidebar] * 3]
    reveal = "Hide the best" if row.revealed else "Reveal the best"
    if cols[0].button(reveal, key="board.reveal", icon=":material/emoji_events:"):
        db.set_flags(engine, row.code, token, revealed=not row.revealed)
        st.rerun()
    close = "Reopen submissions" if row.closed else "Close submissions"
    if cols[1].button(close, key="board.close", icon=":material/lock:"):
        db.set_flags(engine, row.code, token, closed=not row.closed)
        st.rerun()
    sure = cols[4].checkbox("I am sure", key="board.sure", help="Needed to reset or delete.")
    if cols[2].button("Reset", key="board.reset", icon=":material/restart_alt:", disabled=not sure):
        n = db.reset(engine, row.code, token)
        st.toast(f"Deleted {n} submissions.")
        st.rerun()
    if cols[3].button(
        "Delete class", key="board.delete", icon=":material/delete:", disabled=not sure
    ):
        db.delete(engine, row.code, token)
        st.query_params.clear()
        st.rerun()


def show(code: str, token: str) -> None:
    """The whole board of class ``code`` for the holder of ``token``."""
    try:
        row = db.teacher_class(connection.engine(), code, token)
        ch = challenge_model.from_json(row.challenge)
    except db.Refused as e:
        st.error(e.message, icon=":material/key_off:")
        return
    present = setup.presenting()
    actions = header(row, ch, token, present)
    buttons(row, token, actions)
    live(code, token, present)


@st.fragment(run_every=REFRESH_S)
def live(code: str, token: str, present: bool = False) -> None:
    """Leaderboard, map and sweeps, re-read from the database every ``REFRESH_S`` seconds."""
    engine = connection.engine()
    try:
        row = db.teacher_class(engine, code, token)
    except db.Refused as e:
        st.error(e.message)
        return
    ch = challenge_model.from_json(row.challenge)
    rows = db.board(engine, row.id)
    entries = compute.entries(rows, row.revealed)
    status = "expired" if row.expires_at <= time.time() else "closed" if row.closed else "open"
    refused = f" · {row.refused} refused" if row.refused else ""
    st.markdown(f"#### Board · {len(rows)} students · submissions {status}{refused}")
    if not rows:
        st.info(EMPTY, icon=":material/hourglass_empty:")
        return
    table = compute.ranking(rows, entries)
    best = next((e for e in entries if e.best), None)
    if best is not None:
        vals = ", ".join(f"{k} = {v:.4g}" for k, v in best.values.items())
        st.success(
            f"Best: {classroom.plain(best.name)} ({best.optimizer}, {vals}) — score "
            f"{figures.fmt_score(best.score)}",
            icon=":material/emoji_events:",
        )
    left, right = st.columns([1, 1])
    with left:
        number = st.column_config.NumberColumn
        formats = {c: number(format="%.4g") for c in table.columns if c not in TEXT_COLUMNS}
        st.dataframe(
            table,
            hide_index=True,
            key="board.table",
            height=PRESENT["table"] if present else 560,
            column_config=formats | {"rank": number(format="%d", width="small")},
        )
        st.download_button(
            "Download results (CSV)",
            compute.csv_text(table),
            file_name=f"class-{row.code}.csv",
            mime="text/csv",
            key="board.csv",
            icon=":material/download:",
        )
    with right:
        surface, image, start, titles, equal = compute.map_inputs(row.challenge)
        log = ch.score != "reach"
        size = {"height": PRESENT["map"]} if present else {}
        fig = figures.board_map(
            surface, image, entries, start, log_score=log, axis_titles=titles, equal=equal, **size
        )
        st.plotly_chart(fig, key="board.map", config=CHART, theme=None)
    sweeps(row, ch, entries)


def sweeps(row: db.ClassRow, ch: Challenge, entries) -> None:
    """One chart per (optimizer, open hyperparameter) that has submissions."""
    pairs = [
        (o, h)
        for o in ch.optimizers
        for h in ch.open_params(o)
        if any(e.optimizer == OPTIMIZERS[o].display for e in entries)
    ]
    cols = st.columns(min(2, len(pairs)) or 1)
    for i, (o, h) in enumerate(pairs):
        mine = [e for e in entries if e.optimizer == OPTIMIZERS[o].display]
        ref = None
        if row.revealed:
            with st.spinner("The engine sweeps the same problem…"):
                ref = compute.reference(row.challenge, o, h.name)
        fig = figures.score_sweep(
            mine,
            h.name,
            f"{OPTIMIZERS[o].display} {h.label}",
            ch.score_label(),
            h.log,
            ch.score != "reach",
            ref,
        )
        cols[i % len(cols)].plotly_chart(
            fig, key=f"board.sweep.{o}.{h.name}", config=CHART, theme=None
        )
    if not row.revealed:
        st.caption(
            "Press *Reveal the best* to mark the winner and draw the engine's own sweep "
            "of the same problem beside the class's."
        )
