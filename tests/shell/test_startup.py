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
