"""What uts records in a project: ``.uts/project.toml`` and one file per component.

Format 2 keeps every record under ``.uts/``, nothing in the user's packaging file:

- ``.uts/project.toml``: the format, recipe, project and package names (and what
  ``uts adopt`` records; keys uts does not know are kept as they are);
- ``.uts/components/<name>.toml``: one per component: its version, the distribution
  that provided it, its options, whether it is only there for another one, its place
  in the composition order, and the files it owns, each as a git blob id.

No copy of any file is kept in the project: the base of a later three-way merge is
found by its blob id (see :meth:`ProjectState.bases`). Two git branches that add
different components touch different state files. Format 1 (``[tool.uts]`` in
``pyproject.toml`` plus ``.uts/manifest.json`` holding pristine copies) is read so
that :mod:`uts.upgrade` can replace it.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

from uts.errors import ConflictError, StateError, decode_utf8
from uts.model import GeneratedFile
from uts.objects import blob_id, cached_objects, git_objects, matches

__all__ = [
    "COMPONENTS_DIR",
    "ID_LENGTH",
    "MANIFEST_PATH",
    "PROJECT_FILE",
    "STATE_FORMAT",
    "STATE_OWNER",
    "Drift",
    "ProjectState",
    "Record",
    "build_state",
    "check_components_dir",
    "check_entry",
    "component_file",
    "decode_pristine",
    "find_project",
    "has_conflict_markers",
    "is_state_path",
    "line_of",
    "link_on_the_way",
    "load_project",
    "parse_component",
    "parse_project",
    "provider_of",
    "read_text",
    "records_of",
]

STATE_DIR = ".uts"
PROJECT_FILE = ".uts/project.toml"
COMPONENTS_DIR = ".uts/components"
MANIFEST_PATH = ".uts/manifest.json"
"""Format 1's manifest: read once, to upgrade, then deleted."""
STATE_FORMAT = 2
STATE_OWNER = "uts"
ID_LENGTH = 16
"""Hex digits of a blob id kept per file: 64 bits, so that the state of a CORE project
stays under 5 % of the files it tracks (40 digits would not)."""

MAX_NAME = 255
"""Bytes in one file name: the limit of ext4, APFS, NTFS (in UTF-16 units) and others."""
MAX_PATH = 1024
"""Bytes in a recorded path: macOS's PATH_MAX, a quarter of Linux's."""

_PROJECT_KEYS = ("format", "recipe", "project-name", "package")
COMPONENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_HEX = re.compile(r"^[0-9a-f]{7,40}$")
_MARKER = re.compile(r"^(<{7}|>{7}|\|{7})( |$)|^={7}$", re.MULTILINE)
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


class Record(NamedTuple):
    """One file uts wrote: the component owning it, its blob id, its executable bit."""

    owner: str
    blob: str
    executable: bool = False


_RESTORE = "restore it from version control (git checkout -- .uts)"


def check_entry(where: str | Callable[[], str], rel: str) -> None:
    """Refuse a recorded path that names a file outside the project (tampered state).

    *where* names the record in the error; a callable is called only for an error
    (finding a line is not free, and most records are fine).
    """
    if callable(where):
        try:
            check_entry("", rel)
        except StateError as error:
            error.message = where() + error.message
            raise
        return
    parts = rel.split("/")
    if (
        rel.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
        or "\0" in rel
        or "\\" in rel  # a separator on Windows
        or re.match(r"^[A-Za-z]:", rel)
    ):
        raise StateError(f"{where}: entry {rel!r} names a file outside the project", hint=_RESTORE)
    # No file system holds such a name, and stat() on it fails with ENAMETOOLONG.
    if len(rel.encode("utf-8", "surrogatepass")) > MAX_PATH or any(
        len(part.encode("utf-8", "surrogatepass")) > MAX_NAME for part in parts
    ):
        raise StateError(
            f"{where}: entry {rel[:40]!r}... names a file no file system holds "
            f"(a name over {MAX_NAME} bytes, or a path over {MAX_PATH})",
            hint=_RESTORE,
        )


