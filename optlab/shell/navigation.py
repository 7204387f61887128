"""The page registry: adding a ``PageSpec`` here is all it takes to add a page to the app.

Pages are named by module (``optlab.pages.<package>.page``, which has a ``render()``) and imported
only when they run: the shell sits below the pages and knows them by name, never by import, so
no page reaches another page through it (the import-linter contracts in ``pyproject.toml``).

Every page runs behind ``optlab.shell.arrival`` (a link's parameters from another page win over
the page's remembered setup; a scenario's explanation shows above the page).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageSpec:
    title: str
    icon: str
    url_path: str
    default: bool = False
    package: str = ""  # under ``optlab.pages``; empty: the same as ``url_path``

    @property
    def module(self) -> str:
        """The module whose ``render()`` draws this page."""
        return f"optlab.pages.{self.package or self.url_path}.page"


PAGES: tuple[PageSpec, ...] = (
    PageSpec("Surfaces", ":material/landscape:", "surfaces", default=True),
    PageSpec("Data & SGD", ":material/scatter_plot:", "data"),
    PageSpec("Deep nets", ":material/hub:", "deepnets"),
    PageSpec("Sweeps", ":material/query_stats:", "sweeps"),
    PageSpec("Scenarios", ":material/school:", "scenarios", package="gallery"),
    PageSpec("Transformer", ":material/neurology:", "transformer"),
    PageSpec("Class", ":material/groups:", "classroom"),
    PageSpec("About", ":material/info:", "about"),
)


def _entered(spec: PageSpec) -> Callable[[], None]:
    def run() -> None:
        from optlab.shell import arrival, setup, style

        setup.freeze_imports()
        style.apply(setup.presenting())
        arrival.arrive(spec.url_path)
        arrival.banner(spec.url_path)
        importlib.import_module(spec.module).render()
        setup.settle_heap()

    run.__name__ = spec.url_path
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
