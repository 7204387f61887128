"""A server restart in the middle of a class: the open page reconnects by itself and the URL
brings back the same view (marked ``browser``; Chromium + Playwright as in ``test_browser``).

The student opens a shared link and moves Adam's learning rate (the app writes it into the
URL); then the server process is killed (SIGKILL, as in a crash) and started again on the
same port. Streamlit's frontend keeps retrying and reconnects on its own, but to a server
session that never ran the page and drops the sliders' fragment reruns; so the page reloads
itself once reconnected (``optlab.shell.setup.reload_on_reconnect``) and the new session builds
the view from the URL. The first move after that must count.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest

from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE,
    JS_LAB,
    JS_PATHS,
    LR_SLIDER,
    free_port,
    require_browser,
    start_server,
    stop_server,
)

pytestmark = pytest.mark.browser

LINK = "adam.lr=0.05&steps=150"
JS_QUERY = "() => Object.fromEntries(new URLSearchParams(location.search))"


def wait_rendered(page, timeout_ms: int = 90_000) -> None:
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_function(f"() => !!({JS_LAB})", timeout=timeout_ms)


def lr_value(page) -> str | None:
    return page.get_by_role("slider", name=LR_SLIDER).get_attribute("aria-valuetext")


def move_lr(page, current: str) -> str:
    """Press → on Adam's learning rate and wait until the URL shows a new value."""
    page.get_by_role("slider", name=LR_SLIDER).focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "v => new URLSearchParams(location.search).get('adam.lr') !== v",
        arg=current,
        timeout=60_000,
    )
    wait_rendered(page)
    return lr_value(page)


@contextmanager
def restarted_page(tmp_path):
    """A page that loaded ``LINK``, moved the lr once, then lived through a server crash and
    restart and has reconnected. Yields ``(page, lr, query, paths)`` as before the crash."""
    require_browser()
    from playwright.sync_api import sync_playwright

    port = free_port()
    proc = start_server(port, tmp_path / "first.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 1100})
                sockets = []
                # (a lambda: Playwright cannot wrap a builtin method as a handler)
                page.on("websocket", lambda ws: sockets.append(ws))  # noqa: PLW0108
                page.goto(f"http://127.0.0.1:{port}/?{LINK}")
                wait_rendered(page)
                assert lr_value(page) == "0.05"
                moved = move_lr(page, "0.05")
                query = page.evaluate(JS_QUERY)
                assert moved != "0.05"
                assert query == {"adam.lr": moved, "steps": "150"}
                paths = page.evaluate(JS_PATHS)
                page.evaluate("() => { window.optlabBeforeCrash = true; }")

                proc.kill()  # a crash, not a clean shutdown
                proc.wait()
                opened = len(sockets)
                slider = page.get_by_role("slider", name=LR_SLIDER)
                deadline = time.monotonic() + 30
                while not sockets[-1].is_closed() and time.monotonic() < deadline:
                    page.wait_for_timeout(100)
                assert sockets[-1].is_closed(), "the page did not notice the server going away"

                proc = start_server(port, tmp_path / "second.log")
                # Reconnected: a new open websocket, and the widgets (disabled while
                # disconnected) are enabled again.
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline and not (
                    len(sockets) > opened and not sockets[-1].is_closed() and slider.is_enabled()
                ):
                    page.wait_for_timeout(200)
                assert len(sockets) > opened, "the page did not reconnect within 90 s"
                assert not sockets[-1].is_closed(), "the new websocket closed again"
                assert slider.is_enabled(), "the widgets stayed disabled after reconnecting"
                # ...and reloaded itself (a reload forgets the marker set before the crash).
                page.wait_for_function("() => !window.optlabBeforeCrash", timeout=60_000)
                wait_rendered(page)
                yield page, moved, query, paths
            finally:
                browser.close()
    finally:
        stop_server(proc)


def test_page_reconnects_after_a_server_restart_and_the_url_restores_the_view(tmp_path):
    with restarted_page(tmp_path) as (page, moved, query, paths):
        # The reloaded page, built by the new server from the URL alone, is the same view.
        assert lr_value(page) == moved
        assert page.evaluate(JS_QUERY) == query
        assert page.evaluate(JS_PATHS) == paths
        steps = page.get_by_role("slider", name="Steps").get_attribute("aria-valuetext")
        assert steps == "150"
        assert page.get_by_test_id("stException").count() == 0
        # The restarted server is fully usable: the first move reruns the race (Streamlit
        # would drop it as a fragment rerun of an unknown session without the reload).
        again = move_lr(page, moved)
        assert again != moved
        assert page.evaluate(JS_QUERY) == {"adam.lr": again, "steps": "150"}
        assert page.evaluate(JS_PATHS) != paths
