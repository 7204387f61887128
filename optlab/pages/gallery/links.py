"""Where a scenario card's *Open* links go (pure logic, no Streamlit).

A surfaces scenario opens the surfaces page with its query as is (``optlab.config.surfaces_link``'s
scheme). A data scenario lists one or two values per key (``batch=1,64`` means "compare batch 1
with batch 64"); the Data & SGD page shows one setting at a time, so it gets one link per
value, each translated into that page's own scheme (``optlab.config.data``); transformer
scenarios likewise (one link per dropout value, ``optlab.config.transformer``), when the app
has a transformer page. Every link
adds ``scenario=<key>`` so that the page can show the scenario's explanation (it is taken out
of the URL before the page reads it: ``optlab.shell.arrival``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from typing import Any

from optlab.core.params import snap, snap_grid
from optlab.scenarios import Scenario, parse_page_query

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
    ("Transformers", ("transformer-adam-vs-sgd", "transformer-dropout")),
)  # fmt: skip
PAGE_TITLES = {"surfaces": "Surfaces", "data": "Data & SGD", "transformer": "Transformer"}


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


def _data_query(values: dict[str, Any], batch: int, std: int) -> dict[str, str]:
    """A data scenario's setting in the Data & SGD page's scheme (learning rates only)."""
    from optlab.config import data as du

    n = int(values["n"])
    lrs = tuple(
        (o, snap(du.lr_spec(o), values["hparams"][o].get("learning_rate", du.default_lr(o))))
        for o in values["opt"]
    )
    cfg = replace(
        du.default_data_config(values["data"]),
        n_points=n, noise=values["noise"], scale=values["scale"], offset=values["offset"],
        standardize=bool(std), data_seed=values["data_seed"],
        batch=du.FULL if batch >= n else batch, optimizers=tuple(values["opt"]), lrs=lrs,
        steps=int(snap_grid(du.STEPS_OPTIONS, values["steps"], log=True)),
        seeds=min(int(values["seeds"]), du.SEEDS_RANGE[1]),
    )  # fmt: skip
    return du.to_data_query(cfg)


def _transformer_query(values: dict[str, Any], dropout: float) -> dict[str, str]:
    """A transformer scenario's setting in the Transformer page's scheme, read back through
    that page's parser (so values off its grids arrive snapped, without a notice). The page
    has no ``train_chars``, ``batch`` or ``seed``: it trains on the whole corpus."""
    from optlab.config import transformer as tu

    raw = {"corpus": values["corpus"], "layers": str(values["layers"]), "d": str(values["d"]),
           "heads": str(values["heads"]), "ctx": str(values["ctx"]), "dropout": str(dropout),
           "opt": ",".join(values["opt"]), "steps": str(values["steps"])}  # fmt: skip
    for o in values["opt"]:
        if "learning_rate" in values["hparams"][o]:
            raw[f"{o}.lr"] = str(values["hparams"][o]["learning_rate"])
    return tu.to_tf_query(tu.parse_tf_query(raw)[0])


def links(s: Scenario, pages: Collection[str]) -> list[Link]:
    """The *Open* links of scenario ``s`` (none when the app lacks its page)."""
    if s.page not in pages:
        return []
    tag = {SCENARIO_PARAM: s.key}
    if s.page == "transformer":
        values, _ = parse_page_query("transformer", s.query)
        many = len(values["dropout"]) > 1
        return [
            Link(f"Open · dropout {d:g}" if many else "Open", "transformer",
                 {**_transformer_query(values, d), **tag})
            for d in values["dropout"]
        ]  # fmt: skip
    if s.page != "data":
        return [Link("Open", s.page, {**dict(s.query), **tag})]
    values, _ = parse_page_query("data", s.query)
    out = []
    for std in values["std"]:
        for batch in values["batch"]:
            parts = []
            if len(values["batch"]) > 1:
                parts.append(f"batch {batch}")
            if len(values["std"]) > 1:
                parts.append("standardized" if std else "raw features")
            label = "Open" + (" · " + ", ".join(parts) if parts else "")
            out.append(Link(label, "data", {**_data_query(values, batch, std), **tag}))
    return out
