"""The app's engine through ``st.connection``: where the data lives, and SQLite in WAL mode."""

from __future__ import annotations

import sqlalchemy as sa

from optlab.store import connection, db


def test_default_is_a_wal_sqlite_file_in_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTLAB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("OPTLAB_DATABASE_URL", raising=False)
    assert connection.database_url() == f"sqlite:///{tmp_path / 'data' / 'classes.sqlite3'}"
    engine = connection.engine()
    assert engine.url.database == str(tmp_path / "data" / "classes.sqlite3")
    code, _ = db.create_class(engine, "{}", 1)
    assert (tmp_path / "data" / "classes.sqlite3").exists()
    with engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    other = sa.create_engine(f"sqlite:///{tmp_path / 'data' / 'classes.sqlite3'}")
    assert db.open_class(other, code).code == code  # another process sees it
    other.dispose()


def test_the_environment_url_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("OPTLAB_DATABASE_URL", "postgresql+psycopg://u@db.example/optlab")
    assert connection.database_url() == "postgresql+psycopg://u@db.example/optlab"
