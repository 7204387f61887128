"""The scenario gallery in a real browser: a card's *Open* link lands on the surfaces page with
the scenario's exact setup (URL and widgets) and its explanation, even after the user had
changed the surfaces page in the same session.

Marked ``browser``; reuses the server and Chromium fixtures of ``test_browser``.
"""

from __future__ import annotations

import pytest

from optlab.config import surfaces_link
from optlab.scenarios import SCENARIOS
from tests.support.browser import IDLE, JS_LAB, JS_QUERY, shot

pytestmark = pytest.mark.browser

SCENARIO = SCENARIOS["momentum-ravine"]


def test_open_link_lands_on_the_surfaces_page_with_the_scenario(browser, server, tmp_path):
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    page = context.new_page()
    try:
        # The user first plays with the surfaces page...
        page.goto(f"{server}?adam.lr=0.3&steps=150")
        page.wait_for_selector(IDLE, timeout=90_000)
        # ... then opens the gallery from the sidebar and a card's link.
        page.get_by_role("link", name="Scenarios").click()
        page.get_by_role("heading", name=SCENARIO.title).wait_for(timeout=60_000)
        page.wait_for_selector(IDLE, timeout=60_000)
        gallery = shot(page, tmp_path, "gallery")
        card = (
            page.get_by_test_id("stVerticalBlock")
            .filter(has=page.get_by_role("heading", name=SCENARIO.title))
            .last
        )
        link = card.get_by_role("link", name="Open")
        assert f"scenario={SCENARIO.key}" in link.get_attribute("href")
        link.click()
        page.wait_for_function("() => location.search.includes('momentum.lr')", timeout=60_000)
        page.wait_for_function(f"() => !!({JS_LAB})", timeout=90_000)
        page.wait_for_selector(IDLE, timeout=90_000)

        # The app's own form of the scenario's query (defaults dropped), and the scenario.
        assert page.evaluate(JS_QUERY) == {
            **surfaces_link.to_query(surfaces_link.parse_query(SCENARIO.query)[0]),
            "scenario": SCENARIO.key,
        }
        for name, value in (("GD · learning rate η", "0.015"),
                            ("Momentum · learning rate η", "0.015"),
                            ("condition number κ", "100"), ("Steps", "200")):  # fmt: skip
            assert page.get_by_role("slider", name=name).get_attribute("aria-valuetext") == value
        tags = page.locator("[data-testid=stMultiSelect] [data-tag]")
        assert [t.get_attribute("aria-label") for t in tags.all()] == ["GD", "Momentum"]
        sel = page.get_by_role("combobox", name="Surface")
        assert sel.input_value() == "Ill-conditioned ravine"
        assert page.get_by_text(SCENARIO.question).is_visible()  # the explanation came along
        assert page.get_by_test_id("stAlert").count() == 0  # no "ignored" notice
        assert page.get_by_test_id("stException").count() == 0
        opened = shot(page, tmp_path, "scenario-opened")
        assert gallery.stat().st_size > 10_000
        assert opened.stat().st_size > 10_000
        # A reload (or the copied address in a new tab) keeps the setup and the explanation.
        page.reload()
        page.wait_for_function(f"() => !!({JS_LAB})", timeout=90_000)
        page.wait_for_selector(IDLE, timeout=90_000)
        page.get_by_text(SCENARIO.question).wait_for(timeout=30_000)
        assert page.evaluate(JS_QUERY)["scenario"] == SCENARIO.key
        shot(page, tmp_path, "scenario-reloaded")
    finally:
        context.close()
