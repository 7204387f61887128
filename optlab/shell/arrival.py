"""Arriving at a page through a link that carries a configuration.

Every page keeps its configuration in the session and parses the URL only on the session's
first visit, so that the setup survives a trip to another page. A link *from another page in
the same session* (a gallery card's *Open*, the sweeps page's *Use tuned values*, made with
``st.page_link(..., query_params=...)``) must win over that memory: ``arrive(page)``, run
before each page, forgets the page's remembered configuration when the previous run was a
different page and the URL now carries parameters. Plain navigation (the sidebar) clears the
URL, so the remembered setup stays.

A link may also carry ``scenario=<key>``: the scenario's explanation is shown above the page
(``banner``). It stays in the URL (every page's link reader skips it and leaves it there), so a
reload or a copied address keeps the explanation; "Hide this explanation" takes it out.
"""

from __future__ import annotations

import streamlit as st

from optlab.shell.state import state_keys

LAST_PAGE = "_optlab_last_page"
SCENARIO = "_optlab_scenario"  # (page, scenario key) shown above that page
SCENARIO_PARAM = "scenario"


def arrive(page: str) -> None:
    """Record the page being run; apply a link's parameters that came from another page."""
    previous = st.session_state.get(LAST_PAGE)
    st.session_state[LAST_PAGE] = page
    key = st.query_params.get(SCENARIO_PARAM)
    if key is not None:  # stays in the URL: a reload or a copied link keeps the explanation
        st.session_state[SCENARIO] = (page, key)
    elif previous != page:
        st.session_state.pop(SCENARIO, None)
    arrived = previous is not None and previous != page
    if arrived and (key is not None or len(st.query_params)):
        for k in state_keys(page):
            st.session_state.pop(k, None)


def banner(page: str) -> None:
    """The explanation of the scenario that was opened on this page, if any."""
    from optlab.scenarios import SCENARIOS

    shown = st.session_state.get(SCENARIO)
    if not shown or shown[0] != page or shown[1] not in SCENARIOS:
        return
    s = SCENARIOS[shown[1]]
    with st.expander(f"Scenario: **{s.title}**", expanded=True, icon=":material/school:"):
        st.markdown(s.what_to_notice)
        st.markdown(f"**Question for you:** *{s.question}*")
        if st.button("Hide this explanation", key="scenario.hide", type="tertiary"):
            st.session_state.pop(SCENARIO, None)
            if SCENARIO_PARAM in st.query_params:
                del st.query_params[SCENARIO_PARAM]
            st.rerun()
