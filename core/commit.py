"""Write a plan all-or-nothing: stage every file, swap them in, roll back on any failure.

Two strategies, one guarantee:

- a project directory that does not exist yet is built whole in a hidden sibling
  directory and renamed into place in one step;
- an existing project gets each file staged next to its target, then every staged
  file renamed over its target, the replaced files kept as backups until the end.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

from uts.errors import WriteError
from uts.plan import Change, Confinement, Plan

__all__ = ["commit"]

_TEMP_PREFIX = ".uts-tmp-"
_counter = itertools.count()


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


class _Journal:
    """What a commit did so far, so that a rollback can undo exactly that."""

    def __init__(self) -> None:
        self.created_dirs: list[Path] = []
        self.staged: dict[Path, Path] = {}
        self.backups: dict[Path, Path] = {}
        self.placed: list[Path] = []
        self.spare: list[Path] = []
        self.staging_dir: Path | None = None


def _temp_name(directory: Path | str, kind: str) -> str:
    return os.path.join(directory, f"{_TEMP_PREFIX}{kind}-{os.getpid()}-{next(_counter)}")


def _open_exclusive(directory: Path, kind: str, mode: int) -> tuple[int, Path]:
    """Create a new, uniquely named file in *directory*; its descriptor and path."""
    while True:
        name = _temp_name(directory, kind)
        try:
            return os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), Path(name)
        except FileExistsError:  # left by a crashed run with our pid: take the next name
            continue


def _write_all(fd: int, data: bytes, durable: bool = False) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)


def _mode(change: Change) -> int:
    return 0o755 if change.executable else 0o644  # the umask applies, as for any new file


def _mkdirs(directory: Path, journal: _Journal) -> None:
    missing: list[Path] = []
    while not directory.exists():
        missing.append(directory)
        directory = directory.parent
    for path in reversed(missing):
        path.mkdir()
        journal.created_dirs.append(path)


def _stage(target: Path, change: Change, journal: _Journal) -> None:
    _mkdirs(target.parent, journal)
    fd, temp = _open_exclusive(target.parent, "new", _mode(change))
    journal.staged[target] = temp
    # Replacing a file the user has: make the new bytes durable before the rename.
    # New files need no fsync; a crash leaves them absent or complete.
    _write_all(fd, change.new or b"", durable=change.action == "update")


def commit(plan: Plan) -> None:
    """Apply *plan* to disk; on any failure (or Ctrl-C, SIGTERM) restore the project as it was."""
    journal = _Journal()
    effective = plan.effective
    fresh = not os.path.lexists(plan.root) and all(c.action == "create" for c in effective)
    with _terminate_as_exception():
        try:
            if fresh:
                _build_fresh(plan, effective, journal)
            else:
                _swap_in(plan, effective, journal)
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
    _prune_empty_dirs(plan.root, [c.path for c in effective if c.action == "delete"])


def _build_fresh(plan: Plan, changes: list[Change], journal: _Journal) -> None:
    """Write a new project into a hidden sibling directory, then rename it into place."""
    confinement = Confinement(plan.root)
    paths = [confinement.relative(change.path) for change in changes]
    root = Path(os.path.abspath(plan.root))
    _mkdirs(root.parent, journal)
    while journal.staging_dir is None:
        staging = _temp_name(root.parent, f"dir-{root.name}")
        with contextlib.suppress(FileExistsError):
            os.mkdir(staging)
            journal.staging_dir = Path(staging)
    made = {staging}
    for rel, change in zip(paths, changes, strict=True):
        path = os.path.join(staging, rel)
        directory = os.path.dirname(path)
        if directory not in made:
            os.makedirs(directory, exist_ok=True)
            made.add(directory)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _mode(change))
        _write_all(fd, change.new or b"")
    os.replace(staging, root)
    journal.staging_dir = None


def _swap_in(plan: Plan, changes: list[Change], journal: _Journal) -> None:
    confinement = Confinement(plan.root)
    targets = [(confinement.target(change.path), change) for change in changes]
    _mkdirs(plan.root, journal)
    for target, change in targets:
        if change.action in ("create", "update"):
            _stage(target, change, journal)
    for target, change in targets:
        if change.action in ("update", "delete"):
            fd, backup = _open_exclusive(target.parent, "old", 0o600)
            os.close(fd)
            journal.spare.append(backup)
            os.replace(target, backup)
            journal.spare.remove(backup)
            journal.backups[target] = backup
        if change.action in ("create", "update"):
            os.replace(journal.staged[target], target)
            del journal.staged[target]
        journal.placed.append(target)


def _prune_empty_dirs(root: Path, deleted: list[str]) -> None:
    """Remove directories that deleting files (project-relative paths) left empty."""
    root = root.resolve()
    for rel in sorted(deleted, key=lambda rel: rel.count("/"), reverse=True):
        directory = (root / rel).parent
        while directory != root and root in directory.parents:
            try:
                directory.rmdir()
            except OSError:  # not empty, or gone already
                break
            directory = directory.parent


def _rollback(journal: _Journal) -> None:
    if journal.staging_dir is not None:
        shutil.rmtree(journal.staging_dir, ignore_errors=True)
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
