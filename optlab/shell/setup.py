"""Process-wide setup shared by every page: JAX's persistent compilation cache, the garbage
collector's tuning, projector mode, and a page that reloads itself from its URL when it
reconnects to a restarted server."""

from __future__ import annotations

import contextlib
import gc
import os
import secrets
from pathlib import Path

import jax
import streamlit as st

from optlab.config.links import parse_bool, parse_list


def cache_dir() -> str:
    return os.environ.get("OPTLAB_JAX_CACHE", str(Path.home() / ".cache" / "optlab" / "jax"))


# A size cap turns on JAX's cache eviction, and with it the inter-process file lock around every
# read and write: without it an entry is written in place, and a process (another server behind
# nginx, a warm-up thread's neighbour, the test suite beside its servers) that reads it half
# written crashes in XLA's deserialiser (seen here as a segfault in ``get_executable_and_time``).
CACHE_MAX_BYTES = 4 << 30


def enable_compilation_cache() -> None:
    """Keep XLA executables on disk so a fresh server process starts warm (shared safely by
    every process that uses the same directory); ``OPTLAB_JAX_CACHE=off`` keeps none."""
    if os.environ.get("OPTLAB_JAX_CACHE") == "off":
        return
    jax.config.update("jax_compilation_cache_dir", cache_dir())
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_compilation_cache_max_size", CACHE_MAX_BYTES)


PRESENT = "_optlab_present"
HIDDEN = "_optlab_hidden"


def presenting() -> bool:
    """Projector mode, asked for by ``?present=1`` on any page and remembered for the session
    (the sidebar's page links carry no parameters); ``?present=0`` turns it off. A value that
    is not a yes/no is ignored (the Surfaces page, which keeps it in its link, says so)."""
    text = st.query_params.get("present")
    if text is not None:
        with contextlib.suppress(ValueError):
            st.session_state[PRESENT] = parse_bool(text)
    return bool(st.session_state.get(PRESENT, False))


def hidden() -> frozenset[str]:
    """The control groups ``?hide=a,b`` takes away on this page (remembered like
    ``presenting``); each page hides the groups it has and ignores the rest."""
    text = st.query_params.get("hide")
    if text is not None:
        st.session_state[HIDDEN] = frozenset(parse_list(text))
    return st.session_state.get(HIDDEN, frozenset())


# This process's id, new at every start; ``/optlab/server-id`` answers it (``startup``).
SERVER_ID = secrets.token_hex(8)
SERVER_ID_PATH = "/optlab/server-id"

# Streamlit's frontend reconnects on its own after a server restart, but to a new server session
# that has never run the page: it drops the fragment reruns the sliders ask for (the fragment
# "does not exist anymore") until something reruns the whole page. So when a stream socket
# opened after this script ran (a reconnect) finds a server with another id, the page reloads
# itself: the URL holds the whole configuration, and the reloaded page is the view the
# student had. A network blip reconnects to the same server (the same id) and resumes the
# same session: nothing reloads, and a training in flight goes on. A server without the id
# route (or one that does not answer) also leaves the page alone.
RELOAD_ON_RECONNECT = """<script>
(() => {
  if (window.optlabReloadOnReconnect) return;
  window.optlabReloadOnReconnect = true;
  const known = "__SERVER_ID__";
  const idUrl = (wsUrl) => String(wsUrl).replace(/^ws/, "http")
    .replace(/\\/_stcore\\/stream.*$/, "__SERVER_ID_PATH__");
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      if (String(url).includes("/_stcore/stream")) {
        window.optlabStreams = [...(window.optlabStreams || []), this];
        this.addEventListener("open", async () => {
          try {
            const reply = await fetch(idUrl(url), { cache: "no-store" });
            const { id } = await reply.json();
            window.optlabReconnects = (window.optlabReconnects || 0) + 1;
            if (id !== known) window.location.reload();
          } catch (e) { /* no answer: keep the page as it is */ }
        }, { once: true });
      }
    }
  };
})();
</script>"""


def reload_on_reconnect() -> None:
    """Make the open page reload itself from its URL when it reconnects to a new server."""
    script = RELOAD_ON_RECONNECT.replace("__SERVER_ID__", SERVER_ID)
    st.html(script.replace("__SERVER_ID_PATH__", SERVER_ID_PATH), unsafe_allow_javascript=True)


@st.cache_resource(show_spinner=False)
def freeze_imports() -> bool:
    """Once per server process, before its first page: move everything alive (the ~200k
    objects of JAX, plotly, pandas, Streamlit and optlab, all imported by now) to the garbage
    collector's permanent generation, which collections skip.

    Streamlit runs a full ``gc.collect()`` after every script run (``runner.postScriptGC``);
    over those objects that took 110–380 ms of CPU per slider move on this 2-core machine,
    holding the GIL (the server could not even send the new chart meanwhile). Frozen, it
    takes a few ms. See ``settle_heap`` for what the first page adds (``optlab.shell.navigation``
    runs both around every page).
    """
    gc.freeze()
    return True


@st.cache_resource(show_spinner=False)
def settle_heap() -> bool:
    """Once per server process, after its first page: collect what that page left behind
    (JAX traces of the first compiles…; only objects created since ``freeze_imports`` are
    examined) and freeze what stays (compiled functions, the first cache entries). Later
    objects (sessions, cache entries) are collected as usual."""
    gc.collect()
    gc.freeze()
    return True
