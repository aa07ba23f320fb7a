"""Upgrade a project's state from format 1 (``[tool.uts]`` + ``.uts/manifest.json``) to 2.

Format 1 kept a pristine copy of every file in one JSON manifest and the components
in the user's ``pyproject.toml``. The upgrade writes ``.uts/project.toml`` and one
file per component, keeps the old copies as merge bases in the per-user object cache,
deletes the manifest and takes ``[tool.uts]`` out of ``pyproject.toml`` (every other
byte kept), all in one commit.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uts.errors import StateError
from uts.objects import blob_id, store_objects
from uts.state import (
    ID_LENGTH,
    MANIFEST_PATH,
    STATE_FORMAT,
    STATE_OWNER,
    ProjectState,
    build_state,
    check_entry,
    decode_pristine,
    line_of,
    provider_of,
    read_text,
)

if TYPE_CHECKING:
    from uts.plan import Plan
    from uts.plugin.manager import Registry

__all__ = ["Legacy", "load_legacy", "upgrade", "upgrade_plan"]

PYPROJECT = "pyproject.toml"


@dataclass
class Legacy:
    """Format 1 as found: the user's ``pyproject.toml`` now and without ``[tool.uts]``."""

    pyproject: bytes
    stripped: bytes


_RESTORE = "restore it from version control"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _manifest_files(root: Path) -> tuple[dict[str, Any], str]:
    """The ``files`` of format 1's manifest, and its text (to name lines)."""
    path = root / MANIFEST_PATH
    text = read_text(path)
    try:
        manifest = json.loads(text)
    except ValueError as error:
        raise StateError(f"{path} is not valid JSON: {error}", hint=_RESTORE) from error
    except RecursionError:  # json recurses once per nested array or object
        raise StateError(f"{path} is not valid JSON: nested too deeply", hint=_RESTORE) from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or manifest.get("format") != 1:
        raise StateError(f"{path} is not a uts manifest of format 1", hint=_RESTORE)
    for rel in files:
        check_entry(_entry_at(path, text, rel), rel)
    return files, text


def _entry_at(path: Path, text: str, rel: str) -> str:
    """*path* and the line of *rel*'s entry (format 1 wrote one entry per line)."""
    found = text.find(json.dumps(rel, ensure_ascii=False) + ":")
    return f"{path}:{text.count(chr(10), 0, found) + 1}" if found >= 0 else str(path)


def _copy(path: Path, text: str, rel: str, entry: Any, owners: Mapping[str, Any]) -> bytes:
    """The pristine copy of *rel* held by its manifest *entry*, checked against its sha256."""
    where = _entry_at(path, text, rel)

    def bad(what: str) -> StateError:
        return StateError(f"{where}: {what}", hint=f"{_RESTORE} (uts has not changed anything)")

    if not isinstance(entry, dict):
        raise bad(f"the entry of {rel!r} is not an object")
    if not {"owner", "sha256", "pristine"} <= set(entry):
        raise bad(f"the entry of {rel!r} is incomplete (owner, sha256, pristine)")
    owner = entry["owner"]
    if not isinstance(owner, str) or owner not in owners:
        raise bad(f"{rel!r} is owned by {owner!r}, which [tool.uts] does not list")
    if not isinstance(entry.get("executable", False), bool):
        raise bad(f"executable of {rel!r} must be true or false")
    pristine = entry["pristine"]
    try:
        if not isinstance(pristine, dict) or not isinstance(
            pristine.get("text", pristine.get("base64")), str
        ):
            raise TypeError("neither text nor base64")
        content = decode_pristine(pristine)
    except (ValueError, TypeError) as error:  # bad base64, a lone surrogate, not a string
        raise bad(f"the copy of {rel!r} is damaged ({error})") from None
    sha256 = entry["sha256"]
    if not isinstance(sha256, str) or not _SHA256.match(sha256):
        raise bad(f"the sha256 of {rel!r} is not 64 hex digits")
    if hashlib.sha256(content).hexdigest() != sha256:
        raise bad(f"the copy of {rel!r} is damaged (its sha256 does not match)")
    return content


