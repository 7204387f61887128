"""Projector mode at 1280×720 (``?present=1``): the race of the Surfaces and the Data & SGD
pages — its map, its loss curves, its Play control and the learning-rate sliders — fits above
the fold with no scrolling, and the page's explanatory text is folded into an expander."""

from __future__ import annotations

import pytest

from tests.support.browser import IDLE, JS_LAB, shot

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
