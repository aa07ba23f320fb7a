"""The plan: every change computed in memory, shown as a diff, before anything is written."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, NamedTuple

from uts.errors import ConflictError, WriteError
from uts.model import GeneratedFile

__all__ = ["Action", "Change", "Confinement", "Plan", "plan_new"]

Action = Literal["create", "update", "delete", "keep"]


class Change(NamedTuple):
    """One file: what is there now (*old*), what will be (*new*), and who owns it."""

    path: str
    action: Action
    owner: str
    old: bytes | None = None
    new: bytes | None = None
    executable: bool = False


class Plan(NamedTuple):
    """Changes to a project directory, sorted by path."""

    root: Path
    changes: list[Change]

    @property
    def effective(self) -> list[Change]:
        return [change for change in self.changes if change.action != "keep"]

    def counts(self) -> dict[str, int]:
        counts = {"create": 0, "update": 0, "delete": 0, "keep": 0}
        for change in self.changes:
            counts[change.action] += 1
        return counts

    def diff(self) -> str:
        """A unified diff of every effective change (binary files summarised)."""
        from uts.report import printable

        chunks: list[str] = []
        for change in self.effective:
            path = printable(change.path)  # a name from the manifest or a plugin: escaped
            old_name = "/dev/null" if change.old is None else f"a/{path}"
            new_name = "/dev/null" if change.new is None else f"b/{path}"
            try:
                old = (change.old or b"").decode("utf-8").splitlines(keepends=True)
                new = (change.new or b"").decode("utf-8").splitlines(keepends=True)
            except UnicodeDecodeError:
                chunks.append(f"Binary file {path} ({change.action})\n")
                continue
            lines = list(difflib.unified_diff(old, new, old_name, new_name))
            if not lines:
                chunks.append(f"--- {old_name}\n+++ {new_name}\n(empty file)\n")
            for line in lines:
                chunks.append(
                    line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
                )
        return "".join(chunks)


class Confinement:
    """Maps project-relative paths to targets inside *root*, refusing escapes and symlinks.

    Directories already checked are remembered, so a plan of many files in few
    directories costs one ``lstat`` per directory, not one per path segment per file.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._base = str(self.root)
        self._checked: set[str] = {""}

    def relative(self, rel: str) -> str:
        """*rel*, unless it is absolute or has an empty, ``.`` or ``..`` segment."""
        if rel.startswith("/") or any(part in ("", ".", "..") for part in rel.split("/")):
            raise WriteError(f"{rel} is outside the project directory {self.root}")
        return rel

    def target(self, rel: str) -> Path:
        """The path of *rel* inside the root; no segment of it may be a symbolic link."""
        link = self.link(rel)
        if link is not None:
            raise WriteError(
                f"{os.path.join(self._base, link)} is a symbolic link; "
                "uts does not write through links",
                hint="replace the link with a real directory or file, then run again",
            )
        return Path(self._base, rel)

    def link(self, rel: str) -> str | None:
        """The first segment of *rel* (as a relative path) that is a symbolic link, if any."""
        self.relative(rel)
        directory, _, _ = rel.rpartition("/")
        if directory not in self._checked:
            parts = directory.split("/")
            for end in range(1, len(parts) + 1):
                prefix = "/".join(parts[:end])
                if prefix not in self._checked:
                    if os.path.islink(os.path.join(self._base, prefix)):
                        return prefix
                    self._checked.add(prefix)
        return rel if os.path.islink(os.path.join(self._base, rel)) else None


def plan_new(root: Path, files: Mapping[str, GeneratedFile], force: bool = False) -> Plan:
    """Plan writing a new project into *root*.

    An existing non-empty directory is refused unless *force*; even then an existing
    file whose content differs is never overwritten.
    """
    try:
        os.lstat(root)
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as error:  # a NUL, a name too long, a file in the path...
        reason = getattr(error, "strerror", None) or str(error)
        if not isinstance(error, NotADirectoryError):
            raise WriteError(
                f"cannot create {root}: {reason}", hint="choose another --dir"
            ) from error
    if root.exists() and not root.is_dir():
        raise WriteError(f"{root} exists and is not a directory", hint="choose another --dir")
    if not force and root.is_dir() and any(root.iterdir()):
        raise ConflictError(
            f"directory {root} is not empty",
            hint="choose an empty directory, or pass --force to add files next to what is there "
            "(existing files are never overwritten)",
        )
    changes: list[Change] = []
    clashes: list[str] = []
    confinement = Confinement(root)
    if not os.path.lexists(root):  # nothing can be in the way: only check the paths
        for path, item in sorted(files.items()):
            confinement.relative(path)
            changes.append(Change(path, "create", item.owner, None, item.content, item.executable))
        return Plan(root, changes)
    for path, item in sorted(files.items()):
        target = confinement.target(path)
        if target.exists() or target.is_symlink():
            if target.is_file() and target.read_bytes() == item.content:
                changes.append(
                    Change(path, "keep", item.owner, item.content, item.content, item.executable)
                )
                continue
            clashes.append(path)
            continue
        changes.append(Change(path, "create", item.owner, None, item.content, item.executable))
    if clashes:
        from uts.report import listing

        raise ConflictError(
            f"{len(clashes)} file(s) already exist in {root} with other content: "
            f"{listing(clashes)}",
            hint="move them away or generate into another directory; uts never overwrites them",
        )
    return Plan(root, changes)
