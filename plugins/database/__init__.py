"""The database layer: SQLModel engine from ``DATABASE_URL``, sessions and table creation.

It adapts to the components around it:

- with ``config`` the URL is the ``database_url`` setting instead of a bare environment
  variable;
- with ``layers`` (the CORE layout) the module is ``<package>.core.database`` and its
  tests go to ``tests/integration``;
- with ``migrations`` Alembic owns the schema, so the app no longer creates tables at
  startup.

The test fixtures never use ``DATABASE_URL``: in-memory SQLite, or the database
``TEST_DATABASE_URL`` names, refused unless its name contains ``test``. Engines hide
the values bound to statements from errors and logs (``hide_parameters``).

The files whose path depends on that choice live in ``templates/flat`` and
``templates/layered``, one of which ``uts_contribute`` hands to ``out.templates``; the
others, in ``templates/common``, are rendered by uts as usual.
"""

from __future__ import annotations

from pathlib import Path

from uts.escape import py_str
from uts.plugin import Component, Context, Contributions, Option, impl

_TEMPLATES = Path(__file__).parent / "templates"


@impl
def uts_component() -> Component:
    return Component(
        name="database",
        version="0.2.0",
        summary="SQLModel engine and sessions; SQLite by default, any URL via DATABASE_URL.",
        requires=("project",),
        conflicts=(),
        options=(
            Option(name="echo", type=bool, default=False, help="Log SQL statements."),
            Option(
                name="postgresql",
                type=bool,
                default=False,
                help="Install the psycopg 3 driver, for postgresql+psycopg:// URLs.",
            ),
        ),
        templates=_TEMPLATES / "common",
    )


def _layered(ctx: Context) -> bool:
    return ctx.has("layers")


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    options = ctx.options("database")
    layered = _layered(ctx)
    module = f"{ctx.package}.core.database.database" if layered else f"{ctx.package}.database"
    url = f"sqlite:///./{ctx.package}.db"
    out.dependency("sqlalchemy>=2.0.14")
    out.dependency("sqlmodel>=0.0.50")
    if options["postgresql"]:
        out.dependency("psycopg[binary]>=3.3")

    out.templates(_TEMPLATES / ("layered" if layered else "flat"))

    comment = "SQLAlchemy database URL."
    env = {"name": "DATABASE_URL", "value": url, "comment": comment}
    out.fragment("env", env, key="DATABASE_URL")
    if ctx.has("config"):
        out.fragment(
            "settings",
            {
                "name": "database_url",
                "type": "str",
                "default": py_str(url),
                "doc": comment,
                "secret": False,
            },
            key="database_url",
        )
    startup = "log_database_url" if ctx.has("migrations") else "create_db_and_tables"
    out.fragment(
        "lifespan",
        {"module": module, "function": startup, "shutdown": "dispose_engine"},
        key=f"{module}.{startup}",
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
    out.fragment("readme", {"title": "Database", "body": _readme(ctx, module, url)})


def _readme(ctx: Context, module: str, url: str) -> str:
    source = "the `DATABASE_URL` setting" if ctx.has("config") else "`DATABASE_URL`"
    if ctx.has("migrations"):
        tables = "Alembic creates and migrates the tables (see Migrations)"
    elif ctx.has("fastapi"):
        tables = "the app creates missing tables at startup"
    else:
        tables = "`create_db_and_tables()` creates missing tables"
    driver = (
        "To use PostgreSQL, set "
        if ctx.options("database")["postgresql"]
        else 'To use PostgreSQL, install a driver (`pip install "psycopg[binary]"`) and set '
    )
    tests = (
        "The tests never touch that database, whatever `DATABASE_URL` says: each one "
        "runs against a fresh in-memory SQLite database, unless `TEST_DATABASE_URL` is "
        "set in the environment of `pytest`; then they run against that database, "
        "dropping and creating its tables, so the suite refuses to start unless its "
        "name contains `test`: "
        "`TEST_DATABASE_URL=postgresql+psycopg://user:password@localhost:5432/app_test "
        "pytest`."
    )
    return (
        f"`{module.removesuffix('.database') if _layered(ctx) else module}` creates the "
        f"engine from {source} (default: the SQLite file `{ctx.package}.db` in the "
        f"working directory); `get_session` yields one session per unit of work, and "
        f"{tables}. {driver}"
        "`DATABASE_URL=postgresql+psycopg://user:password@localhost:5432/dbname`. " + tests
    )
