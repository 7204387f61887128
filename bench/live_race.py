"""The live race in a real browser, as ``bench_latency.py --page surfaces`` measures it.

Timestamps come from the page (``window.__optlabRace``, kept by ``optlab/shell/race/race.js``):
each input event's ``timeStamp``, the moment its redraw finished, and the next animation
frame (the frame that paints it: "painted" below). Messages and bytes come from the page's
websocket (Playwright: every frame sent to the server, every payload received from it).

- a continuous mouse drag of Adam's learning rate (events every ~16 ms): input -> painted
  p50/p95, redraws per second, messages to the server during the drag (a rerun request is one),
  bytes received during it, and bytes received from the release until the page is idle;
- keyboard moves (one grid step each): input -> painted, bytes per move;
- structural changes (the Steps slider, a server rerun and a new race each): key press ->
  the new race painted, bytes per change. These are the baseline the lr moves are set against
  (the same page, the same run): a move that reruns the server;
- another surface picked (Surfaces) and another optimizer added (both pages): Enter in the
  Surface or Optimizers box -> the new race painted.
"""

from __future__ import annotations

import time

JS_PERF = "() => window.__optlabRace"
IDLE = "[data-testid=stApp][data-test-script-state=notRunning]"


class Wire:
    """Counts what crosses the page's websockets."""

    def __init__(self, page):
        self.sent = 0
        self.received = 0
        page.on("websocket", self._attach)

    def _attach(self, ws) -> None:
        ws.on("framesent", self._sent)
        ws.on("framereceived", self._received)

    def _sent(self, _payload) -> None:
        self.sent += 1

    def _received(self, payload) -> None:
        self.received += len(payload)

    def snapshot(self) -> tuple[int, int]:
        return self.sent, self.received


def settle(page, timeout_ms: int = 60_000) -> None:
    """Until the rerun a release started (if any) has finished."""
    page.wait_for_timeout(400)  # the component commits 120 ms after the last change
    page.wait_for_selector(IDLE, timeout=timeout_ms)
    page.wait_for_timeout(150)


def painted_ms(page, first: int) -> list[float]:
    lat = page.evaluate("() => window.__optlabRace.latencies")
    return [entry["frame"] - entry["input"] for entry in lat[first:]]


def drag(page, wire: Wire, slider: str, moves: int = 90, dx_px: float = 7.0) -> dict:
    """One continuous drag: down on the thumb, ``moves`` events ``dx_px`` apart every ~16 ms
    (back and forth along the track; 7 px is a little more than one of the 61 grid steps on
    the default layout, so every event is a new learning rate and a redraw), up."""
    box = page.get_by_role("slider", name=slider).bounding_box()
    value = page.get_by_role("slider", name=slider).evaluate("el => Number(el.value) / el.max")
    lo, hi = box["x"] + 8, box["x"] + box["width"] - 8
    x = lo + (hi - lo) * value  # on the thumb
    y = box["y"] + box["height"] / 2
    perf0 = page.evaluate(JS_PERF)
    n_lat, draws0 = len(perf0["latencies"]), perf0["draws"]
    page.mouse.move(x, y)
    page.mouse.down()
    sent0, recv0 = wire.snapshot()
    t0 = time.perf_counter()
    direction = -1.0
    for _ in range(moves):
        if not lo + 20 < x + direction * dx_px < hi - 20:
            direction = -direction
        x += direction * dx_px
        page.mouse.move(x, y)
        page.wait_for_timeout(16)
    elapsed = time.perf_counter() - t0
    perf1 = page.evaluate(JS_PERF)
    sent1, recv1 = wire.snapshot()
    page.mouse.up()
    settle(page)
    _, recv2 = wire.snapshot()
    return {
        "painted_ms": painted_ms(page, n_lat),
        "redraws_per_s": (perf1["draws"] - draws0) / elapsed,
        "inputs_per_s": moves / elapsed,
        "sent_during": sent1 - sent0,
        "bytes_during": recv1 - recv0,
        "bytes_release": recv2 - recv1,
        "commits": perf1["commits"] - perf0["commits"],
    }


def keys(page, wire: Wire, slider: str, n: int) -> dict:
    """``n`` one-grid-step key presses, each left to settle (its rerun included)."""
    el = page.get_by_role("slider", name=slider)
    el.focus()
    first = len(page.evaluate(JS_PERF)["latencies"])
    per_move = []
    for i in range(n):
        _, recv0 = wire.snapshot()
        page.keyboard.press("ArrowLeft" if i % 4 < 2 else "ArrowRight")
        settle(page)
        per_move.append(wire.snapshot()[1] - recv0)
    return {"painted_ms": painted_ms(page, first), "bytes": per_move}


def structural(page, wire: Wire, n: int) -> dict:
    """``n`` presses on the Steps slider: each a rerun and a new race."""
    el = page.get_by_role("slider", name="Steps")
    el.focus()
    times, sizes = [], []
    for i in range(n):
        race = page.evaluate("() => window.__optlabRace.race")
        _, recv0 = wire.snapshot()
        t0 = time.perf_counter()
        page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")
        page.wait_for_function(
            "r => window.__optlabRace.race !== r", arg=race, polling="raf", timeout=60_000
        )
        times.append((time.perf_counter() - t0) * 1000)
        settle(page)
        sizes.append(wire.snapshot()[1] - recv0)
    return {"ms": times, "bytes": sizes}


def _pick(page, box: str, label: str) -> float:
    """``label`` typed into the first ``box`` (a Streamlit test id) and Enter pressed: ms until
    the new race is painted."""
    race = page.evaluate("() => window.__optlabRace.race")
    page.get_by_test_id(box).first.locator("input").click()
    page.keyboard.type(label)
    t0 = time.perf_counter()
    page.keyboard.press("Enter")
    page.wait_for_function(
        "r => window.__optlabRace.race !== r", arg=race, polling="raf", timeout=120_000
    )
    ms = (time.perf_counter() - t0) * 1000
    page.keyboard.press("Escape")
    settle(page)
    return ms


def pick_surfaces(page, labels: list[str]) -> list[float]:
    """Each of ``labels`` picked in the Surface box: ms until the new race is painted, each."""
    return [_pick(page, "stSelectbox", label) for label in labels]


def add_optimizer(page, label: str) -> float:
    """``label`` added in the Optimizers box: ms until the new race is painted."""
    return _pick(page, "stMultiSelect", label)
