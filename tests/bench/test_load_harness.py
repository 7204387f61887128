"""The classroom load harness (``bench/bench_load.py``) against a real ``streamlit run`` server:
three simulated students for a few seconds must connect, load their links, move the slider
and get a ``script_finished`` for every rerun, each seeing only its own state."""

from __future__ import annotations

import asyncio
import time

import pytest

from bench import bench_load
from bench.load_client import check_echo, start_point
from bench.proc_stats import Sampler
from bench.servers import start_streamlit


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_streamlit(tmp_path_factory.mktemp("load"))
    yield srv
    srv.stop()


def test_echo_check_spots_another_sessions_state():
    own = (1.5, -2.0)
    assert check_echo("adam.lr=0.002&start=1.5,-2", 0.002, own) is None
    assert check_echo("start=1.5%2C-2", 0.1, own) is None  # the default lr is not in the URL
    assert "lr" in check_echo("adam.lr=0.005&start=1.5,-2", 0.002, own)
    assert "start" in check_echo("adam.lr=0.002&start=0.5,-2", 0.002, own)
    assert "start" in check_echo("adam.lr=0.002", 0.002, own)


def test_students_get_distinct_start_points():
    points = [start_point(i, 30) for i in range(30)]
    assert len(set(points)) == 30
    assert all(-4 <= v <= 4 for p in points for v in p)


def test_three_students_against_a_real_server(server):
    sampler = Sampler(server.pids, interval=0.5).start()
    t0 = time.monotonic()
    results = asyncio.run(
        bench_load.run_students(
            server.url, sessions=3, duration=60, moves=2, ramp=0.5, think=(0.2, 0.6), timeout=90
        )
    )
    sampler.stop()
    summary = bench_load.summarize(results, wall_s=time.monotonic() - t0)
    assert summary["errors"] == 0, summary["error_examples"]
    for r in results:
        assert r.first_load_s is not None, f"student {r.index} never finished its first load"
        assert len(r.moves_s) == 2, f"student {r.index} made {len(r.moves_s)} of 2 moves"
        assert r.finished == 3  # one script_finished per rerun: the load and two moves
        assert all(t > 0 for t in r.moves_s)
    assert summary["script_finished"] == 9
    (row,) = sampler.report()
    assert row["peak_rss_mb"] > 50
    assert row["cpu_s"] > 0


def test_students_stop_by_themselves_at_the_time_limit(server):
    t0 = time.monotonic()
    results = asyncio.run(
        bench_load.run_students(
            server.url, sessions=2, duration=2, moves=1000, ramp=0, think=(0.1, 0.2), timeout=90
        )
    )
    assert time.monotonic() - t0 < 60
    assert all(not r.errors for r in results), [r.errors for r in results]
    assert all(r.finished >= 1 and len(r.moves_s) < 1000 for r in results)


def test_ws_url():
    assert bench_load.ws_url("http://127.0.0.1:8501") == "ws://127.0.0.1:8501/_stcore/stream"
    assert bench_load.ws_url("https://h/app/") == "wss://h/app/_stcore/stream"
