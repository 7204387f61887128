"""Class mode in a real browser: a teacher creates a class, three students join by the link,
tune and submit from the lab; the teacher's self-refreshing board shows three entries and
three paths (screenshot at 1280×720: set ``OPTLAB_SHOTS`` to keep it)."""

from __future__ import annotations

import os
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.browser import (
    IDLE,
    free_port,
    require_browser,
    shot,
    start_server,
    stop_server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The board's map: the plot whose title counts the paths.
JS_BOARD = """() => {
    const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
        .find(p => ((p.layout || {}).title || {}).text?.includes('paths'));
    if (!el) return null;
    return el.data.filter(t => t.mode === 'lines').map(t => t.name);
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app with a class database of its own (replaces the shared ``server`` fixture, so
    the shared ``browser`` fixture drives this one)."""
    require_browser()
    data = tmp_path_factory.mktemp("class-data")
    saved = os.environ.get("OPTLAB_DATA_DIR")
    os.environ["OPTLAB_DATA_DIR"] = str(data)
    port = free_port()
    try:
        proc = start_server(port, data / "streamlit.log")
    finally:
        if saved is None:
            os.environ.pop("OPTLAB_DATA_DIR", None)
        else:
            os.environ["OPTLAB_DATA_DIR"] = saved
    yield f"http://127.0.0.1:{port}/"
    stop_server(proc)


def scroll_to(page, title: str) -> None:
    """Scroll the plot whose title holds ``title`` into view (the board redraws every 2 s,
    so no element handle is kept)."""
    page.evaluate(
        """t => Array.from(document.querySelectorAll('.js-plotly-plot'))
            .find(p => ((p.layout || {}).title || {}).text?.includes(t))
            ?.scrollIntoView({block: 'center'})""",
        title,
    )
    page.wait_for_timeout(700)


def idle(page) -> None:
    page.wait_for_selector(IDLE, timeout=90_000)


def create_class(page, url: str) -> str:
    page.goto(url + "classroom")
    idle(page)
    page.get_by_label("Title (shown on the board)").fill("Ravine race")
    page.get_by_role("button", name="Create the class").click()
    page.get_by_text("Join code:").wait_for(timeout=60_000)
    q = parse_qs(urlsplit(page.url).query)
    assert "teacher" in q
    return q["class"][0]


def student(browser, url: str, code: str, name: str, moves: int) -> str:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    page.goto(f"{url}classroom?join={code}")
    idle(page)
    page.get_by_text(f"You joined class {code}").wait_for(timeout=30_000)
    page.get_by_role("link", name=re.compile("Open the challenge")).click()
    page.get_by_role("button", name="Submit to the class").wait_for(timeout=90_000)
    idle(page)
    # Tune: the first learning-rate slider of the lab (the challenge's GD), a few steps down.
    slider = page.get_by_role("slider", name=re.compile("learning rate")).first
    slider.focus(timeout=30_000)
    for _ in range(moves):
        slider.press("ArrowLeft")
    page.wait_for_timeout(800)
    idle(page)
    page.get_by_label("Your display name").fill(name)
    page.get_by_label("Your display name").press("Enter")
    idle(page)
    page.get_by_role("button", name="Submit to the class").click()
    page.get_by_text("Submitted:").wait_for(timeout=60_000)
    text = page.get_by_text("Submitted:").inner_text()
    ctx.close()
    return text


def test_three_students_on_the_board(browser, server, tmp_path):
    ctx = browser.new_context(viewport={"width": 1280, "height": 720})
    teacher = ctx.new_page()
    code = create_class(teacher, server)
    teacher.get_by_text("No submissions yet").wait_for(timeout=30_000)
    names = ["Ada <b>", "Grace", "Alan *"]
    for i, name in enumerate(names):
        assert "score" in student(browser, server, code, name, moves=2 * i)
    teacher.get_by_text("Board · 3 students").wait_for(timeout=30_000)  # refreshed by itself
    teacher.wait_for_function(f"() => ({JS_BOARD})()?.length === 3", timeout=30_000)
    paths = teacher.evaluate(JS_BOARD)
    assert sorted(paths) == sorted(["Ada &lt;b&gt;", "Grace", "Alan *"])
    scroll_to(teacher, "paths")
    shot(teacher, tmp_path, "class-board")
    teacher.get_by_role("button", name="Reveal the best").click()
    teacher.get_by_text("Best:").wait_for(timeout=30_000)
    teacher.wait_for_function("() => document.body.innerText.includes('Best:')")
    scroll_to(teacher, "sweep")
    shot(teacher, tmp_path, "class-sweep")
    ctx.close()
