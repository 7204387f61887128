"""Compiled programs, once per shape: ``program(jitted, args, **static)`` lowers and compiles a
jitted function for the shapes and dtypes of ``args`` (and its static arguments) the first time
and returns the XLA executable from then on.

Why not just call the jitted function? Compiling becomes a step of its own: the page can show
a labelled "compiling" stage before the first chunk runs, ``ready`` tells whether that stage is
needed at all, and the server's warm-up fills the same cache. XLA's persistent compilation
cache (``optlab.shell.setup.enable_compilation_cache``) still serves a fresh process, since
``compile()`` goes through it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

import jax

MAX_PROGRAMS = 64
_PROGRAMS: OrderedDict[tuple, Any] = OrderedDict()
_LOCK = threading.Lock()
STATS = {"compiles": 0, "compile_s": 0.0}


def _signature(x) -> tuple:
    """Shape, dtype and weak type of an array or a ``jax.ShapeDtypeStruct``."""
    return (tuple(x.shape), str(x.dtype), bool(getattr(x, "weak_type", False)))


def _key(jitted, args: tuple, static: dict) -> tuple:
    leaves, treedef = jax.tree.flatten(args)
    shapes = tuple(_signature(x) for x in leaves)
    return (jitted, treedef, shapes, tuple(sorted(static.items())))


def ready(jitted, *args, **static) -> bool:
    """Whether ``program`` would return at once (compiled before, in this process). Never
    waits for a compile in flight (a membership test of a dict is atomic)."""
    return _key(jitted, args, static) in _PROGRAMS


def program(jitted, *args, **static):
    """The compiled executable of ``jitted`` for ``args``' shapes (call it with the same
    non-static arguments). Thread-safe; at most ``MAX_PROGRAMS`` kept (oldest dropped)."""
    key = _key(jitted, args, static)
    with _LOCK:
        if key in _PROGRAMS:
            _PROGRAMS.move_to_end(key)
            return _PROGRAMS[key]
        t0 = time.perf_counter()
        compiled = jitted.lower(*args, **static).compile()
        STATS["compiles"] += 1
        STATS["compile_s"] += time.perf_counter() - t0
        _PROGRAMS[key] = compiled
        while len(_PROGRAMS) > MAX_PROGRAMS:
            _PROGRAMS.popitem(last=False)
        return compiled


def run(jitted, *args, **static):
    """``jitted(*args, **static)`` through the program cache."""
    return program(jitted, *args, **static)(*args)


def clear() -> None:
    """Forget every compiled program (tests that count compiles)."""
    with _LOCK:
        _PROGRAMS.clear()
