"""docker, ci and kubernetes on the six foreign projects (tests/fixtures/foreign), adopted.

For each project: ``uts adopt``, then ``add docker`` (refused, naming the file, where the
project has its own Dockerfile), ``add ci``, ``add kubernetes``; every file is checked
with the offline validators the generated projects pass (hadolint, the compose-spec and
github-workflows schemas, yamllint, strict Kubernetes schemas) and against what the
project is (its packaging, sources, app and tests); then each component is removed and
the tree is byte-identical to the adopted one. No Docker daemon here: the image is
checked by doing what its build and runtime stages say, in a fresh virtual environment
(install as the build stage does, copy what the runtime stage copies, set its
PYTHONPATH, run its CMD) and asking ``/health/live`` as its HEALTHCHECK does.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import Result, snapshot
from tests.e2e.conftest import clean_env, free_port, make_venv, request
from tests.e2e.test_docker import instructions
from tests.e2e.test_kubernetes import validate as validate_manifest
from tests.e2e.validators import hadolint, jsonschema, report, yamllint

pytestmark = pytest.mark.e2e

Uts = Callable[..., Result]
FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"

# What each project is, as its own files say (not read back from uts's record).
PROJECTS: dict[str, dict[str, Any]] = {
    "single_file": {
        "app": "main:app",
        "install": "uv pip install -r requirements.txt -r requirements-dev.txt",
        "deps": "requirements.txt",
        "sources": ["*.py"],
        "pythonpath": "/app",
        "ruff": False,
    },
    "src_hatch": {"dockerfile": True, "install": 'uv pip install -e ".[test]"', "ruff": False},
    "poetry_factory": {
        "app": "orders.main:app",
        "install": "poetry install --with dev",
        "deps": ".",
        "sources": ["orders"],
        "pythonpath": "/app",
        "ruff": False,
    },
    "uv_lifespan": {
        "app": "notes.main:app",
        "install": "uv pip install -e . --group dev",
        "deps": "pyproject.toml",
        "sources": ["notes"],
        "pythonpath": "/app",
        "ruff": "ruff check",  # ruff is one of its development dependencies
    },
    "has_health": {
        "dockerfile": True,
        "install": "uv pip install -r requirements.txt -r requirements-test.txt",
        "ruff": "uvx ruff check",  # configured in pyproject.toml, not a dependency
    },
    "routers_pkg": {
        "app": "shop.main:app",
        "install": 'uv pip install -e ".[dev]"',
        "deps": "pyproject.toml",
        "sources": ["shop"],
        "pythonpath": "/app",
        "ruff": False,
    },
}
APPS = {
    "src_hatch": "inventory.main:app",
    "has_health": "billing.main:app",
    **{name: data["app"] for name, data in PROJECTS.items() if "app" in data},
}


def adopt(uts: Uts, name: str, tmp_path: Path) -> Path:
    root = Path(shutil.copytree(FOREIGN / name, tmp_path / name))
    result = uts("adopt", "--project", root)
    assert result.code == 0, result.err
    return root


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def check_docker(root: Path, name: str) -> None:
    expected = PROJECTS[name]
    proc = hadolint(root / "Dockerfile")
    assert proc.returncode == 0, report(proc)
    proc = jsonschema("compose-spec", root / "compose.yaml")
    assert proc.returncode == 0, report(proc)
    proc = yamllint(root / "compose.yaml")
    assert proc.returncode == 0 and proc.stdout == "", report(proc)
    steps = instructions((root / "Dockerfile").read_text())
    runtime = steps[[word for word, _ in steps].index("FROM", 2) :]
    copies = [args.split()[0] for word, args in runtime if word == "COPY" and "--from" not in args]
    assert copies == expected["sources"]
    assert ("ENV", f"PYTHONPATH={expected['pythonpath']}") in runtime
    cmd = json.loads(next(args for word, args in steps if word == "CMD"))
    assert cmd[:2] == ["uvicorn", expected["app"]]
    runs = " ".join(args for word, args in steps if word == "RUN")
    deps = expected["deps"]
    # The server the image runs comes with the dependencies, declared by the project or not.
    assert (f"uv pip install -r {deps} uvicorn" if deps != "." else "uv pip install . uvicorn") in (
        runs
    )
    app = load(root / "compose.yaml")["services"]["app"]
    assert app["build"] == "." and "/health/live" in app["healthcheck"]["test"][3]


def check_ci(root: Path, name: str) -> None:
    workflow = root / ".github/workflows/ci.yml"
    proc = jsonschema("github-workflows", workflow)
    assert proc.returncode == 0, report(proc)
    proc = yamllint(workflow)
    assert proc.returncode == 0 and proc.stdout == "", report(proc)
    steps = load(workflow)["jobs"]["test"]["steps"]
    named = {step.get("name"): step.get("run", "") for step in steps}
    assert PROJECTS[name]["install"] in named["Install"]
    assert named["Tests"] == "pytest"
    assert "Type-check" not in named  # none of them configures mypy
    ruff = PROJECTS[name]["ruff"]
    if ruff:
        assert named["Lint"].startswith(ruff), named
    else:
        assert "Lint" not in named and "ruff" not in workflow.read_text()


def check_kubernetes(root: Path, name: str) -> None:
    k8s = root / "deploy/k8s"
    for path in sorted(k8s.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") != "Kustomization":
                validate_manifest(doc)
    [container] = load(k8s / "deployment.yaml")["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["uvicorn", APPS[name]]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live"


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_add_docker_ci_kubernetes_then_remove_each_gives_back_the_bytes(
    name: str, uts: Uts, tmp_path: Path
) -> None:
    root = adopt(uts, name, tmp_path)
    adopted = snapshot(root)

    added = []
    if PROJECTS[name].get("dockerfile"):
        result = uts("add", "docker", "--project", root)
        assert result.code != 0 and "Dockerfile" in result.err, result.err
        assert "Traceback" not in result.err
        assert snapshot(root) == adopted  # refused before anything was written
    else:
        result = uts("add", "docker", "--project", root)
        assert result.code == 0, result.err
        check_docker(root, name)
        added.append("docker")
    for component, check in (("ci", check_ci), ("kubernetes", check_kubernetes)):
        result = uts("add", component, "--project", root)
        assert result.code == 0, result.err
        check(root, name)
        added.append(component)

    for component in added:
        result = uts("remove", component, "--project", root)
        assert result.code == 0, result.err
    assert snapshot(root) == adopted


# The image, without a Docker daemon: its stages done by hand -----------------------------


def stages(dockerfile: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    steps = instructions(dockerfile)
    froms = [i for i, (word, _) in enumerate(steps) if word == "FROM"]
    return steps[froms[1] : froms[2]], steps[froms[2] :]


def run_image_by_hand(root: Path, tmp_path: Path) -> None:
    """Do what the Dockerfile's build and runtime stages say, then run its CMD and ask
    ``/health/live`` as its HEALTHCHECK does."""
    build, runtime = stages((root / "Dockerfile").read_text())
    # The build stage: copy what it copies, install what it installs.
    context = tmp_path / "build"
    context.mkdir(parents=True)
    install = []
    for word, args in build:
        if word == "COPY" and "--from" not in args:
            source, target = args.split()
            for path in root.glob(source):
                destination = context / (target if target != "./" else path.name)
                copier = shutil.copytree if path.is_dir() else shutil.copy2
                copier(path, destination)
        if word == "RUN" and "uv pip install" in args:
            install = args.split("uv pip install", 1)[1].split()
    assert install, build
    venv = make_venv(tmp_path / "venv", *install, cwd=context)
    # The runtime stage: only the environment and what it copies from the project.
    image = tmp_path / "app"
    image.mkdir()
    env = dict(args.split("=", 1) for word, args in runtime if word == "ENV")
    for word, args in runtime:
        if word == "COPY" and "--from" not in args:
            source, target = args.split()
            for path in root.glob(source):
                destination = image / (target.removeprefix("./") or path.name)
                copier = shutil.copytree if path.is_dir() else shutil.copy2
                copier(path, destination)
    cmd = json.loads(next(args for word, args in runtime if word == "CMD"))
    assert cmd[0] == "uvicorn" and re.fullmatch(r"[\w.]+:\w+", cmd[1]), cmd
    port = str(free_port())
    args = [port if arg == "8000" else "127.0.0.1" if arg == "0.0.0.0" else arg for arg in cmd]
    pythonpath = env["PYTHONPATH"].replace("/app", str(image), 1)
    process = subprocess.Popen(
        [str(venv / args[0]), *args[1:]],
        cwd=image,
        env=clean_env(venv, PYTHONPATH=pythonpath),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        started = time.monotonic()
        while True:
            try:
                status, body, _ = request(f"http://127.0.0.1:{port}/health/live")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() - started > 30 or process.poll() is not None:
                    process.kill()
                    pytest.fail(f"uvicorn did not start in 30 s:\n{process.communicate()[0]}")
                time.sleep(0.1)
        assert status == 200, body
    finally:
        process.terminate()
        process.communicate(timeout=30)


@pytest.mark.parametrize("name", ["single_file", "poetry_factory", "uv_lifespan", "routers_pkg"])
def test_the_image_stages_done_by_hand_serve_the_health_check(
    name: str, uts: Uts, tmp_path: Path
) -> None:
    root = adopt(uts, name, tmp_path)
    assert uts("add", "docker", "--project", root).code == 0
    run_image_by_hand(root, tmp_path)


FACTORY = {
    "requirements.txt": "fastapi>=0.110\n",
    "svc/__init__.py": "",
    "svc/main.py": """\
