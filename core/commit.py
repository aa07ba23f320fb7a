"""Write a plan all-or-nothing, even across SIGKILL and power loss.

Two strategies, one guarantee:

- a project directory that does not exist yet is built whole (fsynced) in a hidden
  sibling directory and renamed into place in one step; a staging directory whose
  process died is removed by the next ``uts new`` there;
- an existing project is changed under its lock and a rollback journal
  (:mod:`uts.journal`): every file it replaces or deletes is first checked against
  the bytes the plan was computed from, then each one is kept as a hard-linked
  backup while the new content is renamed over it, so a target path is never
  empty and the next command can always put the old file back.

SIGINT and SIGTERM are held back while files move (:mod:`uts.interrupts`): the
commit notices them between two operations and rolls back by itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from pathlib import Path

from uts import interrupts, journal
from uts.errors import ConflictError, WriteError
from uts.journal import Entry
from uts.plan import Change, Confinement, Plan
from uts.report import listing

__all__ = ["commit"]


class _Interrupted(BaseException):
    """A held-back signal arrived: stop here and roll back."""


def _check_signals() -> None:
    if interrupts.pending():
        raise _Interrupted


def _mode(change: Change) -> int:
    return 0o755 if change.executable else 0o644  # the umask applies, as for any new file


def _write_file(path: str, data: bytes, mode: int, exact_mode: bool = False) -> None:
    """Create *path* (it must not exist) with *data*; the caller fsyncs it before renaming."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        if exact_mode:  # the mode the user gave the file it replaces, umask or not
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def commit(plan: Plan) -> None:
    """Apply *plan* to disk; on any failure (or Ctrl-C, SIGTERM) restore the project as it was.

    :class:`~uts.errors.ConflictError` if a file changed on disk since the plan was
    computed, :class:`~uts.errors.LockError` if another uts is writing the project.
    """
    effective = plan.effective
    fresh = not os.path.lexists(plan.root) and all(c.action == "create" for c in effective)
    with interrupts.deferred():
        try:
            if fresh:
                _build_fresh(plan, effective)
            else:
                _commit_existing(plan, effective)
        except (_Interrupted, KeyboardInterrupt) as error:
            interrupts.record(interrupts.NOTHING if fresh else interrupts.ROLLED_BACK)
            if isinstance(error, _Interrupted):
                interrupts.raise_pending()
            raise
        except OSError as error:  # taking the lock, reading for the check
            raise _write_error(error, plan.root) from error
        interrupts.record(interrupts.COMPLETE)
        if interrupts.pending():
            interrupts.raise_pending()


def _write_error(error: OSError, root: Path) -> WriteError:
    where = getattr(error, "filename", None) or root
    return WriteError(
        f"writing {where} failed: {error.strerror or error}; the project was left unchanged",
        hint="free disk space or fix permissions, then run again",
    )


# -- a new project -----------------------------------------------------------------------


def _build_fresh(plan: Plan, changes: list[Change]) -> None:
    """Write a new project into a hidden sibling directory, then rename it into place.

    Missing parent directories are built inside the staging directory too, so the one
    rename creates them: an interrupted ``new`` leaves no empty parents behind.
    """
    confinement = Confinement(plan.root)
    paths = [confinement.relative(change.path) for change in changes]
    root = Path(os.path.abspath(plan.root))
    top = root
    while not os.path.lexists(top.parent):
        top = top.parent
    journal.clean_stale_staging(top.parent)
    staging = os.path.join(
        top.parent, f"{journal.STAGING_PREFIX}{os.getpid()}-{os.urandom(4).hex()}"
    )
    inner = os.path.join(staging, os.path.relpath(root, top)) if top != root else staging
    os.mkdir(staging)
    try:
        made = {staging}
        if inner != staging:
            os.makedirs(inner)
        written = []
        for rel, change in zip(paths, changes, strict=True):
            _check_signals()
            path = os.path.join(inner, rel)
            directory = os.path.dirname(path)
            if directory not in made:
                os.makedirs(directory, exist_ok=True)
                made.update(_and_parents(directory, staging))
            _write_file(path, change.new or b"", _mode(change))
            written.append(path)
        # Durable before the rename publishes them: a power cut then leaves either
        # no project or the whole of it, never empty files.
        journal.fsync_paths([*written, *sorted(made | _and_parents(inner, staging))])
        _check_signals()
        os.rename(staging, top)
    except BaseException as error:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(error, OSError):
            raise _write_error(error, root) from error
        raise
    journal.fsync_paths([str(top.parent)])


def _and_parents(directory: str, stop: str) -> set[str]:
    found = set()
    while directory != stop and directory.startswith(stop):
        found.add(directory)
        directory = os.path.dirname(directory)
    return found


# -- an existing project -----------------------------------------------------------------


