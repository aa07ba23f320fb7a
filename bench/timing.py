"""Time whole processes: wall clock and peak RSS per run, tools interleaved run by run."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["PERTURBING", "BenchError", "Command", "Sample", "child_env", "interleave", "run_once"]

PERTURBING = (
    "PYTHONDONTWRITEBYTECODE",  # would recompile every module on every run
    "PYTHONUNBUFFERED",
    "PYTHONPROFILEIMPORTTIME",
    "PYTHONDEVMODE",
    "PYTHONTRACEMALLOC",
    "PYTHONWARNINGS",
)
"""Variables removed from the timed processes' environment: installed tools run without them."""


class BenchError(RuntimeError):
    """A benchmarked command failed, or a tree did not render as expected."""


@dataclass(frozen=True)
class Command:
    """One process to time; *env* is added to :func:`child_env`; *prepare* runs untimed first."""

    label: str
    argv: Sequence[str]
    env: Mapping[str, str] | None = None
    cwd: Path | None = None
    prepare: Callable[[], None] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Sample:
    """One run: wall-clock seconds and the process's peak resident set size in KiB."""

    seconds: float
    max_rss_kib: int


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without :data:`PERTURBING`, plus *extra*."""
    env = {key: value for key, value in os.environ.items() if key not in PERTURBING}
    return {**env, **(extra or {})}


def run_once(command: Command, log: Path) -> Sample:
    """Run *command* once, stdin closed, output to *log*; raise :class:`BenchError` on failure."""
    if command.prepare is not None:
        command.prepare()
        # Flush what preparing wrote (a deleted output tree, 10,000 copied user files), so
        # the kernel's writeback of it does not land inside the timed run.
        os.sync()
    env = child_env(command.env)
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(command.argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=command.cwd,
        )
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN's ru_maxrss is a running maximum.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = log.read_text(errors="replace")[-2000:]
        raise BenchError(
            f"{command.label} exited {process.returncode}: {' '.join(command.argv)}\n{tail}"
        )
    return Sample(seconds, usage.ru_maxrss)


def interleave(
    commands: Sequence[Command], runs: int, warmup: int, log: Path
) -> dict[str, list[Sample]]:
    """Run each command *warmup* + *runs* times, order rotated every round; keep counted runs."""
    samples: dict[str, list[Sample]] = {command.label: [] for command in commands}
    for round_ in range(warmup + runs):
        shift = round_ % len(commands) if commands else 0
        for command in [*commands[shift:], *commands[:shift]]:
            sample = run_once(command, log)
            if round_ >= warmup:
                samples[command.label].append(sample)
    return samples
