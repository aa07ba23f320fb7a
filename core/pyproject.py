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
        if data.get("auto"):
            entry["auto"] = True
        if data.get("options"):
            entry["options"] = tomlkit.inline_table()
            entry["options"].update(data["options"])
        components[name] = entry
    table["components"] = components
    tool["uts"] = table


def _groups(doc: tomlkit.TOMLDocument) -> dict[str | None, list[str]]:
    project = doc.get("project", {})
    groups: dict[str | None, list[str]] = {None: [str(r) for r in project.get("dependencies", [])]}
    for group, requirements in project.get("optional-dependencies", {}).items():
        groups[group] = [str(r) for r in requirements]
    return groups


def _array(doc: tomlkit.TOMLDocument, group: str | None) -> Any:
    project = doc.setdefault("project", tomlkit.table())
    if group is None:
        if "dependencies" not in project:
            project["dependencies"] = _multiline([])
        return project["dependencies"]
    optional = project.setdefault("optional-dependencies", tomlkit.table())
    if group not in optional:
        optional[group] = _multiline([])
    return optional[group]


def update_pyproject(current: str, old_rendered: str, new_rendered: str) -> str:
    """Carry what changed between two uts renderings into the user's ``pyproject.toml``.

    Only the requirements uts added or dropped and the ``[tool.uts]`` table change;
    the user's own requirements, comments, order, quoting and spacing stay as they are.
    """
    doc = tomlkit.parse(current)
    old_groups = _groups(tomlkit.parse(old_rendered))
    new_doc = tomlkit.parse(new_rendered)
    new_groups = _groups(new_doc)
    for group in sorted(set(old_groups) | set(new_groups), key=lambda g: g or ""):
        old, new = old_groups.get(group, []), new_groups.get(group, [])
        dropped = [r for r in old if r not in new]
        added = [r for r in new if r not in old]
        if not dropped and not added:
            continue
        array = _array(doc, group)
        for requirement in dropped:
            for index in reversed(range(len(array))):
                if str(array[index]) == requirement:
                    del array[index]
        present = {requirement_name(str(item)) for item in array}
        for requirement in added:
            name = requirement_name(requirement)
            if name in present:
                continue  # the user already declares it their own way
            names = [requirement_name(str(item)) for item in array]
            position = next((i for i, other in enumerate(names) if other > name), len(names))
            array.insert(position, requirement)
            present.add(name)
    state = new_doc.get("tool", {}).get("uts")
    if state is not None:
        set_tool_uts(doc, state.unwrap())
    return tomlkit.dumps(doc)
