"""The project skeleton: packaging, tooling, README, environment example and test layout."""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl


@impl
def uts_component() -> Component:
    return Component(
        name="project",
        version="0.2.0",
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
    # The README's quick start shows these itself ("readme": False); `uts new` prints them.
    out.fragment(
        "next-steps",
        {
            "text": "Install it with its development tools, and activate its environment:",
            "command": (
                'python -m venv .venv && .venv/bin/pip install -e ".[dev]" && . .venv/bin/activate'
            ),
            "order": 10,
            "readme": False,
        },
        key="install",
    )
    out.fragment(
        "next-steps",
        {
            "text": "Run its tests:",
            "command": "pytest",
            "order": 20,
            "readme": False,
        },
        key="test",
    )
