"""Write a plan all-or-nothing: stage every file, swap them in, roll back on any failure."""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from uts.errors import WriteError
from uts.plan import Change, Confinement, Plan

__all__ = ["commit"]

_TEMP_PREFIX = ".uts-tmp-"


class _Terminated(BaseException):
    """SIGTERM arrived while writing; unwinds like Ctrl-C so the rollback runs."""


@contextlib.contextmanager
def _terminate_as_exception() -> Iterator[None]:
    def raise_terminated(signum: int, frame: object) -> None:
        raise _Terminated()

    try:
        previous = signal.signal(signal.SIGTERM, raise_terminated)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class _Journal:
    created_dirs: list[Path] = field(default_factory=list)
    staged: dict[Path, Path] = field(default_factory=dict)
    backups: dict[Path, Path] = field(default_factory=dict)
    placed: list[Path] = field(default_factory=list)
    spare: list[Path] = field(default_factory=list)


def _temp_path(directory: Path, kind: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{kind}-", dir=directory)
    os.close(fd)
    return Path(name)


def _mkdirs(directory: Path, journal: _Journal) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        journal.created_dirs.append(path)


def _stage(target: Path, change: Change, journal: _Journal, umask: int) -> None:
    _mkdirs(target.parent, journal)
    temp = _temp_path(target.parent, "new")
    journal.staged[target] = temp
    fd = os.open(temp, os.O_WRONLY | os.O_TRUNC)
    try:
        view = memoryview(change.new or b"")
        while view:
            view = view[os.write(fd, view) :]
        if change.action == "update":
            # Replacing a file the user has: make the new bytes durable before the rename.
            # New files need no fsync; a crash leaves them absent or complete.
            os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(temp, (0o755 if change.executable else 0o644) & ~umask)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def commit(plan: Plan) -> None:
    """Apply *plan* to disk; on any failure (or Ctrl-C, SIGTERM) restore the project as it was."""
    journal = _Journal()
    confinement = Confinement(plan.root)
    targets = [(confinement.target(change.path), change) for change in plan.effective]
    with _terminate_as_exception():
        try:
            _mkdirs(plan.root, journal)
            umask = _umask()
            for target, change in targets:
                if change.action in ("create", "update"):
                    _stage(target, change, journal, umask)
            for target, change in targets:
                if change.action in ("update", "delete"):
                    backup = _temp_path(target.parent, "old")
                    journal.spare.append(backup)
                    os.replace(target, backup)
                    journal.spare.remove(backup)
                    journal.backups[target] = backup
                if change.action in ("create", "update"):
                    os.replace(journal.staged[target], target)
                    del journal.staged[target]
                journal.placed.append(target)
        except BaseException as error:
            _rollback(journal)
            if isinstance(error, OSError):
                raise WriteError(
                    f"writing {getattr(error, 'filename', None) or plan.root} failed: "
                    f"{error.strerror or error}; the project was left unchanged",
                    hint="free disk space or fix permissions, then run again",
                ) from error
            if isinstance(error, _Terminated):
                raise KeyboardInterrupt from None
            raise
    for backup in journal.backups.values():
        with contextlib.suppress(OSError):
            backup.unlink()
    _prune_empty_dirs(plan.root, [t for t, c in targets if c.action == "delete"])


def _prune_empty_dirs(root: Path, deleted: list[Path]) -> None:
    """Remove directories that deleting files left empty (never *root* itself)."""
    root = root.resolve()
    for path in sorted(deleted, key=lambda p: len(p.parts), reverse=True):
        directory = path.parent
        while directory != root and root in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty, or gone already
                break
            directory = directory.parent


def _rollback(journal: _Journal) -> None:
    for target in reversed(journal.placed):
        with contextlib.suppress(OSError):
            if target in journal.backups:
                os.replace(journal.backups.pop(target), target)
            else:
                target.unlink()
    for target, backup in journal.backups.items():
        with contextlib.suppress(OSError):
            os.replace(backup, target)
    for temp in [*journal.staged.values(), *journal.spare]:
        with contextlib.suppress(OSError):
            temp.unlink()
    for directory in reversed(journal.created_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()
