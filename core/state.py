"""What uts records in a generated project: ``[tool.uts]`` and the file manifest.

The manifest (``.uts/manifest.json``) lists every file uts wrote with its owning
component, the SHA-256 of what was written and that pristine content, the base of
later three-way merges.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from uts.errors import StateError
from uts.model import GeneratedFile

__all__ = [
    "MANIFEST_FORMAT",
    "MANIFEST_PATH",
    "STATE_OWNER",
    "Drift",
    "ProjectState",
    "build_manifest",
    "find_project",
    "line_of",
    "load_project",
    "read_text",
    "sha256",
]

MANIFEST_PATH = ".uts/manifest.json"
MANIFEST_FORMAT = 1
STATE_OWNER = "uts"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pristine(data: bytes) -> dict[str, str]:
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


def build_manifest(files: Mapping[str, GeneratedFile], uts_version: str) -> bytes:
    """The manifest of *files* as deterministic JSON bytes, one line per file.

    One line per file keeps ``git diff`` of the manifest readable and lets the C JSON
    encoder do the work (``indent`` would switch to the pure-Python one).
    """
    dumps = json.JSONEncoder(sort_keys=True, ensure_ascii=False).encode
    lines: list[str] = []
    for path in sorted(files):
        item = files[path]
        entry: dict[str, Any] = {"owner": item.owner, "sha256": sha256(item.content)}
        if item.executable:
            entry["executable"] = True
        entry["pristine"] = _pristine(item.content)
        lines.append(f"    {dumps(path)}: {dumps(entry)}")
    body = "{\n" + ",\n".join(lines) + "\n  }" if lines else "{}"
    return (
        f'{{\n  "files": {body},\n  "format": {MANIFEST_FORMAT},\n'
        f'  "uts": {dumps(uts_version)}\n}}\n'
    ).encode()


class Drift(NamedTuple):
    """A file uts wrote that is no longer as written."""

    path: str
    owner: str
    status: str  # "modified" or "deleted"


class ProjectState(NamedTuple):
    """What uts recorded in an existing project."""

    root: Path
    tool: dict[str, Any]
    files: dict[str, dict[str, Any]]

    def pristine(self, path: str) -> bytes:
        entry = self.files[path]["pristine"]
        if "text" in entry:
            return str(entry["text"]).encode("utf-8")
        return base64.b64decode(entry["base64"])

    def drift(self) -> list[Drift]:
        """Files whose content differs from what uts wrote, or that are gone."""
        found: list[Drift] = []
        for path, entry in sorted(self.files.items()):
            target = self.root.joinpath(*path.split("/"))
            if not target.is_file():
                found.append(Drift(path, entry["owner"], "deleted"))
            elif sha256(target.read_bytes()) != entry["sha256"]:
                found.append(Drift(path, entry["owner"], "modified"))
        return found


def find_project(start: Path) -> Path:
    """The nearest directory at or above *start* holding a uts manifest."""
    try:
        start = start.resolve()
        for directory in (start, *start.parents):
            if (directory / MANIFEST_PATH).is_file():
                return directory
    except (OSError, ValueError) as error:  # a NUL, a name too long, a loop of links...
        reason = getattr(error, "strerror", None) or str(error)
        raise StateError(
            f"cannot look for a uts project at {start}: {reason}",
            hint="pass --project with the path of a project made by 'uts new'",
        ) from error
    raise StateError(
        f"no uts project at or above {start} ({MANIFEST_PATH} not found)",
        hint="run inside a project made by 'uts new', or pass --project PATH",
    )


def line_of(text: str, *keys: str) -> int | None:
    """The line where *keys* are written, each searched from the line of the one before.

    ``line_of(text, "tool", "uts", "components", "api")`` finds the line of
    ``[tool.uts.components.api]``; good enough to point a user at a TOML key.
    """
    lines = text.splitlines()
    found, start = None, 0
    for key in keys:
        name = rf"[\"']?{re.escape(key)}[\"']?"
        pattern = re.compile(rf"\s*(\[+[^\]]*(?<![\w-]){name}(?![\w-])|{name}\s*[.=])")
        for number in range(start, len(lines)):
            if pattern.match(lines[number]):
                found, start = number + 1, number
                break
        else:
            return found
    return found


def _where(path: Path, text: str, *keys: str) -> str:
    line = line_of(text, *keys)
    return f"{path}:{line}" if line else str(path)


def read_text(path: Path) -> str:
    """The UTF-8 text of *path*; unreadable or undecodable is a :class:`StateError`."""
    hint = "restore it from version control"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StateError(f"{path} is missing", hint=hint) from None
    except IsADirectoryError:
        raise StateError(f"{path} is not a file", hint=hint) from None
    except OSError as failure:
        raise StateError(
            f"cannot read {path}: {failure.strerror}", hint="check its permissions"
        ) from failure
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as failure:
        line = data[: failure.start].count(b"\n") + 1
        raise StateError(
            f"{path}:{line}: not UTF-8 text ({failure.reason})",
            hint="save it as UTF-8, or " + hint,
        ) from None


def _load_manifest(path: Path) -> dict[str, dict[str, Any]]:
    hint = "restore it from version control"
    text = read_text(path)
    try:
        manifest = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise StateError(f"{path} is not valid JSON: {error}", hint=hint) from error
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise StateError(f"{path} is not a uts manifest of format {MANIFEST_FORMAT}", hint=hint)
    for name, entry in files.items():
        problem = _entry_problem(entry)
        if problem:
            raise StateError(
                f"{path}: entry for {name!r} {problem}",
                hint="restore the manifest from version control",
            )
    return files


def _entry_problem(entry: Any) -> str | None:
    """What is wrong with one manifest entry, or None."""
    if not isinstance(entry, dict) or not {"owner", "sha256", "pristine"} <= set(entry):
        return "is incomplete"
    if not isinstance(entry["owner"], str) or not isinstance(entry["sha256"], str):
        return "has an owner or sha256 that is not a string"
    if not isinstance(entry.get("executable", False), bool):
        return "has an 'executable' that is not true or false"
    pristine = entry["pristine"]
    if not isinstance(pristine, dict) or len(pristine) != 1:
        return "has a damaged pristine record"
    if isinstance(pristine.get("text"), str):
        return None
    if isinstance(pristine.get("base64"), str):
        try:
            base64.b64decode(pristine["base64"], validate=True)
        except ValueError:
            return "has a pristine record that is not base64"
        return None
    return "has a damaged pristine record"


def _load_tool(path: Path) -> dict[str, Any]:
    """``[tool.uts]`` of the pyproject at *path*, checked key by key."""
    import tomllib

    text = read_text(path)
    hint = "restore [tool.uts] from version control"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StateError(f"{path} is not valid TOML: {error}", hint="fix the syntax") from error
    except RecursionError:
        raise StateError(
            f"{path}: arrays or tables nested too deeply to read", hint="flatten them"
        ) from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise StateError(f"{_where(path, text, 'tool')}: 'tool' must be a table", hint=hint)
    state = tool.get("uts")
    components = state.get("components") if isinstance(state, dict) else None
    if not isinstance(components, dict) or not all(
        isinstance(c, dict) and isinstance(c.get("version"), str) for c in components.values()
    ):
        raise StateError(
            f"{_where(path, text, 'tool', 'uts')}: [tool.uts] is missing or invalid "
            "(each component needs a version)",
            hint=hint,
        )
    assert isinstance(state, dict)
    for key in ("version", "recipe", "project-name", "package"):
        if not isinstance(state.get(key, ""), str):
            where = _where(path, text, "tool", "uts", key)
            raise StateError(f"{where}: [tool.uts] {key} must be a string", hint=hint)
    for name, entry in components.items():
        for key, kind, what in (("options", dict, "a table"), ("auto", bool, "true or false")):
            if key in entry and not isinstance(entry[key], kind):
                where = _where(path, text, "tool", "uts", "components", name, key)
                raise StateError(
                    f"{where}: [tool.uts.components.{name}] {key} must be {what}", hint=hint
                )
    return state


def load_project(root: Path) -> ProjectState:
    """Read ``[tool.uts]`` and the manifest of the project at *root*, checking both."""
    files = _load_manifest(root / MANIFEST_PATH)
    tool = _load_tool(root / "pyproject.toml")
    return ProjectState(root, tool, files)
