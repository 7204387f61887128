"""One simulated class-mode student speaking Streamlit's websocket protocol (``bench_class.py``).

A student joins by the join link (``/classroom?join=CODE``), opens the challenge on the Surfaces
page with a learning rate of their own (the link, as a student who tuned), types a display name
and presses "Submit to the class" — the same three reruns a browser sends. The submit rerun is
timed from the send until the app's "Submitted:" confirmation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from load_client import FINISHED
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import connect

NAME_LABEL = "Your display name"
SUBMIT_LABEL = "Submit to the class"


@dataclass
class Echo:
    status: int | None = None
    widgets: dict = field(default_factory=dict)  # label -> widget id (text inputs, buttons)
    texts: list[str] = field(default_factory=list)  # markdown and alert bodies
    exceptions: list[str] = field(default_factory=list)
    page_hash: str = ""
    query: str | None = None


async def rerun(ws, state: ClientState, timeout: float) -> Echo:
    """Send one rerun; read up to its ``script_finished`` (an app-requested rerun included)."""
    echo = Echo()
    await ws.send(BackMsg(rerun_script=state).SerializeToString())
    deadline = time.perf_counter() + timeout
    while True:
        left = max(deadline - time.perf_counter(), 0)
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            raise TimeoutError(f"no script_finished within {timeout:.0f} s") from None
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            what = el.WhichOneof("type")
            if what in ("text_input", "button"):
                w = getattr(el, what)
                echo.widgets[w.label] = w.id
            elif what == "markdown":
                echo.texts.append(el.markdown.body)
            elif what == "alert":
                echo.texts.append(el.alert.body)
            elif what == "exception":
                echo.exceptions.append(f"{el.exception.type}: {el.exception.message}"[:200])
        elif kind == "page_info_changed":
            echo.query = msg.page_info_changed.query_string
        elif kind == "navigation":
            echo.page_hash = msg.navigation.page_script_hash
        elif kind == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue
            echo.status = msg.script_finished
            return echo


@dataclass
class Outcome:
    name: str
    lr: float
    sent: float | None = None  # time.time() of the submit rerun's send
    confirmed_s: float | None = None  # send -> "Submitted:" received
    message: str = ""
    errors: list[str] = field(default_factory=list)


def _check(echo: Echo, what: str, out: Outcome) -> None:
    out.errors += [f"{what}: {e}" for e in echo.exceptions]
    if echo.status not in FINISHED:
        out.errors.append(f"{what}: script finished with status {echo.status}")


async def submit_once(ws_url: str, code: str, setup: str, name: str, lr: float,
                      timeout: float = 60.0) -> Outcome:  # fmt: skip
    """Join, open the challenge with learning rate ``lr``, submit as ``name``."""
    out = Outcome(name, lr)
    try:
        async with connect(ws_url, subprotocols=["streamlit"], max_size=2**26,
                           open_timeout=timeout, ping_interval=None) as ws:  # fmt: skip
            echo = await rerun(ws, ClientState(query_string=f"join={code}",
                                               page_name="classroom"), timeout)  # fmt: skip
            _check(echo, "join", out)
            if not any("You joined class" in t for t in echo.texts):
                out.errors.append("join: no confirmation")
                return out
            query = f"{setup}&gd.lr={lr:g}"
            echo = await rerun(ws, ClientState(query_string=query, page_name="surfaces"),
                               timeout)  # fmt: skip
            _check(echo, "lab", out)
            ids = echo.widgets
            if NAME_LABEL not in ids or SUBMIT_LABEL not in ids:
                out.errors.append("lab: no submit box")
                return out
            widgets = WidgetStates(widgets=[
                WidgetState(id=ids[NAME_LABEL], string_value=name),
                WidgetState(id=ids[SUBMIT_LABEL], trigger_value=True),
            ])  # fmt: skip
            state = ClientState(query_string=echo.query or query, widget_states=widgets,
                                page_script_hash=echo.page_hash)  # fmt: skip
            out.sent = time.time()
            t0 = time.perf_counter()
            echo = await rerun(ws, state, timeout)
            _check(echo, "submit", out)
            found = [t for t in echo.texts if t.startswith(("Submitted:", "You just"))]
            out.message = found[0] if found else " / ".join(echo.texts[-3:])[:200]
            if found and found[0].startswith("Submitted:"):
                out.confirmed_s = time.perf_counter() - t0
            else:
                out.errors.append(f"submit: {out.message}")
    except Exception as e:  # connection errors, timeouts: counted, not raised
        out.errors.append(f"{type(e).__name__}: {e}")
    return out
