"""Find what uts wrote by its git blob id: the per-user object cache and the project's git.

A project records each file uts wrote as a git blob id (SHA-1 of ``blob <size>\\0``
plus the content), not as a copy. The content comes back from a source that holds
it: the per-user cache ``$XDG_CACHE_HOME/uts/objects/`` (uts stores what it writes
there, zlib-compressed, one pack per command) or the project's own git object store,
asked through one ``git cat-file --batch``. Whatever a source returns is checked
against the id before use.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
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


_PACK_MAGIC = b"uts-pack 1\n"


def store_objects(contents: Iterable[bytes]) -> None:
    """Keep *contents* in the per-user object cache, as one pack; never fails a command.

    One file per command, not one per object: ``uts new`` of 200 files would
    otherwise create 200 more files (and their directories) for its cache alone. A
    pack is a header line (JSON: blob id to offset and size) and one zlib stream of
    the contents; it is written to a temporary file and renamed into place, so a
    reader sees a whole pack or none. Its name derives from its ids: writing the
    same objects again changes nothing.
    """
    directory = cache_dir("objects", optional=False)
    if directory is None:
        return
    objects = {blob_id(data): data for data in contents}
    if not objects:
        return
    index: dict[str, list[int]] = {}
    offset = 0
    for oid in sorted(objects):
        index[oid] = [offset, len(objects[oid])]
        offset += len(objects[oid])
    name = hashlib.sha1("".join(sorted(objects)).encode(), usedforsecurity=False).hexdigest()
    path = os.path.join(directory, f"{name}.pack")
    if os.path.exists(path):
        return
    payload = zlib.compress(b"".join(objects[oid] for oid in sorted(objects)), 1)
    header = json.dumps(index, separators=(",", ":")).encode() + b"\n"
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(directory, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(_PACK_MAGIC + header + payload)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)


def cached_objects(ids: Iterable[str]) -> dict[str, bytes]:
    """The contents the per-user cache holds for *ids* (full or abbreviated), checked.

    Packs are read newest first, and only until every id is found.
    """
    directory = cache_dir("objects", optional=False)
    wanted = {oid for oid in ids if len(oid) >= 4}
    found: dict[str, bytes] = {}
    if directory is None or not wanted:
        return found
    try:
        with os.scandir(directory) as entries:
            packs = sorted(
                ((e.stat().st_mtime_ns, e.path) for e in entries if e.name.endswith(".pack")),
                reverse=True,
            )
    except OSError:
        return found
    for _, path in packs:
        with contextlib.suppress(OSError, ValueError, zlib.error):
            _read_pack(path, wanted, found)
        if not wanted:
            break
    return found


def _read_pack(path: str, wanted: set[str], found: dict[str, bytes]) -> None:
    with open(path, "rb") as handle:
        if handle.readline() != _PACK_MAGIC:
            return
        index = json.loads(handle.readline())
        hits = {oid: full for oid in wanted for full in index if full.startswith(oid)}
        if not hits:
            return
        payload = zlib.decompress(handle.read())
    for oid, full in hits.items():
        offset, size = index[full]
        data = payload[offset : offset + size]
        if matches(data, oid):
            found[oid] = data
            wanted.discard(oid)


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
