"""Streamlit glue for the shareable state: the configuration lives in the session and the URL.

On a session's first run the URL is parsed (``urlstate.parse_query``) into the configuration and
a list of notices; every widget is seeded from the configuration (``seed``) just before it is
drawn; after the widgets are read, ``save`` writes the new configuration back to the session and,
when it changed, to the URL (only non-default values). Widget state therefore survives page
switches and hidden control groups, and a shared link restores exactly the same view.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from optlab.urlstate import Config, parse_query, to_query

CFG = "_optlab_cfg"
LOADED = "_optlab_loaded_cfg"
NOTICES = "_optlab_notices"
DEFAULT_BASE_URL = "http://localhost:8501/"


def load() -> Config:
    """The session's configuration (parsed from the URL on the first run)."""
    if CFG not in st.session_state:
        query = {k: st.query_params.get_all(k) for k in st.query_params}
        cfg, notices = parse_query(query)
        st.session_state[CFG] = cfg
        st.session_state[LOADED] = cfg
        st.session_state[NOTICES] = notices
    return st.session_state[CFG]


def notices() -> list[str]:
    """What the link asked for but did not get; shown until the user changes something."""
    if st.session_state.get(CFG) != st.session_state.get(LOADED):
        st.session_state[NOTICES] = []
    return st.session_state.get(NOTICES, [])


def save(cfg: Config) -> None:
    """Remember ``cfg`` and mirror it into the URL (only when the URL would change)."""
    st.session_state[CFG] = cfg
    query = to_query(cfg)
    if st.query_params.to_dict() != query:
        st.query_params.from_dict(query)


def seed(key: str, value: Any) -> None:
    """Give widget ``key`` its value from the configuration unless it already has one."""
    if key not in st.session_state:
        st.session_state[key] = value


def force(key: str, value: Any) -> None:
    """Set widget ``key`` before it is drawn (e.g. a new start after a surface change)."""
    st.session_state[key] = value


def share_url(cfg: Config) -> str:
    """The full link that reproduces ``cfg``."""
    base = st.context.url or DEFAULT_BASE_URL
    query = urlencode(to_query(cfg), safe=",")
    return f"{base}?{query}" if query else base


def update(fn: Callable[[Config], Config]) -> None:
    """Apply ``fn`` to the saved configuration (used from fragments)."""
    save(fn(load()))
