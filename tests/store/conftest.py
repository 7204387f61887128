"""The storage tests run on SQLite (a file in a temp dir) and, when ``OPTLAB_TEST_POSTGRES_URL``
is set, the same tests on PostgreSQL (``.ci/run`` starts a server; locally they skip without
it, in CI (``CI=true``) they fail)."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from optlab.store import schema

PG_URL = os.environ.get("OPTLAB_TEST_POSTGRES_URL")


def make_engine(kind: str, tmp_path) -> sa.Engine:
    if kind == "sqlite":
        return sa.create_engine(f"sqlite:///{tmp_path / 'classes.sqlite3'}",
                                connect_args={"timeout": 30})  # fmt: skip
    if not PG_URL:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("OPTLAB_TEST_POSTGRES_URL must be set in CI (.ci/run starts PostgreSQL)")
        pytest.skip("OPTLAB_TEST_POSTGRES_URL not set (see .ci/postgres.sh)")
    return sa.create_engine(PG_URL, pool_size=40, max_overflow=10)


def _drop(engine: sa.Engine) -> None:
    schema.metadata.drop_all(engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_factory(request, tmp_path):
    """``factory()`` -> a new engine on the same database (another "server process")."""
    made: list[sa.Engine] = []

    def factory() -> sa.Engine:
        e = make_engine(request.param, tmp_path)
        made.append(e)
        return e

    first = factory()
    if request.param == "postgresql":
        _drop(first)
    yield factory
    if request.param == "postgresql":
        _drop(first)
    for e in made:
        e.dispose()


@pytest.fixture
def engine(engine_factory):
    return engine_factory()
