"""Where a scenario card's *Open* links go (pure logic, no Streamlit).

A scenario's links are already in its page's own scheme (``optlab.scenarios``): a card opens
each as it is. Every link adds ``scenario=<key>`` so that the page can show the scenario's
explanation (``optlab.shell.arrival``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from optlab.scenarios import Scenario

SCENARIO_PARAM = "scenario"
# The gallery's sections: a heading and its scenarios, in teaching order. Scenarios not
# listed here appear under their page's name at the end.
TOPICS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("The learning rate", ("lr-too-small", "lr-good", "lr-too-large", "schedule-decay")),
    ("Momentum", ("momentum-ravine", "nesterov-vs-momentum", "saddle-escape")),
    ("Adaptive and second-order methods",
     ("adagrad-shrinking", "adaptive-ill-conditioning", "newton-vs-first-order")),
    ("Hard landscapes", ("rosenbrock-banana", "rastrigin-local-minima", "clip-cliff")),
    ("Data and stochastic gradients", ("sgd-batch-noise", "feature-scaling")),
    ("Deep networks", ("sigmoid-depth-vanishes", "he-init-relu-30", "batchnorm-rescues-init",
                       "residual-50-layers", "clip-exploding-init", "weight-decay-gap")),
    ("Transformers", ("transformer-adam-vs-sgd", "transformer-dropout")),
)  # fmt: skip
PAGE_TITLES = {"surfaces": "Surfaces", "data": "Data & SGD", "deepnets": "Deep nets",
               "transformer": "Transformer"}  # fmt: skip


@dataclass(frozen=True)
class Link:
    """One *Open* link: its label, the target page's ``url_path`` and the URL query."""

    label: str
    page: str
    query: dict[str, str]

    def page_query(self) -> dict[str, str]:
        """The query the target page's own parser reads (without ``scenario``)."""
        return {k: v for k, v in self.query.items() if k != SCENARIO_PARAM}

    def href(self) -> str:
        from urllib.parse import urlencode

        return f"{self.page}?{urlencode(self.query, safe=',')}"


def sections(scenarios: Collection[Scenario]) -> list[tuple[str, list[Scenario]]]:
    """The scenarios grouped under the gallery's headings (empty sections dropped)."""
    by_key = {s.key: s for s in scenarios}
    out, seen = [], set()
    for title, keys in TOPICS:
        group = [by_key[k] for k in keys if k in by_key]
        seen.update(s.key for s in group)
        if group:
            out.append((title, group))
    for page, title in PAGE_TITLES.items():
        rest = [s for s in scenarios if s.key not in seen and s.page == page]
        if rest:
            out.append((f"More: {title}", rest))
    return out


def links(s: Scenario, pages: Collection[str]) -> list[Link]:
    """The *Open* links of scenario ``s`` (none when the app lacks its page): its links as
    they are (each in its page's own scheme), tagged with the scenario."""
    if s.page not in pages:
        return []
    return [Link(label, s.page, {**dict(q), SCENARIO_PARAM: s.key}) for label, q in s.all_links()]
