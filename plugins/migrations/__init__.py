"""Migrations: Alembic, with the URL from the settings and an initial revision.

``alembic/env.py`` reads ``DATABASE_URL`` from the settings, imports every model
through ``<package>.models`` and uses batch mode on SQLite. The initial revision
``0001`` creates the tables other components give in the ``initial-migration`` slot
(:data:`SLOTS`: Alembic operations as ``alembic revision --autogenerate`` writes them,
so that ``alembic check`` finds no drift).
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, Field, Slot, impl

SLOTS = (
    Slot(
        "initial-migration",
        "A table the initial revision `alembic/versions/0001_initial.py` creates (a revision "
        "a database ran is never rewritten: later tables need revisions of their own).",
        fields=(
            Field("table", help="The table's name, for the revision's docstring."),
            Field(
                "upgrade",
                help="Alembic operations creating it (`op.`, `sa.`, `sqlmodel.`), as "
                "`alembic revision --autogenerate` writes them, so `alembic check` finds no drift.",
            ),
            Field("downgrade", help="The operations dropping it, run in reverse order."),
        ),
        keyed="the table",
    ),
)


@impl
def uts_component() -> Component:
    return Component(
        name="migrations",
        version="0.2.0",
        summary="Alembic migrations: URL from the settings, initial revision, checks.",
        requires=("layers", "database", "config"),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
        # A revision a database may already have run is never rewritten: tables that a
        # component added later brings need a revision of their own.
        history=("alembic/versions/*",),
        history_hint=(
            "for tables a new component brings, add a revision: "
            'alembic revision --autogenerate -m "..." && alembic upgrade head'
        ),
        slots=SLOTS,
    )


UPGRADE = ["alembic", "upgrade", "head"]


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.dependency("alembic>=1.20")
    # Where the project runs, the infrastructure components run this first.
    out.fragment("migrate", {"command": UPGRADE}, key="migrate")
    out.fragment("docker-runtime", {"copy": ["alembic.ini", "alembic"]})
    out.fragment(
        "ci-steps",
        {
            "name": "Migrations go up, match the models and go down",
            "run": "alembic upgrade head && alembic check && alembic downgrade base",
            "order": 40,
            "readme": "the migrations up, against the models and down "
            "(`alembic upgrade head`, `check`, `downgrade base`)",
        },
        key="migrations",
    )
    out.fragment(
        "next-steps",
        {
            "text": "Before serving, and after each update, migrate the database schema:",
            "command": " ".join(UPGRADE),
            "order": 30,
        },
    )
    out.fragment(
        "readme",
        {
            "title": "Migrations",
            "body": "\n".join(
                [
                    "Alembic owns the schema: `alembic/env.py` reads `DATABASE_URL` from "
                    f"the settings and imports every model through `{ctx.package}.models`. "
                    "After changing a model:",
                    "",
                    "```bash",
                    'alembic revision --autogenerate -m "add products"',
                    "alembic upgrade head",
                    "```",
                    "",
                    "Read the generated revision before applying it (ruff formats it). "
                    "`alembic check` fails while the models and the migrations disagree, "
                    "`alembic downgrade -1` undoes the last revision, and "
                    "`alembic upgrade head --sql` prints the SQL instead of running it. "
                    "On SQLite, migrations run in batch mode (a table is copied to alter it).",
                ]
            ),
        },
    )
