"""The MVP tier end to end: generate, install in a fresh venv, test, lint, type-check, serve."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import clean_env, generated_pytest, make_venv, request, run, serving

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mvp") / "demo"
    run(
        [sys.executable, "-m", "uts", "new", "demo", "--recipe", "mvp", "--dir", root, "--no-input"]
    )
    return root


@pytest.fixture(scope="module")
def venv(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment for every check below, installed the way the README says."""
    return make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{project}[dev]")


def in_project(
    venv: Path, project: Path, *args: str, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    kwargs.setdefault("env", clean_env(venv))
    return run(list(args), cwd=project, **kwargs)


def test_generated_tests_pass_with_nothing_skipped(venv: Path, project: Path) -> None:
    generated_pytest(venv, project, min_passed=60)


def test_generated_tests_need_no_network(venv: Path, project: Path) -> None:
    generated_pytest(venv, project, offline=True, min_passed=60)


def test_tests_are_tiered_and_cover_80_percent(venv: Path, project: Path) -> None:
    for tier in ("unit", "integration", "e2e"):
        proc = generated_pytest(venv, project, f"tests/{tier}", min_passed=1)
        assert "passed" in proc.stdout, tier
    in_project(
        venv, project, str(venv / "coverage"), "run", "-m", "pytest", "-q", "-p", "no:cacheprovider"
    )
    report = in_project(venv, project, str(venv / "coverage"), "report")
    assert "TOTAL" in report.stdout
    assert "fail_under = 80" in (project / ".coveragerc").read_text()


def test_generated_tests_never_touch_the_apps_database(
    venv: Path, project: Path, tmp_path: Path
) -> None:
    dev = tmp_path / "dev.db"
    with sqlite3.connect(dev) as connection:
        connection.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)")
        connection.execute("INSERT INTO item VALUES (1, 'precious')")
    before = dev.read_bytes()

    generated_pytest(
        venv, project, min_passed=60, env=clean_env(venv, DATABASE_URL=f"sqlite:///{dev}")
    )
    assert dev.read_bytes() == before

    # A test database not named as one is refused before anything runs.
    refused = in_project(
        venv, project, str(venv / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider",
        check=False, env=clean_env(venv, TEST_DATABASE_URL=f"sqlite:///{dev}"),
    )  # fmt: skip
    assert refused.returncode == 4, refused.stdout + refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "does not mark it as a test database" in lines[0], lines
    assert dev.read_bytes() == before


def test_ruff_check_and_format_are_clean(venv: Path, project: Path) -> None:
    in_project(venv, project, str(venv / "ruff"), "check", ".")
    in_project(venv, project, str(venv / "ruff"), "format", "--check", ".")


def test_mypy_is_clean(venv: Path, project: Path) -> None:
    in_project(venv, project, str(venv / "mypy"))


def test_import_raises_no_deprecation_warning(venv: Path, project: Path) -> None:
    in_project(
        venv,
        project,
        str(venv / "python"),
        "-W",
        "error::DeprecationWarning",
        "-c",
        "import demo.main",
    )


def test_no_placeholders_in_generated_code(project: Path) -> None:
    for path in (project / "demo").rglob("*.py"):
        text = path.read_text()
        assert "TODO" not in text and "NotImplementedError" not in text, path
        assert not re.search(r"def .*:\n\s+\.\.\.\n", text), path


def test_uvicorn_serves_the_api_over_http(venv: Path, project: Path, tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'serve.db'}"
    with serving(venv, project, "demo.main:app", DATABASE_URL=database) as server:
        base = server.base
        assert request(f"{base}/health")[0] == 200
        item = {"name": "Widget", "price": 9.5, "quantity": 3}
        status, created, _ = request(f"{base}/items", "POST", item)
        assert status == 201, created
        status, fetched, _ = request(f"{base}/items/{created['id']}")
        assert (status, fetched["name"]) == (200, "Widget")
        status, listed, _ = request(f"{base}/items")
        assert status == 200 and listed["count"] == 1
        assert [item["id"] for item in listed["data"]] == [created["id"]]
        # Errors have CORE's shape: {"detail", "code"}.
        status, missing, _ = request(f"{base}/items/999999")
        assert (status, missing) == (404, {"detail": "Item 999999 not found", "code": "not_found"})
        status, invalid, _ = request(f"{base}/items", "POST", {"price": "free"})
        assert (status, invalid["code"]) == (422, "validation_error")
        status, unknown, _ = request(f"{base}/nowhere")
        assert (status, unknown) == (404, {"detail": "Not Found", "code": "not_found"})
        assert request(f"{base}/openapi.json")[0] == 200


def test_another_project_name_gives_a_clean_package(venv: Path, tmp_path: Path) -> None:
    target = tmp_path / "my-shop"
    run([sys.executable, "-m", "uts", "new", "my-shop", "--dir", target, "--no-input"])
    assert (target / "my_shop" / "main.py").is_file()
    run([str(venv / "ruff"), "check", "."], cwd=target, env=clean_env(venv))
    run([str(venv / "ruff"), "format", "--check", "."], cwd=target, env=clean_env(venv))