def link_on_the_way(root: Path, rel: str, checked: set[str] | None = None) -> str | None:
    """The first segment of *rel* under *root* that is a symbolic link, if any."""
    checked = set() if checked is None else checked
    parts = rel.split("/")
    for end in range(1, len(parts) + 1):
        prefix = "/".join(parts[:end])
        if prefix in checked:
            continue
        if os.path.islink(os.path.join(root, prefix)):
            return prefix
        if end < len(parts):
            checked.add(prefix)  # a directory that is no link: never looked at again
    return None


def component_file(name: str) -> str:
    """The project-relative state file of component *name*."""
    return f"{COMPONENTS_DIR}/{name}.toml"


def is_state_path(path: str) -> bool:
    """Whether *path* is one of uts's state files (not a lock or journal beside them)."""
    if path in (PROJECT_FILE, MANIFEST_PATH):
        return True
    folder, _, name = path.rpartition("/")
    return folder == COMPONENTS_DIR and name.endswith(".toml")


def has_conflict_markers(text: str) -> bool:
    """Whether *text* holds git's conflict markers (``<<<<<<<``, ``=======``, ...)."""
    return _MARKER.search(text) is not None


def provider_of(source: str) -> dict[str, str] | None:
    """The distribution and version behind a component's load *source*, when known.

    Built-ins come from the ``uts`` distribution; an entry point's source reads
    ``<distribution> <version>`` (see :class:`uts.plugin.discovery.EntryPoint`).
    """
    from uts import __version__
    from uts.plugin.manager import BUILTIN_SOURCE

    if source == BUILTIN_SOURCE:
        return {"distribution": "uts", "version": __version__}
    name, space, version = source.rpartition(" ")
    if space and name and " " not in name and version:
        return {"distribution": name, "version": version}
    return None


# Writing ---------------------------------------------------------------------------


def _string(value: str) -> str:
    # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return repr(value) if math.isfinite(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    raise StateError(f"cannot record {value!r} ({type(value).__name__}) in uts's state")


def _table(name: str, values: Mapping[str, Any]) -> list[str]:
    return ["", f"[{name}]", *(f"{_key(k)} = {_value(v)}" for k, v in values.items())]


def _project_text(tool: Mapping[str, Any]) -> str:
    lines = [
        "# What uts records in this project: see its README.",
        f"format = {STATE_FORMAT}",
    ]
    lines += [f"{key} = {_value(tool[key])}" for key in _PROJECT_KEYS[1:] if key in tool]
    extra = {k: v for k, v in tool.items() if k not in (*_PROJECT_KEYS, "components")}
    scalars = {k: v for k, v in extra.items() if not isinstance(v, Mapping)}
    lines += [f"{_key(k)} = {_value(v)}" for k, v in scalars.items()]
    for key, value in extra.items():
        if isinstance(value, Mapping):
            lines += _tables(_key(key), value)
    return "\n".join(lines) + "\n"


def _is_table_array(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and bool(value)
        and all(isinstance(item, Mapping) for item in value)
    )


