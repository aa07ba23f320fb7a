"""Real processes: SIGKILL, Ctrl-C and SIGTERM at any moment, two writers, an editor, modes."""

from __future__ import annotations

import os
import random
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, snapshot
from tests.unit.test_crash import leftovers
from uts import commit as commit_module
from uts import interrupts, journal
from uts.errors import LockError

Uts = Callable[..., Result]
UTS = str(Path(sys.executable).with_name("uts"))  # the console script users run
KILL_RUNS = int(os.environ.get("UTS_KILL_RUNS", "100"))
INTERRUPTED = {interrupts.NOTHING, interrupts.ROLLED_BACK, interrupts.COMPLETE}


@pytest.fixture
def project(uts: Uts, tmp_path: Path) -> Path:
    """An MVP project without crud (so that crud and monitoring can both be added)."""
    root = tmp_path / "demo"
    result = uts("new", "demo", "--without", "crud", "--dir", root)
    assert result.code == 0, result.err
    return root


def run(*args: object, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [UTS, *map(str, args)], capture_output=True, text=True, cwd=cwd, check=False
    )


def start(*args: object) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [UTS, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def handlers_installed(pid: int) -> bool:
    """Whether uts's own code runs in *pid*: SIGTERM is caught (Python alone leaves it)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True  # gone already
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    blocked = next(line for line in status.splitlines() if line.startswith("SigBlk:"))
    term = 1 << (signal.SIGTERM - 1)
    return bool(int(caught.split()[1], 16) & term or int(blocked.split()[1], 16) & term)


def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(20000):
        if condition():
            return
        time.sleep(0.0005)
    raise AssertionError(f"gave up waiting for {what}")


def next_command(root: Path) -> str:
    """Run `uts status` (any command recovers first); its stderr, at most one line."""
    done = run("status", "--project", root)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("\n") <= 1, done.stderr
    assert done.stderr == "" or done.stderr.startswith("recovered: "), done.stderr
    return done.stderr


def test_sigkill_at_random_moments_leaves_before_or_after(project: Path) -> None:
    before = snapshot(project)
    lifetimes = {}
    for verb in ("add", "remove"):
        started = time.perf_counter()
        done = run(verb, "monitoring", "--project", project)
        lifetimes[verb] = time.perf_counter() - started
        assert done.returncode == 0, done.stderr
        if verb == "add":
            after = snapshot(project)
    assert snapshot(project) == before
    outcomes: Counter[str] = Counter()
    rng = random.Random(9)
    current = before
    for _ in range(KILL_RUNS):
        verb = "add" if current == before else "remove"
        process = start(verb, "monitoring", "--project", project)
        # Late in the run, where the commit is; some kills come after the exit.
        time.sleep(rng.uniform(0.4, 1.1) * lifetimes[verb])
        process.kill()
        process.communicate()
        code = process.returncode
        recovered = next_command(project)
        current = snapshot(project)
        assert not leftovers(current), leftovers(current)
        assert current in (before, after), f"{verb} killed: neither before nor after"
        landed = "after" if (current == after) == (verb == "add") else "before"
        outcomes[f"{verb} {'finished' if code == 0 else 'killed'}, landed {landed}"] += 1
        if recovered:
            outcomes["recovered by the next command"] += 1
    print(f"\nSIGKILL loop, {KILL_RUNS} runs: {dict(sorted(outcomes.items()))}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_at_random_moments_end_with_one_true_line(
    project: Path, signum: signal.Signals
) -> None:
    before = snapshot(project)
    assert run("add", "monitoring", "--project", project).returncode == 0
    after = snapshot(project)
    assert run("remove", "monitoring", "--project", project).returncode == 0
    rng = random.Random(int(signum))
    seen: Counter[str] = Counter()
    for _ in range(12):
        process = start("add", "monitoring", "--project", project)
        wait_for(lambda: handlers_installed(process.pid), "uts to start")  # noqa: B023
        time.sleep(rng.uniform(0, 0.25))
        process.send_signal(signum)
        if rng.random() < 0.5:  # a second one, as an impatient user does
            time.sleep(rng.uniform(0, 0.01))
            process.send_signal(signum)
        _, err = process.communicate()
        state = snapshot(project)
        assert not leftovers(state)
        if process.returncode == 0:
            assert err == "" and state == after
            seen["finished"] += 1
        else:
            assert process.returncode == 128 + signum, err
            line = err.removesuffix("\n")
            assert "\n" not in line and line in INTERRUPTED, err  # no traceback
            assert state == (after if line == interrupts.COMPLETE else before)
            seen[line] += 1
        if state == after:
            assert run("remove", "monitoring", "--project", project).returncode == 0
    assert seen  # (each line seen is true; which ones occur depends on the timing)


def test_ctrl_c_during_start_up_imports_is_one_line(tmp_path: Path) -> None:
    for _ in range(5):
        process = start("recipes")
        wait_for(lambda: handlers_installed(process.pid), "uts to start")  # noqa: B023
        process.send_signal(signal.SIGINT)
        _, err = process.communicate()
        assert process.returncode in (0, 130), err
        assert err in ("", interrupts.NOTHING + "\n"), err


def test_a_second_ctrl_c_during_the_rollback_changes_nothing(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(project)
    real_link, real_replace = os.link, os.replace
    links = [0]

    def link(src: str, dst: str) -> None:
        real_link(src, dst)
        links[0] += 1
        if links[0] == 3:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C in the middle of the swap

    def replace(src: str, dst: str) -> None:
        if journal.TEMP_PREFIX + "old-" in str(src):  # putting a backup back: Ctrl-C again
            os.kill(os.getpid(), signal.SIGINT)
        real_replace(src, dst)

    monkeypatch.setattr(os, "link", link)
    monkeypatch.setattr(os, "replace", replace)
    result = uts("add", "monitoring", "--project", project)
    assert (result.code, result.err) == (130, interrupts.ROLLED_BACK + "\n")
    assert snapshot(project) == before


def test_sigterm_during_the_swap_rolls_back_and_exits_143(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(project)
    real_unlink = os.unlink

    def unlink(path: str, *args: object, **kwargs: object) -> None:
        real_unlink(path, *args, **kwargs)
        if journal.TEMP_PREFIX + "new-" in str(path):  # a new file just took its place
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(os, "unlink", unlink)
    result = uts("add", "monitoring", "--project", project)
    assert (result.code, result.err) == (143, interrupts.ROLLED_BACK + "\n")
    assert snapshot(project) == before


def test_a_second_writer_stops_at_once_naming_the_first(project: Path) -> None:
    lock = project / journal.LOCK_NAME

    def holds_lock(process: subprocess.Popen[str]) -> bool:
        return lock.exists() and lock.read_bytes().startswith(f"{process.pid}\n".encode())

    for _ in range(50):  # until the first is caught holding the lock (it is quick)
        first = start("add", "monitoring", "--project", project)
        wait_for(
            lambda: first.poll() is not None or holds_lock(first),  # noqa: B023
            "the first writer to take the lock",
        )
        os.kill(first.pid, signal.SIGSTOP)
        if first.poll() is None and holds_lock(first):
            break
        os.kill(first.pid, signal.SIGCONT)
        first.communicate()
        assert run("remove", "monitoring", "--project", project).returncode == 0
    else:
        pytest.fail("never caught the first writer holding the lock")
    try:
        second = run("add", "crud", "--project", project)
        assert second.returncode == LockError.exit_code, second.stderr
        assert f"pid {first.pid} (uts add monitoring --project {project})" in second.stderr
        assert second.stderr.count("\n") == 2  # the error and its hint
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first.communicate()
    assert first.returncode == 0
    assert run("add", "crud", "--project", project).returncode == 0
    status = run("status", "--project", project)
    assert "  crud " in status.stdout and "  monitoring " in status.stdout
    assert status.stdout.endswith("no changes: every file is as uts wrote it\n")


def test_two_writers_at_once_never_lose_a_component(project: Path) -> None:
    for _ in range(4):
        processes = {
            name: start("add", name, "--project", project) for name in ("crud", "monitoring")
        }
        errors = {name: p.communicate()[1] for name, p in processes.items()}
        codes = {name: p.returncode for name, p in processes.items()}
        assert set(codes.values()) <= {0, LockError.exit_code}, errors
        assert 0 in codes.values()
        status = run("status", "--project", project)
        for name, code in codes.items():
            assert (f"  {name} " in status.stdout) == (code == 0), status.stdout
        assert status.stdout.endswith("no changes: every file is as uts wrote it\n")
        assert not leftovers(snapshot(project))
        for name, code in codes.items():
            if code == 0:
                assert run("remove", name, "--project", project).returncode == 0


PAUSED_WRITER = """
import os, sys
from uts.__main__ import main
real = os.replace
def paused(src, dst, *args, **kwargs):
    real(src, dst, *args, **kwargs)
    print("paused", flush=True)
    sys.stdin.readline()  # holds its lock, half-way through its commit
os.replace = paused
sys.exit(main(["add", "monitoring", "--project", sys.argv[1]]))
"""


def test_reads_never_show_a_half_written_project(project: Path) -> None:
    before = snapshot(project)
    writer = subprocess.Popen(
        [sys.executable, "-c", PAUSED_WRITER, str(project)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "paused\n"
        for command in ("status", "diff"):
            read = run(command, "--project", project)
            assert read.returncode == LockError.exit_code, read.stderr
            assert f"in the middle of a change by pid {writer.pid}" in read.stderr
            assert read.stdout == ""
    finally:
        writer.kill()  # dies half-way, with its journal on disk
        writer.communicate()
    assert next_command(project).startswith("recovered: ")
    assert snapshot(project) == before


def test_an_editor_saving_between_plan_and_write_stops_the_write(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = commit_module.commit
    readme = project / "README.md"

    def editor_then_commit(plan: object) -> None:
        readme.write_text(readme.read_text() + "\nsaved by an editor\n")
        real_commit(plan)  # type: ignore[arg-type]

    monkeypatch.setattr(commit_module, "commit", editor_then_commit)
    before = snapshot(project)
    result = uts("add", "monitoring", "--project", project)
    assert result.code == 8, result.err
    assert "changed on disk since uts read it" in result.err and "README.md" in result.err
    expected = {**before, "README.md": before["README.md"] + b"\nsaved by an editor\n"}
    assert snapshot(project) == expected


def test_a_file_appearing_where_uts_creates_one_stops_the_write(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_commit = commit_module.commit
    mine = project / "demo" / "metrics.py"

    def editor_then_commit(plan: object) -> None:
        mine.write_text("# the user's own metrics\n")
        real_commit(plan)  # type: ignore[arg-type]

    monkeypatch.setattr(commit_module, "commit", editor_then_commit)
    result = uts("add", "monitoring", "--project", project)
    assert result.code == 8, result.err
    assert "demo/metrics.py (now exists)" in result.err
    assert mine.read_text() == "# the user's own metrics\n"


def test_updated_files_keep_the_mode_the_user_gave_them(uts: Uts, project: Path) -> None:
    env = project / ".env.example"
    env.chmod(0o600)
    before = snapshot(project)
    assert uts("add", "monitoring", "--project", project).code == 0
    assert snapshot(project)[".env.example"] != before[".env.example"]  # it was updated
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((project / "demo/metrics.py").stat().st_mode) == 0o644 & ~umask
    assert uts("remove", "monitoring", "--project", project).code == 0
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert snapshot(project) == before


def test_a_stale_staging_directory_of_a_killed_new_is_removed(tmp_path: Path) -> None:
    for _ in range(30):  # until a kill lands while the project is being built aside
        process = start("new", "demo", "--dir", tmp_path / "demo")
        wait_for(
            lambda: (
                process.poll() is not None  # noqa: B023
                or any(p.name.startswith(journal.STAGING_PREFIX) for p in tmp_path.iterdir())
            ),
            "uts new to start writing",
        )
        process.kill()
        process.communicate()
        if any(p.name.startswith(journal.STAGING_PREFIX) for p in tmp_path.iterdir()):
            break
        shutil.rmtree(tmp_path / "demo", ignore_errors=True)
    else:
        pytest.fail("never killed uts new while it was building")
    assert not (tmp_path / "demo").exists()
    done = run("new", "demo", "--dir", tmp_path / "demo")
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("recovered: removed .uts-tmp-dir-")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo"]


def test_a_project_whose_lock_cannot_be_created_is_a_write_error(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def read_only(path: str, flags: int, *args: object, **kwargs: object) -> int:
        if str(path).endswith(journal.LOCK_NAME):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    before = snapshot(project)
    monkeypatch.setattr(os, "open", read_only)
    result = uts("add", "monitoring", "--project", project)
    assert result.code == 10, result.err
    assert result.err.startswith(f"error: cannot take the lock {project / journal.LOCK_NAME}")
    assert snapshot(project) == before


def test_a_read_that_a_whole_commit_overtook_is_read_again(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from uts.state import ProjectState

    real_drift = ProjectState.drift
    overtaken = []

    def drift_while_another_uts_adds(self: ProjectState) -> object:
        if not overtaken:  # the first read: another uts adds a component meanwhile
            overtaken.append(run("add", "monitoring", "--project", project))
        return real_drift(self)

    monkeypatch.setattr(ProjectState, "drift", drift_while_another_uts_adds)
    result = uts("status", "--project", project)
    assert overtaken[0].returncode == 0, overtaken[0].stderr
    assert result.code == 0, result.err
    assert "  monitoring " in result.out  # the state as it is now, not as it was
    assert result.out.endswith("no changes: every file is as uts wrote it\n")


SWALLOWED = """
import os, time, weakref
from uts import interrupts

interrupts.install()


class Thing:
    pass


thing = Thing()


def callback(ref):  # where Python cannot raise: importlib's lock cleanup is one such place
    os.kill(os.getpid(), {signum})
    time.sleep(0.01)


ref = weakref.ref(thing, callback)
try:
    del thing
    time.sleep(2)
    print("not interrupted")
except KeyboardInterrupt:
    print("interrupted")
"""


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_landing_in_a_callback_still_interrupts(signum: signal.Signals) -> None:
    code = SWALLOWED.format(signum=int(signum))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout == "interrupted\n"
    assert "Exception ignored" not in proc.stderr, proc.stderr


def test_the_unraisable_hook_is_handed_back() -> None:
    before = sys.unraisablehook  # pytest's own, while tests run
    previous = interrupts.install()
    try:
        assert sys.unraisablehook is not before
        nested = interrupts.install()  # a deferred section inside a command
        interrupts.restore(nested)
        assert sys.unraisablehook is not before
    finally:
        interrupts.restore(previous)
    assert sys.unraisablehook is before
