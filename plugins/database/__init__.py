"""The database layer: SQLModel engine from ``DATABASE_URL``, sessions and table creation."""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name="database",
        version="0.1.0",
        summary="SQLModel engine and sessions; SQLite by default, any URL via DATABASE_URL.",
        requires=("project",),
        conflicts=(),
        options=(Option(name="echo", type=bool, default=False, help="Log SQL statements."),),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    module = f"{ctx.package}.database"
    url = f"sqlite:///./{ctx.package}.db"
    out.dependency("sqlalchemy>=2.0.14")
    out.dependency("sqlmodel>=0.0.50")
    out.fragment(
        "env",
        {"name": "DATABASE_URL", "value": url, "comment": "SQLAlchemy database URL."},
        key="DATABASE_URL",
    )
    out.fragment(
        "lifespan",
        {"module": module, "function": "create_db_and_tables", "shutdown": "dispose_engine"},
        key=f"{module}.create_db_and_tables",
    )
    out.fragment(
        "health-checks",
        {"name": "database", "module": module, "function": "check_connection"},
        key="database",
    )
    out.fragment(
        "pytest-plugins", {"module": "tests.fixtures.database"}, key="tests.fixtures.database"
    )
    out.fragment("test-client-overrides", {"fixture": "session_overrides"}, key="session_overrides")
    tables = (
        "the app creates missing tables at startup"
        if ctx.has("fastapi")
        else "`create_db_and_tables()` creates missing tables"
    )
    out.fragment(
        "readme",
        {
            "title": "Database",
            "body": (
                f"`{module}` creates the engine from `DATABASE_URL` (default: the SQLite "
                f"file `{ctx.package}.db` in the working directory); `get_session` yields "
                f"one session per unit of work, and {tables}. To use PostgreSQL, install "
                'a driver (`pip install "psycopg[binary]"`) and set '
                "`DATABASE_URL=postgresql+psycopg://user:password@localhost:5432/dbname`. "
                "The tests never touch that database: each one runs against a fresh "
                "in-memory SQLite database."
            ),
        },
    )
