"""Browser-test support: a ``streamlit run app.py`` server, Debian's Chromium driven by
Playwright, and the page probes the browser tests share (fixtures ``server``, ``browser``,
``page``; ``tests/browser/conftest.py`` makes them available to every browser test).

Without Chromium (or Playwright) the tests skip locally and fail when ``CI=true``: CI must run
them.
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

ROOT = Path(__file__).resolve().parents[2]
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


def require_browser():
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


def free_port() -> int:
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
    require_browser()
    port = free_port()
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
