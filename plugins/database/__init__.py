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
POSTGRES_DRIVER = "psycopg[binary]>=3.3"


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
        out.dependency(POSTGRES_DRIVER)

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
    _containers(ctx, out)


# The PostgreSQL of the local stack and of CI: throwaway credentials, reachable only there.
POSTGRES_IMAGE = "postgres:17.6-alpine"
_POSTGRES = {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "app", "POSTGRES_DB": "app"}


def _containers(ctx: Context, out: Contributions) -> None:
    """Where the database lives in the image, the compose stack and CI (their slots)."""
    sqlite = f"/app/data/{ctx.package}.db"
    # In a cluster the database is PostgreSQL: SQLite on a pod's disk is neither shared
    # between replicas nor kept across restarts.
    out.fragment("k8s-requirements", {"requirement": POSTGRES_DRIVER}, key="psycopg")
    out.fragment("k8s-egress", {"name": "PostgreSQL", "ports": [5432]}, key="database")
    out.fragment(
        "docker-runtime",
        {
            "comment": "The app user can write only in /app/data (a volume): SQLite goes there "
            "by default.",
            "env": {"DATABASE_URL": f"sqlite:///{sqlite}"},
            "volumes": {"data": "/app/data"},
            "readme": f"unless `DATABASE_URL` says otherwise, its database is SQLite in `{sqlite}`",
        },
    )
    if not ctx.options("database")["postgresql"]:
        out.fragment(
            "compose-environment",
            {"name": "DATABASE_URL", "value": f"sqlite:///{sqlite}"},
            key="DATABASE_URL",
        )
        out.fragment(
            "compose-volumes",
            {
                "volume": "app-data",
                "path": "/app/data",
                "readme": f"the SQLite database is `{sqlite}`, in the `app-data` volume",
            },
            key="app-data",
        )
        return
    url = "postgresql+psycopg://app:{password}@{host}:5432/app"
    # Compose takes the password from POSTGRES_PASSWORD (.env or the shell), "app" when
    # unset: no credentials written out in the file (secret scanners look for them).
    password = "${POSTGRES_PASSWORD:-app}"
    test_url = "postgresql+psycopg://app:app@localhost:5432/app_test"
    out.fragment(
        "compose-environment",
        {"name": "DATABASE_URL", "value": url.format(password=password, host="postgres")},
        key="DATABASE_URL",
    )
    out.fragment(
        "compose-services",
        {
            "name": "postgres",
            "order": 20,
            "wait": "service_healthy",
            "comment": "Local development credentials, reachable only from the stack's network.",
            "volumes": ["postgres-data"],
            "readme": f"`DATABASE_URL` is `{url.format(password='app', host='postgres')}` "
            "(set `POSTGRES_PASSWORD` in `.env` for another password), whose data lives in "
            "the `postgres-data` volume, and the app starts once PostgreSQL answers its "
            "health check",
            "service": {
                "image": POSTGRES_IMAGE,
                "environment": {**_POSTGRES, "POSTGRES_PASSWORD": password},
                "volumes": ["postgres-data:/var/lib/postgresql/data"],
                "healthcheck": {
                    "test": ["CMD", "pg_isready", "--username", "app", "--dbname", "app"],
                    "interval": "5s",
                    "timeout": "5s",
                    "retries": 10,
                    "start_period": "10s",
                },
                "restart": "unless-stopped",
            },
        },
        key="postgres",
    )
    out.fragment(
        "ci-services",
        {
            "name": "postgres",
            "service": {
                "image": POSTGRES_IMAGE,
                "env": {**_POSTGRES, "POSTGRES_DB": "app_test"},
                "ports": ["5432:5432"],
                "options": '--health-cmd "pg_isready --username app --dbname app_test" '
                "--health-interval 5s --health-timeout 5s --health-retries 10",
            },
            "env": {
                "DATABASE_URL": test_url,
                "TEST_DATABASE_URL": test_url,
            },
            "readme": "A PostgreSQL service container backs it: `DATABASE_URL` points the "
            "migrations and `TEST_DATABASE_URL` the tests at its `app_test` database, so CI "
            "proves what the local runs on SQLite do not.",
        },
        key="postgres",
    )


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
