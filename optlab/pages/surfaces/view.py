"""The surfaces page's main area: the race (map + loss), the 3-D view, the optimizer-state
panel and the results table. Figures come from ``optlab.viz.race``; numbers from ``compute``."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from optlab.config.surfaces import Config, default_optimizers
from optlab.core.engine import Trajectory
from optlab.core.optimizers import OPTIMIZERS
from optlab.core.params import value_grid
from optlab.pages.surfaces import compute, controls, figures, state
from optlab.shell import race as race_ui
from optlab.shell.state import force
from optlab.viz import live as live_data
from optlab.viz import overlays, style, tables

CHART_CONFIG = {"displaylogo": False, "scrollZoom": False}
EFF_STEP_HELP = (
    "**Effective step size** is how far the optimizer actually moved in each coordinate per "
    "unit of gradient, |Δθᵢ| / |gᵢ|. For plain GD it equals the learning rate η; momentum "
    "grows it along consistent directions; Adam-style methods divide by a running RMS of the "
    "gradient, so each coordinate gets its own step: large where gradients are small, small "
    "where they are large. Gaps: steps too small for 32-bit floats to measure next to θ "
    "(near the minimum), where the ratio would be rounding noise."
)


def live(cfg: Config) -> int:
    """The live race (``optlab.shell.race``): the map, the paths, the loss curves and each
    optimizer's learning-rate slider with its sensitivity strip, redrawn in the browser while
    a slider moves. Returns the bytes this run sent for it."""
    key = cfg.run_key()
    race_id, data = compute.lr_race(compute.structure(key), cfg.log_loss, cfg.theory)
    image = compute.background(cfg.surface, cfg.theta, key.custom)
    current = {
        o: live_data.grid_index(value_grid(compute.lr_param(o)), cfg.hp(o)["learning_rate"])
        for o in cfg.optimizers
    }
    ui = {
        "font": figures.PRESENT_FONT if cfg.present else 15,
        "height": figures.height(cfg.present) - 60,
        "frame_ms": cfg.frame_ms,
        "sliders": not cfg.hidden("hparams"),
        "click": not cfg.hidden("start"),
        "fit": cfg.present,  # projector mode: the race fits the window (race.js ``layout``)
    }
    return race_ui.live_race(
        "race", race_id=race_id, race=data,
        bg_id=compute.background_id(cfg.surface, cfg.theta, key.custom),
        image={"uri": image.uri, "bounds": list(style.image_bounds(image))},
        current=current, ui=ui, on_lrs=controls.apply_lrs, on_start=controls.start_clicked,
    )  # fmt: skip


def hint(cfg: Config) -> None:
    """The one "what to do" line, in the main area under the race (13.8)."""
    parts = []
    if not cfg.hidden("hparams"):
        parts.append("drag a learning-rate slider and watch its path bend as you move")
    if not cfg.hidden("start"):
        parts.append("click the map to start there")
    parts.append("▶ Play replays the race")
    text = "; ".join(parts)
    st.caption(f"**Try it:** {text}.")


def view3d(cfg: Config) -> None:
    fig = figures.view3d(cfg.run_key(), cfg.present)
    st.plotly_chart(fig, key="view3d_chart", config=CHART_CONFIG, theme=None)


def divergence_text(trajs: list[Trajectory]) -> str | None:
    """One line for every diverged optimizer ("**GD** diverged at step 12, **Adam** at step
    40"), or ``None`` when none did."""
    gone = [t for t in trajs if t.diverged_at is not None]
    if not gone:
        return None
    first, *rest = gone
    parts = [f"**{first.label}** diverged at step {first.diverged_at}"]
    parts += [f"**{t.label}** at step {t.diverged_at}" for t in rest]
    return ", ".join(parts) + ": try a smaller learning rate, gradient clipping or a warm-up."


def divergence_warnings(trajs: list[Trajectory]) -> None:
    """One compact banner for all diverged optimizers (four stacked ones pushed the chart down)."""
    if (text := divergence_text(trajs)) is not None:
        st.warning(text, icon=":material/warning:")


@st.fragment
def state_panel(trajs: list[Trajectory]) -> None:
    """Inside one optimizer at one step. Runs as a fragment: moving its controls reruns only
    this panel."""
    cfg = state.load()
    index = {t.name: i for i, t in enumerate(trajs)}
    names = list(index)
    if st.session_state.get("inspect") not in index:
        force("inspect", cfg.inspect if cfg.inspect in index else names[0])
    # Horizontal containers, not columns: a row is one layout block instead of three, and
    # each block is resent with every released learning rate.
    pick = st.container(horizontal=True, vertical_alignment="bottom")
    name = pick.selectbox(
        "Optimizer",
        names,
        key="inspect",
        format_func=lambda n: trajs[index[n]].label,
        width=220,
    )
    traj = trajs[index[name]]
    if traj.steps == 0:
        pick.info(f"{traj.label} diverged at its very first step: there is no state to show.")
        return
    if traj.steps == 1:
        at = 0
        pick.caption(f"{traj.label} ran a single step before diverging: showing step 0.")
    else:
        force("at", min(st.session_state.get("at", cfg.at), traj.steps - 1))
        at = pick.slider("Step to inspect", 0, traj.steps - 1, key="at")
    inspect = "" if name == names[0] else name
    if (inspect, at) != (cfg.inspect, cfg.at):
        state.update(lambda c: replace(c, inspect=inspect, at=int(at)))
    key = cfg.run_key().single(index[name])
    charts = st.container(horizontal=True)
    fig = figures.state(traj, key, int(at), cfg.present)
    charts.plotly_chart(fig, key="state_chart", config=CHART_CONFIG, theme=None)
    fig = figures.eff_step(traj, key, cfg.present)
    charts.plotly_chart(fig, key="eff_chart", config=CHART_CONFIG, theme=None)
    if cfg.theory:
        hessian_note(cfg, traj, int(at))
    st.caption(EFF_STEP_HELP)


def hessian_note(cfg: Config, traj: Trajectory, step: int) -> None:
    """The Hessian at the inspected point: eigenvalues, curvature class, condition number."""
    point = tuple(float(v) for v in traj.params[step, :2])
    key = cfg.run_key()
    info = compute.point_info(cfg.surface, cfg.theta, key.custom, point)
    if info is not None:
        st.markdown(overlays.point_note(info, step))


RESULT_GONE = ("final loss", "distance to minimum", "path length")


def results_table(rows: list[dict]) -> None:
    """The results as text for people (``viz.tables``): four significant figures, and a
    diverged run's final loss, distance and path length read "diverged at step k"."""
    shown = tables.people_rows(
        rows,
        diverged=lambda r: None if r.get("status", "ok") == "ok" else r["status"],
        gone=RESULT_GONE,
        formats={"steps to tolerance": lambda v: "never" if v is None else str(v)},
    )
    st.markdown(tables.markdown([{k: v for k, v in r.items() if k != "status"} for r in shown]))
    st.caption(
        "*steps to tolerance*: first step whose loss is within 10⁻³ of the best known minimum "
        "(never: not within the run). *distance to minimum*: from the final point to the "
        "nearest known global minimum."
    )


def empty_state() -> None:
    st.info(
        "**No optimizer selected.** Pick one or more in the sidebar under *Optimizers* "
        f"(for example {', '.join(OPTIMIZERS[o].display for o in default_optimizers())}) and "
        "they will race from the start point on this surface. You can click the map to move "
        "the start point.",
        icon=":material/sports_score:",
    )
