"""The share box follows every change, the "Inside the optimizer" panel's included."""

from __future__ import annotations

from tests.support.apptest import open_page


def share_link(at) -> str:
    links = [c.value for c in at.code if "?" in c.value or c.value.startswith("http")]
    assert links, "no share link drawn"
    return links[-1]


def test_the_share_box_follows_the_inside_the_optimizer_panel():
    at = open_page("surfaces", {"steps": "50", "at": "1"})  # a link with a step opens the panel
    at.slider(key="at").set_value(3).run()
    assert not at.exception
    assert at.query_params["at"] in ("3", ["3"])
    assert "at=3" in share_link(at)
