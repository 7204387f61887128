"""Server start: the warm-ups (compiling the default race before the first visitor) and the
server-id route a page compares on reconnect."""

from __future__ import annotations

import asyncio

from optlab.shell import startup


def test_the_default_warmup_compiles_what_the_first_visit_runs(compile_counter):
    assert startup.run_warmups([startup.warm_surfaces_default]) == []
    before = compile_counter.count
    startup.warm_surfaces_default()  # the first visit's race: compiled already
    assert compile_counter.count == before


def test_a_failing_warmup_is_reported_and_the_rest_still_run():
    ran = []

    def broken():
        raise RuntimeError("boom")

    def fine():
        ran.append(True)

    assert startup.run_warmups([broken, fine]) == ["broken"]
    assert ran == [True]


def test_the_server_id_route_answers_this_process_id():
    response = asyncio.run(startup.server_id(None))
    assert response.body == f'{{"id":"{startup.SERVER_ID}"}}'.encode()
    assert response.headers["cache-control"] == "no-store"
    assert len(startup.SERVER_ID) == 16


def test_the_warmup_count_can_be_capped(monkeypatch):
    monkeypatch.setenv("OPTLAB_WARMUPS", "1")
    assert startup.warmup_count() == 1
    monkeypatch.setenv("OPTLAB_WARMUPS", "all")  # not a number: every entry
    assert startup.warmup_count() == len(startup.WARMUPS)
    monkeypatch.setenv("OPTLAB_WARMUPS", "0")
    assert startup.warmup_count() == 0


def test_the_warmups_run_in_first_visit_order():
    names = [w.__name__ for w in startup.WARMUPS]
    assert names == [
        "warm_surface_set",
        "warm_surfaces_default",
        "warm_surfaces_live",
        "warm_data_default",
        "warm_data_problems",
        "warm_steps_up",
        "warm_steps_down",
        "warm_deepnets_default",
        "warm_transformer_default",
    ]


def test_the_data_warmup_covers_the_data_pages_first_visit(compile_counter):
    from tests.support.apptest import open_page

    assert startup.run_warmups([startup.warm_data_default]) == []
    before = compile_counter.count
    open_page("data")  # the default Data & SGD page: its race is compiled already
    assert compile_counter.count == before


def test_the_deepnets_warmup_covers_the_depth_defaults(compile_counter):
    from optlab.config import deepnets as dn
    from optlab.nets import train

    assert startup.run_warmups([startup.warm_deepnets_default]) == []
    before = compile_counter.count
    n = dn.DeepNetsConfig().net
    train.train(dn.depth_net(n), dn.depth_data(n), dn.depth_runs(n)[:1], dn.depth_settings(n))
    assert compile_counter.count == before


def test_the_server_serves_only_after_the_first_visits_warmups(monkeypatch):
    """The lifespan returns (Starlette then takes requests) once the ``READY`` entries have
    run; the rest run afterwards, on the background thread."""
    import threading

    events: list[tuple[str, str]] = []
    done = threading.Event()

    def warmup(name: str):
        def warm() -> None:
            events.append((name, threading.current_thread().name))
            if name == "last":
                done.set()

        warm.__name__ = name
        return warm

    names = ["first", "second", "third", "last"]
    monkeypatch.setattr(startup, "WARMUPS", tuple(warmup(n) for n in names))
    monkeypatch.setattr(startup, "READY", 2)
    monkeypatch.setenv("OPTLAB_WARMUPS", "all")

    async def serve() -> list[str]:
        async with startup.lifespan(None):
            return [name for name, _ in events]

    assert asyncio.run(serve())[:2] == ["first", "second"]
    assert done.wait(10)
    assert [name for name, _ in events] == names
    threads = dict(events)
    assert threads["third"] == threads["last"] == "optlab-warmup"
    assert threads["first"] != "optlab-warmup"


def test_the_middleware_notes_each_message_a_page_sends_and_passes_it_on(monkeypatch):
    monkeypatch.setattr(startup, "_LAST_ACTIVITY", [-float("inf")])
    seen = []

    async def app(scope, receive, send):
        seen.append((scope["type"], await receive()))

    async def receive():
        return {"type": "websocket.receive", "bytes": b"rerun"}

    middleware = startup.ActivityMiddleware(app)
    asyncio.run(middleware({"type": "lifespan"}, receive, None))
    assert startup._LAST_ACTIVITY[0] == -float("inf")  # the server itself is no visitor
    asyncio.run(middleware({"type": "http"}, receive, None))
    after_http = startup._LAST_ACTIVITY[0]
    assert after_http > -float("inf")
    asyncio.run(middleware({"type": "websocket"}, receive, None))
    assert startup._LAST_ACTIVITY[0] >= after_http
    message = {"type": "websocket.receive", "bytes": b"rerun"}
    assert seen == [("lifespan", message), ("http", message), ("websocket", message)]


