"""Crash consistency: a commit killed at any file operation is undone or completed next time."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import Result, snapshot
from uts import commit as commit_module
from uts import journal
from uts.commit import commit
from uts.plan import Plan

Uts = Callable[..., Result]

# Every os function through which a commit (or its recovery) changes the disk or takes
# the lock. Reads and os.close are left alone: a dead process closes its files too.
OPERATIONS = (
    "open",
    "write",
    "fsync",
    "fchmod",
    "ftruncate",
    "link",
    "replace",
    "rename",
    "unlink",
    "mkdir",
    "rmdir",
)
LEFTOVERS = (journal.TEMP_PREFIX, journal.JOURNAL_NAME, journal.LOCK_NAME)


@contextlib.contextmanager
def dying_at(n: int | None) -> Iterator[list[int]]:
    """Count file operations; the *n*-th and every later one fails, as if the process died.

    Nothing uts does in-process after that point (its own rollback included) can touch
    the disk, which is what SIGKILL or a power cut at that instant leaves behind.
    """
    count = [0]
    reals = {name: getattr(os, name) for name in OPERATIONS}

    def dying(name: str, real: Callable[..., object]) -> Callable[..., object]:
        def operation(*args: object, **kwargs: object) -> object:
            count[0] += 1
            if n is not None and count[0] >= n:
                raise OSError(errno.EIO, f"dead at operation {n} ({name})")
            return real(*args, **kwargs)

        return operation

    for name, real in reals.items():
        setattr(os, name, dying(name, real))
    try:
        yield count
    finally:
        for name, real in reals.items():
            setattr(os, name, real)


def leftovers(tree: dict[str, bytes]) -> list[str]:
    return [p for p in tree if any(part.startswith(LEFTOVERS) for part in p.split("/"))]


def captured_plan(uts: Uts, monkeypatch: pytest.MonkeyPatch, *args: object) -> Plan:
    """The plan ``uts ARGS`` would commit (nothing is written)."""
    plans: list[Plan] = []
    with monkeypatch.context() as patch:
        patch.setattr(commit_module, "commit", plans.append)
        result = uts(*args)
    assert len(plans) == 1, result.err
    return plans[0]


def crash_everywhere(
    tmp_path: Path,
    base: Path,
    plan: Plan,
    recover: Callable[[Path, Path], None],
) -> dict[str, int]:
    """Kill a commit of *plan* (rooted in *base*) at each of its operations in turn.

    *base* is the tree compared (the project, or the parent of a new one). After each
    crash *recover(tree, root)* runs what the next command runs; the tree must then be
    exactly as before or exactly as planned, with no temporary file, journal or lock.
    """
    rel = plan.root.relative_to(base)
    before = snapshot(base)

    def fresh_copy(name: str) -> tuple[Path, Plan]:
        tree = tmp_path / name
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(base, tree, symlinks=True)
        return tree, Plan(tree / rel, plan.changes)

    tree, whole = fresh_copy("whole")
    with dying_at(None) as count:
        commit(whole)
    operations = count[0]
    after = snapshot(tree)
    assert after != before
    outcomes = {"operations": operations, "before": 0, "after": 0}
    for n in range(1, operations + 1):
        tree, copy = fresh_copy(f"crash-{n}")
        with dying_at(n), contextlib.suppress(Exception, KeyboardInterrupt):
            commit(copy)
        recover(tree, copy.root)
        state = snapshot(tree)
        assert not leftovers(state), f"crash at operation {n} left {leftovers(state)}"
        assert state in (before, after), f"crash at operation {n}: neither before nor after"
        outcomes["before" if state == before else "after"] += 1
        shutil.rmtree(tree)
    # Early deaths must come back as before, late ones as after: both must occur.
    assert outcomes["before"] and outcomes["after"], outcomes
    return outcomes


@pytest.fixture
def mvp(uts: Uts, tmp_path: Path) -> Path:
    root = tmp_path / "base" / "demo"
    result = uts("new", "demo", "--dir", root)
    assert result.code == 0, result.err
    return root


def next_command(uts: Uts) -> Callable[[Path, Path], None]:
    """Recovery as the next command does it: `uts status`, one line on stderr at most."""

    def recover(tree: Path, root: Path) -> None:
        result = uts("status", "--project", root)
        assert result.code == 0, result.err
        assert len(result.err.splitlines()) <= 1, result.err
        assert result.err == "" or result.err.startswith("recovered: "), result.err

    return recover


def test_add_killed_at_every_operation(
    uts: Uts, mvp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = captured_plan(uts, monkeypatch, "add", "monitoring", "--project", mvp)
    outcomes = crash_everywhere(tmp_path, mvp, plan, next_command(uts))
    print(f"\nuts add monitoring: {outcomes}")


def test_remove_killed_at_every_operation(
    uts: Uts, mvp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert uts("add", "monitoring", "--project", mvp).code == 0
    plan = captured_plan(uts, monkeypatch, "remove", "monitoring", "--project", mvp)
    outcomes = crash_everywhere(tmp_path, mvp, plan, next_command(uts))
    print(f"\nuts remove monitoring: {outcomes}")


def test_update_killed_at_every_operation(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A project uts 0.1.0 wrote: its project component (0.1.0) is older than the
    # installed one, so `uts update` has real work (README and pyproject rewritten).
    root = tmp_path / "base" / "demo"
    shutil.copytree(Path(__file__).parent.parent / "data" / "format1-mvp", root)
    assert uts("status", "--project", root).code == 0  # the one-time upgrade to format 2
    plan = captured_plan(uts, monkeypatch, "update", "--project", root)
    assert [c.path for c in plan.effective if c.path.startswith("README")] == ["README.md"]
    outcomes = crash_everywhere(tmp_path, root, plan, next_command(uts))
    print(f"\nuts update: {outcomes}")


def test_new_force_killed_at_every_operation(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "base" / "demo"
    (root / "docs").mkdir(parents=True)
    (root / "docs" / "notes.md").write_text("ours\n")
    plan = captured_plan(uts, monkeypatch, "new", "demo", "--dir", root, "--force")

    def recover(tree: Path, root: Path) -> None:
        journal.recover(root)  # what `uts new` does first in an existing directory

    outcomes = crash_everywhere(tmp_path, root, plan, recover)
    print(f"\nuts new --force: {outcomes}")


def test_new_killed_at_every_operation(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = tmp_path / "base"
    parent.mkdir()
    # Two missing parents: they are built inside the staging directory too.
    plan = captured_plan(uts, monkeypatch, "new", "demo", "--dir", parent / "a" / "b" / "demo")
    # The staging directory's process is this one; the next `uts new` runs in another.
    monkeypatch.setattr(journal, "_alive", lambda pid: pid != os.getpid())

    def recover(tree: Path, root: Path) -> None:
        journal.clean_stale_staging(tree)  # what the next `uts new` there does first

    outcomes = crash_everywhere(tmp_path, parent, plan, recover)
    print(f"\nuts new: {outcomes}")


@pytest.mark.parametrize("share", [0.5, 0.8])
def test_a_crash_during_recovery_is_recovered_next_time(
    uts: Uts, mvp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, share: float
) -> None:
    plan = captured_plan(uts, monkeypatch, "add", "monitoring", "--project", mvp)
    before = snapshot(mvp)
    crashed = tmp_path / "crashed"
    shutil.copytree(mvp, crashed, symlinks=True)
    with dying_at(None) as count:
        commit(Plan(crashed, plan.changes))
    shutil.rmtree(crashed)
    shutil.copytree(mvp, crashed, symlinks=True)
    with dying_at(int(count[0] * share)), contextlib.suppress(Exception):
        commit(Plan(crashed, plan.changes))
    assert (crashed / journal.JOURNAL_NAME).exists()  # died in the middle of the swap

    def copy() -> Path:
        tree = tmp_path / "recovering"
        shutil.rmtree(tree, ignore_errors=True)
        shutil.copytree(crashed, tree, symlinks=True)
        return tree

    with dying_at(None) as recovery:
        journal.recover(copy(), lambda line: None)
    assert recovery[0] > 3
    for n in range(1, recovery[0] + 1):
        tree = copy()
        with dying_at(n), contextlib.suppress(Exception):
            journal.recover(tree, lambda line: None)
        result = uts("status", "--project", tree)
        assert result.code == 0, result.err
        assert result.err == "" or (
            result.err.startswith("recovered: ") and result.err.count("\n") == 1
        ), result.err
        state = snapshot(tree)
        assert not leftovers(state), f"recovery killed at operation {n} left {leftovers(state)}"
        assert state == before, f"recovery killed at operation {n}"


def test_a_backup_that_cannot_be_removed_is_reported_and_removed_next_time(
    uts: Uts, mvp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_unlink = os.unlink

    def unlink(path: str, *args: object, **kwargs: object) -> None:
        if journal.TEMP_PREFIX + "old-" in str(path):
            raise OSError(errno.EACCES, "Permission denied")
        real_unlink(path, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(os, "unlink", unlink)
        result = uts("add", "monitoring", "--project", mvp)
    assert result.code == 0, result.err
    assert result.err.startswith("warning: the change is complete but uts could not remove ")
    assert result.err.count("\n") == 1 and "Permission denied" in result.err
    assert leftovers(snapshot(mvp))  # the backups, and the journal that names them
    result = uts("status", "--project", mvp)
    assert result.err.startswith("recovered: ") and "after its change was complete" in result.err
    assert not leftovers(snapshot(mvp))
    assert "  monitoring " in result.out


def test_a_journal_naming_a_path_outside_the_project_is_refused(
    uts: Uts, mvp: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep\n")
    entry = {
        "path": "../../victim.txt",
        "action": "create",
        "stage": None,
        "backup": None,
        "old": None,
        "new": journal.sha256(b"keep\n"),
    }
    header = {"format": 1, "pid": 1, "command": "uts add x", "dirs": [], "entries": [entry]}
    (mvp / journal.JOURNAL_NAME).write_text(json.dumps(header) + "\n")
    result = uts("status", "--project", mvp)
    assert result.code == 9, result.err
    assert "is damaged" in result.err
    assert victim.read_text() == "keep\n"
