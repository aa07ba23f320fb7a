"""Every built-in component that fits a CORE project: add it, prove the project, remove it."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import snapshot
from tests.e2e.conftest import clean_env, make_venv, run, uv
from uts.plugin.manager import load_registry
from uts.recipe import find_recipes, load_recipe

pytestmark = pytest.mark.e2e

TOOL_CACHES = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache")


def _candidates() -> list[str]:
    registry = load_registry(autoload=False)
    active = set(load_recipe("core", find_recipes(registry.recipe_files)).components)
    return sorted(name for name in registry.components if name not in active)


def source_snapshot(root: Path) -> dict[str, bytes]:
    return {
        path: data
        for path, data in snapshot(root).items()
        if not any(part in TOOL_CACHES or part.endswith(".egg-info") for part in path.split("/"))
    }


def uts(*args: str | Path, cwd: Path | None = None, check: bool = True) -> str:
    proc = run([sys.executable, "-m", "uts", *map(str, args)], cwd=cwd, check=check)
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("core") / "myshop"
    uts("new", "myshop", "--recipe", "core", "--dir", root, "--no-input")
    return root


@pytest.fixture(scope="module")
def venv(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment: each added component's new requirements are installed into it."""
    return make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{base}[dev]")


def prove(project: Path, venv: Path) -> None:
    """The generated project's own bar: its tests, ruff and mypy."""
    uv("pip", "install", "--quiet", "--python", str(venv / "python"), "-e", f"{project}[dev]")
    env = clean_env(venv, PYTHONDONTWRITEBYTECODE="1")
    run([venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project, env=env)
    run([venv / "ruff", "check", "--no-cache", "."], cwd=project, env=env)
    run([venv / "ruff", "format", "--no-cache", "--check", "."], cwd=project, env=env)
    run([venv / "mypy", "--cache-dir", os.devnull], cwd=project, env=env)


@pytest.mark.parametrize("component", _candidates())
def test_add_prove_remove_gives_back_the_same_tree(
    component: str, base: Path, venv: Path, tmp_path: Path
) -> None:
    project = tmp_path / "myshop"
    shutil.copytree(base, project, symlinks=True)
    before = source_snapshot(project)
    dry = run(
        [sys.executable, "-m", "uts", "add", component, "--dry-run"], cwd=project, check=False
    )
    if dry.returncode != 0:
        # Not addable to a CORE project: it must say why in one line, and change nothing.
        assert dry.returncode in (3, 4), dry.stderr
        assert dry.stderr.startswith("error: ") and "Traceback" not in dry.stderr
        assert source_snapshot(project) == before
        return
    uts("add", component, cwd=project)
    prove(project, venv)
    uts("remove", component, cwd=project)
    assert source_snapshot(project) == before