def test_the_background_warmups_wait_until_the_pages_are_quiet(monkeypatch):
    """A warm-up due while a page is active starts only ``QUIET_S`` after its last message."""
    import threading
    import time

    monkeypatch.setattr(startup, "QUIET_S", 0.4)
    monkeypatch.setattr(startup, "_LAST_ACTIVITY", [-float("inf")])
    started = []
    t0 = time.monotonic()
    startup.wait_until_quiet()  # no page has spoken: at once
    assert time.monotonic() - t0 < 0.4

    def warm() -> None:
        started.append(time.monotonic())

    startup.note_activity()
    last = startup._LAST_ACTIVITY[0]
    thread = threading.Thread(target=startup._background, args=([warm],))
    thread.start()
    time.sleep(0.2)
    assert started == []  # still within the quiet period
    thread.join(5)
    assert len(started) == 1
    assert started[0] - last >= 0.4


def test_neighbour_steps_are_the_nearest_options_in_other_buckets():
    # 200 is bucket 200; 150 shares it; 300 and 100 are the nearest in other buckets
    assert startup.neighbour_steps((50, 100, 150, 200, 300, 500), 200) == [300, 100]
    assert startup.neighbour_steps((50, 100, 200), 200) == [100]  # none above
    assert startup.neighbour_steps((200,), 200) == []


def test_the_step_warmup_covers_both_pages_next_step_bucket(compile_counter):
    """After ``warm_steps_up``, the Surfaces default at the next step bucket up and the
    Data & SGD default at the next Steps option up (each Steps slider's first move past its
    bucket) compile nothing."""
    import dataclasses

    import streamlit as st

    from optlab.config.data import STEPS_OPTIONS, default_data_config
    from optlab.config.surfaces import default_config
    from optlab.core import engine
    from optlab.pages.data import compute as data_compute
    from optlab.pages.surfaces import compute

    # Earlier test modules may have left results in Streamlit's caches and schedules in the
    # engine's, while JAX's caches are cleared after each module (conftest): the warm-up would
    # then find them cached and compile nothing (the schedule's tiny ops are per bucket too).
    st.cache_data.clear()
    st.cache_resource.clear()
    engine._multipliers.cache_clear()
    assert startup.run_warmups([startup.warm_steps_up]) == []
    before = compile_counter.count
    cfg = default_config()
    key = dataclasses.replace(cfg, steps=cfg.steps + 10).run_key()
    assert engine.bucket_steps(cfg.steps + 10) > engine.bucket_steps(cfg.steps)
    compute.compute(key)
    compute.lr_race(compute.structure(key), cfg.log_loss, cfg.theory)
    data = default_data_config()
    up = startup.neighbour_steps(STEPS_OPTIONS, data.steps)[0]
    assert engine.bucket_steps(up) > engine.bucket_steps(data.steps)
    for spec in data_compute.specs(dataclasses.replace(data, steps=up)):
        data_compute.lr_seed_grid(data_compute.structural(spec))
    assert compile_counter.count == before


def test_after_the_surface_set_warmup_a_new_surface_or_optimizer_compiles_no_race():
    """What a visitor who picks another surface, or adds an optimizer, runs (the race and
    its lr grids, through the Surfaces page's cached computations) compiles no engine
    program once ``warm_surface_set`` ran (the theory's few small ops still compile once per
    surface: ~0.1 s)."""

    import streamlit as st

    from optlab.config.surfaces import default_config, with_optimizers
    from optlab.core import stepper
    from optlab.pages.surfaces import compute

    st.cache_data.clear()  # no result of an earlier test may stand in for a run
    st.cache_resource.clear()
    assert startup.run_warmups([startup.warm_surface_set]) == []
    programs = stepper._run_packed._cache_size()
    for name, added in [("ravine", "nesterov"), ("rosenbrock", "lion"), ("himmelblau", "")]:
        cfg = default_config(name)
        if added:
            cfg = with_optimizers(cfg, [*cfg.optimizers, added])
        key = cfg.run_key()
        assert len(compute.results(key)) == len(cfg.optimizers)
        compute.lr_race(compute.structure(key), cfg.log_loss, cfg.theory)
    assert stepper._run_packed._cache_size() == programs
