"""optlab: the entry file only configures the page and routes (``streamlit run app.py``)."""

import streamlit as st

from optlab.shell import navigation, setup

setup.enable_compilation_cache()
st.set_page_config(
    page_title="optlab",
    page_icon="🧭",
    layout="wide",
    initial_sidebar_state="collapsed" if setup.presenting() else "auto",
)
setup.reload_on_reconnect()
st.navigation(navigation.st_pages()).run()
