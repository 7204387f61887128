"""The surfaces page's "Your function" controls: ``f(x, y)`` as text, its bounds and known
minima, and how a refused expression is shown (the parser's message, token and position, in
place of a traceback).

The text is parsed by :mod:`optlab.core.expr` (a whitelist over the syntax tree; nothing is ever
evaluated as Python). A refused text stays in the configuration and the link, so it can be
shown, shared and fixed; the page then draws an empty state instead of the race.
"""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from optlab.config.links import fmt_num, plain, show
from optlab.config.surfaces import Config, Custom
from optlab.config.surfaces_link import MAX_COORD, parse_minima
from optlab.core.expr import MAX_LENGTH, ExprError
from optlab.shell.state import force, seed

F_HELP = (
    "Any expression in x and y: + - * / **, numbers, pi, e, and sin cos tan exp log sqrt abs "
    "tanh sinh cosh arctan arcsin arccos log10 log2 min max atan2. Example: "
    "`x**2 + 10*sin(y) + 0.5*y**2`. Press Enter to apply."
)
CAPTION = "Typed by you, read by optlab's safe expression parser (no Python code runs)."
MINIMA_HELP = "Points `x,y` separated by `;` (drawn as ★ and used for *distance to minimum*)."
BOUND_KEYS = (("custom_x0", "x min"), ("custom_x1", "x max"))
BOUND_KEYS += (("custom_y0", "y min"), ("custom_y1", "y max"))


def custom_error(custom: Custom) -> ExprError | None:
    """Why the parser refuses the user's function (``None`` when it compiles)."""
    try:
        custom.surface()
    except ExprError as e:
        return e
    return None


def error_text(err: ExprError) -> str:
    """The parser's message naming the offending token and its position (safe Markdown)."""
    token = f" `{show(err.token)}`" if err.token else ""
    hint = f" ({plain(err.hint)})" if err.hint else ""
    return f"{plain(err.message)}{token} at position {err.position}{hint}"


def caret(text: str, err: ExprError) -> str:
    """The text with a caret under the refused token (for a code block)."""
    shown = "".join(c if c.isprintable() else "?" for c in text)
    return f"f(x, y) = {shown}\n{' ' * (10 + err.position)}^"


def minima_text(minima) -> str:
    return "; ".join(",".join(fmt_num(v) for v in p) for p in minima)


def custom_group(cfg: Config) -> Config:
    """Text, bounds and minima of the user's function (the sidebar's surface group)."""
    c = cfg.custom
    seed("custom_f", c.text)
    text = st.text_input("f(x, y) =", key="custom_f", max_chars=MAX_LENGTH, help=F_HELP)
    text = text.strip()
    values = [v for b in c.bounds for v in b]
    cols = st.columns(2)
    new = []
    for i, ((key, label), v) in enumerate(zip(BOUND_KEYS, values, strict=True)):
        seed(key, float(v))
        new.append(
            cols[i % 2].number_input(label, -MAX_COORD, MAX_COORD, step=0.5, format="%.3f", key=key)
        )
    bounds = c.bounds
    if new[0] < new[1] and new[2] < new[3]:
        bounds = ((float(new[0]), float(new[1])), (float(new[2]), float(new[3])))
    else:
        st.error("Bounds need x min < x max and y min < y max; keeping the last valid ones.")
    seed("custom_minima", minima_text(c.minima))
    minima_in = st.text_input(
        "Known minima (optional)", key="custom_minima", placeholder="e.g. 0,0; 1.5,-2",
        help=MINIMA_HELP,
    )  # fmt: skip
    minima = c.minima
    try:
        minima = parse_minima(minima_in)
    except ValueError as e:
        st.error(f"Known minima: {show(str(e), 80)}; keeping the last valid ones.")
    new_custom = Custom(text, bounds, minima)
    if err := custom_error(new_custom):
        st.error(error_text(err), icon=":material/error:")
    cfg = replace(cfg, custom=new_custom, theta=())
    if bounds != c.bounds:  # a new box: start again from its default point
        start = new_custom.start()
        force("start_x", start[0])
        force("start_y", start[1])
        cfg = replace(cfg, start=start)
    return cfg


def refused(cfg: Config, err: ExprError) -> None:
    """The main area when the parser refuses the function: why, where, and what to do."""
    st.error(f"**Your function cannot be used:** {error_text(err)}.", icon=":material/function:")
    st.code(caret(cfg.custom.text, err), language=None)
    st.info(
        "Edit **f(x, y)** in the sidebar (for example `x**2 + 10*sin(y) + 0.5*y**2`); the "
        "race starts as soon as the expression is accepted.",
        icon=":material/edit:",
    )
