"""One simulated student speaking Streamlit's websocket protocol (for ``bench_load.py``).

A student opens ``ws://HOST/_stcore/stream`` and sends what the browser would: a ``BackMsg``
``rerun_script`` with the page's query string (the shared scenario link), then, per move, what
the live race component sends when its learning-rate slider is released: a rerun carrying the
component's ``lrs`` state (``{"adam": value}``, a JSON ``WidgetState`` of the component's id;
the drag itself sends nothing). The component lives in the page's ``live`` fragment, so, like
the browser, a move asks for a rerun of that fragment only (the id its element came with);
``--full-reruns`` sends whole-page reruns instead. Each rerun is timed from the send
until the server's ``script_finished``; the lab chart's arrival is timed too. Every rerun's
echo (the "Share this exact setup" link and, when sent, the URL the app writes back) must show
this student's own learning rate and start point: anything else is an isolation error.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from websockets.asyncio.client import connect

LR_LABEL = "Adam · learning rate η"
DEFAULT_LR = 0.1  # Adam's default: absent from the URL when chosen
LR_RANGE = (1e-4, 1.0)  # moves stay on grid values in here (no instant divergence)
FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


@dataclass
class RunEcho:
    """What one rerun sent back (only the parts the harness checks)."""

    status: int | None = None
    chart_s: float | None = None  # send -> first plotly chart delta
    done_s: float | None = None  # send -> script_finished
    nbytes: int = 0
    sliders: dict = field(default_factory=dict)  # label -> Slider proto
    codes: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    query: str | None = None  # page_info_changed (the URL the app writes back)
    page_hash: str = ""
    fragments: dict = field(default_factory=dict)  # label -> fragment id its slider came with
    race: str | None = None  # the live race component's element id
    race_fragment: str = ""


@dataclass
class StudentResult:
    index: int
    first_load_s: float | None = None
    moves_s: list[float] = field(default_factory=list)  # send -> script_finished
    charts_s: list[float] = field(default_factory=list)  # send -> lab chart delta
    finished: int = 0  # script_finished messages received
    nbytes: int = 0
    move_bytes: list[int] = field(default_factory=list)  # received per move
    errors: list[str] = field(default_factory=list)


def start_point(i: int, n: int) -> tuple[float, float]:
    """A start point of its own for student ``i`` of ``n`` (inside [-4, 4]², 3 decimals)."""
    x = -4 + 8 * (i + 0.5) / n
    y = -4 + 8 * ((i * 7919) % n + 0.5) / n
    return round(x, 3), round(y, 3)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-3, abs_tol=1e-9)


def check_echo(query: str, lr: float, start: tuple[float, float] | None) -> str | None:
    """``None`` if the URL query ``query`` shows ``lr`` (and ``start``), else what differs."""
    q = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    try:
        got_lr = float(q.get("adam.lr", DEFAULT_LR))
        got_start = tuple(float(v) for v in q["start"].split(",")) if "start" in q else None
    except ValueError:
        return f"unparsable echo {query[:80]!r}"
    if not _close(got_lr, lr):
        return f"lr {got_lr:g} != sent {lr:g}"
    if start is not None and (
        got_start is None or not all(_close(a, b) for a, b in zip(got_start, start, strict=True))
    ):
        return f"start {got_start} != own {start}"
    return None


async def rerun(ws, state: ClientState, timeout: float) -> RunEcho:
    """Send one rerun and read the forward messages up to its ``script_finished``."""
    echo = RunEcho()
    t0 = time.perf_counter()
    await ws.send(BackMsg(rerun_script=state).SerializeToString())
    deadline = t0 + timeout
    while True:
        try:
            raw = await asyncio.wait_for(ws.recv(), max(deadline - time.perf_counter(), 0))
        except TimeoutError:
            raise TimeoutError(f"no script_finished within {timeout:.0f} s") from None
        echo.nbytes += len(raw)
        msg = ForwardMsg()
        msg.ParseFromString(raw)
        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            el = msg.delta.new_element
            what = el.WhichOneof("type")
            if what == "slider":
                echo.sliders[el.slider.label] = el.slider
                echo.fragments[el.slider.label] = msg.delta.fragment_id
            elif what == "code":
                echo.codes.append(el.code.code_text)
            elif what == "exception":
                echo.exceptions.append(f"{el.exception.type}: {el.exception.message}"[:200])
            elif what == "bidi_component":
                echo.race, echo.race_fragment = el.bidi_component.id, msg.delta.fragment_id
                if echo.chart_s is None:
                    echo.chart_s = time.perf_counter() - t0
        elif kind == "page_info_changed":
            echo.query = msg.page_info_changed.query_string
        elif kind == "navigation":
            echo.page_hash = msg.navigation.page_script_hash
        elif kind == "script_finished":
            if msg.script_finished == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue  # a rerun the app asked for follows
            echo.status = msg.script_finished
            echo.done_s = time.perf_counter() - t0
            return echo


def echo_errors(echo: RunEcho, lr: float, start: tuple[float, float] | None) -> list[str]:
    """Errors in one rerun's echo: a traceback, a failed run, someone else's state."""
    errors = [f"exception: {e}" for e in echo.exceptions]
    if echo.status not in FINISHED:
        errors.append(f"script finished with status {echo.status}")
    shares = [c for c in echo.codes if c.startswith("http")]
    if not shares:
        errors.append("no share link in the rerun")
    for text in [*(urlsplit(c).query for c in shares), *([echo.query] if echo.query else [])]:
        if why := check_echo(text, lr, start):
            errors.append(f"isolation: {why}")
    return errors


def lr_options() -> list[float]:
    """Adam's learning-rate grid (the race slider's values) inside ``LR_RANGE``."""
    from optlab.core.params import value_grid
    from optlab.core.sweeps import lr_param

    lo, hi = LR_RANGE
    return [v for v in value_grid(lr_param("adam")) if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]


@dataclass
class Plan:
    """What a student does: ``moves`` slider changes at most, none started after ``until``."""

    ws_url: str
    sessions: int
    moves: int
    until: float  # time.monotonic() deadline for starting a move
    think: tuple[float, float] = (1.0, 3.0)
    timeout: float = 30.0
    extra_query: str = ""
    shared_start: bool = False  # everyone keeps the default start (cache-friendly)
    seed: int = 0
    full_reruns: bool = False  # whole-page reruns per move instead of the slider's fragment


async def student(i: int, plan: Plan) -> StudentResult:
    """Load the scenario link, then move the learning-rate slider with think time between."""
    res = StudentResult(i)
    rng = random.Random(plan.seed * 1_000_003 + i)
    start = None if plan.shared_start else start_point(i, plan.sessions)
    lr0 = (1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2)[i % 9]
    parts = [f"adam.lr={lr0:g}"] + ([f"start={start[0]:g},{start[1]:g}"] if start else [])
    query = "&".join(parts + ([plan.extra_query] if plan.extra_query else []))
    try:
        async with connect(plan.ws_url, subprotocols=["streamlit"], max_size=2**26,
                           open_timeout=plan.timeout, ping_interval=None) as ws:  # fmt: skip
            echo = await rerun(ws, ClientState(query_string=query), plan.timeout)
            res.first_load_s, res.nbytes = echo.done_s, echo.nbytes
            res.finished += 1
            res.errors += echo_errors(echo, lr0, start)
            race = echo.race
            if race is None:
                res.errors.append("no live race on the page")
                return res
            options = lr_options()
            fragment = "" if plan.full_reruns else echo.race_fragment
            k = (i * 7) % len(options)
            page, url_query = echo.page_hash, echo.query or query
            for m in range(plan.moves):
                await asyncio.sleep(rng.uniform(*plan.think))
                if time.monotonic() >= plan.until:
                    break
                k = (k + 1 + m % 3) % len(options)  # 1-3 grid steps up, wrapping around
                value = options[k]
                lrs = json.dumps({"lrs": {"adam": value}})
                widgets = WidgetStates(widgets=[WidgetState(id=race, json_value=lrs)])
                state = ClientState(query_string=url_query, widget_states=widgets,
                                    page_script_hash=page, fragment_id=fragment)  # fmt: skip
                echo = await rerun(ws, state, plan.timeout)
                res.finished += 1
                res.nbytes += echo.nbytes
                res.move_bytes.append(echo.nbytes)
                res.moves_s.append(echo.done_s)
                if echo.chart_s is not None:
                    res.charts_s.append(echo.chart_s)
                res.errors += echo_errors(echo, value, start)
                race = echo.race or race
                page, url_query = echo.page_hash or page, echo.query or url_query
    except TimeoutError as e:
        res.errors.append(f"timeout: {e}")
    except (OSError, asyncio.IncompleteReadError) as e:
        res.errors.append(f"connection: {type(e).__name__}: {e}")
    except Exception as e:  # websockets' ConnectionClosed, InvalidStatus, ...
        res.errors.append(f"{type(e).__name__}: {e}")
    return res
