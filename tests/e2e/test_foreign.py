"""The six hand-written foreign projects are real: each installs in a fresh environment and
passes its own tests, before and after uts's reversible edits wire code into its app and add
a dependency in its own format; undoing the edits gives back every byte."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.conftest import snapshot
from tests.e2e.conftest import clean_env, generated_pytest, make_venv, run, uv
from uts.adopt import detect
from uts.cst import add_imports, insert_wiring, remove_imports, remove_wiring
from uts.packaging import add_requirement, remove_requirement

pytestmark = pytest.mark.e2e

FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign"

# Stands in for the module a component puts next to the app: it wires a route in.
WIRING_MODULE = '''\
"""Written by uts's tests in place of a component's module."""

from fastapi import FastAPI


def instrument(app: FastAPI) -> None:
    @app.get("/uts-wired")
    def wired() -> dict[str, bool]:
        return {"wired": True}
'''


class Foreign(NamedTuple):
    install: tuple[str, ...]  # uv pip install arguments, run in the project
    tests: int  # how many tests its own suite has


def _poetry_dev(project: Path) -> tuple[str, ...]:
    """Poetry's dev group, by name: uv installs the project, not Poetry's groups."""
    data = tomllib.loads((project / "pyproject.toml").read_text())
    return tuple(data["tool"]["poetry"]["group"]["dev"]["dependencies"])


PROJECTS = {
    "single_file": Foreign(("-r", "requirements-dev.txt"), 2),
    "src_hatch": Foreign(("-e", ".[test]"), 2),
    "poetry_factory": Foreign(("-e", "."), 2),
    "uv_lifespan": Foreign(("-e", ".", "--group", "dev"), 1),
    "has_health": Foreign(("-r", "requirements.txt", "-r", "requirements-test.txt"), 3),
    "routers_pkg": Foreign(("-e", ".[dev]"), 4),
}


def _install(venv: Path, project: Path, name: str) -> None:
    extra = _poetry_dev(project) if name == "poetry_factory" else ()
    uv(
        "pip",
        "install",
        "--quiet",
        "--python",
        str(venv / "python"),
        *PROJECTS[name].install,
        *extra,
        cwd=project,
    )


def _source_files(root: Path) -> dict[str, bytes]:
    """The project's files, without what installing and testing it leaves behind."""
    junk = ("__pycache__", ".pytest_cache")
    return {
        path: data
        for path, data in snapshot(root).items()
        if not any(part in junk or part.endswith(".egg-info") for part in path.split("/"))
    }


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_foreign_project_runs_before_and_after_reversible_wiring(name: str, tmp_path: Path) -> None:
    project = Path(shutil.copytree(FOREIGN / name, tmp_path / name))
    venv = make_venv(tmp_path / ".venv")
    _install(venv, project, name)
    expected = PROJECTS[name].tests
    generated_pytest(venv, project, min_passed=expected)

    adoption = detect(project)
    site = adoption.insertion
    assert site is not None
    relative = adoption.layout.kind != "module"
    target = project / site.file
    module_dir = (project / adoption.app.file).parent
    (module_dir / "uts_monitoring.py").write_text(WIRING_MODULE)
    imports = [
        "from .uts_monitoring import instrument"
        if relative
        else "from uts_monitoring import instrument"
    ]
    code = [f"instrument({site.variable})"]
    source = target.read_text()
    wired = insert_wiring(
        add_imports(source, site.file, imports), site.file, site.variable, site.function, code
    )
    target.write_text(wired)
    dependency = project / adoption.packaging.dependency_file
    declared = dependency.read_text()
    requirement = "prometheus-client>=0.20"
    with_dependency = add_requirement(adoption.packaging.kind, declared, requirement)
    dependency.write_text(with_dependency)

    # The edited dependency file still installs (a build backend reads it), and has the new one.
    _install(venv, project, name)
    run([venv / "python", "-c", "import prometheus_client"], env=clean_env(venv))
    generated_pytest(venv, project, min_passed=expected)
    app = adoption.app
    call = "()" if app.factory == app.attr else ""
    check = (
        "from fastapi.testclient import TestClient\n"
        f"from {app.module} import {app.attr} as app\n"
        f"assert TestClient(app{call}).get('/uts-wired').json() == {{'wired': True}}\n"
    )
    run([venv / "python", "-c", check], cwd=project, env=clean_env(venv))

    (module_dir / "uts_monitoring.py").unlink()
    target.write_text(
        remove_imports(
            remove_wiring(wired, site.file, site.variable, site.function, code), site.file, imports
        )
    )
    if with_dependency != declared:
        dependency.write_text(
            remove_requirement(adoption.packaging.kind, with_dependency, requirement)
        )
    assert _source_files(project) == _source_files(FOREIGN / name)
