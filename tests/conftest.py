"""Shared fixtures: fake components built in memory, and a CLI runner."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from uts import commit as commit_module
from uts.model import Component, Context, Contributions, OwnFiles
from uts.plugin import impl
from uts.plugin.manager import Registry, registry_from

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# Projects kept as test data (tests/data/format1-mvp: made by uts 0.1.0's state
# format 1) carry their own tests; they are data here, not tests of uts.
collect_ignore = ["data"]


class FakePlugin:
    """A plugin object whose hooks run the callables given to it."""

    def __init__(
        self,
        component: Component,
        contribute: Callable[[Context, Contributions], None] | None = None,
        configure: Callable[[Context], None] | None = None,
        finalize: Callable[[Context, Any, OwnFiles], None] | None = None,
    ) -> None:
        self.component = component
        self._contribute = contribute
        self._configure = configure
        self._finalize = finalize

    @impl
    def uts_component(self) -> Component:
        return self.component

    @impl
    def uts_configure(self, ctx: Context) -> None:
        if self._configure:
            self._configure(ctx)

    @impl
    def uts_contribute(self, ctx: Context, out: Contributions) -> None:
        if self._contribute:
            self._contribute(ctx, out)

    @impl
    def uts_finalize(self, ctx: Context, files: Any, out: OwnFiles) -> None:
        if self._finalize:
            self._finalize(ctx, files, out)


def make_registry(*plugins: FakePlugin) -> Registry:
    return registry_from({plugin.component.name: plugin for plugin in plugins})


def write_templates(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file (and symlink target) under *root*, for byte-for-byte comparison."""
    result: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            result[rel] = b"-> " + os.readlink(path).encode()
        elif path.is_file():
            result[rel] = path.read_bytes()
        elif path.is_dir():
            result[rel + "/"] = b""
    return result


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def uts(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``uts ARGS...`` in-process and return its exit code, stdout and stderr."""
    from uts.__main__ import main

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = main([str(arg) for arg in args])
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep compiled-template caches of this run (and its subprocesses) out of ~/.cache."""
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))


def fail_nth_call(monkeypatch: pytest.MonkeyPatch, name: str, n: int, error: BaseException) -> None:
    """Make ``os.<name>``, as uts's commit module sees it, raise *error* on its *n*-th call."""
    real = getattr(os, name)
    calls = {"n": 0}

    def flaky(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == n:
            raise error
        return real(*args)

    monkeypatch.setattr(commit_module.os, name, flaky)
