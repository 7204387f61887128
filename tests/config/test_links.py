"""The link reader's text helpers: user and library text shown as text, never as markup."""

from __future__ import annotations

from optlab.config.links import plain, show
from tests.support.apptest import open_page


def test_plain_text_survives_markdown():
    assert plain("e.g. x**2 + y**2") == r"e.g. x\*\*2 + y\*\*2"
    assert plain("<b>hi</b> [link](x) $x$ _i_") == r"\<b\>hi\</b\> \[link\](x) \$x\$ \_i\_"
    assert plain("a\x00b") == "a?b"  # not printable: shown as ?
    assert show("a`b") == "a'b"


def test_the_empty_function_hint_keeps_its_asterisks():
    at = open_page("surfaces", {"surface": "custom", "f": ""})
    shown = " ".join(e.value for e in at.error)
    assert r"x\*\*2 + y\*\*2" in shown  # Markdown shows x**2 + y**2, not "x2 + y2" in bold
