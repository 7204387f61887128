"""The app's class database through Streamlit's own ``st.connection(..., type="sql")``.

Where the data lives, first match wins:

1. ``OPTLAB_DATABASE_URL`` (e.g. ``postgresql+psycopg://optlab:secret@db.example/optlab``);
2. ``[connections.optlab]`` in ``.streamlit/secrets.toml`` (``url = "..."`` or dialect, host,
   username, …: Streamlit's SQL connection parameters);
3. a SQLite file ``classes.sqlite3`` in ``OPTLAB_DATA_DIR`` (default
   ``~/.local/share/optlab``), in WAL mode so several server processes on one machine share it.

This is the only module of ``optlab.store`` that imports Streamlit.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
import streamlit as st

from optlab.store.schema import BUSY_TIMEOUT_MS, prepare

NAME = "optlab"
DB_FILE = "classes.sqlite3"


def data_dir() -> Path:
    return Path(os.environ.get("OPTLAB_DATA_DIR") or Path.home() / ".local/share/optlab")


def sqlite_url(directory: Path | None = None) -> str:
    return f"sqlite:///{(directory or data_dir()) / DB_FILE}"


def _secrets_configured() -> bool:
    try:
        return NAME in st.secrets.get("connections", {})
    except Exception:  # no secrets file, or one Streamlit cannot read: not configured
        return False


def database_url() -> str | None:
    """The URL to use, or ``None`` when ``secrets.toml`` configures the connection."""
    if url := os.environ.get("OPTLAB_DATABASE_URL"):
        return url
    if _secrets_configured():
        return None
    return sqlite_url()


def engine() -> sa.Engine:
    """The shared SQLAlchemy engine (one per process; tables created on first use)."""
    url = database_url()
    kwargs: dict = {}
    if url is not None:
        kwargs["url"] = url
        if url.startswith("sqlite"):
            data_dir().mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000}
        else:
            kwargs["pool_pre_ping"] = True  # a restarted database server is reconnected
    conn = st.connection(NAME, type="sql", **kwargs)
    return prepare(conn.engine)
