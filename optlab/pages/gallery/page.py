"""The scenario gallery: one card per teaching scenario, grouped by topic, each opening its
exact setup on the right page (a shareable link) and able to prove its effect numerically.

Thin by design: the links come from ``links``, the scenarios and their checks from
``optlab.scenarios``.
"""

from __future__ import annotations

import streamlit as st

from optlab.pages.gallery.links import PAGE_TITLES, links, sections
from optlab.scenarios import SCENARIOS, Scenario
from optlab.shell import navigation

COLUMNS = 3
CHECKS = "_optlab_gallery_checks"  # scenario key -> (passed, evidence), shown until reload

INTRO = """
Each card sets up **one effect** on the right page: press **Open** and the lab starts with
that exact surface, optimizers, learning rates and steps (the explanation comes along above
the page). Every link is shareable — right-click *Open* to copy it for your students.
**Check it** runs the setup in the background and reports the numbers that prove the effect.
"""


@st.cache_data(max_entries=32, show_spinner=False)
def check(key: str) -> tuple[bool, str]:
    """The scenario's numeric check (cached: it is the same for everyone)."""
    return SCENARIOS[key].check()


def card(s: Scenario, available: set[str]) -> None:
    with st.container(border=True):
        st.markdown(f"##### {s.title}")
        st.caption(f"on the {PAGE_TITLES.get(s.page, s.page)} page")
        st.markdown(s.what_to_notice)
        st.markdown(f"**Ask:** *{s.question}*")
        found = links(s, available)
        for link in found:
            st.page_link(navigation.page(link.page), label=link.label,
                         icon=":material/open_in_new:", query_params=link.query)  # fmt: skip
        if not found:
            setup = "&".join(f"{k}={v}" for k, v in s.query.items())
            st.caption(f"This app has no {PAGE_TITLES.get(s.page, s.page)} page yet. "
                       f"The setup: `{setup}`")  # fmt: skip
        if st.button("Check it", key=f"check.{s.key}", icon=":material/science:"):
            with st.spinner("Running the check…"):
                st.session_state.setdefault(CHECKS, {})[s.key] = check(s.key)
        result = st.session_state.get(CHECKS, {}).get(s.key)
        if result is not None:
            passed, evidence = result
            (st.success if passed else st.error)(evidence, icon=":material/analytics:")


def render() -> None:
    st.title("Scenarios")
    st.markdown(INTRO)
    available = {p.url_path for p in navigation.PAGES}
    for title, group in sections(SCENARIOS.values()):
        st.subheader(title)
        for i in range(0, len(group), COLUMNS):
            for col, s in zip(st.columns(COLUMNS), group[i : i + COLUMNS], strict=False):
                with col:
                    card(s, available)
