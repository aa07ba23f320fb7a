"""Write a uts component: a module with hook implementations, found through an entry point.

Quick start — ``my_uts_redis/__init__.py``::

    from pathlib import Path

    from uts.plugin import Component, Context, Contributions, Option, impl

    @impl
    def uts_component() -> Component:
        return Component(
            name="redis",
            version="1.0.0",
            summary="Redis client and health check.",
            requires=("project",),
            options=(Option("url", default="redis://localhost:6379/0", help="Redis URL."),),
            templates=Path(__file__).parent / "templates",
        )

    @impl
    def uts_contribute(ctx: Context, out: Contributions) -> None:
        out.dependency("redis>=5")
        url = ctx.options("redis")["url"]
        out.fragment("env", {"name": "REDIS_URL", "value": url}, key="REDIS_URL")

and in its ``pyproject.toml``::

    [project.entry-points."uts.components"]
    redis = "my_uts_redis"

The entry-point name is the component name. See ``docs/plugins.md`` for every hook.
"""

from __future__ import annotations

import pluggy

from uts.migrate import Migration
from uts.model import (
    REQUIRED,
    Component,
    Context,
    Contributions,
    Field,
    GeneratedFile,
    Host,
    Option,
    OwnFiles,
    Slot,
    TemplateHelpers,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "REQUIRED",
    "Component",
    "Context",
    "Contributions",
    "Field",
    "GeneratedFile",
    "Host",
    "Migration",
    "Option",
    "OwnFiles",
    "Slot",
    "TemplateHelpers",
    "impl",
]

PROJECT_NAME = "uts"
ENTRY_POINT_GROUP = "uts.components"

impl = pluggy.HookimplMarker(PROJECT_NAME)
"""Decorator marking a function as a uts hook implementation."""
