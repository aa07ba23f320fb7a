"""Refuse a new project's package name that would shadow or collide with something.

A package named like a standard-library module, like a dependency the project declares,
or like a top-level path a component writes (``tests/``, ``alembic/``, ...) breaks the
project it names: imports resolve to the wrong code, or two components write one
directory. Nothing here knows a component: the names come from what the active
components contribute (their dependencies and their templates' fixed top-level paths).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from uts.errors import UsageError

__all__ = ["dependency_import_names", "refuse_shadowing", "top_level_paths"]

_REQUIREMENT_NAME = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_TEMPLATE_SUFFIX = ".jinja"
_INFO = (".dist-info", ".egg-info")


def top_level_paths(owner: str, directory: Path) -> dict[str, str]:
    """The fixed top-level names a template *directory* of *owner* writes, with a label.

    A name made from a template expression (``{{ package }}/``) is the project's own and
    is left out; a directory gives ``"tests/"``-style labels, a file its name.
    """
    from uts.render import template_files

    found: dict[str, str] = {}
    for rel in template_files(directory, owner):
        first, sep, _ = rel.partition("/")
        if "{" in first:
            continue
        if sep:
            found.setdefault(first.lower(), f"{first}/ directory")
            continue
        name = first.removesuffix(_TEMPLATE_SUFFIX)
        if name.endswith(".py"):
            found.setdefault(name[:-3].lower(), f"{name} module")
        found.setdefault(name.lower(), f"{name} file")
    return found


def _normalised(requirement: str) -> str | None:
    match = _REQUIREMENT_NAME.match(requirement)
    return re.sub(r"[-_.]+", "_", match.group(1)).lower() if match else None


def _installed(wanted: set[str]) -> dict[str, set[str]]:
    """What the *wanted* distributions (normalised names) installed on ``sys.path``
    provide to import: their ``top_level.txt``, else the first segments in ``RECORD``.

    Read straight off the ``*.dist-info`` / ``*.egg-info`` directories, the first of a
    name on ``sys.path`` winning as for imports: importing :mod:`importlib.metadata`
    costs a warm ``uts new`` more than the rest of this check (see uts.plugin.discovery).
    """
    found: dict[str, set[str]] = {}
    for entry in sys.path:
        try:
            with os.scandir(os.path.abspath(entry or ".")) as items:
                directories = sorted(item.path for item in items if item.name.endswith(_INFO))
        except OSError:  # not a directory (a zip file, or gone)
            continue
        for directory in directories:
            stem = os.path.basename(directory).rpartition(".")[0].partition("-")[0]
            name = _normalised(stem)
            if name in wanted and name not in found:
                found[name] = _top_level(directory)
    return found


def _top_level(directory: str) -> set[str]:
    names = set(_read(directory, "top_level.txt").split())
    if not names:
        # RECORD is CSV whose first field is the path: quoted only when it holds a comma,
        # which no importable top-level name does.
        for line in _read(directory, "RECORD").splitlines():
            parts = line.split(",", 1)[0].strip('"').split("/")
            if len(parts) > 1:
                names.add(parts[0])
            elif parts[0].endswith(".py"):
                names.add(parts[0][:-3])
    return {name.lower() for name in names if name.isidentifier()}


def _read(directory: str, name: str) -> str:
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return ""


def dependency_import_names(requirements: Iterable[str]) -> dict[str, set[str]]:
    """The import names of each requirement: its name normalised to an identifier
    (``pydantic-settings`` gives ``pydantic_settings``), plus what the distribution
    provides where it is installed next to uts (``PyYAML`` gives ``yaml`` there)."""
    names = {requirement: _normalised(requirement) for requirement in requirements}
    installed = _installed({name for name in names.values() if name})
    return {
        requirement: ({name} | installed.get(name, set())) if name else set()
        for requirement, name in names.items()
    }


def _collision(
    package: str,
    paths: Iterable[tuple[str, dict[str, str]]],
    dependencies: Iterable[tuple[str, str, set[str]]],
) -> str | None:
    """What *package* collides with, said in words, or ``None``."""
    owners: dict[str, list[str]] = {}
    for owner, found in paths:
        if package in found and owner not in owners.setdefault(found[package], []):
            owners[found[package]].append(owner)
    if owners:
        label, names = next(iter(owners.items()))
        return f"collides with the {label} that {_components(names)}"
    for owner, requirement, provides in dependencies:
        if package in provides:
            name = _REQUIREMENT_NAME.match(requirement)
            dist = name.group(1) if name else requirement
            via = "" if _normalised(dist) == package else f" (which provides {package!r})"
            return f"would shadow dependency {dist!r}{via} that component {owner!r} declares"
    if package in {name.lower() for name in sys.stdlib_module_names}:
        return f"would shadow the standard-library module {package!r}"
    return None


def _components(names: list[str]) -> str:
    """``component 'a' writes``, ``components 'a' and 'b' write``, ``... and 3 others``."""
    if len(names) == 1:
        return f"component {names[0]!r} writes"
    if len(names) == 2:
        return f"components {names[0]!r} and {names[1]!r} write"
    rest = len(names) - 2
    return f"components {names[0]!r}, {names[1]!r} and {rest} other{'s' if rest > 1 else ''} write"


def refuse_shadowing(
    project_name: str,
    package: str,
    paths: list[tuple[str, dict[str, str]]],
    dependencies: list[tuple[str, str]],
) -> None:
    """Raise a one-line :class:`UsageError` if *package* collides with a top-level path
    of *paths* (component, :func:`top_level_paths`), a dependency of *dependencies*
    (component, requirement) or a standard-library module."""
    from uts.engine import MAX_PROJECT_NAME, package_name

    provides = dependency_import_names(requirement for _, requirement in dependencies)
    declared = [(owner, requirement, provides[requirement]) for owner, requirement in dependencies]
    problem = _collision(package, paths, declared)
    if problem is None:
        return
    suggestion = None
    for candidate in (f"{project_name}-service", f"{project_name}-app", f"my-{project_name}"):
        if (
            len(candidate) <= MAX_PROJECT_NAME
            and _collision(package_name(candidate), paths, declared) is None
        ):
            suggestion = candidate
            break
    advice = f"pick another name, e.g. {suggestion!r}" if suggestion else "pick another name"
    raise UsageError(
        f"project name {project_name!r} gives package {package!r}, which {problem}: {advice}"
    )