def _commit_existing(plan: Plan, changes: list[Change]) -> None:
    confinement = Confinement(plan.root)
    root = confinement.root
    targets = [(confinement.target(change.path), change) for change in changes]
    if not os.path.isdir(root):
        os.makedirs(root)
    with journal.locked(root):
        journal.recover(root)
        modes = _verify(targets)
        entries, dirs = _prepare(root, targets)
        _check_signals()  # interrupted while checking: stop before writing the journal
        try:
            fd = journal.begin(root, entries, dirs)
        except OSError as error:
            raise _write_error(error, root) from error
        header_size = os.fstat(fd).st_size
        try:
            _apply(root, targets, entries, dirs, modes)
            journal.fsync_paths(_touched(root, entries, dirs))
            journal.mark_committed(fd)
        except BaseException as error:
            # A commit mark whose fsync failed must not survive a failed roll back: the
            # next command would then "complete" a half-undone change.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, header_size)
            problems = journal.roll_back(root, _as_journal(entries, dirs))
            if problems:
                raise WriteError(
                    f"writing {root} failed ({_describe(error)}) and undoing it failed too: "
                    f"{'; '.join(problems)}",
                    hint="the next uts command in the project finishes restoring it",
                ) from error
            if isinstance(error, OSError):
                raise _write_error(error, root) from error
            raise
        finally:
            os.close(fd)
        problems = journal.roll_forward(root, _as_journal(entries, dirs))
        if problems:
            # The change is complete; only leftovers remain, named in the journal.
            journal.say(
                f"warning: the change is complete but uts could not remove {'; '.join(problems)}; "
                "the next uts command in the project retries"
            )


def _describe(error: BaseException) -> str:
    if isinstance(error, OSError):
        return str(error.strerror or error)
    return "interrupted" if isinstance(error, _Interrupted | KeyboardInterrupt) else repr(error)


def _verify(targets: list[tuple[Path, Change]]) -> dict[Path, int]:
    """Refuse to write if a file changed since the plan read it; the modes to keep."""
    modes: dict[Path, int] = {}
    changed: list[str] = []
    for target, change in targets:
        if change.action == "create":
            if os.path.lexists(target):
                changed.append(f"{change.path} (now exists)")
            continue
        try:
            with open(target, "rb") as file:
                modes[target] = stat.S_IMODE(os.fstat(file.fileno()).st_mode)
                current: bytes | None = file.read()
        except FileNotFoundError:
            current = None
        if current != change.old:
            changed.append(change.path + (" (now deleted)" if current is None else ""))
    if changed:
        raise ConflictError(
            f"changed on disk since uts read it (an editor saving?): {listing(changed)}; "
            "nothing was changed",
            hint="look at the file(s), then run the command again",
        )
    return modes


def _prepare(root: Path, targets: list[tuple[Path, Change]]) -> tuple[list[Entry], list[str]]:
    """Every name the commit will use, decided before the journal is written."""
    token = f"{os.getpid()}-{os.urandom(4).hex()}"
    entries: list[Entry] = []
    dirs: list[str] = []
    seen: set[str] = set()
    for index, (_, change) in enumerate(targets):
        directory = change.path.rpartition("/")[0]
        stage, backup = journal.temp_names(directory, token, index)
        if change.action == "create":
            _missing_dirs(root, directory, seen, dirs)
        entries.append(
            Entry(
                change.path,
                change.action,
                stage if change.action != "delete" else None,
                backup if change.action != "create" else None,
                journal.sha256(change.old) if change.old is not None else None,
                journal.sha256(change.new) if change.new is not None else None,
            )
        )
    return entries, dirs


def _missing_dirs(root: Path, directory: str, seen: set[str], dirs: list[str]) -> None:
    missing = []
    while directory and directory not in seen:
        seen.add(directory)
        if os.path.isdir(os.path.join(root, directory)):
            break
        missing.append(directory)
        directory = directory.rpartition("/")[0]
    dirs.extend(reversed(missing))


def _staged(entry: Entry) -> str:
    """The temporary name of *entry*'s new content: every create and update has one."""
    if entry.stage is None:
        raise AssertionError(f"nothing staged for a {entry.action}")
    return entry.stage


def _apply(
    root: Path,
    targets: list[tuple[Path, Change]],
    entries: list[Entry],
    dirs: list[str],
    modes: dict[Path, int],
) -> None:
    for directory in dirs:
        _check_signals()
        os.mkdir(os.path.join(root, directory))
    staged = []
    for (target, change), entry in zip(targets, entries, strict=True):
        if entry.stage is not None:
            _check_signals()
            stage = os.path.join(root, entry.stage)
            if target in modes:
                _write_file(stage, change.new or b"", modes[target], exact_mode=True)
            else:
                _write_file(stage, change.new or b"", _mode(change))
            staged.append(stage)
    journal.fsync_paths(staged)  # the new content is durable before any rename
    for (target, _), entry in zip(targets, entries, strict=True):
        _check_signals()
        if entry.backup is not None:
            # The target path stays occupied: the old file gains a second name first.
            os.link(target, os.path.join(root, entry.backup))
            _check_signals()
        if entry.action == "delete":
            os.unlink(target)
        elif entry.action == "update":
            os.replace(os.path.join(root, _staged(entry)), target)
        else:  # create, never over a file that appeared meanwhile (link refuses)
            stage = os.path.join(root, _staged(entry))
            os.link(stage, target)
            _check_signals()
            os.unlink(stage)


def _touched(root: Path, entries: list[Entry], dirs: list[str]) -> list[str]:
    """The directories whose entries the commit changed, to fsync before its commit point."""
    found = {str(root)}
    for entry in entries:
        found.add(os.path.dirname(os.path.join(root, entry.path)))
    for directory in dirs:
        found.add(os.path.dirname(os.path.join(root, directory)))
    return sorted(found)


def _as_journal(entries: list[Entry], dirs: list[str]) -> journal.Journal:
    return journal.Journal(entries, dirs, os.getpid(), journal.command, False)
