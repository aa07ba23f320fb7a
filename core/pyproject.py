"""Edit a project's ``pyproject.toml`` with tomlkit, keeping the user's formatting."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import tomlkit
import tomlkit.items

__all__ = ["requirement_name", "set_dependencies", "set_tool_uts"]

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def requirement_name(requirement: str) -> str:
    """The normalised distribution name of a PEP 508 requirement string."""
    match = _NAME.match(requirement)
    if not match:
        raise ValueError(f"not a requirement: {requirement!r}")
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def _multiline(items: Iterable[str]) -> tomlkit.items.Array:
    array = tomlkit.array()
    for item in items:
        array.append(item)
    array.multiline(True)
    return array


def set_dependencies(doc: tomlkit.TOMLDocument, groups: Mapping[str | None, list[str]]) -> None:
    """Set ``[project].dependencies`` (group ``None``) and optional-dependency groups.

    Requirements are sorted by name so the output does not depend on component order.
    """
    project = doc.setdefault("project", tomlkit.table())
    for group, requirements in sorted(groups.items(), key=lambda item: item[0] or ""):
        ordered = sorted(dict.fromkeys(requirements), key=lambda r: (requirement_name(r), r))
        if group is None:
            project["dependencies"] = _multiline(ordered)
        else:
            optional = project.setdefault("optional-dependencies", tomlkit.table())
            optional[group] = _multiline(ordered)


def set_tool_uts(doc: tomlkit.TOMLDocument, state: Mapping[str, Any]) -> None:
    """Replace ``[tool.uts]`` with *state* (recipe, components, versions, options)."""
    tool = doc.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        doc["tool"] = tool
    table = tomlkit.table()
    for key, value in state.items():
        if key != "components":
            table[key] = value
    components = tomlkit.table(is_super_table=True)
    for name, data in state.get("components", {}).items():
        entry = tomlkit.table()
        entry["version"] = data["version"]
        if data.get("options"):
            entry["options"] = tomlkit.inline_table()
            entry["options"].update(data["options"])
        components[name] = entry
    table["components"] = components
    tool["uts"] = table
