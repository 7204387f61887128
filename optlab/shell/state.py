"""Streamlit glue for the shareable state: the configuration lives in the session and the URL.

On a session's first run the URL is parsed (the page's ``parse``) into the configuration and
a list of notices; every widget is seeded from the configuration (``seed``) just before it is
drawn; after the widgets are read, ``save`` writes the new configuration back to the session and,
when it changed, to the URL (only non-default values). Widget state therefore survives page
switches and hidden control groups, and a shared link restores exactly the same view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import streamlit as st

from optlab.config.links import SHELL_KEYS, is_kept


def state_keys(page: str) -> tuple[str, str, str]:
    """The session keys in which page ``page`` (its ``url_path``) keeps its configuration, the
    configuration its link gave, and that link's notices."""
    return f"_optlab_{page}_cfg", f"_optlab_{page}_loaded_cfg", f"_optlab_{page}_notices"


@dataclass(frozen=True)
class UrlState:
    """One page's configuration in the session and the URL, given its pure ``parse`` (query ->
    (config, notices)) and ``to_query`` (config -> query of non-defaults)."""

    page: str
    parse: Callable[[dict], tuple[Any, list[str]]]
    to_query: Callable[[Any], dict]
    shell_keys: bool = False  # whether ``to_query`` writes ``present``/``hide`` itself

    @property
    def keys(self) -> tuple[str, str, str]:
        return state_keys(self.page)

    def load(self) -> Any:
        """The session's configuration (parsed from the URL on the first run)."""
        cfg_key, loaded_key, notices_key = self.keys
        if cfg_key not in st.session_state:
            query = {k: st.query_params.get_all(k) for k in st.query_params}
            cfg, found = self.parse(query)
            st.session_state[cfg_key] = st.session_state[loaded_key] = cfg
            st.session_state[notices_key] = found
        return st.session_state[cfg_key]

    def notices(self) -> list[str]:
        """What the link asked for but did not get; shown until the user changes something."""
        cfg_key, loaded_key, notices_key = self.keys
        if st.session_state.get(cfg_key) != st.session_state.get(loaded_key):
            st.session_state[notices_key] = []
        return st.session_state.get(notices_key, [])

    def save(self, cfg: Any) -> None:
        """Remember ``cfg`` and mirror it into the URL (only the keys that change; the keys of
        widgets Streamlit binds to the URL itself are left to it)."""
        st.session_state[self.keys[0]] = cfg
        query = self.to_query(cfg)
        current = {k: v for k, v in st.query_params.to_dict().items() if self._owns(k)}
        if current == query:
            return
        for k in current.keys() - query.keys():
            del st.query_params[k]
        for k, v in query.items():
            if current.get(k) != v:
                st.query_params[k] = v

    def _owns(self, key: str) -> bool:
        """Whether this page's ``to_query`` writes URL parameter ``key``."""
        return not is_kept(key) and (self.shell_keys or key not in SHELL_KEYS)

    def update(self, fn: Callable[[Any], Any]) -> None:
        """Apply ``fn`` to the saved configuration (used from fragments)."""
        self.save(fn(self.load()))


def seed(key: str, value: Any) -> None:
    """Give widget ``key`` its value from the configuration unless it already has one."""
    if key not in st.session_state:
        st.session_state[key] = value


def force(key: str, value: Any) -> None:
    """Set widget ``key`` before it is drawn (e.g. a new start after a surface change)."""
    st.session_state[key] = value
