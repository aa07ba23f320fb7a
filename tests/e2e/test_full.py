"""The FULL tier end to end: one ``shop`` generated from ``--recipe full``, installed once.

The components are proven one by one in their own modules (test_core, test_monitoring,
test_celery, test_docker, test_ci, test_kubernetes, test_terraform); this module proves
them together: the whole generated suite without network, ruff and mypy strict, the
schema migrated, the app served with its readiness checks (database and the real Redis
broker) and metrics, a real Celery worker answering, and every deployment file passing
its offline validator.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import IN_CI, snapshot
from tests.e2e.conftest import clean_env, generated_pytest, make_venv, request, run, serving
from tests.e2e.test_kubernetes import validate as validate_manifest
from tests.e2e.test_terraform import fmt_check, parse, undeclared, variable_problems
from tests.e2e.validators import hadolint, jsonschema, report, yamllint

pytestmark = pytest.mark.e2e

PACKAGE = "shop"
FULL = ("monitoring", "celery", "docker", "ci", "kubernetes", "terraform")
MIN_TESTS = 190  # 199 at the time of writing: core about 150, then monitoring and celery


def generate(target: Path) -> Path:
    command = ["new", PACKAGE, "--recipe", "full", "--dir", target, "--no-input"]
    run([sys.executable, "-m", "uts", *command])
    return target


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("full") / PACKAGE)


@pytest.fixture(scope="module")
def venv(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One environment for every check, installed the way the README says."""
    return make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{project}[dev]")


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A Redis database of its own on the local server (flushed afterwards), or a skip."""
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=2).close()
    except OSError as error:
        if IN_CI:
            pytest.fail(f"Redis at 127.0.0.1:6379 is required with CI=true: {error}")
        pytest.skip(f"no Redis at 127.0.0.1:6379 ({error})")
    # Databases 1-15 of the shared server; the key prefix keeps this run's keys apart.
    yield f"redis://127.0.0.1:6379/{secrets.randbelow(15) + 1}"


@pytest.fixture
def broker(venv: Path, redis_url: str) -> Iterator[dict[str, str]]:
    """Celery settings on the real Redis: this test's own key prefix and queue, cleaned up."""
    prefix = f"uts-e2e-{secrets.token_hex(4)}:"
    yield {
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        "CELERY_KEY_PREFIX": prefix,
        "CELERY_DEFAULT_QUEUE": prefix.rstrip(":"),
    }
    code = (
        "import sys, redis\n"
        "client = redis.Redis.from_url(sys.argv[1])\n"
        "keys = list(client.scan_iter(match=sys.argv[2] + '*'))\n"
        "if keys:\n    client.delete(*keys)\n"
    )
    run([venv / "python", "-c", code, redis_url, prefix])


# Generation ----------------------------------------------------------------------------


def test_the_full_recipe_composes_every_tier_component(project: Path) -> None:
    import tomllib

    state = tomllib.loads((project / ".uts/project.toml").read_text())
    assert state["recipe"] == "full"
    assert set(FULL) <= {path.stem for path in (project / ".uts/components").glob("*.toml")}
    for path in (
        "shop/metrics.py",
        "shop/workers/celery_app.py",
        "Dockerfile",
        "compose.yaml",
        ".github/workflows/ci.yml",
        "deploy/k8s/kustomization.yaml",
        "deploy/terraform/main.tf",
        "alembic/versions/0001_initial.py",
    ):
        assert (project / path).is_file(), path
    readme = (project / "README.md").read_text()
    for title in ("Background jobs", "Docker", "Continuous integration", "Migrations"):
        assert title in readme, title


def test_generating_full_twice_gives_identical_bytes(project: Path, tmp_path: Path) -> None:
    assert snapshot(generate(tmp_path / PACKAGE)) == snapshot(project)


# The installed project -----------------------------------------------------------------


def test_generated_suite_passes_without_network_nothing_skipped(venv: Path, project: Path) -> None:
    generated_pytest(venv, project, offline=True, min_passed=MIN_TESTS)


def test_ruff_format_and_mypy_strict_are_clean(venv: Path, project: Path) -> None:
    env = clean_env(venv)
    run([venv / "ruff", "check", "--no-cache", "."], cwd=project, env=env)
    run([venv / "ruff", "format", "--no-cache", "--check", "."], cwd=project, env=env)
    run([venv / "mypy"], cwd=project, env=env)  # the files its pyproject names, strict


def test_served_with_a_real_broker_ready_and_measured(
    venv: Path, project: Path, broker: dict[str, str], tmp_path: Path
) -> None:
    settings = {**broker, "DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}"}
    run([venv / "alembic", "upgrade", "head"], cwd=project, env=clean_env(venv, **settings))
    with serving(venv, project, f"{PACKAGE}.main:app", **settings) as server:
        status, body, _ = request(f"{server.base}/health/ready")
        assert (status, body) == (
            200,
            {"status": "ok", "checks": {"database": "ok", "broker": "ok"}, "failing": []},
        )
        status, text, _ = request(f"{server.base}/metrics", raw=True)
        assert status == 200
        assert 'route="/health/ready",status="200"' in text


def test_a_real_worker_answers_through_redis(
    venv: Path, project: Path, broker: dict[str, str], tmp_path: Path
) -> None:
    env = clean_env(venv, **broker)
    log = tmp_path / "worker.log"
    with open(log, "w") as output:
        worker = subprocess.Popen(
            [venv / "celery", "-A", f"{PACKAGE}.workers.celery_app", "worker", "--pool=solo",
             "--loglevel=INFO", "--without-heartbeat", "--without-gossip", "--without-mingle"],
            cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        code = (
            f"from {PACKAGE}.workers import tasks\n"
            "result = tasks.heartbeat.delay()\n"
            "print(sorted(result.get(timeout=60)))\n"
        )
        done = run([venv / "python", "-c", code], cwd=project, env=env, check=False)
        assert done.stdout.strip() == "['at', 'worker']", done.stderr + log.read_text()
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    assert "succeeded" in log.read_text()


# Deployment files, offline -------------------------------------------------------------


def test_container_files_pass_their_validators(project: Path) -> None:
    for proc in (
        hadolint(project / "Dockerfile"),
        jsonschema("compose-spec", project / "compose.yaml"),
        jsonschema("github-workflows", project / ".github/workflows/ci.yml"),
        yamllint(project / "compose.yaml", project / ".github/workflows/ci.yml"),
    ):
        assert proc.returncode == 0, report(proc)
    services = yaml.safe_load((project / "compose.yaml").read_text())["services"]
    assert {"app", "migrate", "postgres", "redis", "worker", "beat"} <= set(services)


def test_kubernetes_and_terraform_pass_their_validators(project: Path) -> None:
    k8s = project / "deploy/k8s"
    documents = [
        doc
        for path in sorted(k8s.glob("*.yaml"))
        if path.name != "kustomization.yaml"
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]
    assert {doc["kind"] for doc in documents} >= {"Deployment", "Service", "ConfigMap"}
    deployments = {doc["metadata"]["name"] for doc in documents if doc["kind"] == "Deployment"}
    assert deployments == {PACKAGE, f"{PACKAGE}-worker", f"{PACKAGE}-beat"}
    for doc in documents:
        validate_manifest(doc)
    terraform = project / "deploy/terraform"
    assert variable_problems(parse(terraform)) == []
    assert undeclared(terraform) == set()
    code, diff = fmt_check(terraform)
    assert code == 0, diff
