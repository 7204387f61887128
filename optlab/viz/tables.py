"""Results tables for people: every cell is text, numbers to four significant figures, and a
diverged run says so instead of showing ``2.4093324716474174e+25`` (Streamlit would also
flag such a number with a "larger than 2^53" triangle)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence

MISSING = "—"


def number(v) -> str:
    """``v`` to four significant figures; ``None`` / NaN: a dash, ±inf: ∞ with its sign."""
    if v is None:
        return MISSING
    if isinstance(v, bool | str):
        return str(v)
    if isinstance(v, int):
        return str(v)
    v = float(v)
    if math.isnan(v):
        return MISSING
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.4g}"


def people_rows(
    rows: Sequence[Mapping],
    diverged: Callable[[Mapping], str | None] = lambda row: None,
    gone: Sequence[str] = (),
    formats: Mapping[str, Callable[[object], str]] | None = None,
) -> list[dict[str, str]]:
    """``rows`` with every value as text. For a row where ``diverged(row)`` returns a text
    (e.g. "diverged at step 12"), the columns in ``gone`` (what a diverged run has no
    meaningful value for) show that text instead of a number. ``formats`` overrides the
    formatting of single columns."""
    formats = formats or {}
    out = []
    for row in rows:
        why = diverged(row)
        out.append(
            {
                k: why if why is not None and k in gone else formats.get(k, number)(v)
                for k, v in row.items()
            }
        )
    return out


# What Markdown (with Streamlit's additions: ``$`` maths, ``:red[…]``, ``:emoji:``) or HTML
# could read as syntax: each is backslash-escaped.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def literal(text: object) -> str:
    """``text`` made inert for ``st.markdown``: every Markdown/HTML special character escaped
    (so ``|`` cannot split a table cell, and ``*``, ``$``, ``:red[`` or ``<b>`` show as
    typed), line breaks as spaces. For user text (names, titles) and table cells alike."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def markdown(rows: Sequence[Mapping[str, str]]) -> str:
    """``rows`` (``people_rows``' output) as a Markdown table, every cell literal text. Drawn
    with ``st.markdown``, it takes the page's font (a projector's too) and needs none of the
    data grid's code in the browser, and a re-sent table is a few hundred bytes."""
    if not rows:
        return ""
    columns = list(rows[0])
    lines = [
        "| " + " | ".join(literal(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(literal(r.get(c, MISSING)) for c in columns) + " |" for r in rows),
    ]
    return "\n".join(lines)
