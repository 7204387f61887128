"""Projector mode at 1280×720 (``?present=1``): the race of the Surfaces and the Data & SGD
pages — its map, its loss curves, its Play control and the learning-rate sliders — fits above
the fold with no scrolling, and the page's explanatory text is folded into an expander; so do
the Deep nets sections' charts and controls, the Transformer's Train button and loss curves,
and the Class board (join code, QR code, leaderboard, map and the teacher's buttons)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from optlab.store.connection import DB_FILE
from tests.support.browser import (
    IDLE,
    JS_LAB,
    free_port,
    require_browser,
    shot,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

VIEWPORT = {"width": 1280, "height": 720}
JS_BOXES = """() => {
    const r = document.querySelector('.olr');
    if (!r) return null;
    const box = (e) => { if (!e) return null; const b = e.getBoundingClientRect();
        return {top: b.top, bottom: b.bottom, left: b.left, right: b.right}; };
    return {map: box(r.querySelector('.olr-map')), loss: box(r.querySelector('.olr-loss')),
            play: box(r.querySelector('.olr-play')),
            sliders: Array.from(r.querySelectorAll('.olr-opt input[type=range]')).map(box),
            scrollY: window.scrollY};
}"""


def inside(box: dict, where: str) -> None:
    assert box is not None, where
    assert box["top"] >= 0, (where, box)
    assert box["bottom"] <= VIEWPORT["height"], (where, box)
    assert box["left"] >= 0, (where, box)
    assert box["right"] <= VIEWPORT["width"], (where, box)


@pytest.mark.parametrize("path", ["", "data"])
def test_the_race_fits_above_the_fold_at_1280x720(browser, server, tmp_path, path):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    try:
        page.goto(f"{server}{path}?present=1")  # "": the default page
        page.wait_for_selector(IDLE, timeout=90_000)
        page.wait_for_function(f"() => !!({JS_LAB})", timeout=90_000)
        page.wait_for_timeout(500)
        shot(page, tmp_path, f"present-{path}")
        boxes = page.evaluate(JS_BOXES)
        assert boxes["scrollY"] == 0
        inside(boxes["map"], "map")
        inside(boxes["loss"], "loss curves")
        inside(boxes["play"], "Play")
        assert boxes["sliders"], "no learning-rate slider"
        for s in boxes["sliders"]:
            inside(s, "learning-rate slider")
        assert page.get_by_text("unknown parameter").count() == 0
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------
# Deep nets, Transformer and Class: each page's main chart and its main action inside the
# 1280×720 viewport, its explanatory text folded into a collapsed expander.


@pytest.fixture(scope="module")
def class_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("class-data")


@pytest.fixture(scope="module")
def server(class_dir):
    """The app with a class database in ``class_dir`` (the board's test seeds it); replaces
    the shared ``server`` fixture for this module."""
    require_browser()
    port = free_port()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPTLAB_DATA_DIR", str(class_dir))
        mp.delenv("OPTLAB_DATABASE_URL", raising=False)
        proc = start_server(port, class_dir / "streamlit.log")
    yield f"http://127.0.0.1:{port}/"
    stop_server(proc)


@pytest.fixture
def projected(browser):
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


def in_view(locator, where: str) -> None:
    """``locator``'s first element lies wholly inside the viewport, with a size."""
    b = locator.first.bounding_box()
    assert b is not None, where
    assert b["width"] > 0, where
    assert b["height"] > 0, where
    inside({"top": b["y"], "bottom": b["y"] + b["height"], "left": b["x"],
            "right": b["x"] + b["width"]}, where)  # fmt: skip


def folded(page, label: str, text: str) -> None:
    """One collapsed expander ``label`` holds ``text``, which is not visible on the page."""
    expander = page.get_by_test_id("stExpander").filter(has_text=label)
    assert expander.count() == 1, label
    assert expander.locator("details").get_attribute("open") is None, label
    assert not page.get_by_text(text).first.is_visible(), text


def chart(key: str) -> str:
    return f".st-key-{key.replace('.', '-')} .js-plotly-plot"


def opened(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(800)


def settled(page, tmp_path, name: str) -> None:
    shot(page, tmp_path, f"present-{name}")
    assert page.evaluate("() => window.scrollY") == 0
    assert page.get_by_text("unknown parameter").count() == 0


DEEPNETS = {  # section: (main charts, main action (a role, its name) or None, folded text)
    "backprop": (["dn.graph"], ("button", "Next step ▶"),
                 {"How backprop works": "Backpropagation is the chain rule run backwards"}),
    "depth": (["dn.layers", "dn.acts"], ("slider", "Step shown in the per-layer plots"),
              {"About this network": "validation points) · an MLP of",
               "What to notice": "the gradient reaching layer 1"}),
    "overfit": (["dn.fit", "dn.ofloss"], None,
                {"About this experiment": "weights than points, so it can memorise the noise",
                 "What to notice": "shows as the gap"}),
}  # fmt: skip


@pytest.mark.parametrize("section", list(DEEPNETS))
def test_deep_nets_fits_the_projector(projected, server, tmp_path, section):
    charts, action, texts = DEEPNETS[section]
    opened(projected, f"{server}deepnets?section={section}&present=1")
    for key in charts:
        projected.wait_for_selector(chart(key), timeout=60_000)
    settled(projected, tmp_path, f"deepnets-{section}")
    for key in charts:
        in_view(projected.locator(chart(key)), key)
    if action is not None:  # a slider's whole widget (its thumb's box runs past the value)
        role, name = action
        target = projected.get_by_role(role, name=name)
        if role == "slider":
            target = projected.get_by_test_id("stSlider").filter(has=target)
        in_view(target, name)
    for label, text in texts.items():
        folded(projected, label, text)


TF_SMALL = "layers=2&d=32&heads=2&ctx=32&opt=gd,adam&chunk=10&steps=100"


def test_transformer_fits_the_projector(projected, server, tmp_path):
    projected.goto(f"{server}transformer?{TF_SMALL}&present=1")
    projected.wait_for_selector(IDLE, timeout=120_000)
    train = projected.locator(".st-key-t-train button")
    in_view(train, "Train")
    train.click()
    projected.wait_for_function(
        "() => document.body.innerText.includes('Done: 100 steps')", timeout=180_000
    )
    projected.wait_for_selector(IDLE, timeout=60_000)
    projected.wait_for_selector(chart("t.curves"), timeout=60_000)
    projected.wait_for_timeout(800)
    settled(projected, tmp_path, "transformer")
    in_view(projected.locator(chart("t.curves")), "loss curves")
    in_view(train, "Train")
    in_view(projected.get_by_test_id("stProgress"), "progress")
    folded(projected, "About this page", "trained on your CPU by several optimizers")


JS_CUT = """els => els.filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.innerText)"""


def test_the_class_board_fits_the_projector(projected, server, tmp_path, class_dir):
    from tests.pages.classroom.test_page import add, new_class

    engine = sa.create_engine(f"sqlite:///{class_dir / DB_FILE}")
    try:
        ch, code, token = new_class(engine, title="Ravine race")
        for i, lr in enumerate((0.01, 0.03, 0.1)):
            add(engine, ch, code, f"s{i}", f"Student {i}", lr)
    finally:
        engine.dispose()
    opened(projected, f"{server}classroom?class={code}&teacher={token}&present=1")
    projected.get_by_text("Board · 3 students").wait_for(timeout=60_000)
    projected.wait_for_selector(chart("board.map"), timeout=60_000)
    settled(projected, tmp_path, "class-board")
    in_view(projected.locator(chart("board.map")), "the board's map")
    in_view(projected.get_by_test_id("stDataFrame"), "the leaderboard")
    in_view(projected.get_by_text(code, exact=True), "join code")
    in_view(projected.get_by_test_id("stImage").locator("img"), "QR code")
    buttons = [projected.get_by_role("button", name=n) for n in ("Reveal the best",
                                                                 "Close submissions")]  # fmt: skip
    for b in buttons:
        in_view(b, b.first.inner_text())
    labels = projected.locator("[data-testid=stMainBlockContainer] button p")
    assert projected.evaluate(JS_CUT, labels.element_handles()) == []  # no "Reveal the …"
    folded(projected, "About this challenge", "score: loss after")
    assert not projected.get_by_text("Private teacher link").first.is_visible()
