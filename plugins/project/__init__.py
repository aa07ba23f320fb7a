"""The project skeleton: packaging, tooling, README, environment example and test layout."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uts.plugin import Component, Context, Contributions, Field, Slot, TemplateHelpers, impl

SLOTS = (
    Slot(
        "env",
        "One environment variable the service reads: a line of `.env.example` and a row of "
        "the README's configuration table (deployment components read them too).",
        fields=(
            Field("name", help="The variable's name, upper case (`REDIS_URL`)."),
            Field("value", help="Its default, as `.env.example` shows it."),
            Field(
                "comment",
                required=False,
                default="",
                help="One line on what it means: the comment above it and the README's text.",
            ),
            Field(
                "secret",
                bool,
                required=False,
                default=False,
                help="A secret the service needs set (a `SecretStr` setting): deployment "
                "files ask for it or generate it and never ship it in plain configuration.",
            ),
        ),
        keyed="the variable's name",
    ),
    Slot(
        "readme",
        "A section of `README.md`, in component order.",
        fields=(
            Field("title", help="The section's heading."),
            Field("body", help="Its Markdown text."),
        ),
    ),
    Slot(
        "next-steps",
        "A command to run after `uts new`: printed by `uts new` and shown in the README's "
        "quick start, both sorted by `order` (ties keep component order).",
        fields=(
            Field("text", help="What the command does, one sentence."),
            Field("command", help="The shell command."),
            Field(
                "order",
                int,
                required=False,
                default=50,
                help="Where it goes: install 10, test 20, migrate 30, serve 90, deploy 95.",
            ),
            Field(
                "readme",
                bool,
                required=False,
                default=True,
                help="Whether the README shows it too (false when the quick start does already).",
            ),
        ),
    ),
    Slot(
        "gitignore",
        "A commented block of `.gitignore` patterns.",
        fields=(
            Field("comment", help="The comment line above the patterns."),
            Field("patterns", list, help="The patterns (strings), one line each."),
        ),
    ),
    Slot(
        "pytest-plugins",
        "A fixture module `tests/conftest.py` registers in `pytest_plugins`.",
        fields=(Field("module", help="Its dotted name (`tests.fixtures.redis`)."),),
        keyed="the module",
    ),
)


@impl
def uts_component() -> Component:
    return Component(
        name="project",
        version="0.3.0",
        summary="Package skeleton: pyproject (hatchling, ruff, pytest, mypy), README, tests.",
        requires=(),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
        slots=SLOTS,
    )


_SECRET_SUFFIXES = ("_PASSWORD", "_SECRET", "_TOKEN")


LINE_LENGTH = 88  # [tool.ruff] line-length in templates/pyproject.toml.jinja


def is_sensitive(entry: Mapping[str, Any]) -> bool:
    """Whether an ``env`` entry is a secret, which deployment files keep out of plain config.

    It is when it says so (``secret``: a ``SecretStr`` setting), when its name ends in
    ``_PASSWORD``, ``_SECRET`` or ``_TOKEN``, or when it ends in ``_URL`` and its value
    is not an ``http(s)`` URL (database and broker URLs carry credentials). The
    template test ``sensitive``: ``{% if setting is sensitive %}``,
    ``fragments["env"] | reject("sensitive")``.
    """
    name, value = str(entry["name"]), str(entry.get("value", ""))
    return (
        bool(entry.get("secret"))
        or name.endswith(_SECRET_SUFFIXES)
        or (name.endswith("_URL") and not value.startswith(("http://", "https://")))
    )


def from_import(module: str, *names: str, indent: int = 0) -> str:
    """``from module import a, b`` as ruff writes it in a generated project, whatever
    the package's name: on one line when it fits in the project's line length (88),
    else one name a line in parentheses with a trailing comma (ruff's isort and
    formatter agree on both). Give the names in isort's order; *indent* is the
    statement's indentation (an import inside a function). The template global
    ``from_import``: ``{{ from_import(package ~ ".core.errors", "NotFoundError") }}``.
    """
    if not names:
        raise ValueError(f"from_import({module!r}) names nothing to import")
    pad = " " * indent
    line = f"{pad}from {module} import {', '.join(names)}"
    if len(line) <= LINE_LENGTH:
        return line
    lines = [f"{pad}from {module} import (", *(f"{pad}    {name}," for name in names)]
    return "\n".join([*lines, f"{pad})"])


@impl
def uts_template_helpers() -> TemplateHelpers:
    return TemplateHelpers(tests={"sensitive": is_sensitive}, globals={"from_import": from_import})


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
