"""Plan and commit: all-or-nothing writes, confinement, refusing to overwrite."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from tests.conftest import fail_nth_call, snapshot
from uts import commit as commit_module
from uts.commit import commit
from uts.errors import ConflictError, WriteError
from uts.model import GeneratedFile
from uts.plan import Change, Plan, plan_new


def files(n: int = 6) -> dict[str, GeneratedFile]:
    return {
        f"pkg/sub{i % 3}/f{i}.txt": GeneratedFile(f"file {i}\n".encode(), "demo") for i in range(n)
    }


def existing_project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "keep.py").write_text("user code\n")
    (root / "notes.md").write_text("mine\n")
    return root


def update_plan(root: Path) -> Plan:
    """Update one file, delete one, create three (two in new directories)."""
    return Plan(
        root,
        [
            Change("notes.md", "update", "demo", b"mine\n", b"theirs\n"),
            Change("pkg/keep.py", "delete", "demo", b"user code\n", None),
            Change("pkg/new/a.py", "create", "demo", None, b"a\n"),
            Change("pkg/new/deeper/b.py", "create", "demo", None, b"b\n"),
            Change("c.py", "create", "demo", None, b"c\n", executable=True),
        ],
    )


def test_commit_writes_everything(tmp_path: Path) -> None:
    root = existing_project(tmp_path)
    commit(update_plan(root))
    assert (root / "notes.md").read_text() == "theirs\n"
    assert not (root / "pkg/keep.py").exists()
    assert (root / "pkg/new/deeper/b.py").read_bytes() == b"b\n"
    assert os.access(root / "c.py", os.X_OK)
    assert not [p for p in root.rglob("*") if p.name.startswith(".uts-tmp-")]


@pytest.mark.parametrize(
    ("operation", "fail_at"),
    [("link", 1), ("link", 2), ("link", 3), ("link", 4), ("link", 5), ("replace", 1)],
)
def test_failure_midway_leaves_project_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operation: str, fail_at: int
) -> None:
    root = existing_project(tmp_path)
    before = snapshot(root)
    fail_nth_call(monkeypatch, operation, fail_at, OSError(errno.EIO, "injected I/O error"))
    with pytest.raises(WriteError, match="left unchanged"):
        commit(update_plan(root))
    assert snapshot(root) == before


def test_full_disk_while_staging_leaves_project_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = existing_project(tmp_path)
    before = snapshot(root)
    fail_nth_call(monkeypatch, "write", 3, OSError(errno.ENOSPC, "No space left on device"))
    with pytest.raises(WriteError, match="No space left on device"):
        commit(update_plan(root))
    assert snapshot(root) == before


def test_interrupt_midway_leaves_project_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = existing_project(tmp_path)
    before = snapshot(root)
    fail_nth_call(monkeypatch, "link", 4, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        commit(update_plan(root))
    assert snapshot(root) == before


def test_new_project_in_fresh_directory_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "fresh"
    plan = plan_new(root, files())

    def broken(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "injected")

    monkeypatch.setattr(commit_module.os, "rename", broken)
    with pytest.raises(WriteError):
        commit(plan)
    assert list(tmp_path.iterdir()) == []


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pkg").symlink_to(outside, target_is_directory=True)
    with pytest.raises(WriteError, match="symbolic link"):
        plan_new(root, files(), force=True)
    with pytest.raises(WriteError, match="symbolic link"):
        commit(Plan(root, [Change("pkg/x.txt", "create", "demo", None, b"x")]))
    assert list(outside.iterdir()) == []


def test_symlinked_file_is_never_written_through(tmp_path: Path) -> None:
    outside = tmp_path / "secret.txt"
    outside.write_text("secret\n")
    root = tmp_path / "proj"
    root.mkdir()
    (root / "notes.md").symlink_to(outside)
    with pytest.raises(WriteError, match="symbolic link"):
        commit(Plan(root, [Change("notes.md", "update", "demo", b"secret\n", b"pwned\n")]))
    assert outside.read_text() == "secret\n"


@pytest.mark.parametrize("path", ["../escape.txt", "a/../../escape.txt"])
def test_paths_outside_the_project_are_refused(tmp_path: Path, path: str) -> None:
    root = tmp_path / "proj"
    root.mkdir()
    with pytest.raises(WriteError, match="outside the project"):
        commit(Plan(root, [Change(path, "create", "demo", None, b"x")]))
    assert not (tmp_path / "escape.txt").exists()


def test_non_empty_directory_is_refused_without_force(tmp_path: Path) -> None:
    root = existing_project(tmp_path)
    with pytest.raises(ConflictError, match="is not empty"):
        plan_new(root, files())


def test_force_never_overwrites_a_different_file(tmp_path: Path) -> None:
    root = existing_project(tmp_path)
    clash = {"notes.md": GeneratedFile(b"generated\n", "demo"), **files()}
    with pytest.raises(ConflictError, match=r"1 file\(s\) already exist.*notes.md"):
        plan_new(root, clash, force=True)
    same = {"notes.md": GeneratedFile(b"mine\n", "demo"), **files(2)}
    plan = plan_new(root, same, force=True)
    assert plan.counts() == {"create": 2, "update": 0, "delete": 0, "keep": 1}


def test_diff_shows_every_change(tmp_path: Path) -> None:
    root = existing_project(tmp_path)
    text = update_plan(root).diff()
    assert "--- a/notes.md\n+++ b/notes.md\n" in text
    assert "-mine\n+theirs\n" in text
    assert "--- a/pkg/keep.py\n+++ /dev/null\n" in text
    assert "--- /dev/null\n+++ b/pkg/new/a.py\n" in text


def test_sigterm_midway_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import signal

    root = existing_project(tmp_path)
    before = snapshot(root)
    real = os.link
    calls = {"n": 0}

    def terminated_after_two(src: object, dst: object) -> None:
        real(src, dst)  # type: ignore[arg-type]
        calls["n"] += 1
        if calls["n"] == 2:
            os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(commit_module.os, "link", terminated_after_two)
    with pytest.raises(KeyboardInterrupt):
        commit(update_plan(root))
    assert snapshot(root) == before
    assert signal.getsignal(signal.SIGTERM) == previous


def test_new_project_is_built_aside_and_renamed_into_place(tmp_path: Path) -> None:
    root = tmp_path / "missing" / "parents" / "fresh"
    items = {**files(), "bin/run.sh": GeneratedFile(b"#!/bin/sh\n", "demo", executable=True)}
    commit(plan_new(root, items))
    written = {path: data for path, data in snapshot(root).items() if not path.endswith("/")}
    assert written == {path: item.content for path, item in items.items()}
    umask = os.umask(0)
    os.umask(umask)
    assert (root.stat().st_mode & 0o777) == 0o777 & ~umask  # as mkdir makes it, not 0700
    assert (root / "pkg/sub0").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (root / "pkg/sub0/f0.txt").stat().st_mode & 0o777 == 0o644 & ~umask
    assert (root / "bin/run.sh").stat().st_mode & 0o777 == 0o755 & ~umask
    assert sorted(p.name for p in root.parent.iterdir()) == ["fresh"]


@pytest.mark.parametrize(
    "error", [OSError(errno.ENOSPC, "No space left on device"), KeyboardInterrupt()]
)
def test_new_project_failing_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    root = tmp_path / "parent" / "fresh"
    plan = plan_new(root, files())
    fail_nth_call(monkeypatch, "write", 4, error)
    with pytest.raises(WriteError if isinstance(error, OSError) else KeyboardInterrupt):
        commit(plan)
    assert list(tmp_path.iterdir()) == []  # no project, no staging directory, no parent


def test_sigterm_while_building_a_new_project_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal

    root = tmp_path / "fresh"
    plan = plan_new(root, files())
    real = os.write
    calls = {"n": 0}

    def terminated_after_two(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(fd, data)

    monkeypatch.setattr(commit_module.os, "write", terminated_after_two)
    with pytest.raises(KeyboardInterrupt):
        commit(plan)
    assert list(tmp_path.iterdir()) == []
