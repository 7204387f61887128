"""Process-wide setup: the persistent compilation cache is shared safely between processes."""

from __future__ import annotations

import jax
from jax._src import compilation_cache

from optlab.shell import setup


def test_the_compilation_cache_locks_its_files(tmp_path, monkeypatch):
    """A size cap turns on JAX's cache eviction and with it the file lock around each read and
    write, so a process never reads an entry another one is still writing."""
    monkeypatch.setenv("OPTLAB_JAX_CACHE", str(tmp_path))
    before = {k: getattr(jax.config, k) for k in (
        "jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
        "jax_compilation_cache_max_size")}  # fmt: skip
    try:
        setup.enable_compilation_cache()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path)
        assert jax.config.jax_compilation_cache_max_size == setup.CACHE_MAX_BYTES > 0
    finally:
        for k, v in before.items():
            jax.config.update(k, v)
        compilation_cache.reset_cache()


def test_off_keeps_no_cache(monkeypatch):
    monkeypatch.setenv("OPTLAB_JAX_CACHE", "off")
    before = jax.config.jax_compilation_cache_dir
    setup.enable_compilation_cache()
    assert jax.config.jax_compilation_cache_dir == before
