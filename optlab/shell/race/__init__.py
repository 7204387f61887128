"""The live race component: a Custom Components v2 element (in the page, no iframe) that
holds every optimizer's path and loss over its learning-rate grid and redraws map, paths,
loss curves and sensitivity strips in the browser on every input event of its sliders
(``race.js``, ``race.css``; the data layout in ``optlab.viz.live``).

What travels, and when:

- The race's code (``race.js``, ``race.css``) is fetched once per page from the server's own
  route, under a content-hashed name (``ROUTES``); the component itself is ``loader.js``,
  a few hundred bytes, since a component's code travels with every element it draws.
- A structural change (surface, optimizer set, β's, schedule, steps, start, ...) has a new
  race id: its blob (a few hundred KB for four optimizers) is sent once. The surface image
  has its own id and is sent once per surface.
- Moving a slider sends nothing. Releasing it (or a key press settling) sends the chosen
  values back as the ``lrs`` state: a rerun in which the component gets only a small header
  (ids, the current values, display settings) and draws from what the browser already holds.
- The session remembers which ids it has sent (``_sent``). Should the browser not hold one
  (a reload keeps the session but not the page), the component asks with its ``missing``
  trigger and the next run sends it again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from optlab.viz import live

HERE = Path(__file__).resolve().parent
ASSETS = "/optlab/race"  # the server's route for race.js and race.css (``ROUTES``)


def asset_path(name: str, text: str) -> str:
    """``/optlab/race/race-<content hash>.js``: a new version is a new name, so the browser may
    keep each one for good."""
    stem, ext = name.rsplit(".", 1)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{ASSETS}/{stem}-{digest}.{ext}"


CSS = (HERE / "race.css").read_text(encoding="utf-8")
CSS_PATH = asset_path("race.css", CSS)
JS = (HERE / "race.js").read_text(encoding="utf-8").replace("__RACE_CSS__", CSS_PATH)
JS_PATH = asset_path("race.js", JS)  # so a new stylesheet is a new race.js too


def _stripped(js: str) -> str:
    """``js`` without whole-line comments, indentation and blank lines (it travels in every
    rerun)."""
    lines = (line.strip() for line in js.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


LOADER = _stripped((HERE / "loader.js").read_text(encoding="utf-8").replace("__RACE_JS__", JS_PATH))

# Only the loader is the component's code: Streamlit sends a component's js and css with
# every element, i.e. in every rerun (31 KB per released slider when race.js was inline).
# No shadow root (``isolate_styles=False``): the CSS is scoped under ``.olr`` instead, and the
# browser tests' probes find the element with ``document.querySelector``.
_RACE = st.components.v2.component("optlab_race", js=LOADER, isolate_styles=False)


def _asset_route(path: str, text: str, media_type: str) -> Route:
    async def serve(request: Request) -> Response:
        del request
        headers = {"Cache-Control": "public, max-age=31536000, immutable"}
        return Response(text, media_type=media_type, headers=headers)

    return Route(path, serve)


# Served by ``app.py``'s ``st.App`` (with ``optlab.shell.startup.ROUTES``).
ROUTES = [
    _asset_route(JS_PATH, JS, "text/javascript"),
    _asset_route(CSS_PATH, CSS, "text/css"),
]


def _sent(key: str) -> set[str]:
    return st.session_state.setdefault(f"_optlab_race_sent.{key}", set())


def _value(key: str, name: str):
    """The component's state or trigger ``name`` as the session holds it (None if unset)."""
    v = st.session_state.get(key)
    try:
        return v.get(name) if v is not None else None
    except AttributeError:
        return getattr(v, name, None)


def _on_missing(key: str) -> None:
    ids = _value(key, "missing")
    if isinstance(ids, list):
        _sent(key).difference_update(i for i in ids if isinstance(i, str))


def live_race(
    key: str,
    *,
    race_id: str,
    race: tuple[dict, Mapping[str, np.ndarray]],
    bg_id: str,
    image: dict,
    current: Mapping[str, int],
    ui: Mapping,
    on_lrs: Callable[[dict], None],
    on_start: Callable[[tuple[float, float]], None] | None = None,
) -> int:
    """Mount the race; returns the number of bytes this run sent to the browser.

    ``race`` is ``(meta, arrays)`` for ``live.pack`` (sent only when the browser lacks
    ``race_id``), ``image`` the background ``{"uri", "bounds"}`` (sent only once per
    ``bg_id``), ``current`` each optimizer's grid position, ``ui`` the display settings
    (``font``, ``height``, ``frame_ms``, ``sliders``, ``click``). ``on_lrs`` gets the
    learning rates the user chose (``{optimizer: value}``; unchecked: validate them),
    ``on_start`` a clicked start point.
    """
    sent = _sent(key)
    header: dict = {"race": race_id, "bg": bg_id, "current": dict(current), "ui": dict(ui)}
    arrays: Mapping[str, np.ndarray] = {}
    if race_id not in sent:
        header["race_meta"], arrays = race
    if bg_id not in sent:
        header["image"] = image
    blob = live.pack(header, arrays)

    def lrs_changed() -> None:
        value = _value(key, "lrs")
        if isinstance(value, dict):
            on_lrs(value)

    def start_clicked() -> None:
        value = _value(key, "start")
        if on_start is not None and isinstance(value, list) and len(value) == 2:
            with contextlib.suppress(TypeError, ValueError):
                on_start((float(value[0]), float(value[1])))

    _RACE(
        key=key,
        data=blob,
        on_lrs_change=lrs_changed,
        on_start_change=start_clicked,
        on_missing_change=lambda: _on_missing(key),
    )
    sent.update((race_id, bg_id))
    return len(blob)
