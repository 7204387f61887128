"""The scenario type, the page link schemes scenarios are written in, and the adapters from a
page's configuration to engine inputs shared by the scenario modules.

A scenario's links are links to its page in that page's own scheme (``optlab.config``): the
gallery opens them as they are, and the checks read them with the same parser the page uses,
so what a card opens is what its check measured. ``LINK_SCHEMES`` maps a page to its parser.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from optlab.config.data import DataConfig, parse_data_query
from optlab.config.deepnets import parse_deepnets_query
from optlab.config.surfaces import Config, engine_settings, surface_of
from optlab.config.surfaces_link import parse_query
from optlab.config.transformer import parse_tf_query
from optlab.core import engine
from surfaces.data import DATA_LOSSES

Check = Callable[[], tuple[bool, str]]
Query = Mapping[str, str]
# page -> its link parser ``query -> (config, notices)``.
LINK_SCHEMES: dict[str, Callable[[Query], tuple[Any, list[str]]]] = {
    "surfaces": parse_query,
    "data": parse_data_query,
    "transformer": parse_tf_query,
    "deepnets": parse_deepnets_query,
}
PAGES = tuple(LINK_SCHEMES)


@dataclass(frozen=True, eq=False)
class Scenario:
    """A registry entry; ``check()`` returns ``(passed, evidence)``.

    ``query`` is the link to open (in the page's own scheme). A scenario that compares
    settings the page shows one at a time (batch 1 vs batch 64) lists each as a labelled link
    in ``links`` (its first one is ``query``)."""

    key: str
    title: str
    page: str
    query: Query
    what_to_notice: str
    question: str
    check: Check
    links: tuple[tuple[str, Query], ...] = ()

    def all_links(self) -> tuple[tuple[str, Query], ...]:
        """Every ``(label, query)`` the gallery card opens."""
        return self.links or (("Open", self.query),)


def scenario(key, title, page, links, notice, question, check) -> Scenario:
    """A registry entry. ``links`` is one query, or ``(label, query)`` pairs; ``check`` gets
    the query (one link) or the tuple of queries (several)."""
    if isinstance(links, Mapping):
        return Scenario(key, title, page, links, notice, question,
                        functools.partial(check, links))  # fmt: skip
    queries = tuple(q for _, q in links)
    return Scenario(key, title, page, queries[0], notice, question,
                    functools.partial(check, queries), tuple(links))  # fmt: skip


def read_link(page: str, query: Query) -> Any:
    """The configuration ``query`` asks of ``page`` (a scenario's link must read cleanly)."""
    cfg, notices = LINK_SCHEMES[page](query)
    if notices:
        raise ValueError(f"query not understood: {notices}")
    return cfg


# ---------------------------------------------------------------------------------------------
# Surfaces-page links -> engine inputs.


class EngineInputs(NamedTuple):
    problem: Any
    runs: list[engine.OptimizerRun]
    start: tuple[float, float]
    settings: engine.Settings
    theta: dict[str, float]


def config_to_engine(cfg: Config) -> EngineInputs:
    """The engine's view of a surfaces-page ``Config`` (as the page's ``compute`` runs it)."""
    runs = [engine.OptimizerRun(name, dict(hp)) for name, hp in cfg.hparams]
    return EngineInputs(surface_of(cfg), runs, cfg.start, engine_settings(cfg), dict(cfg.theta))


def run_query(query: Query, **changes: Any) -> dict[str, engine.Trajectory]:
    """Run a surfaces-page link (``changes`` replace ``Config`` fields): ``{name: traj}``."""
    cfg = replace(read_link("surfaces", query), **changes)
    p, runs, start, settings, theta = config_to_engine(cfg)
    return {
        r.name: t for r, t in zip(runs, engine.run(p, runs, start, settings, theta), strict=True)
    }


# ---------------------------------------------------------------------------------------------
# Data & SGD links -> engine inputs.


class DataInputs(NamedTuple):
    problem: Any
    runs: list[engine.OptimizerRun]
    start: tuple[float, float]
    settings: engine.Settings
    theta: dict[str, float]
    seeds: int


def data_inputs(cfg: DataConfig) -> DataInputs:
    """The engine's view of a Data & SGD ``DataConfig`` on a data loss: its data controls and
    batch size, its optimizers at their learning rates, its seed count, from the loss view's
    first start point (as the page starts)."""
    if not cfg.is_data:
        raise ValueError("data_inputs takes a data problem (linreg or logreg)")
    problem = DATA_LOSSES[cfg.problem]
    start = problem.view(**dict(cfg.controls())).starts[0]
    theta = {**dict(cfg.controls()), "batch_size": float(cfg.batch_points)}
    runs = [engine.OptimizerRun(o, {"learning_rate": cfg.lr(o)}) for o in cfg.optimizers]
    settings = engine.Settings(steps=cfg.steps, schedule=cfg.schedule, grad_noise=cfg.grad_noise)
    xy = (round(float(start.x), 4), round(float(start.y), 4))  # as the page rounds it
    return DataInputs(problem, runs, xy, settings, theta, cfg.seeds)
