"""Finished long runs (training that took seconds to minutes), kept for every session.

A run that a page drives chunk by chunk across reruns cannot sit behind ``st.cache_data``
(the page needs it while it is still running); once finished it goes here, keyed by the
configuration that produced it, so that any session asking for the same configuration gets
it at once. One bounded, thread-safe store per name, shared by the whole server process.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import streamlit as st


class FinishedRuns:
    """A bounded least-recently-used map ``configuration -> result``, safe across sessions."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@st.cache_resource(show_spinner=False)
def finished_runs(name: str, max_entries: int = 16) -> FinishedRuns:
    """The process-wide store called ``name`` (one per kind of run)."""
    return FinishedRuns(max_entries)
