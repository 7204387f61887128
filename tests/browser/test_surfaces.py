"""The Surfaces page in a real browser: Playwright drives Debian's Chromium against
``streamlit run app.py`` (fixtures and probes from ``tests.support.browser``)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.support.browser import (
    IDLE,
    JS_LAB,
    JS_PATHS,
    JS_PLAY_STATE,
    JS_QUERY,
    LR_SLIDER,
    open_app,
    paths,
    shot,
)

pytestmark = pytest.mark.browser


def test_keyboard_moves_the_lr_slider_and_the_chart_and_url_follow(page, server, tmp_path):
    open_app(page, server)
    before = paths(page)
    slider = page.get_by_role("slider", name=LR_SLIDER)
    value = slider.get_attribute("aria-valuetext")
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        f"before => {{ const d = ({JS_PATHS})(); return d !== null && d !== before; }}",
        arg=json.dumps(before),
        timeout=30_000,
    )
    page.wait_for_selector(IDLE)
    assert slider.get_attribute("aria-valuetext") != value
    page.wait_for_function("() => location.search.includes('adam.lr=')", timeout=10_000)
    assert paths(page) != before
    assert shot(page, tmp_path, "after-keyboard").stat().st_size > 10_000


def test_play_advances_the_animation_and_keeps_the_background(page, server, tmp_path):
    open_app(page, server)
    start = page.evaluate(JS_PLAY_STATE)
    assert start["images"] == 1
    page.locator(".updatemenu-button").filter(has_text="Play").first.click()
    seen, images = {start["active"]}, []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(seen) < 4:
        state = page.evaluate(JS_PLAY_STATE)
        seen.add(state["active"])
        images.append(state["images"])
        time.sleep(0.1)
    shot(page, tmp_path, "playing")
    assert len(seen) >= 4, f"the scrubber did not advance: {seen}"
    assert page.evaluate(JS_PLAY_STATE)["points"] != start["points"]
    assert images
    assert min(images) == 1, "the surface image vanished during play"


def test_shared_link_restores_the_same_view(browser, server, tmp_path):
    query = "opt=gd,adam&adam.lr=0.05&gd.lr=0.2&steps=300&sched=cosine&clip=norm&clip_at=2"
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    try:
        open_app(page, f"{server}?{query}")
        assert page.get_by_role("slider", name=LR_SLIDER).get_attribute("aria-valuetext") == "0.05"
        gd = page.get_by_role("slider", name="GD · learning rate η")
        assert gd.get_attribute("aria-valuetext") == "0.2"
        assert page.get_by_role("slider", name="Steps").get_attribute("aria-valuetext") == "300"
        tags = page.locator("[data-testid=stMultiSelect] [data-tag]")
        assert [t.get_attribute("aria-label") for t in tags.all()] == ["GD", "Adam"]
        assert page.get_by_role("radio", name="global norm").is_checked()
        sched = page.get_by_role("combobox", name="Learning-rate schedule")
        assert sched.input_value() == "Cosine decay"
        assert page.get_by_test_id("stAlert").count() == 0  # no "ignored" notice
        # The app keeps the link's parameters in the address bar.
        assert page.evaluate(JS_QUERY) == dict(p.split("=") for p in query.split("&"))
        shot(page, tmp_path, "shared-link")
    finally:
        context.close()


def test_clicking_the_map_sets_the_start(page, server):
    open_app(page, server)
    x_input = page.get_by_role("spinbutton", name="start x")
    before = x_input.input_value()
    x, y, w, h = page.evaluate(
        f"() => {{ const r = ({JS_LAB}).querySelector('.nsewdrag').getBoundingClientRect();"
        " return [r.x, r.y, r.width, r.height]; }"
    )  # the map's plot area (the first subplot)
    page.mouse.move(x + w * 0.8, y + h * 0.25)
    page.mouse.click(x + w * 0.8, y + h * 0.25)
    page.wait_for_function(
        "v => { const el = document.querySelector('input[aria-label=\"start x\"]');"
        " return el && el.value !== v; }",
        arg=before,
        timeout=30_000,
    )
    page.wait_for_selector(IDLE)
    assert float(x_input.input_value()) > 0
    assert "start" in page.evaluate(JS_QUERY)


def test_garbage_link_shows_a_notice(page, server):
    open_app(page, f"{server}?steps=-5&adam.lr=abc&surface=%F0%9F%92%A3")
    notice = page.get_by_test_id("stAlert").filter(has_text="ignored")
    assert notice.count() == 1
    assert page.get_by_test_id("stException").count() == 0


def test_configuration_survives_a_visit_to_the_about_page(page, server):
    open_app(page, f"{server}?adam.lr=0.3&steps=150")
    page.get_by_role("link", name="About").click()
    page.get_by_role("heading", name="About optlab").wait_for(timeout=30_000)
    page.get_by_role("link", name="Surfaces").click()
    page.wait_for_function(f"() => !!({JS_LAB})", timeout=60_000)
    page.wait_for_selector(IDLE)
    assert page.get_by_role("slider", name=LR_SLIDER).get_attribute("aria-valuetext") == "0.3"
    assert page.get_by_role("slider", name="Steps").get_attribute("aria-valuetext") == "150"
    assert page.evaluate(JS_QUERY) == {"adam.lr": "0.3", "steps": "150"}


def test_downloads(page, server, tmp_path):
    open_app(page, server)
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Trajectories (CSV)").click()
    csv = Path(info.value.path()).read_text()
    assert csv.count("\n") > 100
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name="Interactive figure (HTML)").click()
    assert "plotly" in Path(info.value.path()).read_text()[:200_000].lower()
    page.get_by_role("button", name="Build animated GIF").click()
    gif = page.get_by_role("button", name="Animation (GIF)")
    gif.wait_for(timeout=120_000)
    with page.expect_download(timeout=60_000) as info:
        gif.click()
    assert Path(info.value.path()).read_bytes()[:6] in (b"GIF87a", b"GIF89a")
    shot(page, tmp_path, "downloads")
