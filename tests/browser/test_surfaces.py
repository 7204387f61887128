"""The Surfaces page in a real browser: Playwright drives Debian's Chromium against
``streamlit run app.py`` (fixtures and probes from ``tests.support.browser``).

The race is the live component (``optlab/shell/race``): its probes are ``window.__optlabRace``
(draw counter, the paths last drawn, input → frame timestamps, commits) and its element's
``data`` (the drawn traces in plotly's shape, which the shared probes read)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.support.browser import (
    IDLE,
    JS_LAB,
    JS_QUERY,
    LR_SLIDER,
    open_app,
    shot,
)

pytestmark = pytest.mark.browser

JS_RACE = "() => window.__optlabRace"
JS_DRAWN = "() => JSON.stringify(window.__optlabRace.lastPaths)"


def count_sent(page) -> list[int]:
    """A counter of the messages the page sends the server (a rerun request is one): the
    list's length grows by one per websocket frame sent."""
    sent: list[int] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda _: sent.append(1)))
    return sent


def slider_point(page, name: str, fraction: float) -> tuple[float, float]:
    box = page.get_by_role("slider", name=name).bounding_box()
    return box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2


def test_dragging_the_lr_redraws_during_the_drag_with_no_rerun(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    sent = count_sent(page)
    try:
        open_app(page, server)
        slider = page.get_by_role("slider", name=LR_SLIDER)
        slider.scroll_into_view_if_needed()
        before = page.evaluate(JS_DRAWN)
        x, y = slider_point(page, LR_SLIDER, 0.62)
        page.mouse.move(x, y)
        page.mouse.down()
        frames_at_down, seen = len(sent), {before}
        for k in range(1, 9):
            page.mouse.move(*slider_point(page, LR_SLIDER, 0.62 - 0.03 * k))
            page.wait_for_timeout(60)
            seen.add(page.evaluate(JS_DRAWN))
        during = len(sent) - frames_at_down
        assert len(seen) >= 4, "the path did not follow the drag"
        assert during == 0, f"{during} messages went to the server during the drag"
        assert page.evaluate("() => window.__optlabRace.commits") == 0
        value = slider.get_attribute("aria-valuetext")
        page.mouse.up()
        page.wait_for_function(
            "v => new URLSearchParams(location.search).get('adam.lr') === v", arg=value,
            timeout=30_000,
        )  # fmt: skip
        page.wait_for_selector(IDLE)
        assert len(sent) > frames_at_down  # the release sent the chosen value
        drawn = page.evaluate(JS_DRAWN)
        assert drawn != before
        shot(page, tmp_path, "after-drag")
        fresh = browser.new_context(viewport={"width": 1500, "height": 1100})
        other = fresh.new_page()
        try:
            open_app(other, page.url)
            again = other.get_by_role("slider", name=LR_SLIDER)
            assert again.get_attribute("aria-valuetext") == value
            assert other.evaluate(JS_DRAWN) == drawn
        finally:
            fresh.close()
    finally:
        context.close()


def test_keyboard_moves_the_lr_one_grid_step_and_the_url_follows(page, server, tmp_path):
    open_app(page, server)
    before = page.evaluate(JS_DRAWN)
    slider = page.get_by_role("slider", name=LR_SLIDER)
    value = slider.get_attribute("aria-valuetext")
    slider.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate(JS_DRAWN) != before  # redrawn at once, in the browser
    assert slider.get_attribute("aria-valuetext") == "0.12"  # one grid step above 0.1
    assert value == "0.1"
    page.wait_for_function("() => location.search.includes('adam.lr=0.12')", timeout=30_000)
    page.wait_for_selector(IDLE)
    assert slider.evaluate("el => el === document.activeElement")  # focus kept by the rerun
    page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => !location.search.includes('adam.lr')", timeout=30_000)
    assert page.evaluate(JS_DRAWN) == before
    assert shot(page, tmp_path, "after-keyboard").stat().st_size > 10_000


def test_play_advances_the_animation_and_keeps_the_background(page, server, tmp_path):
    open_app(page, server)
    play = page.get_by_role("button", name="Play the animation")
    play.click()
    labels = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(labels) < 4:
        labels.add(page.locator(".olr-steplabel").inner_text())
        time.sleep(0.1)
    shot(page, tmp_path, "playing")
    assert len(labels) >= 4, f"the step did not advance: {labels}"
    # The background is drawn on every frame: the map's pixels under the paths are not blank.
    blank = page.evaluate(
        "() => { const c = document.querySelector('.olr-map'); const d = c.getContext('2d')"
        ".getImageData(c.width * 0.3, c.height * 0.8, 40, 40).data;"
        " let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i] + d[i+1] + d[i+2];"
        " return s === 0 || s === 255 * 3 * (d.length / 4); }"
    )
    assert not blank, "the surface image vanished during play"


def test_a_diverging_lr_says_where_and_keeps_drawing(page, server, tmp_path):
    open_app(page, f"{server}?opt=gd,adam&gd.lr=2")
    note = page.locator(".olr-note.olr-bad")
    note.first.wait_for(timeout=30_000)
    assert "diverged at step" in note.first.inner_text()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    draws = page.evaluate("() => window.__optlabRace.draws")
    gd = page.get_by_role("slider", name="GD · learning rate η")
    gd.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")  # further into divergence
    assert page.evaluate("() => window.__optlabRace.draws") >= draws + 5
    assert not errors
    assert "diverged at step" in page.locator(".olr-note.olr-bad").first.inner_text()
    shot(page, tmp_path, "diverged")


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
        "() => { const r = document.querySelector('.olr-map').getBoundingClientRect();"
        " return [r.x, r.y, r.width, r.height]; }"
    )  # the map canvas
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
