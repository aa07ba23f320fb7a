"""``uts plugin new``: write a ready-to-test plugin distribution for one component."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from uts import __version__
from uts.errors import UsageError

__all__ = ["TEMPLATE", "plugin_files", "write_plugin"]

TEMPLATE = Path(__file__).parent / "plugin_template"
"""The distribution written, with ``@token@`` placeholders in paths and contents."""

MAX_NAME = 24
"""Longest plugin name: its module and setting names must fit the project's 88 columns."""
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*", re.ASCII)
_TOKEN = re.compile(r"@(name|dist|module|mod|MOD|Title|uts_version)@")


def _tokens(name: str) -> dict[str, str]:
    mod = name.replace("-", "_")
    return {
        "name": name,
        "dist": f"uts-{name}",
        "module": f"uts_{mod}",
        "mod": mod,
        "MOD": mod.upper(),
        "Title": name.replace("-", " ").capitalize(),
        "uts_version": __version__,
    }


def check_name(name: str, builtins: list[str]) -> None:
    """Refuse a component name uts cannot use, or one a built-in has."""
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise UsageError(
            f"plugin name {name!r} is not a valid component name: use lower-case letters "
            f"and digits, words joined by '-' (like redis-cache), at most {MAX_NAME} characters"
        )
    if name in builtins:
        raise UsageError(
            f"plugin name {name!r} is taken by a built-in component: pick another name"
        )


def plugin_files(name: str) -> dict[str, bytes]:
    """Every file of the distribution for component *name*, by relative posix path."""
    tokens = _tokens(name)

    def fill(text: str) -> str:
        return _TOKEN.sub(lambda match: tokens[match.group(1)], text)

    files: dict[str, bytes] = {}
    for directory, dirs, names in os.walk(TEMPLATE):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for file in sorted(names):
            if file.endswith((".pyc", ".pyo")):
                continue
            source = Path(directory, file)
            rel = source.relative_to(TEMPLATE).as_posix()
            files[fill(rel)] = fill(source.read_text(encoding="utf-8")).encode()
    return files


def write_plugin(name: str, target: Path, builtins: list[str]) -> dict[str, bytes]:
    """Write the distribution for *name* into *target*, which must not exist or be empty.

    All or nothing: the files go to a temporary sibling directory first, renamed into
    place at the end; on any error nothing is left behind.
    """
    check_name(name, builtins)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} already exists and is not empty: pick another --dir")
    files = plugin_files(name)
    parent = target.absolute().parent
    if not parent.is_dir():
        raise UsageError(f"{parent} is not a directory: create it, or pick another --dir")
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=parent))
    try:
        for rel, data in files.items():
            path = staging / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        if target.is_dir():
            target.rmdir()  # empty, checked above
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return files
