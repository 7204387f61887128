"""Shared fixtures."""

from __future__ import annotations

import gc
import os

import jax
import pytest

from optlab.core import shared

# Servers the tests start (browser tests, the load harness) warm up only what a first visit
# needs: the full tail of background compiles would hold their GIL for minutes on 2 cores.
os.environ.setdefault("OPTLAB_WARMUPS", "2")
# No persistent compilation cache in the test run (the pytest process, which runs app.py through
# AppTest, and the servers it starts): a process with it on serialises every program it
# compiles; tests count compiles and must not depend on what an earlier test left on disk.
os.environ["OPTLAB_JAX_CACHE"] = "off"

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


@pytest.fixture(autouse=True, scope="module")
def _release_compiled_programs():
    """Free every XLA executable a test module compiled once the module is done.

    Each CPU executable holds about 3 memory mappings until it is released, and JAX's caches
    keep them all: the whole suite in one process compiles ~20,000 programs and reached Linux's
    ``vm.max_map_count`` (65,530), after which XLA's next compile segfaulted (at 5 GB RSS).
    Tests count compiles within a test, never across modules, so nothing depends on this cache.
    The shared programs' record of what is compiled goes with it (``optlab.core.shared``).
    """
    yield
    jax.clear_caches()
    shared.forget()
    gc.collect()
