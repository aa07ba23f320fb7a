"""Shell completion of component, recipe and option names.

A shell asks on every Tab, so names come from what is known without importing
plugins (built-in names, the cached entry points, the project's own records); only
an option name imports the one plugin whose options it lists. Completion never fails
loudly: whatever goes wrong completes nothing.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from uts.plugin.manager import Registry

__all__ = ["component_names", "option_names", "project_component_names", "recipe_names"]

Completions = list[str | tuple[str, str]]


def _registry() -> Registry:
    from uts.plugin.manager import load_registry

    return load_registry(strict=False, lazy=True)


def _completing(function: Callable[..., Completions]) -> Callable[..., Completions]:
    """*function*, completing nothing when it fails: a broken plugin or an unreadable
    project must not print a traceback into the user's shell prompt."""

    @functools.wraps(function)
    def complete(*args: Any, **kwargs: Any) -> Completions:
        with contextlib.suppress(Exception):
            return function(*args, **kwargs)
        return []

    return complete


@_completing
def component_names(incomplete: str) -> Completions:
    """Every component name there is (built-in or installed), without importing plugins."""
    return [name for name in _registry().names() if name.startswith(incomplete)]


@_completing
def project_component_names(ctx: typer.Context, incomplete: str) -> Completions:
    """The components the project (``--project``, else found from here up) records."""
    start = Path(ctx.params.get("project") or Path.cwd()).absolute()
    for directory in (start, *start.parents):
        records = directory / ".uts" / "components"
        if records.is_dir():
            names = sorted(path.stem for path in records.glob("*.toml"))
            return [name for name in names if name.startswith(incomplete)]
    return component_names(incomplete)


@_completing
def recipe_names(incomplete: str) -> Completions:
    """Built-in recipe names, and those plugins ship; a path completes as a file name."""
    if incomplete.startswith((".", "/", "~")) or "/" in incomplete or incomplete.endswith(".toml"):
        return []  # the shell completes file names
    from uts.recipe import builtin_recipe_dir

    names = {path.stem for path in builtin_recipe_dir().glob("*.toml")}
    names.update(path.stem for path, _ in _registry().recipes_starting(incomplete))
    return sorted(name for name in names if name.startswith(incomplete))


@_completing
def option_names(incomplete: str) -> Completions:
    """``COMPONENT.`` first; then that component's ``COMPONENT.OPTION=`` (its plugin is
    imported for them); then the value, for an option with choices or a boolean."""
    component, dot, rest = incomplete.partition(".")
    registry = _registry()
    if not dot:
        names = [name for name in registry.names() if name.startswith(component)]
        if len(names) != 1:
            return [f"{name}." for name in names]
        component = names[0]
    metadata = registry.metadata[component]
    option_name, equals, value = rest.partition("=")
    if not equals:
        return [
            (f"{component}.{option.name}=", option.help)
            for option in metadata.options
            if f"{component}.{option.name}=".startswith(incomplete)
        ]
    option = metadata.option(option_name)
    if option is None:
        return []
    values = option.choices or ((True, False) if option.type is bool else ())
    prefix = f"{component}.{option_name}="
    shown = [str(choice).lower() if isinstance(choice, bool) else str(choice) for choice in values]
    return [prefix + choice for choice in shown if choice.startswith(value)]
