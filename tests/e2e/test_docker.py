"""The docker component: Dockerfile, .dockerignore and compose.yaml of generated projects.

Projects are rendered in-process; the files are checked with the offline validators
(hadolint, check-jsonschema's compose-spec schema, yamllint), each of which is also
shown to fail on a deliberately broken copy, and by structure. An image is built only
where a Docker daemon answers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Result
from tests.e2e.conftest import new_demo
from tests.e2e.validators import BIN, hadolint, jsonschema, report, yamllint
from uts.engine import ProjectSpec, compose
from uts.model import Component, Context, Contributions, Option
from uts.plugin import impl
from uts.plugin.manager import load_registry, registry_from
from uts.testing import Kit

pytestmark = pytest.mark.e2e

Uts = Callable[..., Result]

# An exact version: digits and dots, at least major.minor.
PINNED = re.compile(r":\d+\.\d+(?:\.\d+)?(?:-[a-z0-9.-]+)?$")


def new(root: Path, recipe: str, *extra: str) -> Path:
    return new_demo(root / "demo", recipe, *extra)


@pytest.fixture(scope="module", params=["mvp", "core"])
def project(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return new(tmp_path_factory.mktemp(request.param), request.param, "--with", "docker")


def compose_file(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((root / "compose.yaml").read_text())
    return data


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    result = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


# Offline validators, and a broken copy each one rejects --------------------------------


def test_hadolint_passes(project: Path) -> None:
    proc = hadolint(project / "Dockerfile")
    assert proc.returncode == 0, report(proc)
    # Not even an info-level finding (a named USER would give DL3066).
    plain = subprocess.run(
        [str(BIN / "hadolint"), "--no-color", "Dockerfile"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert plain.stdout == "", plain.stdout


def test_compose_passes_the_compose_spec_and_yamllint(project: Path) -> None:
    proc = jsonschema("compose-spec", project / "compose.yaml")
    assert proc.returncode == 0, report(proc)
    proc = yamllint(project / "compose.yaml")
    assert proc.returncode == 0 and proc.stdout == "", report(proc)


def test_hadolint_fails_a_broken_dockerfile(project: Path, tmp_path: Path) -> None:
    text = (project / "Dockerfile").read_text()
    broken = re.sub(r"^CMD \[.*\]$", "CMD uvicorn demo.main:app", text, flags=re.MULTILINE)
    broken = broken.replace("FROM ghcr.io/astral-sh/uv:", "FROM ghcr.io/astral-sh/uv AS uv\n#")
    assert broken != text
    (tmp_path / "Dockerfile").write_text(broken)
    proc = hadolint(tmp_path / "Dockerfile")
    assert proc.returncode == 1, report(proc)
    assert "DL3025" in proc.stdout and "DL3006" in proc.stdout, proc.stdout


def test_the_compose_schema_rejects_an_unknown_key(project: Path, tmp_path: Path) -> None:
    text = (project / "compose.yaml").read_text()
    (tmp_path / "compose.yaml").write_text(text.replace("    ports:", "    portz:", 1))
    proc = jsonschema("compose-spec", tmp_path / "compose.yaml")
    assert proc.returncode == 1, report(proc)
    assert "portz" in proc.stdout, proc.stdout


def test_yamllint_rejects_a_duplicate_key(project: Path, tmp_path: Path) -> None:
    text = (project / "compose.yaml").read_text()
    (tmp_path / "compose.yaml").write_text(text.replace("services:\n", "services:\nservices:\n"))
    proc = yamllint(tmp_path / "compose.yaml")
    assert proc.returncode == 1, report(proc)
    assert "duplication of key" in proc.stdout, proc.stdout


# Structure ---------------------------------------------------------------------------


def test_dockerfile_is_pinned_multi_stage_non_root_with_a_curl_free_healthcheck(
    project: Path,
) -> None:
    text = (project / "Dockerfile").read_text()
    steps = instructions(text)
    bases = [args.split()[0] for word, args in steps if word == "FROM"]
    assert len(bases) >= 3, bases  # uv, build, runtime
    for base in bases:
        assert PINNED.search(base), f"{base} is not pinned to an exact version"
    assert any(base.startswith("ghcr.io/astral-sh/uv:") for base in bases)
    assert any(re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base) for base in bases)
    assert "latest" not in text
    assert [word for word, _ in steps].count("CMD") == 1

    # The dependency layer comes before the source: pyproject.toml alone, then the code.
    copies = [args for word, args in steps if word == "COPY"]
    runs = [args for word, args in steps if word == "RUN"]
    order = [f"{word} {args}" for word, args in steps]
    deps = next(i for i, line in enumerate(order) if "uv pip install -r pyproject.toml" in line)
    source = order.index("COPY demo ./demo")
    assert order.index("COPY pyproject.toml ./") < deps < source
    assert "COPY . ." not in order and any("--no-deps" in run for run in runs)
    assert any(copy.startswith("--from=build /app/.venv") for copy in copies)

    user = next(args for word, args in reversed(steps) if word == "USER")
    assert re.fullmatch(r"[1-9]\d*(?::\d+)?", user), f"USER {user} is not numeric non-root"
    health = next(args for word, args in steps if word == "HEALTHCHECK")
    assert "/health/live" in health and "urllib" in health
    assert "curl" not in text and "wget" not in text
    assert json.loads(health.split("CMD", 1)[1]) == [
        "python",
        "-c",
        "import urllib.request; "
        "urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=4)",
    ]
    cmd = json.loads(next(args for word, args in steps if word == "CMD"))
    assert cmd[:2] == ["uvicorn", "demo.main:app"] and "0.0.0.0" in cmd


def test_dockerignore_keeps_local_state_out(project: Path) -> None:
    ignored = (project / ".dockerignore").read_text().splitlines()
    for entry in (".venv/", ".git/", ".env", "*.db", ".pytest_cache/", ".mypy_cache/"):
        assert entry in ignored, entry
    assert "!.env.example" in ignored


def test_compose_app_has_a_healthcheck_and_reads_dotenv(project: Path) -> None:
    data = compose_file(project)
    assert "version" not in data
    app = data["services"]["app"]
    assert app["build"] == "."
    assert app["env_file"] == [{"path": ".env", "required": False}]
    assert app["ports"] == ["127.0.0.1:8000:8000"]
    test = app["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and "/health/live" in test[3]
    for name, service in data["services"].items():
        if "image" in service and "build" not in service:
            assert PINNED.search(service["image"]), f"{name}: {service['image']}"
            assert "healthcheck" in service, name


def test_mvp_stack_keeps_sqlite_in_a_volume(tmp_path_factory: pytest.TempPathFactory) -> None:
    data = compose_file(new(tmp_path_factory.mktemp("mvp"), "mvp", "--with", "docker"))
    assert set(data["services"]) == {"app"}
    app = data["services"]["app"]
    assert app["environment"] == {"DATABASE_URL": "sqlite:////app/data/demo.db"}
    assert app["volumes"] == ["app-data:/app/data"] and "depends_on" not in app
    assert data["volumes"] == {"app-data": None}


def test_core_stack_waits_for_postgres_and_migrations(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    root = new(tmp_path_factory.mktemp("core"), "core", "--with", "docker")
    data = compose_file(root)
    services = data["services"]
    assert set(services) == {"app", "migrate", "postgres"}
    # The password from POSTGRES_PASSWORD when set: no credentials in the file.
    url = "postgresql+psycopg://app:${POSTGRES_PASSWORD:-app}@postgres:5432/app"
    assert services["app"]["environment"]["DATABASE_URL"] == url
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "${POSTGRES_PASSWORD:-app}"
    assert services["app"]["depends_on"] == {
        "migrate": {"condition": "service_completed_successfully"},
        "postgres": {"condition": "service_healthy"},
    }
    assert services["migrate"]["command"] == ["alembic", "upgrade", "head"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    postgres = services["postgres"]
    assert postgres["image"] == "postgres:17.6-alpine"
    assert "pg_isready" in postgres["healthcheck"]["test"]
    assert data["volumes"] == {"postgres-data": None}
    # The image carries what `migrate` and the scripts need.
    order = [f"{w} {a}" for w, a in instructions((root / "Dockerfile").read_text())]
    copies = {"COPY alembic.ini ./alembic.ini", "COPY alembic ./alembic", "COPY scripts ./scripts"}
    assert copies <= set(order)
    readme = (root / "README.md").read_text()
    assert "## Docker" in readme and "docker compose up --build" in readme


# Adapting to celery, and the compose-services slot ------------------------------------


class FakeCelery:
    """Stands in for the celery component: its broker service, settings and a worker, all
    through docker's slots (docker knows no broker of its own)."""

    def __init__(self, broker: str) -> None:
        self.broker = broker

    @impl
    def uts_component(self) -> Component:
        return Component(
            name="celery",
            version="0.0.0",
            summary="test double",
            requires=("fastapi",),
            options=(Option("broker", default=self.broker),),
        )

    @impl
    def uts_contribute(self, ctx: Context, out: Contributions) -> None:
        port = 5672 if self.broker == "rabbitmq" else 6379
        scheme = "amqp://guest:guest@" if self.broker == "rabbitmq" else "redis://"
        out.fragment("env", {"name": "CELERY_BROKER_URL", "value": f"{scheme}localhost:{port}/0"})
        out.fragment("env", {"name": "OTHER", "value": "http://localhost:9999"})
        # An older tag than docker's option: docker pins the image it knows.
        health = {"test": ["CMD", "true"], "interval": "5s"}
        out.fragment(
            "compose-services",
            {
                "name": self.broker,
                "wait": "service_healthy",
                "addresses": [f"localhost:{port}"],
                "service": {"image": f"{self.broker}:1.0", "healthcheck": health},
            },
            key=self.broker,
        )
        out.fragment(
            "compose-services",
            {
                "name": "worker",
                "service": {
                    "build": ".",
                    "command": ["celery", "-A", "demo.workers.celery_app", "worker"],
                    "env_file": [{"path": ".env", "required": False}],
                    "depends_on": {self.broker: {"condition": "service_healthy"}},
                    "labels": {},
                },
            },
            key="worker",
        )


