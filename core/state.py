"""What uts records in a generated project: ``[tool.uts]`` and the file manifest.

The manifest (``.uts/manifest.json``) lists every file uts wrote with its owning
component, the SHA-256 of what was written and that pristine content, the base of
later three-way merges.
"""

from __future__ import annotations

import base64
import hashlib
import json
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
    "load_project",
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
    """The nearest directory at or above *start* holding a uts manifest (or a journal)."""
    from uts.journal import JOURNAL_NAME

    start = start.resolve()
    for directory in (start, *start.parents):
        # A journal marks a project too: an interrupted `uts new --force` may have one
        # before it has a manifest, and the command must find it to recover.
        if (directory / MANIFEST_PATH).is_file() or (directory / JOURNAL_NAME).is_file():
            return directory
    raise StateError(
        f"no uts project at or above {start} ({MANIFEST_PATH} not found)",
        hint="run inside a project made by 'uts new', or pass --project PATH",
    )


def load_project(root: Path) -> ProjectState:
    """Read ``[tool.uts]`` and the manifest of the project at *root*, checking both."""
    import tomllib

    manifest_path = root / MANIFEST_PATH
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(
            f"{manifest_path} is missing", hint="restore it from version control"
        ) from None
    except (OSError, ValueError) as error:
        raise StateError(
            f"{manifest_path} is not valid JSON: {error}", hint="restore it from version control"
        ) from error
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise StateError(
            f"{manifest_path} is not a uts manifest of format {MANIFEST_FORMAT}",
            hint="restore it from version control",
        )
    for path, entry in files.items():
        if not isinstance(entry, dict) or not {"owner", "sha256", "pristine"} <= set(entry):
            raise StateError(
                f"{manifest_path}: entry for {path!r} is incomplete",
                hint="restore the manifest from version control",
            )
    pyproject = root / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(
            f"{pyproject} is missing", hint="restore it from version control"
        ) from None
    except tomllib.TOMLDecodeError as error:
        raise StateError(f"{pyproject} is not valid TOML: {error}") from error
    tool = data.get("tool", {}).get("uts")
    components = tool.get("components") if isinstance(tool, dict) else None
    if not isinstance(components, dict) or not all(
        isinstance(c, dict) and isinstance(c.get("version"), str) for c in components.values()
    ):
        raise StateError(
            f"{pyproject}: [tool.uts] is missing or invalid (each component needs a version)",
            hint="restore [tool.uts] from version control",
        )
    return ProjectState(root, tool, files)
