"""Classroom load: N simulated students on the surfaces page at once (websocket protocol).

Each student opens the scenario link (its own start point and Adam learning rate, so no two
sessions share a configuration), then moves the learning-rate slider up to ``--moves`` times
with 1–3 s of think time, for at most ``--duration`` seconds (see ``load_client.py``). Before
the timed run every backend gets one warm-up session (the teacher opening the link first), so
JAX compiles are not counted. Everything runs on 127.0.0.1.

    .venv/bin/python bench/bench_load.py                      # 30 students, one server
    .venv/bin/python bench/bench_load.py --processes 2        # 2 servers behind nginx
    .venv/bin/python bench/bench_load.py --url http://127.0.0.1:8501/ --pids 1234
    .venv/bin/python bench/bench_load.py --sessions 3 --duration 5 --json out.json

Prints rerun latency p50/p95 (send -> script_finished), first-load latency, errors (including
isolation errors: a session shown another session's state), the servers' peak RSS and CPU,
and the load average. Always exits 0: a benchmark reports, tests assert.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from load_client import Plan, StudentResult, student
from proc_stats import Sampler
from servers import Server, start_cluster, start_streamlit

TARGET_P95_S = 1.0


def ws_url(url: str) -> str:
    base = url if url.endswith("/") else url + "/"
    return base.replace("https://", "wss://", 1).replace("http://", "ws://", 1) + "_stcore/stream"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


async def run_students(url: str, sessions: int, duration: float, moves: int = 20,
                       ramp: float = 3.0, **plan_kw) -> list[StudentResult]:  # fmt: skip
    """``sessions`` students against ``url`` at once (starts spread over ``ramp`` seconds);
    no move starts after ``duration`` seconds. Returns one result per student."""
    plan = Plan(ws_url(url), sessions, moves, time.monotonic() + duration, **plan_kw)

    async def delayed(i: int) -> StudentResult:
        await asyncio.sleep(ramp * i / max(sessions, 1))
        return await student(i, plan)

    hard_cap = duration + ramp + 2 * plan.timeout + 10  # stops by itself, whatever happens
    tasks = [asyncio.create_task(delayed(i)) for i in range(sessions)]
    done, pending = await asyncio.wait(tasks, timeout=hard_cap)
    for t in pending:
        t.cancel()
    results = [t.result() if t in done else StudentResult(i, errors=["cancelled at hard cap"])
               for i, t in enumerate(tasks)]  # fmt: skip
    return results


def summarize(results: list[StudentResult], wall_s: float) -> dict:
    moves = [t for r in results for t in r.moves_s]
    move_bytes = [b for r in results for b in r.move_bytes]
    charts = [t for r in results for t in r.charts_s]
    loads = [r.first_load_s for r in results if r.first_load_s is not None]
    errors = [e for r in results for e in r.errors]
    kinds = Counter(e.split(":", 1)[0] for e in errors)
    ms = lambda xs, q: round(1000 * percentile(xs, q), 1)  # noqa: E731
    return {
        "sessions": len(results), "wall_s": round(wall_s, 1),
        "script_finished": sum(r.finished for r in results), "moves": len(moves),
        "reruns_per_s": round(sum(r.finished for r in results) / max(wall_s, 1e-9), 2),
        "rerun_p50_ms": ms(moves, 0.5), "rerun_p95_ms": ms(moves, 0.95),
        "rerun_max_ms": round(1000 * max(moves), 1) if moves else None,
        "chart_p50_ms": ms(charts, 0.5), "chart_p95_ms": ms(charts, 0.95),
        "first_load_p50_ms": ms(loads, 0.5), "first_load_p95_ms": ms(loads, 0.95),
        "mb_received": round(sum(r.nbytes for r in results) / 2**20, 1),
        "kb_per_move_p50": round(percentile(move_bytes or [0], 0.5) / 1000, 1),
        "errors": len(errors), "error_kinds": dict(kinds),
        "isolation_errors": kinds.get("isolation", 0),
        "error_examples": sorted(set(errors))[:5],
    }  # fmt: skip


def uptime() -> str:
    try:
        out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    except OSError:
        out = ""
    return out.strip() or "load average: " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def warm_up(server: Server, timeout: float) -> None:
    """One short session per backend (directly on its port when behind nginx)."""
    backends = [f"http://127.0.0.1:{n.split(':')[1]}/" for n in server.pids.values()
                if n.startswith("streamlit:")] or [server.url]  # fmt: skip
    for url in backends:
        res = asyncio.run(run_students(url, 1, duration=1e9, moves=1, ramp=0, timeout=timeout,
                                       think=(0, 0), seed=99))  # fmt: skip
        if res[0].errors:
            print(f"  warm-up {url}: {res[0].errors[:2]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--duration", type=float, default=60, help="no move starts after this (s)")
    ap.add_argument("--moves", type=int, default=20, help="slider moves per student (max)")
    ap.add_argument("--think", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    ap.add_argument("--ramp", type=float, default=3.0, help="students join over this many s")
    ap.add_argument("--timeout", type=float, default=30.0, help="per rerun (s)")
    ap.add_argument("--url", help="an already running server or nginx (http://127.0.0.1:P/)")
    ap.add_argument("--pids", default="", help="with --url: server pids to watch (comma-sep.)")
    ap.add_argument(
        "--processes",
        type=int,
        default=0,
        help="start K servers behind nginx (deploy/run_cluster.sh)",
    )
    ap.add_argument(
        "--start-server",
        action="store_true",
        help="start one streamlit process (the default without --url/--processes)",
    )
    ap.add_argument("--port", type=int, default=0, help="port for a started server / nginx")
    ap.add_argument(
        "--shared-start",
        action="store_true",
        help="all students keep the default start point (more cache hits)",
    )
    ap.add_argument(
        "--full-reruns",
        action="store_true",
        help="each move reruns the whole page (a browser reruns only the slider's fragment)",
    )
    ap.add_argument("--extra-query", default="", help="appended to every scenario link")
    ap.add_argument("--no-warmup", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="optlab-load-"))
    if args.url:
        pids = {int(p): "server" for p in args.pids.split(",") if p.strip()}
        server = Server(args.url, pids=pids)
        mode = f"existing server {args.url}"
    elif args.processes:
        server = start_cluster(workdir, args.processes, args.port)
        mode = f"{args.processes} streamlit processes behind nginx ({server.url})"
    else:
        server = start_streamlit(workdir, args.port)
        mode = f"one streamlit process ({server.url})"
    mode += ", whole-page reruns" if args.full_reruns else ", fragment reruns (as a browser)"
    try:
        if not args.no_warmup:
            warm_up(server, args.timeout)
        sampler = Sampler(server.pids).start()
        load_before = uptime()
        t0 = time.monotonic()
        results = asyncio.run(run_students(
            server.url, args.sessions, args.duration, args.moves, args.ramp,
            think=tuple(args.think), timeout=args.timeout, extra_query=args.extra_query,
            shared_start=args.shared_start, seed=args.seed, full_reruns=args.full_reruns,
        ))  # fmt: skip
        wall = time.monotonic() - t0
        sampler.stop()
        load_after = uptime()
    finally:
        server.stop()

    s = summarize(results, wall)
    s.update(mode=mode, servers=sampler.report(), uptime_before=load_before,
             uptime_after=load_after, cpus=os.cpu_count())  # fmt: skip
    ok = s["rerun_p95_ms"] <= 1000 * TARGET_P95_S and s["errors"] == 0
    print(f"optlab classroom load: {s['sessions']} students, {mode}")
    print(
        f"  {s['moves']} slider moves, {s['script_finished']} reruns finished in "
        f"{s['wall_s']} s ({s['reruns_per_s']}/s), {s['mb_received']} MB received, "
        f"{s['kb_per_move_p50']} KB per move (p50)"
    )
    print(
        f"  rerun (send -> script_finished)  p50 {s['rerun_p50_ms']:8.1f} ms   p95 "
        f"{s['rerun_p95_ms']:8.1f} ms   max {s['rerun_max_ms']} ms"
    )
    print(
        f"  the race element arrives         p50 {s['chart_p50_ms']:8.1f} ms   p95 "
        f"{s['chart_p95_ms']:8.1f} ms"
    )
    print(
        f"  first load of the link           p50 {s['first_load_p50_ms']:8.1f} ms   p95 "
        f"{s['first_load_p95_ms']:8.1f} ms"
    )
    print(f"  errors {s['errors']} (isolation {s['isolation_errors']}) {s['error_kinds']}")
    for e in s["error_examples"]:
        print(f"    e.g. {e}")
    for row in s["servers"]:
        print(
            f"  {row['name']:>18} pid {row['pid']}: peak RSS {row['peak_rss_mb']} MB "
            f"(VmHWM {row['vm_hwm_mb']} MB), CPU avg {row['avg_cpu_pct']} % / peak "
            f"{row['peak_cpu_pct']} % of one core, {row['cpu_s']} s"
        )
    print(f"  target p95 <= {TARGET_P95_S:.0f} s and 0 errors: {'PASS' if ok else 'MISS'}")
    print(f"  uptime before: {load_before}\n  uptime after:  {load_after}  ({s['cpus']} CPUs)")
    if args.json:
        args.json.write_text(json.dumps(s, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