@pytest.mark.parametrize("broker", ["redis", "rabbitmq"])
def test_compose_adapts_to_celery(broker: str, tmp_path: Path) -> None:
    from uts_plugins import database, docker, fastapi
    from uts_plugins import project as project_plugin

    registry = registry_from(
        {
            "project": project_plugin,
            "fastapi": fastapi,
            "database": database,
            "celery": FakeCelery(broker),
            "docker": docker,
        }
    )
    files = compose(
        registry,
        ProjectSpec("demo", "test", ["project", "fastapi", "database", "celery", "docker"]),
    ).files
    (tmp_path / "compose.yaml").write_bytes(files["compose.yaml"].content)
    for proc in (
        jsonschema("compose-spec", tmp_path / "compose.yaml"),
        yamllint(tmp_path / "compose.yaml"),
    ):
        assert proc.returncode == 0, report(proc)
    data = compose_file(tmp_path)
    assert set(data["services"]) == {"app", broker, "worker"}
    port = 5672 if broker == "rabbitmq" else 6379
    environment = data["services"]["app"]["environment"]
    assert environment["CELERY_BROKER_URL"].endswith(
        f"@{broker}:{port}/0" if broker == "rabbitmq" else f"//{broker}:{port}/0"
    )
    assert "OTHER" not in environment
    assert data["services"]["app"]["depends_on"] == {broker: {"condition": "service_healthy"}}
    assert "healthcheck" in data["services"][broker]
    assert (
        data["services"][broker]["image"]
        == docker.uts_component().option(f"{broker}_image").default
    )
    assert data["services"]["worker"]["command"][0] == "celery"
    worker = data["services"]["worker"]
    assert worker["labels"] == {} and worker["env_file"] == [{"path": ".env", "required": False}]
    # A service built from the app's image reaches the same services, and the same SQLite.
    assert worker["environment"] == environment
    assert worker["volumes"] == ["app-data:/app/data"]


