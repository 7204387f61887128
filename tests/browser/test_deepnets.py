"""The Deep nets page in a real browser (Playwright + Chromium against ``streamlit run app.py``):
the backward pass walked with the *Next step* button, a gradient step, and the depth section
driven from the keyboard. Screenshots at 1280×720 (``OPTLAB_SHOTS=dir`` keeps them).

Marked ``browser``: skipped locally without Chromium/Playwright, required in CI.
"""

from __future__ import annotations

import pytest

from tests.support.browser import IDLE, JS_QUERY, shot

pytestmark = pytest.mark.browser

JS_GRAPH_RED = """() => {
    const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
        .find(e => (e.layout.annotations || []).some(a => String(a.text).startsWith('target t')));
    if (!el) return null;
    return el.data.filter(t => t.mode === 'lines' && t.line.color === '#d62728').length;
}"""
JS_LAYER_PLOT = """() => {
    const el = Array.from(document.querySelectorAll('.js-plotly-plot'))
        .find(e => String(((e.layout.yaxis || {}).title || {}).text).startsWith('‖∂L/∂θ_l‖'));
    return el ? el.data[0].y.length : null;
}"""


def idle(pg) -> None:
    pg.wait_for_selector(IDLE, timeout=120_000)


def test_walk_the_backward_pass_and_take_a_gradient_step(page, server, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server}deepnets")
    idle(page)
    page.wait_for_function(f"() => ({JS_GRAPH_RED})() === 0", timeout=60_000)
    for i in range(1, 4):
        page.get_by_role("button", name="Next step ▶").click()
        page.get_by_text(f"Backward pass: step {i} of 14").wait_for(timeout=30_000)
        idle(page)
    page.wait_for_function("() => location.search.includes('bp.walk=3')", timeout=10_000)
    page.wait_for_function(f"() => ({JS_GRAPH_RED})() === 1", timeout=30_000)  # the current edge
    page.get_by_text("∂L/∂v₂ = ∂L/∂y · ∂y/∂v₂ = h₂").first.wait_for(timeout=30_000)
    shot(page, tmp_path, "deepnets-backprop")
    page.get_by_role("button", name="Take a gradient step").click()
    page.get_by_text("Backward pass: step 0 of 14").wait_for(timeout=30_000)
    idle(page)
    page.wait_for_function("() => location.search.includes('bp.k=1')", timeout=10_000)
    assert page.get_by_test_id("stException").count() == 0


def test_depth_section_from_a_link_and_the_keyboard(page, server, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server}deepnets?section=depth&depth=20&act=sigmoid&opt=adam")
    idle(page)
    page.wait_for_function(f"() => ({JS_LAYER_PLOT})() === 21", timeout=120_000)
    assert page.get_by_text("It vanishes").first.is_visible()
    shot(page, tmp_path, "deepnets-depth")
    slider = page.get_by_role("slider", name="Depth L (hidden layers)")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"() => ({JS_LAYER_PLOT})() === 20", timeout=120_000)
    idle(page)
    assert page.evaluate(JS_QUERY).get("depth") == "19"
    assert page.get_by_test_id("stException").count() == 0


def test_overfitting_section(page, server, tmp_path):
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server}deepnets?section=overfit")
    idle(page)
    page.get_by_text("The fitted function over the data").first.wait_for(timeout=120_000)
    page.get_by_text("regularised: validation − training loss").wait_for(timeout=120_000)
    idle(page)
    shot(page, tmp_path, "deepnets-overfit")
    assert page.get_by_test_id("stException").count() == 0