from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app
""",
}


def test_an_app_made_by_a_factory_runs_with_factory_everywhere(uts: Uts, tmp_path: Path) -> None:
    """No foreign fixture has a factory-only app: uvicorn --factory in the image, the
    Deployment and CI's import check (the project has no tests)."""
    root = tmp_path / "svc"
    for rel, text in FACTORY.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    assert uts("adopt", "--project", root).code == 0
    adopted = snapshot(root)
    for component in ("docker", "ci", "kubernetes"):
        result = uts("add", component, "--project", root)
        assert result.code == 0, result.err
    proc = hadolint(root / "Dockerfile")
    assert proc.returncode == 0, report(proc)
    cmd = json.loads(
        next(a for w, a in instructions((root / "Dockerfile").read_text()) if w == "CMD")
    )
    assert cmd[:3] == ["uvicorn", "svc.main:create_app", "--factory"]
    [container] = load(root / "deploy/k8s/deployment.yaml")["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["command"][:3] == ["uvicorn", "svc.main:create_app", "--factory"]
    workflow = root / ".github/workflows/ci.yml"
    assert jsonschema("github-workflows", workflow).returncode == 0
    steps = {s.get("name"): s.get("run") for s in load(workflow)["jobs"]["test"]["steps"]}
    assert steps["The app imports"] == 'python -c "import svc.main"' and "Tests" not in steps
    run_image_by_hand(root, tmp_path / "image")
    for component in ("kubernetes", "ci", "docker"):
        assert uts("remove", component, "--project", root).code == 0
    assert snapshot(root) == adopted
