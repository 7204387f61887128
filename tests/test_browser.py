"""The app in a real browser: Playwright drives Debian's Chromium against ``streamlit run app.py``.

Marked ``browser``. Without Chromium (or Playwright) the tests skip locally and fail when
``CI=true``: CI must run them.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from bench.servers import streamlit_command

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run",
]  # fmt: skip
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"
LR_SLIDER = "Adam · learning rate η"
SHOTS = os.environ.get("OPTLAB_SHOTS")  # also copy screenshots here (to look at them)

# The lab chart is the plot holding the invisible click grid.
JS_LAB = "Array.from(document.querySelectorAll('.js-plotly-plot'))" \
         ".find(el => (el.data || []).some(t => t.name === 'click-grid'))"  # fmt: skip
JS_PATHS = f"""() => {{
    const el = {JS_LAB};
    if (!el) return null;
    return JSON.stringify(el.data.filter(t => t.name && t.name !== 'click-grid'
        && !t.name.startsWith('current') && t.name !== 'cursor').map(t => [t.x, t.y]));
}}"""
JS_PLAY_STATE = f"""() => {{
    const el = {JS_LAB};
    if (!el) return null;
    return {{active: el._fullLayout.sliders[0].active,
             images: el.querySelectorAll('.imagelayer image').length,
             points: JSON.stringify(el.data.filter(t => (t.name || '').startsWith('current'))
                                           .map(t => [t.x, t.y]))}};
}}"""

JS_QUERY = "() => Object.fromEntries(new URLSearchParams(location.search))"


def _require_browser():
    why = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        why = "Playwright is not installed (pip install playwright)"
    if why is None and not Path(CHROMIUM).exists():
        why = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if why:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser tests must run in CI: {why}")
        pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log: Path) -> subprocess.Popen:
    """``streamlit run app.py`` on ``port`` (output to ``log``); returns once it answers."""
    cmd = streamlit_command(port)
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                if r.read().strip() == b"ok":
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("streamlit did not start within 90 s")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    _require_browser()
    port = _free_port()
    proc = start_server(port, tmp_path_factory.mktemp("server") / "streamlit.log")
    yield f"http://127.0.0.1:{port}/"
    stop_server(proc)


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    pg = context.new_page()
    yield pg
    context.close()


def open_app(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(IDLE, timeout=90_000)
    page.wait_for_function(f"() => !!({JS_LAB})", timeout=90_000)


def paths(page) -> list:
    return json.loads(page.evaluate(JS_PATHS))


def shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(SHOTS) / path.name)
    return path


# ---------------------------------------------------------------------------------------------


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
