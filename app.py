"""optlab's entry (``streamlit run app.py``).

``app`` is the server (Streamlit on Starlette): its lifespan warms the compile caches before the
first visitor, a middleware tells the background warm-ups when visitors are active, and it
serves the small extra routes (``optlab.shell.startup``). Run as the page script, this file only
configures the page and routes to the pages.
"""

import streamlit as st

from optlab.shell import navigation, setup, startup

app = st.App(
    __file__, lifespan=startup.lifespan, routes=startup.ROUTES, middleware=startup.MIDDLEWARE
)

if __name__ == "__main__":  # the page script (Streamlit runs it as __main__ on every rerun)
    setup.enable_compilation_cache()
    st.set_page_config(
        page_title="optlab",
        page_icon="🧭",
        layout="wide",
        initial_sidebar_state="collapsed" if setup.presenting() else "auto",
    )
    setup.reload_on_reconnect()
    st.navigation(navigation.st_pages()).run()