def _tables(name: str, values: Mapping[str, Any]) -> list[str]:
    """Table *name* with its nested tables and arrays of tables written out (the adopt
    record reads better as ``[adopt.app]`` and ``[[adopt.findings]]`` than inline)."""
    nested = {k: v for k, v in values.items() if isinstance(v, Mapping) or _is_table_array(v)}
    lines = _table(name, {k: v for k, v in values.items() if k not in nested})
    for key, value in nested.items():
        if isinstance(value, Mapping):
            lines += _tables(f"{name}.{_key(key)}", value)
            continue
        for item in value:
            lines += ["", f"[[{name}.{_key(key)}]]"]
            lines += [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
    return lines


def _component_text(data: Mapping[str, Any], records: list[tuple[str, Record]]) -> str:
    lines = [f"version = {_value(data['version'])}"]
    if "order" in data:
        lines.append(f"order = {_value(int(data['order']))}")
    provider = data.get("provider") or {}
    if provider.get("distribution"):
        text = " ".join(str(provider[k]) for k in ("distribution", "version") if provider.get(k))
        lines.append(f"provider = {_value(text)}")
    if data.get("auto"):
        lines.append("auto = true")
    executable = [path for path, record in records if record.executable]
    if executable:
        lines.append(f"executable = {_value(executable)}")
    if data.get("options"):
        lines += _table("options", data["options"])
    if records:
        lines += _table("files", {path: record.blob[:ID_LENGTH] for path, record in records})
    return "\n".join(lines) + "\n"


def records_of(files: Mapping[str, GeneratedFile]) -> dict[str, Record]:
    """The record of each file of *files* (state files left out)."""
    return {
        path: Record(item.owner, blob_id(item.content)[:ID_LENGTH], item.executable)
        for path, item in files.items()
        if not is_state_path(path)
    }


def build_state(tool: Mapping[str, Any], records: Mapping[str, Record]) -> dict[str, GeneratedFile]:
    """The state files of a project: ``.uts/project.toml`` and one file per component.

    *tool* is shaped like :attr:`ProjectState.tool`; *records* maps every file uts
    wrote to its record. The bytes depend on nothing else (deterministic).
    """
    components = tool.get("components", {})
    by_owner: dict[str, list[tuple[str, Record]]] = {name: [] for name in components}
    for path in sorted(records):
        record = records[path]
        if record.owner not in by_owner:
            raise StateError(
                f"{path} is owned by {record.owner!r}, which is not a component of the project"
            )
        by_owner[record.owner].append((path, record))
    state = {PROJECT_FILE: GeneratedFile(_project_text(tool).encode(), STATE_OWNER)}
    for name, data in components.items():
        text = _component_text(data, by_owner[name])
        state[component_file(name)] = GeneratedFile(text.encode(), STATE_OWNER)
    return state


# Reading ---------------------------------------------------------------------------


def _parse(path: Path, text: str) -> dict[str, Any]:
    import tomllib

    if has_conflict_markers(text):
        raise StateError(
            f"{path} has git conflict markers",
            hint="run 'uts repair': it merges both sides' records",
        )
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise StateError(
            f"{path} is not valid TOML: {error}", hint="restore it from version control"
        ) from error
    except RecursionError:  # tomllib recurses once per nested array or table
        raise StateError(
            f"{path} is not valid TOML: nested too deeply", hint="restore it from version control"
        ) from None


def _at(path: Path, text: str | None, *keys: str) -> str:
    """*path*, with the line where *keys* are written when *text* is given and has them."""
    line = line_of(text, *keys) if text is not None and keys else None
    return f"{path}:{line}" if line else str(path)


def parse_project(path: Path, data: Mapping[str, Any], text: str | None = None) -> dict[str, Any]:
    """Check the content of ``.uts/project.toml`` read from *path* (*text*: to name lines)."""
    if data.get("format") != STATE_FORMAT:
        raise StateError(
            f"{_at(path, text, 'format')}: format {data.get('format')!r} is not uts's state "
            f"format {STATE_FORMAT}",
            hint="a newer uts wrote it: upgrade uts, or restore the file from version control",
        )
    for key in _PROJECT_KEYS[1:]:
        if key in data and not isinstance(data[key], str):
            raise StateError(
                f"{_at(path, text, key)}: {key} must be a string",
                hint="restore it from version control",
            )
    return dict(data)


def parse_component(
    path: Path, data: Mapping[str, Any], text: str | None = None
) -> tuple[dict[str, Any], dict[str, Record]]:
    """Check a component's state file (*path*): its data and its file records.

    *text*, the file's text, lets an error name the line at fault.
    """
    name = path.name.removesuffix(".toml")

    def bad(what: str, *keys: str) -> StateError:
        return StateError(
            f"{_at(path, text, *keys)}: {what}",
            hint="restore it from version control, or run 'uts repair'",
        )

    if not isinstance(data.get("version"), str):
        raise bad("version is missing or not a string", "version")
    component: dict[str, Any] = {"version": data["version"]}
    if "order" in data:
        if not isinstance(data["order"], int) or isinstance(data["order"], bool):
            raise bad("order must be an integer", "order")
        component["order"] = data["order"]
    provider = data.get("provider")
    if provider is not None:
        if not isinstance(provider, str) or not provider.strip():
            raise bad("provider must be a string: 'DISTRIBUTION VERSION'", "provider")
        distribution, _, version = provider.strip().partition(" ")
        component["provider"] = {"distribution": distribution, "version": version.strip()}
    if not isinstance(data.get("auto", False), bool):
        raise bad("auto must be true or false", "auto")
    component["auto"] = data.get("auto", False)
    options = data.get("options", {})
    if not isinstance(options, dict):
        raise bad("options must be a table", "options")
    component["options"] = dict(options)
    files = data.get("files", {})
    if not isinstance(files, dict):
        raise bad("files must be a table: path = blob id", "files")
    executable = data.get("executable", [])
    if not isinstance(executable, list) or not all(isinstance(p, str) for p in executable):
        raise bad("executable must be a list of file paths", "executable")
    records: dict[str, Record] = {}
    for rel, oid in files.items():
        check_entry(partial(_at, path, text, "files", rel), rel)
        if not isinstance(oid, str) or not _HEX.match(oid):
            raise bad(f"the record of {rel!r} is not a git blob id", "files", rel)
        records[rel] = Record(name, oid, rel in executable)
    return component, records


def _ordered(components: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    last = len(components) + 10**6
    return dict(sorted(components.items(), key=lambda item: (item[1].get("order", last), item[0])))


class Drift(NamedTuple):
    """A file uts wrote that is no longer as written."""

    path: str
    owner: str
    status: str  # "modified" or "deleted"


@dataclass
class ProjectState:
    """What uts recorded in an existing project.

    :attr:`tool` is shaped like format 1's ``[tool.uts]``: ``recipe``, ``project-name``,
    ``package`` (plus any other key of ``.uts/project.toml``) and ``components``:
    ``{name: {"version", "options", "auto", "order", "provider"}}`` in composition
    order. :attr:`files` maps each file uts wrote to ``{"owner", "blob", "executable"}``.
    """

    root: Path
    tool: dict[str, Any]
    files: dict[str, dict[str, Any]]
    state_paths: list[str] = field(default_factory=list)
    """The state files found in ``.uts/`` (format 1: the manifest)."""
    legacy: Any = None
    """Format 1 as found (an :class:`uts.upgrade.Legacy`), until it is upgraded."""
    known: dict[str, bytes] = field(default_factory=dict)
    """Contents already at hand, by blob id (format 1's pristine copies)."""
    render: Callable[[], Mapping[str, bytes] | None] | None = None
    """The last resort for bases: the recorded spec rendered again (None: not possible)."""
    _bases: dict[str, bytes | None] = field(default_factory=dict, repr=False)
    _checked: set[str] = field(default_factory=set, repr=False)

    def records(self) -> dict[str, Record]:
        return {
            path: Record(entry["owner"], entry["blob"], entry.get("executable", False))
            for path, entry in self.files.items()
        }

    def target(self, path: str, confinement: object = None) -> Path:
        """Where recorded *path* is; a :class:`StateError` if a link is on the way.

        Recorded paths that leave the project never get past :func:`load_project`;
        a symbolic link on the way (to a directory or a file) is refused here, as uts
        refuses to write through one. (*confinement* is accepted for callers that
        pass one; the checked directories are remembered here.)
        """
        link = link_on_the_way(self.root, path, self._checked)
        if link is not None:
            owner = self.files.get(path, {}).get("owner", "")
            where = component_file(owner) if owner else STATE_DIR
            raise StateError(
                f"{where}: entry {path!r} leads through the symbolic link {link!r}; "
                "uts reads and writes no file through links",
                hint=f"replace the link with a real directory or file, or {_RESTORE}",
            )
        return self.root.joinpath(*path.split("/"))

    def read(self, path: str) -> bytes | None:
        """The working copy of *path*, or None when it is not a file."""
        target = self.target(path)
        try:
            return target.read_bytes() if target.is_file() else None
        except OSError:
            return None

    def unchanged(self, path: str, data: bytes | None) -> bool:
        """Whether *data* is exactly what uts recorded for *path*."""
        return data is not None and matches(data, self.files[path]["blob"])

    def bases(self, paths: Iterable[str]) -> dict[str, bytes | None]:
        """What uts wrote at each of *paths* (None where no source has it).

        Sources, cheapest first; every one is checked against the recorded blob id,
        so which one answers never changes the bytes: (1) the working file itself if
        it still has the id, (2) contents already at hand (format 1's copies, while
        upgrading), (3) the per-user object cache, (4) the project's git objects,
        one ``git cat-file --batch`` for all, (5) the recorded spec rendered again,
        only when the installed components have the recorded versions.
        """
        paths = list(paths)
        wanted = [p for p in paths if p not in self._bases]
        if wanted:
            # Ask once for every file that may need a base, not file by file.
            todo = {p: self.files[p]["blob"] for p in self.files if p not in self._bases}
            for path in list(todo):
                current = self.read(path)
                if current is not None and matches(current, todo[path]):
                    self._bases[path] = current
                    del todo[path]
            sources = (self._at_hand, self._cached, self._git, self._rendered)
            for source in sources:
                if not todo:
                    break
                found = source(todo)
                for path in list(todo):
                    data = found.get(todo[path])
                    if data is not None and matches(data, todo[path]):
                        self._bases[path] = data
                        del todo[path]
            for path in todo:
                self._bases[path] = None
        return {path: self._bases.get(path) for path in paths}

    def _at_hand(self, todo: Mapping[str, str]) -> dict[str, bytes]:
        return {
            oid: data
            for oid in todo.values()
            for full, data in self.known.items()
            if full.startswith(oid)
        }

    def _cached(self, todo: Mapping[str, str]) -> dict[str, bytes]:
        return cached_objects(todo.values())

    def _git(self, todo: Mapping[str, str]) -> dict[str, bytes]:
        return git_objects(self.root, todo.values())

    def _rendered(self, todo: Mapping[str, str]) -> dict[str, bytes]:
        rendered = self.render() if self.render is not None else None
        return {oid: rendered[path] for path, oid in todo.items() if rendered and path in rendered}

    def base(self, path: str) -> bytes | None:
        """What uts wrote at *path*, or None when no source has it (see :meth:`bases`)."""
        return self.bases([path])[path]

    def pristine(self, path: str) -> bytes:
        """What uts wrote at *path*; a :class:`ConflictError` (exit 8) when it is unknown."""
        data = self.base(path)
        if data is None:
            raise ConflictError(
                f"uts cannot find what it wrote at {path} (blob {self.files[path]['blob']}): "
                "not in the working file, the object cache, git, nor a render of the "
                "recorded versions",
                hint="commit your project to git after uts writes, or install the recorded "
                "component versions (uts status lists them)",
            )
        return data

    def drift(self) -> list[Drift]:
        """Files whose content differs from what uts wrote, or that are gone."""
        found: list[Drift] = []
        for path, entry in sorted(self.files.items()):
            current = self.read(path)
            if current is None:
                found.append(Drift(path, entry["owner"], "deleted"))
            elif not matches(current, entry["blob"]):
                found.append(Drift(path, entry["owner"], "modified"))
            else:  # as uts wrote it: its own base, so bases() need not read it again
                self._bases.setdefault(path, current)
        return found


def find_project(start: Path) -> Path:
    """The nearest directory at or above *start* holding uts's state (or a journal)."""
    from uts.journal import JOURNAL_NAME

    try:
        start = start.resolve()
        for directory in (start, *start.parents):
            # A journal marks a project too: an interrupted `uts new --force` may have one
            # before it has any state, and the command must find it to recover.
            # lexists: a state file that is a directory, say, is damage to report, not
            # a reason to look further up.
            if (
                os.path.lexists(directory / PROJECT_FILE)
                or os.path.lexists(directory / MANIFEST_PATH)
                or (directory / JOURNAL_NAME).is_file()
            ):
                return directory
    except (OSError, ValueError) as error:  # a NUL, a name too long, a loop of links...
        reason = getattr(error, "strerror", None) or str(error)
        raise StateError(
            f"cannot look for a uts project at {start}: {reason}",
            hint="pass --project with the path of a project made by 'uts new'",
        ) from error
    raise StateError(
        f"no uts project at or above {start} ({PROJECT_FILE} not found)",
        hint="run inside a project made by 'uts new' or recorded by 'uts adopt' (an existing "
        "FastAPI project: run 'uts adopt' there first), or pass --project PATH",
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


def read_text(path: Path) -> str:
    """The UTF-8 text of *path*; unreadable or undecodable is a :class:`StateError`."""
    hint = "restore it from version control"
    if path.exists() and not path.is_file():  # a directory; a FIFO would block the read
        raise StateError(f"{path} is not a file", hint=hint)
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
    return decode_utf8(data, f"{path}:{{line}}", StateError, "save it as UTF-8, or " + hint)


def check_components_dir(root: Path) -> None:
    """No components directory is a project without components (adopted); a file there is
    damage, never a reason to read no component at all."""
    folder = root / COMPONENTS_DIR
    if os.path.lexists(folder) and not folder.is_dir():
        raise StateError(f"{folder} is not a directory", hint=_RESTORE)


def load_project(root: Path) -> ProjectState:
    """Read and check the state of the project at *root* (format 2, or format 1 to upgrade)."""
    project = root / PROJECT_FILE
    for own in (PROJECT_FILE, MANIFEST_PATH, COMPONENTS_DIR):  # the state itself stays inside
        link = link_on_the_way(root, own)
        if link is not None:
            raise StateError(
                f"{root / own} is reached through the symbolic link {link!r}; "
                "uts reads and writes no file through links",
                hint="replace the link with a real directory or file",
            )
    if not os.path.lexists(project) and os.path.lexists(root / MANIFEST_PATH):
        from uts.upgrade import load_legacy

        return load_legacy(root)
    text = read_text(project)
    tool = parse_project(project, _parse(project, text), text)
    check_components_dir(root)
    components: dict[str, dict[str, Any]] = {}
    files: dict[str, dict[str, Any]] = {}
    state_paths = [PROJECT_FILE]
    for path in sorted((root / COMPONENTS_DIR).glob("*.toml")):
        name = path.name.removesuffix(".toml")
        if not COMPONENT_NAME.match(name):
            continue
        if path.is_symlink():
            raise StateError(
                f"{path} is a symbolic link; uts reads and writes no file through links",
                hint="replace the link with the file itself",
            )
        text = read_text(path)  # a directory, say, is damage: never a component left out
        components[name], records = parse_component(path, _parse(path, text), text)
        for rel, record in records.items():
            if rel in files:
                raise StateError(
                    f"{rel} is recorded by two components, {files[rel]['owner']!r} and {name!r}",
                    hint="run 'uts repair' to decide from a fresh rendering",
                )
            files[rel] = {"owner": name, "blob": record.blob, "executable": record.executable}
        state_paths.append(component_file(name))
    tool["components"] = _ordered(components)
    return ProjectState(root, tool, files, state_paths)


def decode_pristine(entry: Mapping[str, Any]) -> bytes:
    """Format 1's pristine copy of a file, from its manifest entry."""
    if "text" in entry:
        return str(entry["text"]).encode("utf-8")
    return base64.b64decode(entry["base64"])
