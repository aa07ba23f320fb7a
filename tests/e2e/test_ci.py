"""The ci component: the GitHub Actions workflow and Dependabot of generated projects.

Projects are rendered in-process; the files pass check-jsonschema's vendored
github-workflows and dependabot schemas and yamllint, which reject broken copies, and
the workflow runs what the project's own checks are. The commands it runs are the
ones the other e2e tests run against generated projects (test_core.py runs the suite
with DATABASE_URL on PostgreSQL, alembic up/check/down, ruff and mypy).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Result, snapshot
from tests.e2e.conftest import new_demo
from tests.e2e.validators import jsonschema, report, yamllint

pytestmark = pytest.mark.e2e

Uts = Callable[..., Result]

WORKFLOW = ".github/workflows/ci.yml"
DEPENDABOT = ".github/dependabot.yml"


def new(root: Path, recipe: str, *extra: str) -> Path:
    return new_demo(root / "demo", recipe, *extra)


@pytest.fixture(scope="module")
def mvp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new(tmp_path_factory.mktemp("mvp"), "mvp", "--with", "ci")


@pytest.fixture(scope="module")
def core(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new(tmp_path_factory.mktemp("core"), "core", "--with", "ci", "--with", "docker")


@pytest.fixture(params=["mvp", "core"])
def project(request: pytest.FixtureRequest) -> Path:
    root: Path = request.getfixturevalue(request.param)
    return root


def load(path: Path) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load(path.read_text())
    return data


def steps(project: Path) -> list[dict[str, Any]]:
    job = load(project / WORKFLOW)["jobs"]["test"]
    result: list[dict[str, Any]] = job["steps"]
    return result


def test_workflow_and_dependabot_pass_their_schemas_and_yamllint(project: Path) -> None:
    proc = jsonschema("github-workflows", project / WORKFLOW)
    assert proc.returncode == 0, report(proc)
    proc = jsonschema("dependabot", project / DEPENDABOT)
    assert proc.returncode == 0, report(proc)
    proc = yamllint(project / WORKFLOW, project / DEPENDABOT)
    assert proc.returncode == 0 and proc.stdout == "", report(proc)


def test_the_workflow_schema_rejects_a_job_without_runs_on(project: Path, tmp_path: Path) -> None:
    text = (project / WORKFLOW).read_text()
    (tmp_path / "ci.yml").write_text(text.replace("    runs-on: ubuntu-24.04\n", ""))
    proc = jsonschema("github-workflows", tmp_path / "ci.yml")
    assert proc.returncode == 1, report(proc)


def test_the_dependabot_schema_rejects_an_unknown_interval(project: Path, tmp_path: Path) -> None:
    text = (project / DEPENDABOT).read_text()
    (tmp_path / "dependabot.yml").write_text(text.replace("interval: weekly", "interval: often"))
    proc = jsonschema("dependabot", tmp_path / "dependabot.yml")
    assert proc.returncode == 1, report(proc)


def test_yamllint_rejects_a_broken_workflow(project: Path, tmp_path: Path) -> None:
    text = (project / WORKFLOW).read_text()
    (tmp_path / "ci.yml").write_text(text.replace("jobs:\n", "jobs:\n  - oops\n", 1))
    proc = yamllint(tmp_path / "ci.yml")
    assert proc.returncode == 1, report(proc)


def test_actions_are_pinned_and_the_checks_run(project: Path) -> None:
    workflow = load(project / WORKFLOW)
    # Quoted, so that YAML 1.1 readers do not take the key for `True`.
    assert set(workflow["on"]) == {"push", "pull_request", "workflow_dispatch"}
    assert workflow["permissions"] == {"contents": "read"}
    uses = [step["uses"] for step in steps(project) if "uses" in step]
    assert {use.split("@")[0] for use in uses} == {
        "actions/checkout",
        "actions/setup-python",
        "astral-sh/setup-uv",
    }
    for use in uses:
        assert re.fullmatch(r"[\w-]+/[\w-]+@v\d+(?:\.\d+){0,2}", use), use
    commands = "\n".join(step.get("run", "") for step in steps(project))
    assert 'uv pip install -e ".[dev]"' in commands
    assert "ruff check" in commands and "ruff format --check ." in commands
    assert re.search(r"^mypy$", commands, re.MULTILINE)
    assert "pytest" in commands
    matrix = workflow["jobs"]["test"]["strategy"]["matrix"]["python"]
    assert matrix == ["3.11", "3.13"]


def test_mvp_needs_no_service(mvp: Path) -> None:
    job = load(mvp / WORKFLOW)["jobs"]["test"]
    assert "services" not in job and "env" not in job
    commands = [step.get("run", "") for step in steps(mvp)]
    # MVP has the testing component: its tests run under coverage, with the floor.
    assert "coverage run -m pytest && coverage report" in commands
    assert not any("alembic" in command for command in commands)
    ecosystems = [update["package-ecosystem"] for update in load(mvp / DEPENDABOT)["updates"]]
    assert ecosystems == ["pip", "github-actions"]


def test_core_runs_tests_and_migrations_on_a_postgres_service(core: Path) -> None:
    job = load(core / WORKFLOW)["jobs"]["test"]
    postgres = job["services"]["postgres"]
    assert re.fullmatch(r"postgres:\d+\.\d+-alpine", postgres["image"])
    assert "--health-cmd" in postgres["options"] and postgres["ports"] == ["5432:5432"]
    url = "postgresql+psycopg://app:app@localhost:5432/app_test"
    # The tests refuse a database not named as a test one: they run on app_test too.
    assert job["env"] == {"DATABASE_URL": url, "TEST_DATABASE_URL": url}
    assert postgres["env"]["POSTGRES_DB"] == "app_test"
    commands = [step.get("run", "") for step in steps(core)]
    assert "alembic upgrade head && alembic check && alembic downgrade base" in commands
    assert "coverage run -m pytest && coverage report" in commands
    ecosystems = [update["package-ecosystem"] for update in load(core / DEPENDABOT)["updates"]]
    assert ecosystems == ["pip", "github-actions", "docker"]
    readme = (core / "README.md").read_text()
    assert "## Continuous integration" in readme and "PostgreSQL service container" in readme


def test_python_versions_is_an_option(uts: Uts, tmp_path: Path) -> None:
    result = uts(
        "new", "demo", "--recipe", "mvp", "--with", "ci", "--dir", tmp_path / "ok",
        "--set", "ci.python_versions=3.12", "--no-input",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert load(tmp_path / "ok" / WORKFLOW)["jobs"]["test"]["strategy"]["matrix"] == {
        "python": ["3.12"]
    }
    result = uts(
        "new", "demo", "--recipe", "mvp", "--with", "ci", "--dir", tmp_path / "bad",
        "--set", "ci.python_versions=3.9", "--no-input",
    )  # fmt: skip
    assert result.code == 4 and "ci.python_versions" in result.err


def test_add_then_remove_on_core_gives_back_the_same_bytes(uts: Uts, tmp_path: Path) -> None:
    root = new(tmp_path, "core")
    before = snapshot(root)
    result = uts("add", "ci", "--project", root)
    assert result.code == 0, result.err
    assert {WORKFLOW, DEPENDABOT} <= set(snapshot(root))
    result = uts("remove", "ci", "--project", root)
    assert result.code == 0, result.err
    assert snapshot(root) == before
