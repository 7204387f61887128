"""The page registry: adding a ``PageSpec`` here is all it takes to add a page to the app.

Every page runs behind ``optlab.ui.arrival`` (a link's parameters from another page win over
the page's remembered setup; a scenario's explanation shows above the page).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st


def _surfaces() -> None:
    from optlab.ui import surfaces_page

    surfaces_page.render()


def _data() -> None:
    from optlab.ui import data_page

    data_page.render()


def _gallery() -> None:
    from optlab.ui import gallery_page

    gallery_page.render()


def _sweeps() -> None:
    from optlab.ui import sweeps_page

    sweeps_page.render()


def _transformer() -> None:
    from optlab.ui import transformer_page

    transformer_page.render()


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
    PageSpec("Data & SGD", ":material/scatter_plot:", "data", _data),
    PageSpec("Sweeps", ":material/query_stats:", "sweeps", _sweeps),
    PageSpec("Scenarios", ":material/school:", "scenarios", _gallery),
    PageSpec("Transformer", ":material/neurology:", "transformer", _transformer),
    PageSpec("About", ":material/info:", "about", _about),
)


def _entered(spec: PageSpec) -> Callable[[], None]:
    def run() -> None:
        from optlab.ui import arrival

        arrival.arrive(spec.url_path)
        arrival.banner(spec.url_path)
        spec.render()

    run.__name__ = spec.render.__name__.lstrip("_")
    return run


def st_page(spec: PageSpec) -> st.Page:
    return st.Page(_entered(spec), title=spec.title, icon=spec.icon, url_path=spec.url_path,
                   default=spec.default)  # fmt: skip


def page(url_path: str) -> st.Page | None:
    """The ``st.Page`` registered for ``url_path`` (for ``st.page_link``), or ``None``."""
    spec = next((p for p in PAGES if p.url_path == url_path), None)
    return st_page(spec) if spec else None


def st_pages() -> list[st.Page]:
    return [st_page(p) for p in PAGES]
