"""The tiered test layout: ``tests/unit``, ``tests/integration``, ``tests/e2e``, coverage.

Components that ship tests for the CORE tier put them in these directories; this one
owns the packages' ``__init__.py`` files and the coverage configuration with its floor.
"""

from __future__ import annotations

from pathlib import Path

from uts.errors import OptionError
from uts.plugin import Component, Context, Contributions, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name="testing",
        version="0.1.0",
        summary="Test tiers (unit, integration, e2e) and a coverage floor.",
        requires=("project",),
        conflicts=(),
        options=(
            Option(
                name="fail_under",
                type=int,
                default=80,
                help="Coverage percentage below which `coverage report` fails (0-100).",
            ),
        ),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_configure(ctx: Context) -> None:
    floor = ctx.options("testing")["fail_under"]
    if not 0 <= floor <= 100:
        raise OptionError(
            f"option testing.fail_under must be a percentage, got {floor}",
            hint="pick a number from 0 to 100, e.g. 80",
        )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.dependency("coverage>=7.17", group="dev")
    floor = ctx.options("testing")["fail_under"]
    out.fragment(
        "ci-tests",
        {"run": "coverage run -m pytest && coverage report", "readme": "`coverage run -m pytest`"},
        key="tests",
    )
    out.fragment(
        "readme",
        {
            "title": "Tests",
            "body": "\n".join(
                [
                    "`tests/unit` checks one module at a time, `tests/integration` the "
                    "services, repositories and middleware against a database, and "
                    "`tests/e2e` the whole application through HTTP requests. By default "
                    "every test gets a fresh in-memory SQLite database, so the suite "
                    "needs no server and no network. Measure coverage (the report fails "
                    f"below {floor}%):",
                    "",
                    "```bash",
                    "coverage run -m pytest && coverage report",
                    "```",
                ]
            ),
        },
    )
