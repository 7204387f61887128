"""The pages ``bench_latency.py`` can time: what to open, which slider to move, which chart to
watch. Adding a page to the benchmark is one more ``PAGES`` entry.

Each chart is found by its Streamlit key (``st.plotly_chart(..., key=K)`` puts the CSS class
``st-key-K`` on its container) except the surfaces page's lab chart, found by its click grid
(``tests.support.browser.JS_LAB``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.browser import JS_LAB, JS_PATHS, LR_SLIDER


@dataclass(frozen=True)
class PageBench:
    """One page's benchmark: ``url_path`` (``""``: the app's default page) opened with
    ``start_query``; the slider whose accessible name is ``slider`` moved with ``key``;
    ``what`` names its value in the report; ``js_chart`` is a JS expression for the watched
    chart's element (or ``undefined``), ``js_data`` a JS function returning its data as a string
    (``null`` while there is no chart); ``target``: the issue sets the 300 ms target for it."""

    title: str
    url_path: str
    start_query: str
    slider: str
    what: str
    js_chart: str
    js_data: str
    key: str = "ArrowRight"
    target: bool = False


def chart_by_key(key: str) -> str:
    """The plotly element of the chart drawn with ``st.plotly_chart(..., key=key)``."""
    return f"document.querySelector('.st-key-{key} .js-plotly-plot')"


def traces_json(chart: str) -> str:
    """A JS function: the x and y of every trace of ``chart``, as JSON (``null``: no chart)."""
    return f"""() => {{
    const el = {chart};
    if (!el || !el.data) return null;
    return JSON.stringify(el.data.map(t => [t.x, t.y]));
}}"""


def js_changed(page: PageBench) -> str:
    """A JS function of ``before``: true once the chart's data differs from ``before``. The JSON
    is built only when the chart element or its data changed since the previous call (Streamlit
    mounts a new chart element for a new figure, and plotly sets a new ``data`` array on every
    redraw), so polling on every animation frame costs the page next to nothing."""
    return f"""before => {{
    const el = {page.js_chart};
    if (!el) return false;
    const w = window.__optlabBench || (window.__optlabBench = {{}});
    if (el === w.el && el.data === w.data) return false;
    w.el = el;
    w.data = el.data;
    const d = ({page.js_data})();
    return d !== null && d !== before;
}}"""


SWEEP_CHART = chart_by_key("sweep_lr_chart")
DATA_CHART = chart_by_key("d-loss")  # key "d.loss": Streamlit writes the dot as a dash

PAGES: dict[str, PageBench] = {
    # Adam's lr starts low so 32 moves right stay inside the grid, each to a value not seen before.
    "surfaces": PageBench(
        title="optlab latency benchmark",
        url_path="",
        start_query="?adam.lr=0.0001",
        slider=LR_SLIDER,
        what="Adam lr",
        js_chart=JS_LAB,
        js_data=JS_PATHS,
        target=True,
    ),
    # The upper end of the learning-rate range, moved down from 2 one grid stop at a time: every
    # move is a new set of learning rates of the same count (a new engine sweep, no recompile).
    "sweeps": PageBench(
        title="optlab latency benchmark, Sweeps page",
        url_path="sweeps",
        start_query="?steps=100",
        slider="Learning-rate range (log scale) — end",
        what="lr range end",
        js_chart=SWEEP_CHART,
        js_data=traces_json(SWEEP_CHART),
        key="ArrowLeft",
    ),
    # Adam's lr on the Data & SGD page (8 seeds of mini-batch SGD, batch 16, 200 points); the
    # batch-size slider has only 9 stops, too few for 35 moves each to a new value. Watched:
    # the loss chart, drawn after the map.
    "data": PageBench(
        title="optlab latency benchmark, Data & SGD page",
        url_path="data",
        start_query="?adam.lr=0.0001",
        slider=LR_SLIDER,
        what="Adam lr",
        js_chart=DATA_CHART,
        js_data=traces_json(DATA_CHART),
    ),
}
