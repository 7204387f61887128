"""Class mode's tables (SQLAlchemy Core), created on first use, and the engine set-up every
database gets: SQLite in WAL mode with a busy timeout and write transactions that take the
write lock up front (``BEGIN IMMEDIATE``), so that several server processes can share one file
without "database is locked" upgrades; PostgreSQL as it is.

Version ``SCHEMA_VERSION`` is written into ``optlab_meta``; a database written by a newer
optlab is refused (``SchemaError``) rather than misread.
"""

from __future__ import annotations

import threading
import weakref

import sqlalchemy as sa

SCHEMA_VERSION = 1
WRITE = "optlab_write"  # execution option: this transaction writes (SQLite: BEGIN IMMEDIATE)
BUSY_TIMEOUT_MS = 30_000

_READY: weakref.WeakSet = weakref.WeakSet()  # engines already prepared
_LOCK = threading.Lock()
metadata = sa.MetaData()

meta = sa.Table(
    "optlab_meta",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)

classes = sa.Table(
    "optlab_classes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(16), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False),
    sa.Column("challenge", sa.Text, nullable=False),  # JSON (optlab.config.classroom)
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("closed", sa.Boolean, nullable=False, default=False),
    sa.Column("revealed", sa.Boolean, nullable=False, default=False),
    sa.Column("refused", sa.Integer, nullable=False, default=0),  # refused submissions
)

submissions = sa.Table(
    "optlab_submissions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "class_id",
        sa.Integer,
        sa.ForeignKey("optlab_classes.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("student", sa.String(64), nullable=False),  # the session's student id
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("settings", sa.Text, nullable=False),  # JSON: what the student submitted
    sa.Column("score", sa.Float, nullable=True),  # None: no score (e.g. never reached)
    sa.Column("detail", sa.Text, nullable=False),  # JSON: the path and loss the server computed
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("versions", sa.Integer, nullable=False, default=1),  # times submitted
    sa.UniqueConstraint("class_id", "student", name="uq_optlab_submission"),
)


class SchemaError(RuntimeError):
    pass


def _sqlite_setup(engine: sa.Engine) -> None:
    """WAL, a busy timeout, foreign keys, and BEGIN [IMMEDIATE] issued by us (pysqlite's own
    deferred BEGIN would upgrade a read lock to a write lock mid-transaction and fail under
    contention; SQLAlchemy's documented recipe)."""

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn):
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def prepare(engine: sa.Engine) -> sa.Engine:
    """Set ``engine`` up for the store (once per engine) and create the tables if needed."""
    if engine in _READY:
        return engine
    with _LOCK:
        if engine in _READY:
            return engine
        _create(engine)
        _READY.add(engine)
    return engine


def _create(engine: sa.Engine) -> None:
    if engine.dialect.name == "sqlite":
        _sqlite_setup(engine)
    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if engine.dialect.name == "postgresql":  # two processes creating the tables at once
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(804212)"))
        metadata.create_all(conn, checkfirst=True)
        found = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema")).scalar()
        if found is None:
            conn.execute(sa.insert(meta).values(key="schema", value=str(SCHEMA_VERSION)))
        elif int(found) > SCHEMA_VERSION:
            raise SchemaError(
                f"the class database has schema version {found}; this optlab reads up to "
                f"{SCHEMA_VERSION}: upgrade optlab or point it at another database"
            )
