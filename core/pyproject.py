"""Edit a project's ``pyproject.toml`` with tomlkit, keeping the user's formatting."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import tomlkit
import tomlkit.exceptions
import tomlkit.items

from uts.errors import StateError
from uts.state import line_of

__all__ = ["requirement_name", "set_dependencies", "strip_tool_uts", "update_pyproject"]

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


def strip_tool_uts(text: str) -> str:
    """*text* without the ``[tool.uts]`` table of state format 1, every other byte kept."""
    doc = tomlkit.parse(text)
    tool = doc.get("tool")
    if tool is None or "uts" not in tool:
        return text
    del tool["uts"]
    if not tool:
        del doc["tool"]
    stripped = tomlkit.dumps(doc)
    # The table was appended after a blank line: take that line away with it.
    if stripped.endswith("\n\n") and not text.endswith("\n\n"):
        stripped = stripped.rstrip("\n") + "\n"
    return stripped


class _Source(NamedTuple):
    """A pyproject text being edited, and how to name it in an error."""

    text: str
    name: str
    hint: str

    def fail(self, reason: str, *keys: str) -> StateError:
        line = line_of(self.text, *keys) if keys else None
        return StateError(f"{self.name}{f':{line}' if line else ''}: {reason}", hint=self.hint)

    def parse(self) -> tomlkit.TOMLDocument:
        try:
            return tomlkit.parse(self.text)
        except (tomlkit.exceptions.TOMLKitError, RecursionError) as error:  # KeyAlreadyPresent too
            raise self.fail(f"not TOML uts can edit: {error}") from error


def _requirements(source: _Source, value: Any, *keys: str) -> list[str]:
    where = "[project]." + ".".join(keys)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise source.fail(f"{where} must be an array of requirement strings", "project", *keys)
    for item in value:
        try:
            requirement_name(item)
        except ValueError:
            raise source.fail(
                f"{where} holds {str(item)!r}, which is not a requirement", "project", *keys
            ) from None
    return [str(item) for item in value]


def _groups(doc: tomlkit.TOMLDocument, source: _Source) -> dict[str | None, list[str]]:
    """Every dependency group of *doc*, checked to be what PEP 621 says it is."""
    project = doc.get("project", {})
    if not isinstance(project, Mapping):
        raise source.fail("[project] must be a table", "project")
    groups: dict[str | None, list[str]] = {
        None: _requirements(source, project.get("dependencies", []), "dependencies")
    }
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, Mapping):
        raise source.fail(
            "[project.optional-dependencies] must be a table", "project", "optional-dependencies"
        )
    for group, requirements in optional.items():
        groups[group] = _requirements(source, requirements, "optional-dependencies", group)
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


@dataclass
class _Item:
    """One element of a string array as written: what precedes it, itself, what follows."""

    lead: str
    value: str
    tail: str


def _string_end(body: str, start: int) -> int:
    """The index just past the TOML string at *start*: basic, literal, or multi-line."""
    quote = body[start]
    delimiter = quote * 3 if body.startswith(quote * 3, start) else quote
    index = start + len(delimiter)
    while not body.startswith(delimiter, index):
        index += 2 if quote == '"' and body[index] == "\\" else 1
    end = index + len(delimiter)
    # A multi-line string may end with one or two quotes of its own: '''it's''''
    while len(delimiter) == 3 and end - index < 5 and body.startswith(quote, end):
        end += 1
    return end


def _split_array(text: str) -> tuple[list[_Item], str]:
    """Split the source of a TOML array of strings into items and the text before ``]``."""
    assert text.startswith("[") and text.endswith("]"), text
    body, index, items, pending = text[1:-1], 0, [], ""
    while index < len(body):
        char = body[index]
        if char in "\"'":
            end = _string_end(body, index)
            value = body[index:end]
            index = end
            tail_end = _skip_blanks(body, index)
            if tail_end < len(body) and body[tail_end] == ",":
                tail_end += 1
                after = _skip_blanks(body, tail_end)
                if after < len(body) and body[after] == "#":  # a comment on the item's line
                    newline = body.find("\n", after)
                    tail_end = len(body) if newline == -1 else newline
            else:
                tail_end = index
            items.append(_Item(pending, value, body[index:tail_end]))
            pending, index = "", tail_end
        elif char == "#":
            newline = body.find("\n", index)
            newline = len(body) if newline == -1 else newline
            pending += body[index:newline]
            index = newline
        else:
            pending += char
            index += 1
    return items, pending


def _skip_blanks(text: str, index: int) -> int:
    while index < len(text) and text[index] in " \t":
        index += 1
    return index


def _join_array(items: list[_Item], rest: str) -> str:
    return "[" + "".join(item.lead + item.value + item.tail for item in items) + rest + "]"


def _indent(lead: str) -> str:
    return "\n" + lead.rsplit("\n", 1)[1] if "\n" in lead else lead


def _quote(requirement: str, like: str | None) -> str:
    if like is not None and like.startswith("'") and "'" not in requirement:
        return f"'{requirement}'"
    return json.dumps(requirement)


def _insert(items: list[_Item], rest: str, requirement: str) -> str:
    """Insert *requirement* in name order, in the array's own style (undone by _delete)."""
    names = [requirement_name(tomlkit.parse(f"x = {i.value}")["x"]) for i in items]
    name = requirement_name(requirement)
    position = next((i for i, other in enumerate(names) if other > name), len(items))
    if not items:
        if not rest.strip():  # as uts renders an array: one requirement a line
            return _join_array([_Item("\n    ", _quote(requirement, None), ",")], "\n")
        lead, tail = ("\n    ", ",") if "\n" in rest else ("", "")
        return _join_array([_Item(lead, _quote(requirement, None), tail)], rest)
    if position < len(items):
        neighbour = items[position]
        new = _Item(_indent(neighbour.lead), _quote(requirement, neighbour.value), ",")
        if "\n" not in neighbour.lead:
            new.tail = ", "
            new.lead, neighbour.lead = neighbour.lead, ""
        items.insert(position, new)
        return _join_array(items, rest)
    last = items[-1]
    if "," in last.tail:
        items.append(_Item(_indent(last.lead), _quote(requirement, last.value), ","))
    else:
        last.tail = "," + last.tail
        lead = _indent(last.lead) if "\n" in last.lead else " "
        items.append(_Item(lead, _quote(requirement, last.value), ""))
    return _join_array(items, rest)


