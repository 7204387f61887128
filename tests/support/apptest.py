"""Shared AppTest helpers: open one page (or the whole app) with a query string, and read the
plotly charts it drew."""

from __future__ import annotations

import json
import re
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def page_source(package: str) -> str:
    """A one-page script that renders ``optlab.pages.<package>.page`` (no navigation around it)."""
    return f"from optlab.pages.{package} import page\npage.render()\n"


def open_page(
    package: str | None, query: dict[str, str] | None = None, timeout: float = 120
) -> AppTest:
    """Run page ``package`` (``None``: the whole app through ``app.py``) with ``query`` as its
    URL parameters; fails the test if the run raised."""
    if package is None:
        at = AppTest.from_file(APP, default_timeout=timeout)
    else:
        at = AppTest.from_string(page_source(package), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart_spec(at: AppTest, key: str) -> dict | None:
    """The plotly spec of the chart whose element id contains ``key`` (None: not drawn)."""
    charts = [c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id]
    return json.loads(charts[0].proto.spec) if charts else None


def table_cells(line: str) -> list[str]:
    """A Markdown table row's cells, unescaped (``optlab.viz.tables.markdown``)."""
    return [re.sub(r"\\(.)", r"\1", c.strip()) for c in re.split(r"(?<!\\)\|", line)[1:-1]]


def table_rows(at: AppTest, column: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table with a column named ``column``, as text."""
    for element in at.markdown:
        lines = [line for line in element.value.splitlines() if line.startswith("|")]
        if len(lines) >= 2 and column in (head := table_cells(lines[0])):
            return [dict(zip(head, table_cells(line), strict=True)) for line in lines[2:]]
    raise AssertionError(f"no table with a column {column!r}")
