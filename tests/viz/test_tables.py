"""Results tables for people (optlab.viz.tables)."""

from __future__ import annotations

import math

from optlab.viz.tables import markdown, number, people_rows
from tests.support.apptest import table_cells


def test_numbers_read_as_four_significant_figures():
    assert number(2.4093324716474174e25) == "2.409e+25"
    assert number(0.000123456) == "0.0001235"
    assert number(3) == "3"
    assert number(None) == number(math.nan) == "—"
    assert number(math.inf) == "∞"
    assert number(-math.inf) == "−∞"


def test_a_diverged_row_says_so_in_the_columns_it_has_no_value_for():
    rows = [
        {"optimizer": "GD", "final loss": 1.5e-7, "best": 1e-9, "status": "ok"},
        {"optimizer": "Adam", "final loss": 2.4e25, "best": 0.3, "status": "diverged at step 7"},
    ]
    shown = people_rows(
        rows, diverged=lambda r: None if r["status"] == "ok" else r["status"], gone=["final loss"]
    )
    assert shown[0] == {"optimizer": "GD", "final loss": "1.5e-07", "best": "1e-09", "status": "ok"}
    assert shown[1]["final loss"] == "diverged at step 7"
    assert shown[1]["best"] == "0.3"


def test_a_markdown_table_shows_every_cell_as_typed():
    tricky = "a|b *c* $x$ :red[y] <b>z</b> \\ & _u_ ~s~ `c`"
    text = markdown([{"optimizer": "GD", "note": tricky}, {"optimizer": "Adam", "note": "1.5e-05"}])
    head, rule, *rows = text.splitlines()
    assert table_cells(head) == ["optimizer", "note"]
    assert rule == "|---|---|"
    assert [table_cells(r) for r in rows] == [["GD", tricky], ["Adam", "1.5e-05"]]
    # nothing Markdown or HTML would act on is left unescaped
    for syntax in "*$:[<|`&_~":
        assert f"\\{syntax}" in rows[0]
    assert markdown([]) == ""
