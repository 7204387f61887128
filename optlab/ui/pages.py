"""The page registry: adding a ``PageSpec`` here is all it takes to add a page to the app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st


def _surfaces() -> None:
    from optlab.ui import surfaces_page

    surfaces_page.render()


def _about() -> None:
    from optlab.ui import about_page

    about_page.render()


@dataclass(frozen=True)
class PageSpec:
    title: str
    icon: str
    url_path: str
    render: Callable[[], None]
    default: bool = False


PAGES: tuple[PageSpec, ...] = (
    PageSpec("Surfaces", ":material/landscape:", "surfaces", _surfaces, default=True),
    PageSpec("About", ":material/info:", "about", _about),
)


def st_pages() -> list[st.Page]:
    return [
        st.Page(p.render, title=p.title, icon=p.icon, url_path=p.url_path, default=p.default)
        for p in PAGES
    ]
