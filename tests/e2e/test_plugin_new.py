"""``uts plugin new``, end to end: the distribution installs next to uts and passes its tests."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_env, copy_source, make_venv, run
from uts.testing import read_tree

NAME = "hello-kit"


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The scaffold, written by the uts under test, in a fresh venv with uts from the repo."""
    tmp = tmp_path_factory.mktemp("plugin-new")
    source = copy_source(tmp / "uts-src")
    root = tmp / f"uts-{NAME}"
    from uts.__main__ import main

    assert main(["plugin", "new", NAME, "--dir", str(root)]) == 0
    # As the README says: pip install -e ".[test]" (uts from this checkout, not PyPI).
    bindir = make_venv(tmp / "venv", str(source), "-e", f"{root}[test]")
    return root, bindir


def test_its_pytest_passes_right_away(plugin: tuple[Path, Path]) -> None:
    root, bindir = plugin
    before = read_tree(root)
    proc = run(
        [bindir / "python", "-m", "pytest", "-p", "no:cacheprovider"],
        cwd=root,
        env=clean_env(bindir),
    )
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.search(r"\b7 passed, 1 skipped\b", summary), proc.stdout
    assert "failed" not in summary and "error" not in summary
    assert read_tree(root) == before  # its tests write nowhere in the distribution


def test_it_lints_clean_with_its_own_config(plugin: tuple[Path, Path]) -> None:
    root, bindir = plugin
    env = clean_env(bindir)
    run([bindir / "ruff", "check", "--no-cache", "."], cwd=root, env=env)
    run([bindir / "ruff", "format", "--no-cache", "--check", "."], cwd=root, env=env)


def test_uts_new_with_it_makes_a_project_that_passes_its_tests(plugin: tuple[Path, Path]) -> None:
    """The slow test the scaffold ships (its CI runs it): core + the component, installed in
    a throwaway venv, its own tests and ruff pass."""
    root, bindir = plugin
    proc = run(
        [
            bindir / "python",
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--uts-slow",
            "-k",
            "generated_project",
        ],
        cwd=root,
        env=clean_env(bindir),
    )
    assert re.search(r"\b1 passed, 7 deselected\b", proc.stdout), proc.stdout


def test_uts_new_with_it_from_the_command_line(plugin: tuple[Path, Path], tmp_path: Path) -> None:
    _, bindir = plugin
    target = tmp_path / "demo"
    proc = run(
        [
            bindir / "uts",
            "new",
            "demo",
            "--recipe",
            "core",
            "--with",
            NAME,
            "--dir",
            target,
            "--no-input",
        ],
        cwd=tmp_path,
        env=clean_env(bindir, XDG_CACHE_HOME=str(tmp_path / "cache")),
    )
    assert proc.returncode == 0, proc.stderr
    assert (target / "demo" / "hello_kit.py").is_file()
    assert "hello_kit" in (target / "demo" / "main.py").read_text()
    listed = run([bindir / "uts", "list"], cwd=tmp_path, env=clean_env(bindir)).stdout
    assert re.search(rf"^{NAME}\s+0\.1\.0\s.*uts-{NAME} 0\.1\.0", listed, re.MULTILINE), listed
