"""Find what uts wrote by its git blob id: the per-user object cache and the project's git.

A project records each file uts wrote as a git blob id (SHA-1 of ``blob <size>\\0``
plus the content), not as a copy. The content comes back from a source that holds it:
the per-user cache ``$XDG_CACHE_HOME/uts/objects/`` (uts stores every file it writes
there, zlib-compressed) or the project's own git object store, asked once per command
through one ``git cat-file --batch``. Whatever a source returns is checked against the
id before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import zlib
from collections.abc import Iterable
from pathlib import Path

from uts.cache import cache_dir

__all__ = ["blob_id", "cached_objects", "git_objects", "matches", "store_objects"]


def blob_id(data: bytes) -> str:
    """The git blob id of *data* (``git hash-object``), 40 hex digits."""
    digest = hashlib.sha1(b"blob %d\0" % len(data), usedforsecurity=False)
    digest.update(data)
    return digest.hexdigest()


def matches(data: bytes, recorded: str) -> bool:
    """Whether *data* has the (possibly abbreviated) blob id *recorded*."""
    return bool(recorded) and blob_id(data).startswith(recorded)


def _object_path(directory: str, oid: str) -> str:
    return os.path.join(directory, oid[:2], oid[2:])


def store_objects(contents: Iterable[bytes]) -> None:
    """Keep *contents* in the per-user object cache; never fails a command.

    Each object is written to a temporary file and renamed into place, so a reader
    sees a whole object or none. Objects are immutable: one already there is kept.
    """
    directory = cache_dir("objects")
    if directory is None:
        return
    made: set[str] = set()
    for data in contents:
        oid = blob_id(data)
        path = _object_path(directory, oid)
        if os.path.exists(path):
            continue
        temp = f"{path}.{os.getpid()}.tmp"
        try:
            parent = os.path.dirname(path)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            with open(temp, "wb") as handle:
                handle.write(zlib.compress(data, 1))
            os.replace(temp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)
            return


def cached_objects(ids: Iterable[str]) -> dict[str, bytes]:
    """The contents the per-user cache holds for *ids* (full or abbreviated), checked."""
    directory = cache_dir("objects")
    found: dict[str, bytes] = {}
    if directory is None:
        return found
    for oid in ids:
        if len(oid) < 4:
            continue
        fan = os.path.join(directory, oid[:2])
        try:
            if len(oid) == 40:
                names = [oid[2:]]
            else:
                names = sorted(n for n in os.listdir(fan) if n.startswith(oid[2:]))
        except OSError:
            continue
        for name in names:
            with contextlib.suppress(OSError, zlib.error):
                with open(os.path.join(fan, name), "rb") as handle:
                    data = zlib.decompress(handle.read())
                if matches(data, oid):
                    found[oid] = data
                    break
    return found


def _in_git(root: Path) -> bool:
    return any((directory / ".git").exists() for directory in (root, *root.parents))


def git_objects(root: Path, ids: Iterable[str]) -> dict[str, bytes]:
    """The contents the git repository around *root* holds for *ids*, checked.

    One ``git cat-file --batch`` answers every id; without git, or outside a
    repository, there is nothing to find.
    """
    wanted = sorted(set(ids))
    if not wanted or not _in_git(root):
        return {}
    try:
        result = subprocess.run(
            ["git", "cat-file", "--batch"],
            cwd=root,
            input="".join(f"{oid}\n" for oid in wanted).encode(),
            capture_output=True,
            check=False,
        )
    except OSError:  # no git installed
        return {}
    if result.returncode != 0:
        return {}
    return _parse_batch(result.stdout, wanted)


def _parse_batch(output: bytes, wanted: list[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    position = 0
    for oid in wanted:
        end = output.find(b"\n", position)
        if end < 0:
            break
        header = output[position:end].split()
        position = end + 1
        if len(header) != 3:  # "<name> missing" or "<name> ambiguous"
            continue
        size = int(header[2])
        data = output[position : position + size]
        position += size + 1
        if header[1] == b"blob" and matches(data, oid):
            found[oid] = data
    return found
