"""Process-wide setup shared by every page: JAX's persistent compilation cache, projector mode."""

from __future__ import annotations

import os
from pathlib import Path

import jax
import streamlit as st

from optlab.urlstate import parse_bool


def cache_dir() -> str:
    return os.environ.get("OPTLAB_JAX_CACHE", str(Path.home() / ".cache" / "optlab" / "jax"))


def enable_compilation_cache() -> None:
    """Keep XLA executables on disk so a fresh server process starts warm."""
    jax.config.update("jax_compilation_cache_dir", cache_dir())
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)


def presenting() -> bool:
    """``?present=1`` (or the session's current configuration) asks for projector mode."""
    cfg = st.session_state.get("_optlab_cfg")
    if cfg is not None:
        return bool(cfg.present)
    text = st.query_params.get("present")
    try:
        return parse_bool(text) if text else False
    except ValueError:
        return False
