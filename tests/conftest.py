"""Shared fixtures."""

from __future__ import annotations

import os

import jax
import pytest

# Servers the tests start (browser tests, the load harness) warm up only what a first visit
# needs: the full tail of background compiles would hold their GIL for minutes on 2 cores.
os.environ.setdefault("OPTLAB_WARMUPS", "2")

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
