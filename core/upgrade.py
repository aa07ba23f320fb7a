"""Upgrade a project's state from format 1 (``[tool.uts]`` + ``.uts/manifest.json``) to 2.

Format 1 kept a pristine copy of every file in one JSON manifest and the components
in the user's ``pyproject.toml``. The upgrade writes ``.uts/project.toml`` and one
file per component, keeps the old copies as merge bases in the per-user object cache,
deletes the manifest and takes ``[tool.uts]`` out of ``pyproject.toml`` (every other
byte kept), all in one commit.
"""

from __future__ import annotations

import json
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
    provider_of,
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


def _manifest_files(root: Path) -> dict[str, Any]:
    path = root / MANIFEST_PATH
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StateError(
            f"{path} is not valid JSON: {error}", hint="restore it from version control"
        ) from error
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or manifest.get("format") != 1:
        raise StateError(
            f"{path} is not a uts manifest of format 1", hint="restore it from version control"
        )
    for rel, entry in files.items():
        check_entry(str(path), rel)
        if not isinstance(entry, dict) or not {"owner", "sha256", "pristine"} <= set(entry):
            raise StateError(
                f"{path}: entry for {rel!r} is incomplete",
                hint="restore the manifest from version control",
            )
    return files


def _tool_uts(root: Path) -> tuple[dict[str, Any], bytes]:
    import tomllib

    path = root / PYPROJECT
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except FileNotFoundError:
        raise StateError(f"{path} is missing", hint="restore it from version control") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise StateError(f"{path} is not valid TOML: {error}") from error
    tool = data.get("tool", {}).get("uts")
    components = tool.get("components") if isinstance(tool, dict) else None
    if not isinstance(components, dict) or not all(
        isinstance(c, dict) and isinstance(c.get("version"), str) for c in components.values()
    ):
        raise StateError(
            f"{path}: [tool.uts] is missing or invalid (each component needs a version)",
            hint="restore [tool.uts] from version control",
        )
    return tool, raw


def load_legacy(root: Path) -> ProjectState:
    """The state of a format-1 project, read as format 2 (nothing written)."""
    from uts.pyproject import strip_tool_uts

    files = _manifest_files(root)
    tool, pyproject = _tool_uts(root)
    stripped = strip_tool_uts(pyproject.decode("utf-8")).encode("utf-8")
    components: dict[str, dict[str, Any]] = {}
    for order, (name, data) in enumerate(tool["components"].items()):
        components[name] = {
            "version": data["version"],
            "order": order,
            "auto": bool(data.get("auto", False)),
            "options": dict(data.get("options", {})),
        }
    state_tool = {
        "format": STATE_FORMAT,
        **{key: tool[key] for key in ("recipe", "project-name", "package") if key in tool},
        "components": components,
    }
    records: dict[str, dict[str, Any]] = {}
    known: dict[str, bytes] = {}
    for rel, entry in files.items():
        try:
            content = decode_pristine(entry["pristine"])
        except (ValueError, TypeError) as error:
            raise StateError(f"{root / MANIFEST_PATH}: the copy of {rel!r} is damaged") from error
        if rel == PYPROJECT:
            # The base of later merges is what uts writes now: no [tool.uts] in it.
            content = strip_tool_uts(content.decode("utf-8")).encode("utf-8")
        oid = blob_id(content)
        known[oid] = content
        owner = str(entry["owner"])
        records[rel] = {
            "owner": owner,
            "blob": oid[:ID_LENGTH],
            "executable": bool(entry.get("executable")),
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
    for rel, entry in state.files.items():
        if entry["owner"] not in components:
            raise StateError(
                f"{state.root / MANIFEST_PATH}: {rel} is owned by {entry['owner']!r}, "
                "which [tool.uts] does not list",
                hint="restore both from version control",
            )
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
