"""Every option that changes generated code, generated, installed and tested.

The tiers (``test_mvp``, ``test_core``, ``test_full``) test the defaults, and
``test_celery`` both brokers. The variants below cover the other code-switching
options, each value that is not a default at least once, combined so that few
installs cover them all:

| option | values tested | where |
| --- | --- | --- |
| ``celery.broker`` | redis, rabbitmq | ``test_celery`` (each with its real server) |
| ``database.postgresql`` | false (MVP), true (CORE, and MVP below) | tiers, below |
| ``database.echo`` | false (tiers), true (below) | below |
| ``crud.resource``, ``crud.plural`` | item/items, order/orders | ``test_mvp``, below |
| ``monitoring.metrics_path`` | /metrics, /internal/metrics | ``test_full``, below |
| ``testing.fail_under`` | 80, 90 | ``test_core``, below |

Each variant's own suite runs with no network on SQLite and, where the variant has
the driver, on a fresh PostgreSQL database; then ruff and mypy.
"""

from __future__ import annotations

import re
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import clean_env, generated_pytest, make_venv, run
from tests.e2e.test_core import Postgres, postgres_server

pytestmark = pytest.mark.e2e

VARIANTS = {
    "mvp-postgresql-echo-orders": (
        "mvp",
        {
            "database.postgresql": "true",
            "database.echo": "true",
            "crud.resource": "order",
            "crud.plural": "orders",
        },
    ),
    "core-sqlite-only-monitoring-path-floor": (
        "core",
        {
            "database.postgresql": "false",
            "database.echo": "true",
            "monitoring.metrics_path": "/internal/metrics",
            "testing.fail_under": "90",
        },
    ),
}


def generate(target: Path, recipe: str, options: dict[str, str]) -> Path:
    command = [sys.executable, "-m", "uts", "new", "shop", "--recipe", recipe, "--dir", target]
    if "monitoring.metrics_path" in options:
        command += ["--with", "monitoring"]
    for name, value in options.items():
        command += ["--set", f"{name}={value}"]
    run([*command, "--no-input"])
    return target


def check_rendered(project: Path, options: dict[str, str]) -> None:
    """The options reached the code (or the variant would test the defaults)."""
    code = "\n".join(path.read_text() for path in sorted((project / "shop").rglob("*.py")))
    if options.get("database.echo") == "true":
        assert "ECHO_SQL = True" in code
    if "crud.resource" in options:
        assert "class Order(" in code and '"/orders"' in code
    if "monitoring.metrics_path" in options:
        assert options["monitoring.metrics_path"] in code
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    dependencies = " ".join(pyproject["project"]["dependencies"])
    assert ("psycopg" in dependencies) is (options["database.postgresql"] == "true")
    if "testing.fail_under" in options:
        coveragerc = (project / ".coveragerc").read_text()
        assert re.search(rf"fail_under = {options['testing.fail_under']}\b", coveragerc)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_passes_its_suite_ruff_and_mypy(
    variant: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    recipe, options = VARIANTS[variant]
    project = generate(tmp_path / "shop", recipe, options)
    check_rendered(project, options)
    venv = make_venv(tmp_path / ".venv", "-e", f"{project}[dev]")

    proc = generated_pytest(venv, project, offline=True, min_passed=20)
    # The SQL echo (database.echo) shows statements, never the values bound to them.
    assert "$argon2" not in proc.stdout + proc.stderr
    if options["database.postgresql"] == "true":
        server: Postgres = request.getfixturevalue("postgres_for_variants")
        url = server.create()
        generated_pytest(venv, project, min_passed=20, env=clean_env(venv, TEST_DATABASE_URL=url))
        assert server.tables(url) == set()
    env = clean_env(venv)
    run([venv / "ruff", "check", "--no-cache", "."], cwd=project, env=env)
    run([venv / "ruff", "format", "--no-cache", "--check", "."], cwd=project, env=env)
    run([venv / "mypy", "--cache-dir", "/dev/null"], cwd=project, env=env)


@pytest.fixture
def postgres_for_variants(tmp_path: Path) -> Iterator[Postgres]:
    """The local PostgreSQL, reached from the variant's venv (it has psycopg)."""
    yield from postgres_server(tmp_path / ".venv" / "bin")
