"""The "Class" page: a teacher turns a Surfaces or Data & SGD setup into a class challenge and
projects the board; students arrive here by the join link (or type the code) and go on to the
lab, where ``optlab.shell.classroom.student_box`` lets them submit.

Its links: ``?join=CODE`` (a student), ``?class=CODE&teacher=TOKEN`` (the teacher's private
board), otherwise the creation form (prefilled by ``from=…&allow=…&open=…``: see
``optlab.config.classroom``).
"""

from __future__ import annotations

import streamlit as st

from optlab.config import classroom as challenge_model
from optlab.config import data as data_cfg
from optlab.config import surfaces_link
from optlab.config.links import BadValue
from optlab.core.optimizers import OPTIMIZERS
from optlab.pages.classroom import board
from optlab.scenarios import SCENARIOS
from optlab.shell import classroom, navigation, widgets
from optlab.shell.state import seed
from optlab.shell.widgets import notices_box
from optlab.store import connection, db

FROM_LINK = "a pasted link"
MINE = "_optlab_class_mine"  # (code, token, title) of the classes this session created


def render() -> None:
    q = st.query_params
    if "class" in q and "teacher" in q:
        board.show(q["class"], q["teacher"])
        return
    st.markdown("### Class mode")
    if "join" in q:
        join(q["join"])
        return
    if code := classroom.joined():
        st.info(f"This session has joined class **{code}**.", icon=":material/groups:")
    join_form()
    st.divider()
    my_classes()
    create_form()


def my_classes() -> None:
    """The classes this session created (several can run at once): links to their boards."""
    mine = st.session_state.get(MINE, [])
    if not mine:
        return
    st.markdown("#### Your classes in this session")
    for code, token, title in mine:
        link = widgets.share_url({"class": code, "teacher": token})
        st.markdown(f"- **{code}** {classroom.plain(title)}: [open the board]({link})")


def join(code: str) -> None:
    """A student's arrival by the join link."""
    try:
        row = db.open_class(connection.engine(), code)
        ch = challenge_model.from_json(row.challenge)
    except (db.Refused, BadValue) as e:
        st.error(classroom.plain(getattr(e, "message", str(e))), icon=":material/block:")
        join_form()
        return
    classroom.join(row.code)
    title = f": {classroom.plain(ch.title)}" if ch.title else ""
    st.success(f"You joined class **{row.code}**{title}.", icon=":material/groups:")
    st.markdown(f"**You tune:** {classroom.tuned_text(ch)}  \n**Score:** {ch.score_label()}")
    target = navigation.page(ch.page)
    if target is not None:
        st.page_link(
            target,
            label=f"Open the challenge on the {challenge_model.PAGES[ch.page]} page",
            icon=":material/arrow_forward:",
            query_params=ch.page_query(),
        )
    st.caption("Tune there, then press *Submit to the class* in the box above the lab.")


def join_form() -> None:
    with st.form("join_form", border=False, enter_to_submit=True):
        code = st.text_input("Join a class: its code", max_chars=12, placeholder="e.g. K7QX2M")
        if st.form_submit_button("Join", icon=":material/login:") and code:
            join(code)


def sources() -> dict[str, str]:
    """Scenario keys usable as a challenge (Surfaces and Data & SGD ones) -> titles."""
    return {k: s.title for k, s in SCENARIOS.items() if s.page in challenge_model.PAGES}


def source_setup(prefill: dict) -> tuple[str, dict[str, str]] | None:
    """The teacher's choice of setup: a scenario or a pasted lab link."""
    options = [*sources(), FROM_LINK]
    seed("class.src", FROM_LINK if "from" in prefill else "momentum-ravine")
    key = st.selectbox(
        "Start from",
        options,
        key="class.src",
        format_func=lambda k: sources().get(k, "A link from the lab (paste it)"),
    )
    if key != FROM_LINK:
        s = SCENARIOS[key]
        return s.page, dict(s.query)
    seed("class.link", prefill.get("from", ""))
    link = st.text_input(
        "Lab link (Surfaces or Data & SGD)",
        key="class.link",
        placeholder="http://…/surfaces?surface=ravine&opt=adam",
    )
    if not link.strip():
        st.caption("Copy it from *Share this exact setup* on the Surfaces or Data & SGD page.")
        return None
    try:
        return challenge_model.link_source(link)
    except BadValue as e:
        st.error(str(e))
        return None


def create_form() -> None:
    st.markdown("#### Create a class challenge")
    prefill, notices = challenge_model.parse_creation_query(st.query_params.to_dict())
    notices_box(notices)
    got = source_setup(prefill)
    if got is None:
        return
    page, query = got
    try:
        cfg = challenge_model.make_challenge(
            page, query, OPTIMIZERS, ["learning_rate"], _steps(page, query)
        ).config()
    except BadValue as e:
        st.error(f"This setup cannot be a challenge: {e}")
        return
    opts = st.multiselect(
        "Optimizers students may tune",
        cfg.optimizers,
        default=[o for o in prefill.get("allow", cfg.optimizers) if o in cfg.optimizers]
        or cfg.optimizers,
        format_func=lambda o: OPTIMIZERS[o].display,
        key="class.allow",
    )
    params = {
        h.name: h.label
        for o in opts
        for h in OPTIMIZERS[o].hparams
        if page == "surfaces" or h.name == "learning_rate"
    }
    open_ = st.multiselect(
        "Open hyperparameters (the rest stay locked)",
        list(params),
        default=[p for p in prefill.get("open", ("learning_rate",)) if p in params],
        format_func=params.get,
        key="class.open",
    )
    c1, c2, c3 = st.columns(3)
    steps = c1.number_input(
        "Step budget", 1, 2000, prefill.get("steps") or cfg.steps, key="class.steps"
    )
    score = c2.radio(
        "Score",
        list(challenge_model.SCORES),
        key="class.score",
        index=list(challenge_model.SCORES).index(prefill["score"]),
        format_func=challenge_model.SCORES.get,
    )
    target = k = None
    if score == "reach":
        target = c3.number_input(
            "Target loss", value=float(prefill["target"]), format="%g", key="class.target"
        )
    elif score == "at":
        k = c3.number_input("Step k", 1, 2000, int(prefill["k"]), key="class.k")
    title = st.text_input(
        "Title (shown on the board)",
        max_chars=challenge_model.TITLE_MAX,
        value=prefill.get("title", ""),
        key="class.title",
    )
    hours = st.slider(
        "Open for (hours)",
        *challenge_model.HOURS_RANGE,
        float(prefill["hours"]),
        step=0.25,
        key="class.hours",
    )
    if st.button(
        "Create the class", type="primary", icon=":material/add_circle:", key="class.create"
    ):
        try:
            ch = challenge_model.make_challenge(
                page, query, opts, open_, int(steps), score, target or 1e-2, int(k or 50), title
            )
            code, token = db.create_class(connection.engine(), ch.to_json(), hours)
        except (BadValue, db.Refused) as e:
            st.error(getattr(e, "message", str(e)))
            return
        st.session_state.setdefault(MINE, []).append((code, token, ch.title))
        st.query_params.from_dict({"class": code, "teacher": token})
        st.rerun()


def _steps(page: str, query: dict[str, str]) -> int:
    """The setup's own step count (the default budget)."""
    parse = data_cfg.parse_data_query if page == "data" else surfaces_link.parse_query
    return parse(query)[0].steps
