"""Shared fixtures."""

from __future__ import annotations

import os
import threading

import jax
import pytest

# Servers the tests start (browser tests, the load harness) warm up only what a first visit
# needs: the full tail of background compiles would hold their GIL for minutes on 2 cores.
os.environ.setdefault("OPTLAB_WARMUPS", "2")
# No persistent compilation cache in the test run (the pytest process, which runs app.py through
# AppTest, and the servers it starts): a process with it on serialises every program it
# compiles, and in one full run XLA aborted while serialising one of them; tests count
# compiles and must not depend on what an earlier test left on disk either.
os.environ["OPTLAB_JAX_CACHE"] = "off"
# AppTest runs each page in a thread of its own, and XLA compiles there: give threads a
# main-thread-sized stack (XLA's compiler recursed past a thread's default in the full suite;
# seen as segfaults inside backend_compile / (de)serialisation in script threads only).
threading.stack_size(64 << 20)

_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"


class CompileCounter:
    """Counts XLA backend compiles while the fixture is active (``.count``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: str, duration: float, **kwargs: object) -> None:
        del duration, kwargs
        if event == _COMPILE_EVENT:
            self.count += 1


@pytest.fixture
def compile_counter():
    counter = CompileCounter()
    jax.monitoring.register_event_duration_secs_listener(counter)
    try:
        yield counter
    finally:
        jax.monitoring.unregister_event_duration_listener(counter)
