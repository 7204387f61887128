"""The Data & SGD page and a custom-function link in a real browser (Playwright + Chromium
against ``streamlit run app.py``; the server and browser fixtures come from ``test_browser``).

Marked ``browser``: skipped locally without Chromium/Playwright, required in CI.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from tests.support.browser import (
    IDLE,
    JS_LAB,
    JS_QUERY,
    shot,
)

pytestmark = pytest.mark.browser

# The live race's probes (optlab/shell/race/race.js): the band drawn per optimizer (its
# standard deviation over the seeds at each drawn step) and the paths drawn.
JS_LOSS = "(window.__optlabRace || {}).draws > 0 && window.__optlabRace.bands['GD']"
JS_LOSS_DATA = "() => JSON.stringify(window.__optlabRace.bands)"
CUSTOM_F = "x**2+10*sin(y)"


def open_data_page(pg, url: str) -> None:
    pg.goto(url)
    pg.wait_for_selector(IDLE, timeout=120_000)
    pg.wait_for_function(f"() => !!({JS_LOSS})", timeout=120_000)


def test_batch_slider_from_sgd_to_full_batch_with_the_keyboard(page, server, tmp_path):
    open_data_page(page, f"{server}data?opt=gd&batch=1")
    assert page.get_by_text("SGD", exact=True).is_visible()
    slider = page.get_by_role("slider", name="Batch size B")
    assert slider.get_attribute("aria-valuetext") == "1"
    before = page.evaluate(JS_LOSS_DATA)
    slider.focus()
    page.keyboard.press("End")  # the last stop: the whole data set
    page.wait_for_function(
        f"before => {{ const d = ({JS_LOSS_DATA})(); return d !== null && d !== before; }}",
        arg=before,
        timeout=60_000,
    )
    page.wait_for_selector(IDLE)
    assert slider.get_attribute("aria-valuetext") == "all 200"
    assert page.get_by_text("full-batch GD", exact=True).is_visible()
    page.wait_for_function("() => location.search.includes('batch=full')", timeout=10_000)
    # Full batch and no gradient noise: every seed takes the same path, the band collapses.
    band = json.loads(page.evaluate(JS_LOSS_DATA))["GD"]
    assert max(band) == pytest.approx(0, abs=1e-5)
    assert page.get_by_test_id("stException").count() == 0
    assert shot(page, tmp_path, "data-full-batch").stat().st_size > 10_000


def test_dragging_an_lr_moves_the_bands_with_no_rerun(page, server, tmp_path):
    """The K-seed bands and the mean path follow GD's learning rate during a mouse drag; no
    message reaches the server until the release, after which the URL holds the value."""
    sent: list[int] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(1)))
    open_data_page(page, f"{server}data?opt=gd&batch=4")
    slider = page.get_by_role("slider", name="GD · learning rate η")
    slider.scroll_into_view_if_needed()
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    at = slider.evaluate("el => Number(el.value) / el.max")
    x = box["x"] + 8 + (box["width"] - 16) * at
    before, seen = page.evaluate(JS_LOSS_DATA), set()
    page.mouse.move(x, y)
    page.mouse.down()
    n_sent = len(sent)
    for k in range(1, 8):
        page.mouse.move(x - 12 * k, y)
        page.wait_for_timeout(60)
        seen.add(page.evaluate(JS_LOSS_DATA))
    assert len(sent) == n_sent, "the drag reached the server"
    assert len(seen - {before}) >= 3, "the bands did not follow the drag"
    value = slider.get_attribute("aria-valuetext")
    page.mouse.up()
    page.wait_for_function(
        "v => new URLSearchParams(location.search).get('gd.lr') === v", arg=value, timeout=30_000
    )
    page.wait_for_selector(IDLE)
    assert page.get_by_test_id("stException").count() == 0
    shot(page, tmp_path, "data-after-drag")


def test_custom_function_link_is_restored(page, server, tmp_path):
    query = f"surface=custom&f={quote(CUSTOM_F, safe='')}&bounds=-4,4,-4,6&minima=0,0&opt=gd"
    page.goto(f"{server}?{query}")
    page.wait_for_selector(IDLE, timeout=120_000)
    page.wait_for_function(f"() => !!({JS_LAB})", timeout=120_000)
    assert page.get_by_role("textbox", name="f(x, y) =").input_value() == CUSTOM_F
    assert page.get_by_role("combobox", name="Surface").input_value() == "Your function f(x, y)"
    assert page.get_by_role("textbox", name="Known minima (optional)").input_value() == "0,0"
    assert page.get_by_test_id("stAlert").count() == 0
    # The address bar keeps the function (default bounds are dropped, as every default is).
    assert page.evaluate(JS_QUERY) == {
        "surface": "custom", "f": CUSTOM_F, "minima": "0,0", "opt": "gd",
    }  # fmt: skip
    stars = page.evaluate(
        f"() => ({JS_LAB}).data.filter(t => t.name === 'global minimum').map(t => [t.x, t.y])"
    )
    assert stars == [[[0], [0]]]
    shot(page, tmp_path, "custom-function")


def test_refused_function_link_explains_itself(page, server):
    page.goto(f"{server}?surface=custom&f={quote('__import__(1)', safe='')}")
    page.wait_for_selector(IDLE, timeout=120_000)
    error = page.get_by_test_id("stAlert").filter(has_text="Your function cannot be used")
    error.wait_for(timeout=30_000)
    assert "__import__" in error.inner_text()
    assert "position 0" in error.inner_text()
    assert page.get_by_test_id("stException").count() == 0
