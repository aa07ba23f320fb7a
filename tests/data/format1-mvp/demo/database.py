"""Database access: the engine, one session per request, and table creation."""

import os
from collections.abc import Generator

from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, create_engine, text

DEFAULT_DATABASE_URL = "sqlite:///./demo.db"
ECHO_SQL = False


def get_database_url() -> str:
    """The database URL: ``DATABASE_URL`` if set, else a SQLite file in the cwd."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def make_engine(url: str, *, echo: bool = ECHO_SQL) -> Engine:
    """Create an engine for *url*; SQLite connections may be used from any thread."""
    connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
    return create_engine(url, echo=echo, connect_args=connect_args)


engine = make_engine(get_database_url())


def create_db_and_tables() -> None:
    """Create the tables of every imported model that does not exist yet."""
    SQLModel.metadata.create_all(engine)


def dispose_engine() -> None:
    """Close the engine's pooled connections."""
    engine.dispose()


def check_connection() -> None:
    """Run a trivial query; raises if the database cannot be reached."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def get_session() -> Generator[Session, None, None]:
    """Yield a session for one unit of work (a FastAPI dependency)."""
    with Session(engine) as session:
        yield session
