"""Helpers for end-to-end tests: fresh virtual environments made fast with uv."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)


def uv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run uv (installed with the test extra) and fail with its output on error."""
    return run([sys.executable, "-m", "uv", *args], cwd=cwd)


def run(
    args: Sequence[str | Path],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"command failed ({proc.returncode}): {' '.join(map(str, args))}\n"
            f"--- stdout ---\n{proc.stdout[-6000:]}\n--- stderr ---\n{proc.stderr[-6000:]}",
            pytrace=False,
        )
    return proc


def make_venv(path: Path, *install: str, cwd: Path | None = None) -> Path:
    """Create a virtual environment at *path* with *install* arguments; returns its bin dir."""
    if path.exists():
        shutil.rmtree(path)
    uv("venv", "--quiet", "--python", sys.executable, str(path))
    bindir = path / ("Scripts" if os.name == "nt" else "bin")
    if install:
        uv("pip", "install", "--quiet", "--python", str(bindir / "python"), *install, cwd=cwd)
    return bindir


def clean_env(bindir: Path, **extra: str) -> dict[str, str]:
    """The environment a user has after activating the venv at *bindir*."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "VIRTUAL_ENV", "UTS_"))
    }
    env.pop("PYTHONPATH", None)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(bindir.parent)
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# What is left out when copying the working tree: local state that setuptools would otherwise
# reuse (a stale build/lib leaks deleted modules into wheels) or that is not source at all.
IGNORE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    ".hypothesis",
)


def copy_source(target: Path) -> Path:
    """Copy the working tree to *target*, so builds never touch (or reuse) the checkout."""
    shutil.copytree(REPO, target, ignore=IGNORE)
    return target
