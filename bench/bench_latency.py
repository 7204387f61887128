"""Real-browser latency of a page: slider key press -> chart updated.

Starts ``streamlit run app.py`` on a free port (with an empty JAX compilation cache unless
``--warm-cache``: the worst case), opens it in Debian's Chromium (Playwright), times the cold
first page load (server start -> lab chart rendered), loads the page once more warm, then moves
Adam's learning-rate slider with the keyboard N times (each to a value not seen before, so
every move is a real engine run and new figures, not a cache hit) and times each from the key
press until the map/loss chart shows the new run, and until the whole rerun has finished.

``--page`` picks the page (``bench/latency_pages.py`` says what each one opens, moves and
watches): ``surfaces`` (the default, as above), ``sweeps`` (the upper end of the learning-rate
range moved down, each move a new engine sweep, until the objective-vs-lr chart changes) or
``data`` (Adam's learning rate on the Data & SGD page, until the loss chart changes).

    .venv/bin/python bench/bench_latency.py [--page surfaces|sweeps|data] [--moves 32]
        [--warmup 3] [--port 0] [--warm-cache]
    OPTLAB_BENCH_QUERY='?adam.lr=0.0001&hide=state,results' .venv/bin/python bench/...

The first ``--warmup`` moves after the warm reload are made but not timed ("once warm": the
fresh page's first interactions pay one-off costs). Prints p50 / p95 per move and the
first-load time against the targets (p95 <= 300 ms once warm, first load <= 10 s from a cold
start; the first load counts until the page is idle with the chart, and the moment the chart
appeared is printed too) with PASS / MISS (the issue sets these targets for the surfaces page
only: the other pages print the same limits as a reference), the machine's load average
(1/5/15 min, as ``uptime`` prints it) before and after, and the CPU time each move cost the
server and the browser: on a shared machine the wall-clock figures follow the load, the CPU
figures much less. Always exits 0: a benchmark reports, tests assert (a failed run prints why).

"Chart updated" is the first animation frame at which the watched chart's data (on the surfaces
page the lab chart's optimizer paths) differ from before the key press. The check compares the
JSON only when the chart element or its data object has changed since the last frame, so polling
costs the page next to nothing (a JSON comparison on every frame took main-thread time from the
very page being measured).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.browser import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    IDLE,
    start_server,
    stop_server,
)
from tests.support.browser import free_port as _free_port  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import live_race  # noqa: E402
from latency_pages import PAGES, js_changed  # noqa: E402

TARGET_P95_MS = 300.0
TARGET_FIRST_LOAD_S = 10.0
JS_IDLE = f"() => !!document.querySelector('{IDLE}')"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    xs = sorted(values)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def against(target: bool, limit: str, ok: bool) -> str:
    """``target <= limit PASS|MISS``, or for a page the issue sets no target for the same
    limit as a ``reference`` (its verdict in parentheses)."""
    if target:
        return f"target <= {limit} {verdict(ok)}"
    return f"reference <= {limit} ({'within' if ok else 'above'}; no target for this page)"


def load_text() -> str:
    """The load averages as ``uptime`` prints them, and the CPU count."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} on {os.cpu_count()} CPUs"


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> list[int]:
    """``pid``'s child processes, their children and so on (Linux ``/proc``)."""
    tree, out, todo = _children(), [], [pid]
    while todo:
        kids = tree.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def cpu_ms(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each live process in ``pids`` (ms)."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) * 1000 / CLOCK_TICKS
    return out


def spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU ms spent between two ``cpu_ms`` snapshots by the processes alive at both."""
    return sum(after[p] - before[p] for p in before.keys() & after.keys())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--page", choices=list(PAGES), default="surfaces")
    ap.add_argument("--moves", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=3, help="untimed moves first")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--warm-cache", action="store_true", help="keep the JAX disk cache")
    args = ap.parse_args()
    if args.page in LIVE:
        return live_main(args)
    spec = PAGES[args.page]
    start_query = os.environ.get("OPTLAB_BENCH_QUERY", spec.start_query)
    js_chart = f"() => !!({spec.js_chart})"
    js_change = js_changed(spec)

    from playwright.sync_api import sync_playwright

    port = args.port or _free_port()
    url = f"http://127.0.0.1:{port}/{spec.url_path}"
    tmp = Path(tempfile.mkdtemp(prefix="optlab-bench-"))
    log = tmp / "streamlit.log"
    if not args.warm_cache:
        os.environ["OPTLAB_JAX_CACHE"] = str(tmp / "jax-cache")  # the server inherits it
    load_before = load_text()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        t_start = time.perf_counter()
        proc = start_server(port, log)
        t_up = time.perf_counter()
        try:
            page.goto(url + start_query)
            page.wait_for_function(js_chart, polling=50, timeout=120_000)
            first_chart = time.perf_counter() - t_start
            page.wait_for_selector(IDLE, timeout=120_000)
            page.wait_for_function(js_chart, timeout=120_000)
            first_load = time.perf_counter() - t_start
            server_up = t_up - t_start

            t0 = time.perf_counter()
            page.reload()
            page.wait_for_selector(IDLE, timeout=60_000)
            page.wait_for_function(js_chart, timeout=60_000)
            warm_load = time.perf_counter() - t0

            slider = page.get_by_role("slider", name=spec.slider)
            slider.focus()
            for _ in range(args.warmup):
                before = page.evaluate(spec.js_data)
                page.keyboard.press(spec.key)
                page.wait_for_function(js_change, arg=before, polling="raf", timeout=30_000)
                page.wait_for_function(JS_IDLE, polling="raf", timeout=30_000)
            start_lr = slider.get_attribute("aria-valuetext")
            browser_pids = [q for q in descendants(os.getpid()) if q != proc.pid]
            browser_pids = [q for q in browser_pids if q not in descendants(proc.pid)]
            cpu0 = cpu_ms([proc.pid]), cpu_ms(browser_pids)
            load_during = os.getloadavg()[0]
            chart_ms: list[float] = []  # key press -> the watched chart shows the new run
            idle_ms: list[float] = []  # key press -> the whole rerun finished (script idle)
            for _ in range(args.moves):
                before = page.evaluate(spec.js_data)
                t0 = time.perf_counter()
                page.keyboard.press(spec.key)
                page.wait_for_function(js_change, arg=before, polling="raf", timeout=30_000)
                chart_ms.append((time.perf_counter() - t0) * 1000)
                page.wait_for_function(JS_IDLE, polling="raf", timeout=30_000)
                idle_ms.append((time.perf_counter() - t0) * 1000)
            cpu1 = cpu_ms([proc.pid]), cpu_ms(browser_pids)
            load_during = max(load_during, os.getloadavg()[0])
            final_lr = slider.get_attribute("aria-valuetext")
        finally:
            browser.close()
            stop_server(proc)

    n = len(chart_ms)
    p50, p95 = percentile(chart_ms, 0.5), percentile(chart_ms, 0.95)
    print(
        f"{spec.title} ({n} slider moves after {args.warmup} untimed, "
        f"{spec.what} {start_lr} -> {final_lr})"
    )
    print(f"  before:  {load_before}")
    cache = "warm JAX disk cache" if args.warm_cache else "empty JAX disk cache"
    print(f"  server start -> health ok       {server_up:8.2f} s   ({cache})")
    print(
        f"  cold first load (start->chart)  {first_load:8.2f} s   "
        + against(spec.target, f"{TARGET_FIRST_LOAD_S:.0f} s   ", first_load <= TARGET_FIRST_LOAD_S)
    )
    print(f"    of which until the chart showed {first_chart:8.2f} s   (then until the page idled)")
    print(f"  warm page load                  {warm_load:8.2f} s")
    print(f"  key press -> chart updated  p50 {p50:8.1f} ms")
    print(
        f"  key press -> chart updated  p95 {p95:8.1f} ms   "
        + against(spec.target, f"{TARGET_P95_MS:.0f} ms  ", p95 <= TARGET_P95_MS)
    )
    print(
        f"  key press -> rerun finished p50 {percentile(idle_ms, 0.5):8.1f} ms, "
        f"p95 {percentile(idle_ms, 0.95):.1f} ms"
    )
    print(
        f"  CPU per move: server {spent(cpu0[0], cpu1[0]) / n:.0f} ms, browser "
        f"{spent(cpu0[1], cpu1[1]) / n:.0f} ms (all its processes)"
    )
    print("  chart updated, each move (ms): " + json.dumps([round(t) for t in chart_ms]))
    print(f"  highest 1-min load during the moves: {load_during:.2f}")
    print(f"  after:   {load_text()}")
    return 0


TARGET_DRAG_P95_MS, TARGET_REDRAWS, TARGET_MOVE_KB, TARGET_CHANGE_KB = 50, 20, 5, 400
TARGET_CHANGE_MS, TARGET_FIRST_VISIT_S, TARGET_FIRST_CHANGE_MS = 300, 4.0, 1500
# Surfaces picked after the Steps changes, within a minute of the server's start (typed into
# the Surface box: the first match is taken)
SURFACE_PICKS = ["Rosenbrock", "Himmelblau", "Ill-conditioned", "Ackley"]
OPTIMIZER_ADDED = "Nesterov"  # then added to the race (on either page)


LIVE = {"surfaces": "Surfaces", "data": "Data & SGD"}  # the pages with the live race


def live_main(args) -> int:
    """A page's live race (``bench/live_race.py`` says what is measured)."""
    from playwright.sync_api import sync_playwright

    port = args.port or _free_port()
    path = PAGES[args.page].url_path
    url = f"http://127.0.0.1:{port}/{path}" + os.environ.get("OPTLAB_BENCH_QUERY", "")
    tmp = Path(tempfile.mkdtemp(prefix="optlab-bench-"))
    if not args.warm_cache:
        os.environ["OPTLAB_JAX_CACHE"] = str(tmp / "jax-cache")  # the server inherits it
    load_before = load_text()
    slider = PAGES[args.page].slider
    first_target = TARGET_FIRST_VISIT_S if args.page == "surfaces" else 6.0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        wire = live_race.Wire(page)
        t_start = time.perf_counter()
        proc = start_server(port, tmp / "streamlit.log")
        t_up = time.perf_counter()
        try:
            page.goto(url)
            page.wait_for_function("() => (window.__optlabRace || {}).draws > 0", timeout=120_000)
            first_visit = time.perf_counter() - t_up
            page.wait_for_selector(IDLE, timeout=120_000)
            first_bytes = wire.snapshot()[1]
            page.get_by_role("slider", name=slider).scroll_into_view_if_needed()
            live_race.drag(page, wire, slider, moves=30)  # untimed: the page's first drag
            cpu0 = cpu_ms([proc.pid])
            drags = [live_race.drag(page, wire, slider) for _ in range(3)]
            cpu_drag = spent(cpu0, cpu_ms([proc.pid]))
            keys = live_race.keys(page, wire, slider, max(4, args.moves // 4))
            changes = live_race.structural(page, wire, 6)
            picked = live_race.pick_surfaces(page, SURFACE_PICKS) if args.page == "surfaces" else []
            added = live_race.add_optimizer(page, OPTIMIZER_ADDED)
        finally:
            browser.close()
            stop_server(proc)
    painted = [t for d in drags for t in d["painted_ms"]]
    p95 = percentile(painted, 0.95)
    redraws = min(d["redraws_per_s"] for d in drags)
    during = sum(d["sent_during"] for d in drags)
    release_kb = max(d["bytes_release"] for d in drags) / 1000
    key_kb = max(keys["bytes"]) / 1000
    first_change, later = changes["ms"][0], changes["ms"][1:]
    change_kb = max(changes["bytes"]) / 1000
    cache = "warm JAX disk cache" if args.warm_cache else "empty JAX disk cache"
    print(f"{LIVE[args.page]} · the live race (Adam's lr dragged, then keyed; Steps keyed)")
    print(f"  before:  {load_before}")
    print(f"  server start -> health ok          {t_up - t_start:8.2f} s   ({cache})")
    print(
        f"  first visit -> race painted        {first_visit:8.2f} s   "
        + against(True, f"{first_target:.0f} s     ", first_visit <= first_target)
        + f" ({first_bytes / 1000:.0f} KB received)"
    )
    print(
        f"  drag: input -> painted  p50 {percentile(painted, 0.5):8.1f} ms   "
        f"({len(painted)} events)"
    )
    print(f"  drag: input -> painted  p95 {p95:8.1f} ms   " + against(True, "50 ms   ", p95 <= 50))
    print(
        f"  drag: redraws per second     {redraws:8.1f}      "
        + against(True, ">= 20   ", redraws >= TARGET_REDRAWS)
        + f" (mouse events {drags[0]['inputs_per_s']:.0f}/s, the slowest of 3 drags)"
    )
    print(
        f"  drag: messages to the server {during:8d}      "
        + against(True, "0       ", during == 0)
        + f" (server CPU during the drags {cpu_drag:.0f} ms, incl. 3 releases)"
    )
    print(
        f"  per lr move: bytes received  {release_kb:8.2f} KB   "
        + against(True, "5 KB    ", release_kb <= TARGET_MOVE_KB)
        + f" (a release; a key press: {key_kb:.2f} KB)"
    )
    print(
        f"  key press -> painted    p95 {percentile(keys['painted_ms'], 0.95):8.1f} ms   "
        f"({len(keys['painted_ms'])} presses)"
    )
    print(
        f"  structural change -> painted     first {first_change:6.0f} ms (a new step bucket: "
        f"compiled unless the background warm-up got there), then "
        f"p50 {percentile(later, 0.5):.0f} / p95 {percentile(later, 0.95):.0f} ms "
        + against(True, "300 ms", percentile(later, 0.95) <= TARGET_CHANGE_MS)
    )
    if picked:
        print(
            f"  another surface -> painted       max {max(picked):6.0f} ms "
            + against(True, "1500 ms", max(picked) <= TARGET_FIRST_CHANGE_MS)
            + f" ({', '.join(f'{t:.0f}' for t in picked)} ms: {', '.join(SURFACE_PICKS)}; a"
            " fresh server)"
        )
    print(
        f"  {OPTIMIZER_ADDED} added -> painted          {added:6.0f} ms "
        + against(True, "1500 ms", added <= TARGET_FIRST_CHANGE_MS)
        + " (its program for this problem compiles unless the background got there)"
    )
    print(
        f"  per structural change: bytes     {change_kb:6.0f} KB  "
        + against(True, "400 KB", change_kb <= TARGET_CHANGE_KB)
    )
    ratio = percentile(later, 0.5) / max(percentile(painted, 0.5), 1e-3)
    print(f"  baseline: a server rerun (structural change) vs an lr move, p50: {ratio:.0f}x")
    print(f"  after:   {load_text()}")
    return 0


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a page that never updates, a server that does not start, ...
        print(f"optlab latency benchmark failed: {type(e).__name__}: {e}")
        print(f"  {load_text()}")
    raise SystemExit(0)