# uts add / remove, options --------------------------------------------------------------


def test_add_then_remove_on_core_gives_back_the_same_bytes(uts_kit: Kit) -> None:
    added = uts_kit.assert_add_remove_roundtrip("docker", recipe="core")
    assert {"Dockerfile", ".dockerignore", "compose.yaml"} <= set(added.files)


def test_images_must_be_pinned(uts: Uts, tmp_path: Path) -> None:
    for value in ("postgres:latest", "postgres"):
        result = uts(
            "new", "demo", "--recipe", "core", "--with", "docker", "--dir", tmp_path / value,
            "--set", f"docker.postgres_image={value}", "--no-input",
        )  # fmt: skip
        assert result.code == 4, result.err
        assert "docker.postgres_image" in result.err


def test_info_lists_files_and_options(uts: Uts) -> None:
    data = json.loads(uts("info", "docker", "--json").out)
    assert data["requires"] == ["fastapi"]
    assert set(data["files"]) == {"Dockerfile", ".dockerignore", "compose.yaml"}
    assert {option["name"] for option in data["options"]} >= {"python_version", "uv_version"}


# A real build, where Docker can -------------------------------------------------------


def test_the_image_builds_and_runs_as_non_root(project: Path) -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker CLI on this machine: the image build is not checked")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        pytest.skip(f"no usable Docker daemon (docker info: {info.stderr.strip()[:200]})")
    tag = f"uts-test-{project.parent.name}".lower()
    build = subprocess.run(
        [docker, "build", "-q", "-t", tag, "."], cwd=project, capture_output=True, text=True
    )
    if build.returncode != 0 and "pull" in build.stderr.lower():
        pytest.skip(f"base images cannot be pulled here: {build.stderr.strip()[-300:]}")
    assert build.returncode == 0, build.stderr
    try:
        user = subprocess.run(
            [docker, "run", "--rm", tag, "id", "-u"], capture_output=True, text=True, timeout=120
        )
        assert user.stdout.strip() == "10001", user
        imports = subprocess.run(
            [docker, "run", "--rm", tag, "python", "-c", "import demo.main"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert imports.returncode == 0, imports.stderr
    finally:
        subprocess.run([docker, "rmi", "-f", tag], capture_output=True, check=False)


def test_registry_knows_both_components() -> None:
    components = load_registry(autoload=False).components
    assert {"docker", "ci"} <= set(components)