def _tool_uts(root: Path) -> tuple[dict[str, Any], bytes]:
    import tomllib

    path = root / PYPROJECT
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StateError(f"{path} is not valid TOML: {error}", hint=_RESTORE) from error
    except RecursionError:
        raise StateError(f"{path} is not valid TOML: nested too deeply", hint=_RESTORE) from None

    def bad(what: str, *keys: str) -> StateError:
        line = line_of(text, "tool", "uts", *keys)
        where = f"{path}:{line}" if line else str(path)
        return StateError(f"{where}: {what}", hint="restore [tool.uts] from version control")

    tool = data.get("tool")
    tool = tool.get("uts") if isinstance(tool, dict) else None
    components = tool.get("components") if isinstance(tool, dict) else None
    if (
        not isinstance(tool, dict)
        or not isinstance(components, dict)
        or not all(isinstance(c, dict) for c in components.values())
    ):
        raise bad("[tool.uts] is missing or invalid (each component needs a version)")
    for key in ("recipe", "project-name", "package"):
        if key in tool and not isinstance(tool[key], str):
            raise bad(f"[tool.uts] {key} must be a string", key)
    for name, component in components.items():
        where = f"[tool.uts.components.{name}]"
        if not isinstance(component.get("version"), str):
            raise bad(f"{where} version is missing or not a string", "components", name, "version")
        if not isinstance(component.get("options", {}), dict):
            raise bad(f"{where} options must be a table", "components", name, "options")
        if not isinstance(component.get("auto", False), bool):
            raise bad(f"{where} auto must be true or false", "components", name, "auto")
    return tool, text.encode("utf-8")


def _strip(where: str, text: str) -> bytes:
    """*text* without ``[tool.uts]``; a text tomlkit cannot edit is a :class:`StateError`."""
    from tomlkit.exceptions import TOMLKitError

    from uts.pyproject import strip_tool_uts

    try:
        return strip_tool_uts(text).encode("utf-8")
    except (TOMLKitError, RecursionError) as error:
        raise StateError(f"{where} is not TOML uts can edit: {error}", hint=_RESTORE) from None


def load_legacy(root: Path) -> ProjectState:
    """The state of a format-1 project, read as format 2 (nothing written).

    Everything is checked here, before anything is written: a damaged manifest or
    ``[tool.uts]`` stops the command and the upgrade never begins.
    """
    files, text = _manifest_files(root)
    tool, pyproject = _tool_uts(root)
    stripped = _strip(str(root / PYPROJECT), pyproject.decode("utf-8"))
    components: dict[str, dict[str, Any]] = {}
    for order, (name, data) in enumerate(tool["components"].items()):
        components[name] = {
            "version": data["version"],
            "order": order,
            "auto": data.get("auto", False),
            "options": dict(data.get("options", {})),
        }
    state_tool: dict[str, Any] = {
        "format": STATE_FORMAT,
        **{key: tool[key] for key in ("recipe", "project-name", "package") if key in tool},
        "components": components,
    }
    records: dict[str, dict[str, Any]] = {}
    known: dict[str, bytes] = {}
    manifest = root / MANIFEST_PATH
    for rel, entry in files.items():
        content = _copy(manifest, text, rel, entry, components)
        if rel == PYPROJECT:
            # The base of later merges is what uts writes now: no [tool.uts] in it.
            where = _entry_at(manifest, text, rel)
            content = _strip(f"{where}: the copy of {rel!r}", content.decode("utf-8"))
        oid = blob_id(content)
        known[oid] = content
        records[rel] = {
            "owner": entry["owner"],
            "blob": oid[:ID_LENGTH],
            "executable": entry.get("executable", False),
        }
    return ProjectState(
        root,
        state_tool,
        records,
        [MANIFEST_PATH],
        legacy=Legacy(pyproject, stripped),
        known=known,
    )


def upgrade_plan(state: ProjectState, registry: Registry | None = None) -> Plan:
    """The plan replacing format 1 by format 2 in the project of *state*.

    Each component's provider is recorded when the installed component has the
    recorded version (otherwise the next ``uts update`` records it).
    """
    from uts.plan import Change, Plan

    legacy: Legacy = state.legacy
    tool = dict(state.tool)
    components = {name: dict(data) for name, data in tool["components"].items()}
    if registry is not None:
        for name, data in components.items():
            loaded = registry.components.get(name)
            if loaded is not None and loaded.component.version == data["version"]:
                provider = provider_of(loaded.source)
                if provider:
                    data["provider"] = provider
    tool["components"] = components
    files = build_state(tool, state.records())
    changes = [
        Change(path, "create", STATE_OWNER, None, item.content) for path, item in files.items()
    ]
    manifest = (state.root / MANIFEST_PATH).read_bytes()
    changes.append(Change(MANIFEST_PATH, "delete", STATE_OWNER, manifest, None))
    if legacy.stripped != legacy.pyproject:
        owner = state.files.get(PYPROJECT, {}).get("owner", STATE_OWNER)
        changes.append(Change(PYPROJECT, "update", owner, legacy.pyproject, legacy.stripped))
    return Plan(state.root, sorted(changes, key=lambda change: change.path))


def upgrade(state: ProjectState, registry: Registry | None = None) -> str:
    """Write format 2 in place of format 1; the one line that reports it."""
    from uts.commit import commit

    plan = upgrade_plan(state, registry)
    store_objects(state.known.values())  # the old copies are the bases of later merges
    commit(plan)
    count = len(state.tool["components"])
    return (
        f"upgraded uts's state to format {STATE_FORMAT}: .uts/project.toml and "
        f"{count} file(s) in .uts/components/ replace .uts/manifest.json and [tool.uts]"
    )
