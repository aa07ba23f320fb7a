"""The project skeleton: packaging, tooling, README, environment example and test layout."""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl


@impl
def uts_component() -> Component:
    return Component(
        name="project",
        version="0.1.0",
        summary="Package skeleton: pyproject (hatchling, ruff, pytest, mypy), README, tests.",
        requires=(),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.dependency("mypy>=2.4", group="dev")
    out.dependency("pytest>=9", group="dev")
    out.dependency("ruff>=0.17", group="dev")
