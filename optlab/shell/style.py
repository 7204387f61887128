"""Projector mode (``?present=1``): larger text and controls for the back row, and the page's
content pulled up to the top of the screen so the race fits above the fold at 1280×720."""

from __future__ import annotations

import streamlit as st

PRESENT_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p { font-size: 1.25rem; }
h1 { font-size: 2.2rem !important; padding-top: 0 !important; }
h2, h3 { font-size: 1.8rem !important; }
[data-testid="stDataFrame"] { font-size: 1.2rem; }
[data-testid="stMainBlockContainer"] { padding-top: 2.5rem !important; }
</style>
"""


def apply(present: bool) -> None:
    if present:
        st.html(PRESENT_CSS)


def explain(text: str, present: bool, label: str = "What this page shows") -> None:
    """Explanatory Markdown: as it is, or folded into an expander in projector mode (the
    class looks at the chart; the teacher opens the text when it is needed)."""
    if present:
        with st.expander(label, icon=":material/info:"):
            st.markdown(text)
    else:
        st.markdown(text)
