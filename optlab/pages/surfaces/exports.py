"""Downloads of the current run: trajectories as CSV, the figure as standalone HTML, and an
animated GIF (built on request: it takes a few seconds)."""

from __future__ import annotations

from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from optlab.config.surfaces import Config, surface_of
from optlab.core.engine import Trajectory
from optlab.viz import export
from optlab.viz.colormap import SurfaceImage

GIF = "_optlab_gif"


def file_stem(cfg: Config) -> str:
    return f"optlab-{cfg.surface}-{cfg.steps}steps"


def render(
    cfg: Config, trajs: list[Trajectory], figure: Callable[[], go.Figure], image: SurfaceImage
) -> None:
    """The download buttons; ``figure`` builds the race as a plotly figure (only when the
    HTML download is asked for: the page itself draws the race with the live component)."""
    stem = file_stem(cfg)
    row = st.container(horizontal=True)  # one layout block (three columns were four)
    row.download_button(
        "Trajectories (CSV)", data=lambda: export.trajectories_csv(trajs),
        file_name=f"{stem}.csv", mime="text/csv", on_click="ignore",
        icon=":material/table:", key="dl_csv",
    )  # fmt: skip
    row.download_button(
        "Interactive figure (HTML)", data=lambda: export.figure_html(figure()),
        file_name=f"{stem}.html", mime="text/html", on_click="ignore",
        icon=":material/public:", key="dl_html",
    )  # fmt: skip
    key = cfg.run_key()
    held = st.session_state.get(GIF)
    slot = row.empty()  # the build button, replaced by the download once built
    if held is None or held[0] != key:
        if not slot.button("Build animated GIF", icon=":material/movie:", key="build_gif"):
            return
        with st.spinner("Rendering the animation…"):
            data = export.animation_gif(surface_of(cfg), trajs, image, frames=40)
        held = st.session_state[GIF] = (key, data)
    slot.download_button(
        "Animation (GIF)", data=held[1], file_name=f"{stem}.gif", mime="image/gif",
        on_click="ignore", icon=":material/movie:", key="dl_gif",
    )  # fmt: skip
