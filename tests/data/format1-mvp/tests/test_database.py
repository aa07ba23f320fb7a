"""The database module: URL from the environment, sessions, tables, health check."""

from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, text

from demo import database


def test_database_url_defaults_to_a_local_sqlite_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    expected = "sqlite:///./demo.db"

    assert database.get_database_url() == expected


def test_database_url_comes_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app@db:5432/app")

    assert database.get_database_url() == "postgresql+psycopg://app@db:5432/app"


def test_get_session_yields_a_session_on_the_engine(engine: Engine) -> None:
    sessions = database.get_session()
    session = next(sessions)

    assert isinstance(session, Session)
    assert session.get_bind() is engine
    assert session.connection().execute(text("SELECT 1")).scalar_one() == 1
    sessions.close()


def test_create_db_and_tables_creates_the_database_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "app.db"
    file_engine = database.make_engine(f"sqlite:///{path}")
    monkeypatch.setattr(database, "engine", file_engine)

    database.create_db_and_tables()
    database.create_db_and_tables()
    database.check_connection()
    database.dispose_engine()

    assert path.is_file()


def test_check_connection_raises_when_the_database_is_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreachable = database.make_engine(f"sqlite:///{tmp_path / 'missing' / 'app.db'}")
    monkeypatch.setattr(database, "engine", unreachable)

    with pytest.raises(OperationalError):
        database.check_connection()
