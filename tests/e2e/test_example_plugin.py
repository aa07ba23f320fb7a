"""examples/redis-cache: a third-party plugin built as its own wheel, installed next to uts,
its own tests run (uts.testing included), and core + redis-cache proved against real Redis."""

from __future__ import annotations

import re
import shutil
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_env, copy_source, generated_pytest, make_venv, run, uv
from tests.e2e.test_celery import require

pytestmark = pytest.mark.e2e

NAME = "redis-cache"
DIST = "uts_redis_cache"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """(bindir, the plugin's wheel, a directory holding only its tests and pytest config)."""
    tmp = tmp_path_factory.mktemp("example-plugin")
    source = copy_source(tmp / "uts-src")
    example = source / "examples" / NAME
    uv("build", "--quiet", "--wheel", "--out-dir", str(tmp / "dist"), str(example))
    [wheel] = (tmp / "dist").glob(f"{DIST}-*.whl")
    extras = tomllib.loads((example / "pyproject.toml").read_text())["project"]
    test_requirements = extras["optional-dependencies"]["test"]
    bindir = make_venv(tmp / "venv", str(source), str(wheel), *test_requirements)
    # Its tests without its sources next to them: they import the installed wheel.
    suite = tmp / "suite"
    shutil.copytree(example / "tests", suite / "tests")
    shutil.copy(example / "pyproject.toml", suite / "pyproject.toml")
    return bindir, wheel, suite


def test_the_wheel_ships_module_templates_and_entry_point(built: tuple[Path, Path, Path]) -> None:
    _, wheel, _ = built
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = archive.read(f"{DIST}-0.1.0.dist-info/entry_points.txt").decode()
    assert {
        f"{DIST}/__init__.py",
        f"{DIST}/templates/code/{{{{ host.package_dir }}}}/redis_cache.py.jinja",
        f"{DIST}/templates/tests/tests/fixtures/redis_cache.py.jinja",
        f"{DIST}/templates/tests/tests/test_redis_cache.py.jinja",
    } <= names
    assert f"[uts.components]\n{NAME} = {DIST}\n" in entry_points


def test_uts_lists_it_from_its_distribution(built: tuple[Path, Path, Path], tmp_path: Path) -> None:
    bindir, _, _ = built
    listed = run([bindir / "uts", "list"], cwd=tmp_path, env=clean_env(bindir)).stdout
    assert re.search(rf"^{NAME}\s+0\.1\.0\s.*uts-redis-cache 0\.1\.0", listed, re.MULTILINE), listed


def test_its_own_tests_pass_the_slow_one_included(built: tuple[Path, Path, Path]) -> None:
    """The plugin's suite with uts.testing from the installed uts; --uts-slow installs core +
    redis-cache in a throwaway venv and runs its tests (fakeredis) and ruff."""
    bindir, _, suite = built
    proc = run(
        [bindir / "python", "-m", "pytest", "-p", "no:cacheprovider", "--uts-slow"],
        cwd=suite,
        env=clean_env(bindir),
    )
    summary = proc.stdout.strip().splitlines()[-1]
    assert re.search(r"\b11 passed\b", summary), proc.stdout
    assert not re.search(r"skipped|failed|error", summary), summary
    imported = run(
        [bindir / "python", "-c", f"import {DIST}; print({DIST}.__file__)"],
        cwd=suite,
        env=clean_env(bindir),
    ).stdout.strip()
    assert Path(imported).is_relative_to(bindir.parent), imported


def test_core_with_it_passes_its_tests_offline_and_against_real_redis(
    built: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    require("Redis", 6379)
    bindir, _, _ = built
    project = tmp_path / "shop"
    env = clean_env(bindir, XDG_CACHE_HOME=str(tmp_path / "cache"))
    run(
        [
            bindir / "uts",
            "new",
            "shop",
            "--recipe",
            "core",
            "--with",
            NAME,
            "--dir",
            project,
            "--no-input",
        ],
        cwd=tmp_path,
        env=env,
    )
    venv = make_venv(tmp_path / "venv", "-e", f"{project}[dev]")
    # -v undoes generated_pytest's -q: the report header says which Redis the run used.
    offline = generated_pytest(venv, project, "-v", offline=True, min_passed=100)
    assert "cache: fakeredis" in offline.stdout
    real = generated_pytest(
        venv,
        project,
        "-v",
        "tests/test_redis_cache.py",
        "tests/test_health.py",
        min_passed=10,
        env=clean_env(venv, TEST_REDIS_URL="redis://127.0.0.1:6379/0"),
    )
    assert "cache: redis://127.0.0.1:6379/0" in real.stdout
    project_env = clean_env(venv)
    run([venv / "mypy", "--cache-dir", "/dev/null"], cwd=project, env=project_env)
    run([venv / "ruff", "check", "--no-cache", "."], cwd=project, env=project_env)