def _delete(items: list[_Item], rest: str, position: int) -> str:
    """Remove the item at *position*, undoing what _insert would have added for it."""
    gone = items.pop(position)
    if not items and not rest.strip():  # empty, as uts renders it: "[]"
        return "[]"
    if position < len(items):
        if "\n" not in gone.lead:
            items[position].lead = gone.lead
    elif items and "," not in gone.tail:
        previous = items[-1]
        previous.tail = previous.tail.replace(",", "", 1)
    return _join_array(items, rest)


def update_pyproject(
    current: str, old_rendered: str, new_rendered: str, path: str = "pyproject.toml"
) -> str:
    """Carry what changed between two uts renderings into the user's ``pyproject.toml``.

    Only the requirements uts added or dropped change (and format 1's ``[tool.uts]``
    table goes); the user's own requirements, comments, order, quoting and spacing stay
    as they are, and removing what an earlier call added gives back the same bytes. A
    file (or uts's record of it) whose dependency tables are not what PEP 621 says is a
    :class:`StateError` naming *path* and the line.
    """
    mine = _Source(current, path, "fix it by hand (PEP 621), or restore it from version control")
    record = _Source(
        old_rendered,
        "what uts wrote at pyproject.toml (its recorded base)",
        "restore .uts/ from version control",
    )
    doc = mine.parse()
    _groups(doc, mine)  # checked before anything is edited
    old_groups = _groups(record.parse(), record)
    new_doc = tomlkit.parse(new_rendered)
    new_groups = _groups(new_doc, _Source(new_rendered, "uts's rendering of pyproject.toml", ""))
    for group in sorted(set(old_groups) | set(new_groups), key=lambda g: g or ""):
        old, new = old_groups.get(group, []), new_groups.get(group, [])
        dropped = [r for r in old if r not in new]
        added = [r for r in new if r not in old]
        if not dropped and not added:
            continue
        text = _array(doc, group).as_string()
        for requirement in dropped:
            items, rest = _split_array(text)
            values = [str(tomlkit.parse(f"x = {i.value}")["x"]) for i in items]
            if requirement in values:
                text = _delete(items, rest, values.index(requirement))
        for requirement in added:
            items, rest = _split_array(text)
            present = {requirement_name(str(tomlkit.parse(f"x = {i.value}")["x"])) for i in items}
            if requirement_name(requirement) not in present:  # else the user declares it already
                text = _insert(items, rest, requirement)
        _store_array(doc, group, tomlkit.parse(f"x = {text}")["x"])
    return strip_tool_uts(tomlkit.dumps(doc))


def _store_array(doc: tomlkit.TOMLDocument, group: str | None, array: Any) -> None:
    project = doc["project"]
    if group is None:
        project["dependencies"] = array
    else:
        project["optional-dependencies"][group] = array
