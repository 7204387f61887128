"""A library of teaching scenarios: named setups that show one effect each, with a proof.

Each ``Scenario`` is a page plus links to it in that page's own link scheme, a paragraph on
what to notice, one question for students, and a ``check()`` that reads its links as the page
does, runs the engine and returns ``(passed, evidence)`` — the stated effect, measured.

The package: ``base`` (the type, the link schemes, the config → engine adapters), then one
module per page (``surfaces``, ``data``, ``transformer``) with its scenarios and checks.
``SCENARIOS`` lists them all in teaching order.
"""

from __future__ import annotations

from optlab.scenarios import data, nets, surfaces, transformer
from optlab.scenarios.base import (
    LINK_SCHEMES,
    PAGES,
    Check,
    EngineInputs,
    Scenario,
    config_to_engine,
    read_link,
    run_query,
)

SCENARIOS: dict[str, Scenario] = {
    s.key: s
    for s in (*surfaces.SCENARIOS, *data.SCENARIOS, *nets.SCENARIOS, *transformer.SCENARIOS)
}

__all__ = [
    "LINK_SCHEMES", "PAGES", "SCENARIOS", "Check", "EngineInputs", "Scenario",
    "config_to_engine", "read_link", "run_query",
]  # fmt: skip
