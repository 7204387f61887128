"""Widgets every page shares: hyperparameter sliders on their value grids, the schedule
choice with its formula and learning-rate curve, the link-notices box and the share box.

A page draws these; it never writes its own copy (one look, one behaviour, one test).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from urllib.parse import urlencode

import streamlit as st

from optlab.config.links import fmt_num
from optlab.core.params import HParam, snap, snap_grid, value_grid
from optlab.core.schedules import SCHEDULES
from optlab.shell.state import seed
from optlab.viz import race

Pairs = tuple[tuple[str, float], ...]
DEFAULT_BASE_URL = "http://localhost:8501/"


def fmt_value(v: float) -> str:
    return f"{v:.4g}"


def hparam_widget(h: HParam, key: str, value: float, label: str | None = None) -> float:
    """A toggle for booleans, otherwise a select-slider over the parameter's value grid."""
    label = label or h.label
    if h.kind == "bool":
        seed(key, bool(value))
        return 1.0 if st.toggle(label, key=key, help=h.help or None) else 0.0
    seed(key, snap(h, value))
    return float(
        st.select_slider(
            label, options=value_grid(h), key=key, format_func=fmt_value, help=h.help or None
        )
    )


def hparam_value(h: HParam, key: str, value: float) -> float:
    """What ``hparam_widget(h, key, value)`` will return, read without drawing it (a widget's
    value is in the session before the widget is drawn)."""
    current = st.session_state.get(key)
    if h.kind == "bool":
        return 1.0 if (bool(value) if current is None else current) else 0.0
    return float(snap(h, value) if current is None else current)


def params_widgets(specs: tuple[HParam, ...], values: Pairs, prefix: str) -> Pairs:
    current = dict(values)
    return tuple(
        (p.name, hparam_widget(p, f"{prefix}.{p.name}", current.get(p.name, p.default)))
        for p in specs
    )


def grid_slider(label: str, grid: Sequence, value, key: str, fmt: Callable = fmt_num, **kw):
    """A select-slider over ``grid`` seeded with ``value`` (snapped onto the grid)."""
    seed(key, type(grid[0])(snap_grid(grid, value)))
    return st.select_slider(label, options=list(grid), key=key, format_func=fmt, **kw)


def schedule_widgets(key: str, schedule: str, params: Pairs) -> tuple[str, Pairs]:
    """The schedule choice (widget ``key``), its parameters' sliders and its formula; returns
    ``(schedule, parameters)``. Shared by every page that trains with a schedule."""
    seed(key, schedule)
    name = st.selectbox(
        "Learning-rate schedule",
        list(SCHEDULES),
        key=key,
        format_func=lambda n: SCHEDULES[n].display,
    )
    spec = SCHEDULES[name]
    values = params if name == schedule else ()
    chosen = params_widgets(spec.params, values, f"{key}.{name}")
    st.latex(spec.latex)
    return name, chosen


@st.cache_resource(max_entries=64, show_spinner=False)
def lr_curve_figure(
    schedule: str,
    steps: int,
    params: Pairs,
    lrs: tuple[tuple[str, float], ...],
    limit: tuple[str, float] | None = None,
) -> race.ReadyFigure:
    """Each optimizer's learning rate over the run; ``limit``: a stability bound to mark."""
    mult = SCHEDULES[schedule].multipliers(steps, **dict(params))
    return race.ReadyFigure(race.lr_curve_spec(mult, dict(lrs), limit=limit))


def lr_curve(
    slot,
    key: str,
    schedule: str,
    steps: int,
    params: Pairs,
    lrs: tuple[tuple[str, float], ...],
    limit: tuple[str, float] | None = None,
) -> None:
    """Draw ``lr_curve_figure`` into ``slot`` (``st`` or a container) under widget ``key``."""
    fig = lr_curve_figure(schedule, steps, params, lrs, limit)
    slot.plotly_chart(fig, key=key, config={"displayModeBar": False}, theme=None)  # fmt: skip


def notices_box(notices: list[str]) -> None:
    """What a link asked for but did not get (one box, above the page's content)."""
    if notices:
        st.warning(
            "Some link parameters were adjusted or ignored (defaults used instead):\n\n"
            + "\n".join(f"- {n}" for n in notices),
            icon=":material/link_off:",
        )


def share_url(query: Mapping[str, str]) -> str:
    """The full link to this page with ``query`` (this page's own URL, without its query)."""
    base = (st.context.url or DEFAULT_BASE_URL).split("?")[0]
    text = urlencode(dict(query), safe=",")
    return f"{base}?{text}" if text else base


def share_box(query: Mapping[str, str], caption: str | None = None, expanded: bool = False,
              where=st) -> None:  # fmt: skip
    """The "Share this exact setup" expander (in ``where``: ``st`` or ``st.sidebar``)."""
    with share_expander(where, expanded):
        share_link(query, caption)


def share_expander(where=st, expanded: bool = False):
    """The empty "Share this exact setup" expander, for ``share_link`` to fill (a fragment
    that fills it later resends only the link, not the expander around it)."""
    return where.expander("Share this exact setup", icon=":material/link:", expanded=expanded)


def share_link(query: Mapping[str, str], caption: str | None = None) -> None:
    """The link to this page with ``query``, and ``caption`` under it."""
    st.code(share_url(query), language=None, wrap_lines=True)
    if caption:
        st.caption(caption)


@contextlib.contextmanager
def spinner_for_new(key: str, structure: object, text: str) -> Iterator[None]:
    """``st.spinner(text)`` around the block, unless ``structure`` is what this session drew
    last under ``key``: a live race's released learning rate redraws a race already computed,
    and a spinner would be one more element to send with it."""
    if st.session_state.get(key) == structure:
        yield
    else:
        with st.spinner(text):
            yield
    st.session_state[key] = structure
