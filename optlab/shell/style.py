"""Projector mode (``?present=1``): larger text and controls for the back row."""

from __future__ import annotations

import streamlit as st

PRESENT_CSS = """
<style>
html, body, [data-testid="stAppViewContainer"] { font-size: 20px; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li,
[data-testid="stCaptionContainer"], [data-testid="stWidgetLabel"] p { font-size: 1.25rem; }
h1 { font-size: 3rem !important; }
h2, h3 { font-size: 2.1rem !important; }
[data-testid="stDataFrame"] { font-size: 1.2rem; }
</style>
"""


def apply(present: bool) -> None:
    if present:
        st.html(PRESENT_CSS)
