"""A third-party background-jobs component reaches every infrastructure file through slots.

``uts-jobs`` is a plugin distribution written here, installed next to a copy of uts in a
fresh virtual environment, that edits no built-in: it adds a Valkey service and a worker
to the compose stack, settings and a file to the image, a Deployment and a cluster
setting to the Kubernetes manifests, and a service container and a step to CI, all by
contributing fragments to the slots docker, kubernetes and ci declare. The files are
checked with the same offline validators as the built-ins' output, and removing the
component gives back the bytes the project had.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import snapshot
from tests.e2e.conftest import clean_env, copy_source, make_venv, run
from tests.e2e.test_kubernetes import validate as validate_manifest
from tests.e2e.test_thirdparty import plugin_pyproject, write
from tests.e2e.validators import hadolint, jsonschema, report, yamllint

pytestmark = pytest.mark.e2e

JOBS_MODULE = '''\
"""Background jobs on Valkey: a third-party component that edits no other component."""

from pathlib import Path

from uts.plugin import Component, Context, Contributions, impl

IMAGE = "valkey/valkey:8.1.3-alpine"


@impl
def uts_component() -> Component:
    return Component(
        name="jobs",
        version="1.0.0",
        summary="Background jobs on Valkey.",
        requires=("project",),
        templates=Path(__file__).parent / "templates",
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.fragment(
        "env",
        {"name": "JOBS_URL", "value": "valkey://localhost:6380/0", "comment": "Job queue."},
        key="JOBS_URL",
    )
    out.fragment(
        "compose-services",
        {
            "name": "valkey",
            "order": 35,
            "wait": "service_healthy",
            "volumes": ["valkey-data"],
            "addresses": ["localhost:6380"],
            "comment": "The job queue.",
            "readme": "`valkey` holds the job queue",
            "service": {
                "image": IMAGE,
                "command": ["valkey-server", "--port", "6380"],
                "volumes": ["valkey-data:/data"],
                "healthcheck": {"test": ["CMD", "valkey-cli", "-p", "6380", "ping"]},
            },
        },
        key="valkey",
    )
    command = ["python", "-m", f"{ctx.package}.jobs"]
    out.fragment(
        "compose-services",
        {"name": "jobs-worker", "order": 70, "service": {"build": ".", "command": command}},
        key="jobs-worker",
    )
    out.fragment("compose-environment", {"name": "JOBS_QUEUE", "value": "default"}, key="q")
    out.fragment(
        "docker-runtime",
        {"comment": "Job settings.", "env": {"JOBS_CONCURRENCY": "4"}, "copy": ["jobs.toml"]},
    )
    out.fragment(
        "k8s-workloads",
        {
            "name": "jobs-worker",
            "command": command,
            "replicas": 2,
            "liveness": {"exec": {"command": command + ["--ping"]}, "periodSeconds": 60},
            "disruption_budget": True,
            "readme": "`jobs-worker.yaml` runs the job worker.",
        },
        key="jobs-worker",
    )
    out.fragment(
        "k8s-env",
        {"name": "JOBS_URL", "value": "valkey://valkey:6379/0", "secret": False},
        key="JOBS_URL",
    )
    out.fragment(
        "ci-services",
        {
            "name": "valkey",
            "service": {"image": IMAGE, "ports": ["6380:6379"]},
            "env": {"JOBS_URL": "valkey://localhost:6380/0"},
        },
        key="valkey",
    )
    out.fragment(
        "ci-steps",
        {
            "name": "Job settings parse",
            "run": "python -c 'import tomllib; tomllib.load(open(\\"jobs.toml\\", \\"rb\\"))'",
            "order": 60,
            "readme": "a parse of `jobs.toml`",
        },
        key="jobs",
    )
'''

JOBS_TEMPLATES = {
    "jobs.toml.jinja": '[jobs]\nqueue = "default"\n',
    "{{ package }}/jobs.py.jinja": (
        '"""The job worker."""\n\nif __name__ == "__main__":\n    print("working")\n'
    ),
}


Uts = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def uts(tmp_path_factory: pytest.TempPathFactory) -> Uts:
    tmp = tmp_path_factory.mktemp("infra-slots")
    source = copy_source(tmp / "uts-src")
    plugin = tmp / "plugin"
    write(plugin / "pyproject.toml", plugin_pyproject("uts-jobs", "1.0.0", "jobs", "uts_jobs"))
    write(plugin / "uts_jobs" / "__init__.py", JOBS_MODULE)
    for name, text in JOBS_TEMPLATES.items():
        write(plugin / "uts_jobs" / "templates" / name, text)
    bindir = make_venv(tmp / "venv", str(source), str(plugin))

    def call(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return run(
            [bindir / "uts", *args],
            cwd=tmp,
            env=clean_env(bindir, XDG_CACHE_HOME=str(tmp / "cache")),
            check=False,
        )

    return call


@pytest.fixture(scope="module")
def full(uts: Uts, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("full") / "demo"
    result = uts("new", "demo", "--recipe", "full", "--with", "jobs", "--dir", target)
    assert result.returncode == 0, result.stderr
    return target


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_compose_gets_the_service_the_worker_and_the_environment(full: Path) -> None:
    proc = jsonschema("compose-spec", full / "compose.yaml")
    assert proc.returncode == 0, report(proc)
    proc = yamllint(full / "compose.yaml")
    assert proc.returncode == 0 and proc.stdout == "", report(proc)
    data = load(full / "compose.yaml")
    services = data["services"]
    assert services["valkey"]["image"] == "valkey/valkey:8.1.3-alpine"
    assert "valkey-data" in data["volumes"]
    app = services["app"]
    assert app["depends_on"]["valkey"] == {"condition": "service_healthy"}
    # The setting naming the address valkey stands for points at the service.
    assert app["environment"]["JOBS_URL"] == "valkey://valkey:6380/0"
    assert app["environment"]["JOBS_QUEUE"] == "default"
    worker = services["jobs-worker"]
    assert worker["command"] == ["python", "-m", "demo.jobs"]
    assert worker["environment"] == app["environment"]
    assert worker["env_file"] == app["env_file"] and worker["image"] == app["image"]
    assert worker["depends_on"]["valkey"] == {"condition": "service_healthy"}
    assert worker["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
    # The built-ins' services are all still there, each waiting as before.
    assert {"app", "migrate", "postgres", "redis", "worker", "beat"} <= set(services)
    assert services["worker"]["depends_on"]["redis"] == {"condition": "service_healthy"}


def test_the_image_gets_the_settings_and_the_file(full: Path) -> None:
    proc = hadolint(full / "Dockerfile")
    assert proc.returncode == 0, report(proc)
    text = (full / "Dockerfile").read_text()
    assert "# Job settings.\nENV JOBS_CONCURRENCY=4\n" in text
    assert "COPY jobs.toml ./jobs.toml\n" in text
    assert text.index("COPY jobs.toml") < text.index("USER 10001")


def test_kubernetes_gets_the_deployment_and_the_cluster_setting(full: Path) -> None:
    k8s = full / "deploy/k8s"
    kinds = {}
    for path in sorted(k8s.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                validate_manifest(doc)
                kinds[path.name] = doc["kind"]
    assert kinds["jobs-worker.yaml"] == "Deployment"
    assert kinds["jobs-worker-pdb.yaml"] == "PodDisruptionBudget"
    resources = load(k8s / "kustomization.yaml")["resources"]
    assert {"jobs-worker.yaml", "jobs-worker-pdb.yaml", "worker.yaml", "beat.yaml"} <= set(
        resources
    )
    deployment = load(k8s / "jobs-worker.yaml")
    assert deployment["metadata"]["name"] == "demo-jobs-worker"
    assert deployment["spec"]["replicas"] == 2
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "demo.jobs"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert load(k8s / "configmap.yaml")["data"]["JOBS_URL"] == "valkey://valkey:6379/0"
    assert "JOBS_URL" not in (k8s / "secrets.env.example").read_text()
    readme = (full / "README.md").read_text()
    assert "`jobs-worker.yaml` runs the job worker." in readme
    assert "`valkey` holds the job queue" in readme


def test_ci_gets_the_service_container_and_the_step(full: Path) -> None:
    workflow = full / ".github/workflows/ci.yml"
    proc = jsonschema("github-workflows", workflow)
    assert proc.returncode == 0, report(proc)
    proc = yamllint(workflow)
    assert proc.returncode == 0 and proc.stdout == "", report(proc)
    job = load(workflow)["jobs"]["test"]
    assert set(job["services"]) == {"postgres", "valkey"}
    assert job["env"]["JOBS_URL"] == "valkey://localhost:6380/0"
    assert job["env"]["DATABASE_URL"].startswith("postgresql+psycopg://")
    names = [step.get("name") for step in job["steps"]]
    assert names.index("Job settings parse") < names.index("Tests")
    assert names.index("Migrations go up, match the models and go down") < names.index(
        "Job settings parse"
    )
    assert "a parse of `jobs.toml`" in (full / "README.md").read_text()


def test_add_then_remove_gives_back_the_same_bytes(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "demo"
    result = uts("new", "demo", "--recipe", "full", "--dir", target)
    assert result.returncode == 0, result.stderr
    before = snapshot(target)
    result = uts("add", "jobs", "--project", target)
    assert result.returncode == 0, result.stderr
    changed = {path for path, data in snapshot(target).items() if before.get(path) != data}
    assert {"compose.yaml", "Dockerfile", ".github/workflows/ci.yml"} <= changed
    assert {"deploy/k8s/jobs-worker.yaml", "deploy/k8s/kustomization.yaml"} <= changed
    result = uts("remove", "jobs", "--project", target)
    assert result.returncode == 0, result.stderr
    assert snapshot(target) == before
