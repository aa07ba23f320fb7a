"""CI: a GitHub Actions workflow that lints, type-checks and tests, and Dependabot.

It owns ``.github/workflows/ci.yml`` and ``.github/dependabot.yml``. The workflow runs
what the README's quick start runs (ruff, mypy, pytest) on each Python version of the
``python_versions`` option, and adapts to the components present: with
``database.postgresql`` the tests run against a PostgreSQL service container
(``DATABASE_URL`` and ``TEST_DATABASE_URL``, database ``app_test``), with
``migrations`` Alembic goes up, checks for drift and goes down, with ``testing``
pytest runs under coverage with its floor. With ``docker``, Dependabot also bumps
the Dockerfile's base images.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, Option, impl
from uts_plugins.docker import POSTGRES_IMAGE, postgresql


@impl
def uts_component() -> Component:
    return Component(
        name="ci",
        version="0.1.1",
        summary="GitHub Actions workflow (ruff, mypy, pytest; PostgreSQL service) and Dependabot.",
        requires=("project",),
        conflicts=(),
        options=(
            Option(
                name="python_versions",
                type=str,
                default="3.11,3.13",
                pattern=r"3\.1[1-9](?:,3\.1[1-9])*",
                help="Comma-separated Python versions the tests run on, e.g. 3.11,3.13.",
            ),
            Option(
                name="postgres_image",
                type=str,
                default=POSTGRES_IMAGE,
                pattern=r"[a-z0-9]+(?:[._/-][a-z0-9]+)*:[A-Za-z0-9_][A-Za-z0-9_.-]*",
                help=f"PostgreSQL service image with an exact tag, e.g. {POSTGRES_IMAGE}.",
            ),
        ),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    *first, last = ctx.options("ci")["python_versions"].split(",")
    versions = f"{', '.join(first)} and {last}" if first else last
    steps = ["`ruff check`", "`ruff format --check`", "`mypy`"]
    if ctx.has("migrations"):
        steps.append(
            "the migrations up, against the models and down "
            "(`alembic upgrade head`, `check`, `downgrade base`)"
        )
    steps.append("`coverage run -m pytest`" if ctx.has("testing") else "`pytest`")
    body = (
        "`.github/workflows/ci.yml` runs on every push to `main` and every pull request, "
        f"on Python {versions}: it installs the project with its development "
        f"tools (uv), then runs {', '.join(steps[:-1])} and {steps[-1]}."
    )
    if postgresql(ctx):
        body += (
            " A PostgreSQL service container backs it: `DATABASE_URL` points the "
            "migrations and `TEST_DATABASE_URL` the tests at its `app_test` database, so "
            "CI proves what the local runs on SQLite do not."
        )
    body += " `.github/dependabot.yml` opens weekly pull requests for the Python " + (
        "dependencies, the pinned actions and the Dockerfile's base images."
        if ctx.has("docker")
        else "dependencies and the pinned actions."
    )
    out.fragment("readme", {"title": "Continuous integration", "body": body})
