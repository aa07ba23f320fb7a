"""The CORE tier end to end: generate ``myshop`` once, install it in one fresh venv, then
run its own suite (SQLite without network, and PostgreSQL), lint, type-check, migrate up,
check and down on both databases, run its scripts twice, and serve it over real HTTP.

PostgreSQL is the server at 127.0.0.1:5432 (trust auth, user ``postgres`` or ``root``,
database ``test``); each check gets a fresh database that is dropped afterwards. When the
server is unreachable those checks are skipped with the reason, unless ``CI=true``, where
they fail.
"""

from __future__ import annotations

import ast
import json
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI, snapshot
from tests.e2e.conftest import clean_env, make_venv, request, run, serving

pytestmark = pytest.mark.e2e

PACKAGE = "myshop"
COMPONENTS = (
    "config",
    "database",
    "errors",
    "logging",
    "testing",
    "layers",
    "auth",
    "migrations",
    "scripts",
)
MIN_TESTS = 25
PASSWORD = "e2e-password-123"


def generate(target: Path) -> Path:
    command = ["new", PACKAGE, "--recipe", "core", "--dir", target, "--no-input"]
    run([sys.executable, "-m", "uts", *command])
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("core") / PACKAGE)


@pytest.fixture(scope="module")
def venv(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment for every check, installed the way the README says."""
    return make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{project}[dev]")


def in_project(
    venv: Path, project: Path, *args: str | Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    return run(list(args), cwd=project, env=clean_env(venv, **env), check=check)


# PostgreSQL ----------------------------------------------------------------------------


@dataclass
class Postgres:
    """Fresh databases on the local server, each dropped at the end of the module."""

    venv: Path
    user: str
    created: list[str] = field(default_factory=list)

    def execute(self, sql: str, database: str = "test") -> None:
        """Run *sql* on *database* (a name, or a URL from :meth:`create`)."""
        database = database.rsplit("/", 1)[-1]
        # psycopg from the generated project's venv: uts's own tests need no driver.
        code = (
            "import sys, psycopg\n"
            "with psycopg.connect(sys.argv[1], autocommit=True, connect_timeout=5) as c:\n"
            "    c.execute(sys.argv[2])\n"
        )
        url = f"postgresql://{self.user}@127.0.0.1:5432/{database}"
        run([self.venv / "python", "-c", code, url, sql])

    def create(self, test: bool = True) -> str:
        """A new empty database, named as a test one unless *test* is false; its URL."""
        name = f"uts_e2e_{'test_' if test else 'dev_'}{secrets.token_hex(6)}"
        self.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return f"postgresql+psycopg://{self.user}@127.0.0.1:5432/{name}"

    def tables(self, url: str) -> set[str]:
        code = (
            "import sys, psycopg\n"
            "with psycopg.connect(sys.argv[1], connect_timeout=5) as c:\n"
            "    rows = c.execute(\"SELECT tablename FROM pg_tables WHERE schemaname = 'public'\")\n"
            "    print('\\n'.join(sorted(r[0] for r in rows)))\n"
        )
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        out = run([self.venv / "python", "-c", code, plain]).stdout
        return set(out.split())

    def rows(self, url: str, query: str) -> list[str]:
        """The rows *query* returns, each as its values joined by ``|``."""
        code = (
            "import sys, psycopg\n"
            "with psycopg.connect(sys.argv[1], connect_timeout=5) as c:\n"
            "    for row in c.execute(sys.argv[2]):\n"
            "        print('|'.join(map(str, row)))\n"
        )
        plain = url.replace("postgresql+psycopg://", "postgresql://")
        return run([self.venv / "python", "-c", code, plain, query]).stdout.splitlines()

    def drop_all(self) -> None:
        for name in self.created:
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_server(venv: Path) -> Iterator[Postgres]:
    """The local server, its databases dropped at the end; skipped (failed in CI) if down.

    *venv* is the bin directory of an environment with psycopg.
    """
    probe = "import sys, psycopg; psycopg.connect(sys.argv[1], connect_timeout=3).close()"
    errors = []
    for user in ("postgres", "root"):
        url = f"postgresql://{user}@127.0.0.1:5432/test"
        proc = subprocess.run(
            [str(venv / "python"), "-c", probe, url], capture_output=True, text=True, timeout=60
        )
        if proc.returncode == 0:
            server = Postgres(venv, user)
            try:
                yield server
            finally:
                server.drop_all()
            return
        errors.append(f"{user}: {' '.join(proc.stderr.split())[-300:]}")
    reason = "PostgreSQL at 127.0.0.1:5432 (database 'test') is unreachable: " + "; ".join(errors)
    if IN_CI:
        pytest.fail(reason + " (CI=true: the server is required)", pytrace=False)
    pytest.skip(reason + " (start it, or run in CI=true to make this a failure)")


@pytest.fixture(scope="module")
def postgres(venv: Path) -> Iterator[Postgres]:
    yield from postgres_server(venv)


# The generated test suite ----------------------------------------------------------------


def suite_results(
    venv: Path, project: Path, report: Path, *prefix: str, **env: str
) -> dict[str, Any]:
    """Run the generated suite (after *prefix*), return its outcomes by test directory."""
    proc = in_project(
        venv,
        project,
        *prefix,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={report}",
        check=False,
        **env,
    )
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert proc.returncode == 0, f"{summary}\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    counts: dict[str, dict[str, int]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        where = parts[1] if len(parts) > 2 else "tests"
        outcome = "passed"
        for child in case:
            if child.tag in ("skipped", "failure", "error"):
                outcome = child.tag
        bucket = counts.setdefault(where, {})
        bucket[outcome] = bucket.get(outcome, 0) + 1
    return {"summary": summary, "counts": counts, "stdout": proc.stdout}


def assert_complete(results: dict[str, Any]) -> int:
    counts = results["counts"]
    total = sum(bucket.get("passed", 0) for bucket in counts.values())
    assert total >= MIN_TESTS, results["summary"]
    for tier in ("unit", "integration", "e2e"):
        assert counts.get(tier, {}).get("passed", 0) >= 1, (tier, counts)
    bad = {where: b for where, b in counts.items() if set(b) - {"passed"}}
    assert not bad, (bad, results["summary"])
    return total


def test_generated_suite_passes_on_sqlite_without_network_and_covers_80_percent(
    venv: Path, project: Path, tmp_path: Path
) -> None:
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is needed to cut the network for this check")
    results = suite_results(
        venv,
        project,
        tmp_path / "sqlite.xml",
        "unshare",
        "-n",
        str(venv / "coverage"),
        "run",
    )
    total = assert_complete(results)
    print(f"generated suite on SQLite, no network: {total} passed ({results['summary']})")
    tree = ET.parse(tmp_path / "sqlite.xml").getroot()
    names = {case.get("name", "") for case in tree.iter("testcase")}
    assert set(PROMISED) <= names, set(PROMISED) - names
    report = in_project(venv, project, venv / "coverage", "report")
    assert "TOTAL" in report.stdout


def test_generated_suite_passes_on_postgresql(
    venv: Path, project: Path, postgres: Postgres, tmp_path: Path
) -> None:
    url = postgres.create()
    results = suite_results(
        venv, project, tmp_path / "pg.xml", str(venv / "python"), TEST_DATABASE_URL=url
    )
    total = assert_complete(results)
    print(f"generated suite on PostgreSQL: {total} passed ({results['summary']})")
    # The suite ran there (a generated test compares the engine with TEST_DATABASE_URL)
    # and dropped its tables when done.
    tree = ET.parse(tmp_path / "pg.xml").getroot()
    names = [case.get("name", "") for case in tree.iter("testcase")]
    assert "test_tests_run_on_the_test_database_url_if_set_else_in_memory" in names
    assert set(PROMISED) <= set(names), set(PROMISED) - set(names)
    assert postgres.tables(url) == set()


# Tests of the generated suite that prove a promise of #12, each run on both databases.
PROMISED = (
    "test_a_request_failing_in_the_database_logs_no_hash_and_no_token",
    "test_refreshing_replaces_the_refresh_token",
    "test_reusing_a_refresh_token_revokes_its_whole_session",
    "test_logout_ends_the_session_and_only_that_one",
    "test_changing_ones_password_ends_every_session",
    "test_an_admin_setting_a_password_ends_every_session_of_the_account",
    "test_logins_are_throttled_per_account_with_retry_after",
    "test_logins_are_throttled_per_client_address",
    "test_failures_older_than_the_window_stop_counting",
    "test_the_last_admin_keeps_the_role",
    "test_database_errors_never_show_the_values_sent",
)


DEV_ROW = "precious row of the developer"


def test_generated_suite_never_touches_the_developers_database(
    venv: Path, project: Path, postgres: Postgres, tmp_path: Path
) -> None:
    dev = postgres.create(test=False)
    postgres.execute(
        f"CREATE TABLE users (id int, note text); INSERT INTO users VALUES (1, '{DEV_ROW}')", dev
    )
    (project / ".env").write_text(f"DATABASE_URL={dev}\n")
    try:
        # The app's database in the environment and in .env: the suite keeps off it.
        results = suite_results(
            venv, project, tmp_path / "dev.xml", str(venv / "python"), DATABASE_URL=dev
        )
        assert_complete(results)
        assert postgres.rows(dev, "SELECT id, note FROM users") == [f"1|{DEV_ROW}"]
        assert postgres.tables(dev) == {"users"}

        # A test database whose name does not say so is refused before any test runs.
        refused = in_project(
            venv, project, venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
            check=False, TEST_DATABASE_URL=dev,
        )  # fmt: skip
        assert refused.returncode == 4, refused.stdout + refused.stderr
        errors = [line for line in refused.stderr.splitlines() if line.strip()]
        assert len(errors) == 1, refused.stderr
        assert "does not mark it as a test database" in errors[0]
        assert "Traceback" not in refused.stdout + refused.stderr
    finally:
        (project / ".env").unlink()
    assert postgres.rows(dev, "SELECT id, note FROM users") == [f"1|{DEV_ROW}"]
    assert postgres.tables(dev) == {"users"}


# Static quality -------------------------------------------------------------------------


def test_ruff_check_and_format_are_clean(venv: Path, project: Path) -> None:
    in_project(venv, project, venv / "ruff", "check", ".")
    in_project(venv, project, venv / "ruff", "format", "--check", ".")


def test_mypy_strict_is_clean_on_package_tests_and_scripts(venv: Path, project: Path) -> None:
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["tool"]["mypy"]["strict"] is True
    in_project(venv, project, venv / "mypy")
    in_project(venv, project, venv / "mypy", "scripts")


def test_compiles_and_imports_without_deprecation_warnings(venv: Path, project: Path) -> None:
    in_project(
        venv, project, venv / "python", "-m", "compileall", "-q", PACKAGE, "tests", "scripts"
    )
    in_project(
        venv,
        project,
        venv / "python",
        "-W",
        "error::DeprecationWarning",
        "-c",
        f"import {PACKAGE}.main",
    )


def test_production_refuses_placeholder_secrets(venv: Path, project: Path) -> None:
    importing = (venv / "python", "-c", f"import {PACKAGE}.main")
    refused = in_project(venv, project, *importing, check=False, ENVIRONMENT="production")
    assert refused.returncode != 0
    assert "ValidationError" in refused.stderr
    assert "SECRET_KEY still has its placeholder value" in refused.stderr
    in_project(
        venv, project, *importing, ENVIRONMENT="production", SECRET_KEY=secrets.token_urlsafe(48)
    )


def test_no_placeholders_in_generated_code(project: Path) -> None:
    for path in [*(project / PACKAGE).rglob("*.py"), *(project / "scripts").rglob("*.py")]:
        text = path.read_text()
        assert "TODO" not in text and "NotImplementedError" not in text, path
        assert not re.search(r"def .*:\n\s+(\.\.\.|pass)\n", text), path


def test_every_third_party_import_is_a_declared_dependency(venv: Path, project: Path) -> None:
    imported = set()
    for path in (project / PACKAGE).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    imported -= set(sys.stdlib_module_names) | {PACKAGE}
    code = (
        "import json, sys\n"
        "from importlib.metadata import packages_distributions\n"
        "print(json.dumps({m: packages_distributions().get(m, []) for m in sys.argv[1:]}))\n"
    )
    found = json.loads(in_project(venv, project, venv / "python", "-c", code, *imported).stdout)
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    declared = {
        re.split(r"[\[<>=!~ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        for requirement in pyproject["project"]["dependencies"]
    }
    for module, distributions in sorted(found.items()):
        names = {name.lower().replace("_", "-") for name in distributions}
        assert names & declared, f"{module} (from {distributions}) is not a declared dependency"


# Database and migrations --------------------------------------------------------------


def sqlite_tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}


def migrate_up_check_down(
    venv: Path, project: Path, url: str, tables: Callable[[], set[str]]
) -> None:
    alembic = venv / "alembic"
    in_project(venv, project, alembic, "upgrade", "head", DATABASE_URL=url)
    assert tables() == {"users", "auth_sessions", "login_failures", "alembic_version"}
    checked = in_project(venv, project, alembic, "check", DATABASE_URL=url)
    assert "No new upgrade operations detected" in checked.stdout + checked.stderr
    in_project(venv, project, alembic, "downgrade", "base", DATABASE_URL=url)
    assert tables() == {"alembic_version"}


def test_migrations_up_check_down_on_sqlite(venv: Path, project: Path, tmp_path: Path) -> None:
    path = tmp_path / "migrations.db"
    migrate_up_check_down(venv, project, f"sqlite:///{path}", lambda: sqlite_tables(path))


def test_migrations_up_check_down_on_postgresql(
    venv: Path, project: Path, postgres: Postgres
) -> None:
    url = postgres.create()
    migrate_up_check_down(venv, project, url, lambda: postgres.tables(url))


def test_scripts_are_idempotent(venv: Path, project: Path, tmp_path: Path) -> None:
    path = tmp_path / "scripts.db"
    env = {
        "DATABASE_URL": f"sqlite:///{path}",
        "FIRST_SUPERUSER_EMAIL": "root@example.com",
        "FIRST_SUPERUSER_PASSWORD": PASSWORD,
    }
    python = venv / "python"
    outputs = [in_project(venv, project, python, "scripts/init_db.py", **env).stdout]
    after_first_run = sqlite_rows(path)
    outputs.append(in_project(venv, project, python, "scripts/init_db.py", **env).stdout)
    assert sqlite_rows(path) == after_first_run
    create = (python, "scripts/create_user.py", "ops@example.com", "--password-stdin")
    for _ in range(2):
        proc = subprocess.run(
            [str(part) for part in create],
            cwd=project,
            env=clean_env(venv, **env),
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append(proc.stdout)
    assert "Created admin root@example.com." in outputs[0]
    assert "already exists: unchanged" in outputs[1]
    assert "Created user ops@example.com" in outputs[2]
    assert "already exists" in outputs[3]
    rows = sqlite_rows(path)
    assert [row[0] for row in rows] == ["root@example.com", "ops@example.com"]
    assert rows[0] == after_first_run[0]
    assert all(row[1].startswith("$argon2id$") for row in rows)
    assert all(PASSWORD not in out for out in outputs)


def sqlite_rows(path: Path) -> list[tuple[str, str, str]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(
            "SELECT email, hashed_password, updated_at FROM users ORDER BY id"
        ).fetchall()


# Serving over HTTP -------------------------------------------------------------------------


def test_uvicorn_serves_register_login_me_over_http(
    venv: Path, project: Path, tmp_path: Path
) -> None:
    path = tmp_path / "serve.db"
    url = f"sqlite:///{path}"
    in_project(venv, project, venv / "alembic", "upgrade", "head", DATABASE_URL=url)
    with serving(venv, project, f"{PACKAGE}.main:app", DATABASE_URL=url) as server:
        base = server.base
        status, health, _ = request(f"{base}/health")
        assert (status, health["status"]) == (200, "ok"), health

        account = {"email": "Shopper@Example.com", "password": PASSWORD, "full_name": "S"}
        status, created, headers = request(f"{base}/api/v1/auth/register", "POST", account)
        assert status == 201, created
        assert created["email"] == "shopper@example.com"
        assert headers["x-request-id"]
        status, tokens, _ = request(
            f"{base}/api/v1/auth/login",
            "POST",
            form={"username": "shopper@example.com", "password": PASSWORD},
        )
        assert status == 200, tokens
        bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
        status, me, _ = request(f"{base}/api/v1/users/me", headers=bearer)
        assert (status, me) == (200, created)

        status, body, _ = request(f"{base}/api/v1/users/me")
        assert (status, body["code"]) == (401, "not_authenticated")
        status, body, _ = request(f"{base}/api/v1/users", headers=bearer)
        assert (status, body["code"]) == (403, "permission_denied")
        status, body, _ = request(f"{base}/api/v1/auth/register", "POST", account)
        assert (status, body["code"]) == (409, "email_already_registered")
        status, body, _ = request(f"{base}/nowhere")
        assert body == {"detail": "Not Found", "code": "not_found"}
        status, schema, _ = request(f"{base}/openapi.json")
        assert {"/api/v1/auth/login", "/api/v1/users/me", "/health"} <= set(schema["paths"])
        assert request(f"{base}/docs")[0] == 200

        # Tokens: a refresh token works once, and its reuse ends the session.
        refresh = f"{base}/api/v1/auth/refresh"
        status, rotated, _ = request(refresh, "POST", {"refresh_token": tokens["refresh_token"]})
        assert status == 200, rotated
        status, body, _ = request(refresh, "POST", {"refresh_token": tokens["refresh_token"]})
        assert (status, body["code"]) == (401, "refresh_token_reused")
        status, body, _ = request(
            f"{base}/api/v1/users/me",
            headers={"Authorization": f"Bearer {rotated['access_token']}"},
        )
        assert (status, body["code"]) == (401, "session_revoked")

        # A request that fails inside the database: a 500, and nothing secret logged.
        status, tokens, _ = request(
            f"{base}/api/v1/auth/login",
            "POST",
            form={"username": "shopper@example.com", "password": PASSWORD},
        )
        with sqlite3.connect(path) as connection:
            connection.execute(
                "CREATE TRIGGER refuse BEFORE UPDATE ON users "
                "BEGIN SELECT RAISE(ABORT, 'updates refused'); END"
            )
        change = {"current_password": PASSWORD, "new_password": "another-password-456"}
        bearer = {"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "pw-1"}
        status, body, _ = request(
            f"{base}/api/v1/users/me/password", "POST", change, headers=bearer
        )
        assert (status, body["code"]) == (500, "internal_error")
    output = server.output
    assert "updates refused" in output and "parameters hidden" in output
    for secret in (PASSWORD, "another-password-456", "$argon2", tokens["access_token"]):
        assert secret not in output, secret
    assert tokens["refresh_token"] not in output
    # One access record per request, ours (JSON); uvicorn's own access log is off.
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    mentions = [r for r in records if r.get("request_id") == "pw-1"]
    access = [r for r in mentions if r["logger"] == f"{PACKAGE}.access"]
    assert [(r["path"], r["status"]) for r in access] == [("/api/v1/users/me/password", 500)]
    assert any(r["message"].startswith("Unhandled IntegrityError") for r in records)
    assert not re.search(r'"(GET|POST) /\S* HTTP/1\.1" \d{3}', output), output


# Generator properties ------------------------------------------------------------------------


def test_generating_twice_gives_identical_trees(tmp_path: Path) -> None:
    first = snapshot(generate(tmp_path / "one"))
    second = snapshot(generate(tmp_path / "two"))

    assert first == second
    assert "alembic/versions/0001_initial.py" in first


@pytest.mark.parametrize("component", COMPONENTS)
def test_uts_info_describes_each_component(component: str) -> None:
    proc = run([sys.executable, "-m", "uts", "info", component, "--json"])
    data = json.loads(proc.stdout)

    assert data["name"] == component
    assert data["files"]
    assert "fragments_error" not in data
    text = run([sys.executable, "-m", "uts", "info", component]).stdout
    assert text.startswith(f"{component} ")


def test_layers_and_crud_cannot_be_combined(tmp_path: Path) -> None:
    command = ["new", "x", "--recipe", "core", "--with", "crud", "--dir", tmp_path / "x"]
    proc = run([sys.executable, "-m", "uts", *command, "--no-input"], check=False)

    assert proc.returncode != 0
    assert "'layers' conflicts with 'crud'" in proc.stderr
    assert not (tmp_path / "x").exists()


def test_config_in_the_flat_layout_moves_the_url_to_the_settings(tmp_path: Path) -> None:
    target = tmp_path / "demo"
    command = ["new", "demo", "--recipe", "mvp", "--with", "config", "--dir", target]
    run([sys.executable, "-m", "uts", *command, "--no-input"])

    database = (target / "demo" / "database.py").read_text()
    assert "return get_settings().database_url" in database
    assert not (target / "demo" / "core" / "database").exists()
    settings = (target / "demo" / "core" / "config" / "settings.py").read_text()
    assert 'database_url: str = "sqlite:///./demo.db"' in settings
    assert (target / "tests" / "unit" / "test_settings.py").is_file()


def test_readme_explains_layout_and_how_to_run_test_and_migrate(project: Path) -> None:
    readme = (project / "README.md").read_text()
    for heading in ("## Quick start", "## Layout", "## Tests", "## Migrations"):
        assert heading in readme, heading
    for command in (
        'pip install -e ".[dev]"',
        "pytest",
        "alembic upgrade head",
        "uvicorn myshop.main:app",
    ):
        assert command in readme, command
