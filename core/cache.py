"""uts's per-user cache: compiled templates and the entry-point index.

Everything here is an optimisation. Without a writable cache directory, or with
``UTS_NO_CACHE=1``, uts does the work every time; a damaged cache file is ignored and
rewritten. The directory is ``$XDG_CACHE_HOME/uts`` (default ``~/.cache/uts``).
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["cache_dir", "store"]


def cache_dir(kind: str, optional: bool = True) -> str | None:
    """The directory for cache files of *kind*, or None when caching is off.

    ``UTS_NO_CACHE`` turns off the *optional* ones (pure speed-ups); the object store
    of merge bases is not one of them: without it, updates would conflict instead.
    """
    if optional and os.environ.get("UTS_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "uts", kind)


def store(path: str, data: bytes, keep: int) -> None:
    """Write *data* to *path* atomically, then keep only the *keep* newest files beside it.

    Cache keys change with every install or upgrade, so old files are pruned here,
    when a new one is written, rather than left to pile up.
    """
    temp = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(data)
        os.replace(temp, path)
        _prune(os.path.dirname(path), keep)
    except OSError:  # never fail a command over its cache
        with contextlib.suppress(OSError):
            os.unlink(temp)


def _prune(directory: str, keep: int) -> None:
    with os.scandir(directory) as entries:
        files = [
            (entry.stat().st_mtime_ns, entry.path)
            for entry in entries
            if entry.is_file() and not entry.name.endswith(".tmp")  # another run's, in flight
        ]
    for _, path in sorted(files, reverse=True)[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(path)
