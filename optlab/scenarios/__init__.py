"""A library of teaching scenarios: named setups that show one effect each, with a proof.

Each ``Scenario`` is a page (``surfaces``, ``data`` or ``transformer``) plus a URL query for it,
a paragraph on what to notice, one question for students, and a ``check()`` that runs the
engine directly and returns ``(passed, evidence)`` — the stated effect, measured.

The package: ``base`` (the type, the query → engine adapters, the page-query readers),
``surfaces``, ``data`` and ``transformer`` (each page's scenarios and their checks).
``SCENARIOS`` lists them all in teaching order.
"""

from __future__ import annotations

from optlab.scenarios import data, surfaces, transformer
from optlab.scenarios.base import (
    PAGE_KEYS,
    PAGES,
    Check,
    EngineInputs,
    Scenario,
    config_to_engine,
    parse_page_query,
    run_query,
)

SCENARIOS: dict[str, Scenario] = {
    s.key: s for s in (*surfaces.SCENARIOS, *data.SCENARIOS, *transformer.SCENARIOS)
}

__all__ = [
    "PAGES", "PAGE_KEYS", "SCENARIOS", "Check", "EngineInputs", "Scenario", "config_to_engine",
    "parse_page_query", "run_query",
]  # fmt: skip
