"""Turn requested component names into a deterministic, validated, ordered set."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from uts.errors import OptionError, ResolutionError, UtsError
from uts.model import Component

__all__ = ["Resolution", "resolve", "resolve_options", "suggest"]


def suggest(name: str, known: Iterable[str]) -> str:
    """A hint naming the closest known names to *name*, or listing what exists."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return "known: " + ", ".join(known) if known else "none are available"


class Resolution(NamedTuple):
    """Active components in dependency order, and why each one is there."""

    order: list[str]
    added_for: dict[str, str]


def resolve(
    components: Mapping[str, Component],
    requested: Iterable[str],
    without: Iterable[str] = (),
    unknown: Callable[[str], UtsError] | None = None,
    removed_by: Mapping[str, str] | None = None,
) -> Resolution:
    """Resolve *requested* (minus *without*) against *components*.

    *removed_by* says, per name of *without*, what removes it (``--without removes``
    by default), for the error when another component requires it.

    The order is stable: a component comes after everything it requires, and otherwise
    in the order it was requested; requirements are visited in sorted order. A name
    that is not there is refused with *unknown(name)* (by default a
    :class:`ResolutionError` suggesting the closest of *components*).
    """
    requested = list(dict.fromkeys(requested))
    without = list(dict.fromkeys(without))
    for name in requested + without:
        if name not in components:
            if unknown is not None:
                raise unknown(name)
            raise ResolutionError(f"unknown component {name!r}", hint=suggest(name, components))

    excluded = set(without)
    # A requested component that stands in for others (Component.provides) satisfies
    # their requirements: an adopted project's host is its project and its fastapi.
    provided = {
        other: name
        for name in requested
        if name not in excluded
        for other in components[name].provides
    }
    order: list[str] = []
    added_for: dict[str, str] = {}
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join([*path[path.index(name) :], name])
            raise ResolutionError(
                f"requirement cycle: {cycle}",
                hint="one of these components must stop requiring the next",
            )
        state[name] = "visiting"
        for required in sorted(components[name].requires):
            required = provided.get(required, required)
            if required not in components:
                raise ResolutionError(
                    f"component {name!r} requires {required!r}, which is not installed",
                    hint=f"install the plugin providing {required!r}, or drop {name!r}",
                )
            if required in excluded:
                why = (removed_by or {}).get(required, "--without removes")
                raise ResolutionError(
                    f"component {name!r} requires {required!r}, which {why}",
                    hint=f"keep {required!r}, or remove {name!r} too",
                )
            if required not in requested and required not in added_for:
                added_for[required] = name
            visit(required, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in requested:
        if name not in excluded:
            visit(name, [])

    active = set(order)
    for name in order:
        for other in sorted({*components[name].conflicts, *components[name].provides}):
            if other in active:
                raise ResolutionError(
                    f"component {name!r} conflicts with {other!r}",
                    hint=f"choose one of them (--without {other} or --without {name})",
                )
    return Resolution(order, added_for)


def resolve_options(
    component: Component, given: Mapping[str, Any], ask: Any = None
) -> dict[str, Any]:
    """Validate *given* values for *component* and fill in defaults.

    A required option with no value is asked for through *ask(component, option)* when
    given, and is an :class:`OptionError` otherwise.
    """
    for key in given:
        if component.option(key) is None:
            known = [option.name for option in component.options]
            raise OptionError(
                f"component {component.name!r} has no option {key!r}",
                hint=suggest(key, known) if known else f"{component.name!r} takes no options",
            )
    values: dict[str, Any] = {}
    for option in component.options:
        if option.name in given:
            values[option.name] = option.coerce(given[option.name], component.name)
        elif not option.required:
            values[option.name] = option.default
        elif ask is not None:
            values[option.name] = option.coerce(ask(component, option), component.name)
        else:
            raise OptionError(
                f"option {component.name}.{option.name} has no default and was not set",
                hint=f"pass --set {component.name}.{option.name}=VALUE"
                + (f" ({option.help})" if option.help else ""),
            )
    return values
