"""Helpers for end-to-end tests: fresh virtual environments made fast with uv."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


def request(
    url: str,
    method: str = "GET",
    body: Any = None,
    form: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw: bool = False,
) -> tuple[int, Any, dict[str, str]]:
    """One real HTTP request: status, body (parsed when JSON, unless *raw*) and headers."""
    data, all_headers = None, dict(headers or {})
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
        all_headers["Content-Type"] = "application/x-www-form-urlencoded"
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, _body(response, raw), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, _body(error, raw), dict(error.headers)


def _body(response: Any, raw: bool) -> Any:
    data = response.read()
    if not raw and response.headers.get("content-type", "").startswith("application/json"):
        return json.loads(data)
    return data.decode()


@dataclass
class Server:
    """A running uvicorn: its base URL, and once stopped, everything it printed."""

    base: str
    output: str = ""


@contextmanager
def serving(venv: Path, project: Path, app: str, **env: str) -> Iterator[Server]:
    """Run ``uvicorn APP`` from *venv* on a free port until the block ends.

    Waits for ``/health/live``; on exit sends SIGTERM and checks the shutdown was clean.
    """
    port = free_port()
    process = subprocess.Popen(
        [str(venv / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(port)],
        cwd=project,
        env=clean_env(venv, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = Server(f"http://127.0.0.1:{port}")
    try:
        started = time.monotonic()
        while True:
            try:
                request(f"{server.base}/health/live")
                break
            except (urllib.error.URLError, ConnectionError):
                # Usually up in about a second; the margin is for loaded CI machines.
                if time.monotonic() - started > 30 or process.poll() is not None:
                    process.kill()
                    pytest.fail(f"uvicorn did not start in 30 s:\n{process.communicate()[0]}")
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        server.output = process.communicate(timeout=30)[0]
    # Recent uvicorn re-raises SIGTERM after a graceful shutdown.
    assert process.returncode in (0, -15), server.output
    assert "Application shutdown complete" in server.output


def generated_pytest(
    venv: Path,
    project: Path,
    *args: str,
    offline: bool = False,
    min_passed: int = 1,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a generated project's own suite; fail unless at least *min_passed* pass and none
    is skipped. With *offline*, in a network namespace of its own (no network at all)."""
    command = [str(venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    if offline:
        if shutil.which("unshare") is None:
            pytest.fail("unshare (util-linux) is needed to cut the network for this check")
        command = ["unshare", "-n", *command]
    proc = run(command, cwd=project, env=env or clean_env(venv))
    summary = proc.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= min_passed, summary
    assert not re.search(r"skipped|failed|error", summary), summary
    return proc


def new_demo(project: Path, recipe: str, *extra: str) -> Path:
    """``uts new demo`` in-process into *project* (module fixtures cannot use ``uts``)."""
    from uts.__main__ import main

    code = main(["new", "demo", "--recipe", recipe, "--dir", str(project), "--no-input", *extra])
    assert code == 0
    return project


@pytest.fixture(scope="session")
def checkov_bin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """checkov in an environment of its own, made once per session (tests/e2e/scanners.py)."""
    from tests.e2e.scanners import checkov_environment

    return checkov_environment(tmp_path_factory.mktemp("checkov") / ".venv")
