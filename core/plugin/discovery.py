"""Find the ``uts.components`` entry points, remembered between runs.

Scanning every installed distribution with :mod:`importlib.metadata` costs more than
the rest of a small ``uts new`` (importing it alone pulls in ``email``, ``zipfile``
and ``csv``). The result only changes when the installed distributions change, and
installing, upgrading or removing one adds or removes a ``*.dist-info`` (or
``*.egg-info``) directory on ``sys.path``.
So the scan is kept in a small JSON file keyed by ``sys.path`` and the names and
modification times of the metadata directories on it (stevedore, OpenStack's plugin
loader, keys its entry-point cache on ``sys.path`` and modification times too).

``UTS_NO_CACHE=1`` turns the cache off; a damaged or unwritable cache is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import os
import re
import sys
from typing import NamedTuple

from uts.cache import cache_dir, store
from uts.plugin import ENTRY_POINT_GROUP

__all__ = ["EntryPoint", "entry_points", "load_entry_point"]

_FORMAT = 1
_METADATA_SUFFIXES = (".dist-info", ".egg-info")
# importlib.metadata's own pattern for an entry point's value.
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$")


class EntryPoint(NamedTuple):
    """One ``uts.components`` entry point and the distribution that declares it."""

    name: str
    value: str
    dist: str | None
    version: str | None

    @property
    def source(self) -> str:
        return f"{self.dist} {self.version}" if self.dist is not None else self.value


def load_entry_point(value: str) -> object:
    """Import what *value* (``module`` or ``module:attr.attr``) names, as importlib would."""
    match = _VALUE.match(value)
    if match is None:
        raise ValueError(f"malformed entry point value {value!r}")
    found: object = importlib.import_module(match.group("module"))
    for attr in (match.group("attr") or "").split("."):
        if attr:
            found = getattr(found, attr)
    return found


def _scan() -> list[EntryPoint]:
    from importlib.metadata import entry_points as scan

    found = []
    for ep in scan(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        found.append(
            EntryPoint(
                ep.name,
                ep.value,
                dist.name if dist is not None else None,
                dist.version if dist is not None else None,
            )
        )
    return sorted(found, key=lambda ep: ep.name)


def _cache_file() -> str | None:
    directory = cache_dir("entry-points")
    return os.path.join(directory, f"{_key()}.json") if directory else None


def _key() -> str:
    """What the scan depends on, hashed: ``sys.path`` and the metadata directories on it.

    Installing, upgrading, reinstalling or removing a distribution adds or removes a
    ``*.dist-info`` / ``*.egg-info`` directory (its name carries the version, its
    ``st_mtime_ns`` the time it was written), so any of them changes the key.
    """
    state: list[object] = [_FORMAT, ENTRY_POINT_GROUP, sys.version, sys.prefix]
    for entry in sys.path:
        directory = os.path.abspath(entry or ".")
        state.append(directory)
        try:
            with os.scandir(directory) as entries:
                state += sorted(
                    (item.name, item.stat().st_mtime_ns)
                    for item in entries
                    if item.name.endswith(_METADATA_SUFFIXES)
                )
        except OSError:  # not a directory (a zip file, or gone): its stamp stands for it
            with contextlib.suppress(OSError):
                state.append(os.stat(directory).st_mtime_ns)
    return hashlib.sha256(repr(state).encode()).hexdigest()[:32]


def entry_points() -> list[EntryPoint]:
    """Every ``uts.components`` entry point on ``sys.path``, sorted by name."""
    path = _cache_file()
    if path is not None:
        with contextlib.suppress(OSError, ValueError, TypeError, KeyError):
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            return [EntryPoint(**item) for item in data]
    found = _scan()
    if path is not None:
        payload = json.dumps([ep._asdict() for ep in found]).encode()
        store(path, payload, keep=16)  # each install makes a new key
    return found
