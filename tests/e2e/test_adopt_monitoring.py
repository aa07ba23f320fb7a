"""``uts adopt`` then ``uts add monitoring`` on the six hand-written foreign projects, for real.

Each project is a git repository as a team has it. After adopt and add it installs the way
its packaging says in a fresh environment (one per project, shared by its tests), its own
tests and those monitoring added pass, ruff finds nothing new in the files uts touched,
uvicorn serves ``/metrics`` labelled per route template and ``/health/ready``; ``uts remove
monitoring`` then gives back every byte of the tree.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import snapshot
from tests.e2e.conftest import (
    clean_env,
    generated_pytest,
    make_venv,
    request,
    run,
    serving,
    uv,
)
from tests.e2e.test_foreign import FOREIGN, PROJECTS, _install

pytestmark = pytest.mark.e2e

# A request to a route of the app's own, and the route template its metrics must carry.
ROUTES = {
    "single_file": ("/todos/7", "/todos/{todo_id}", "404"),
    "src_hatch": ("/stock/bolt", "/stock/{sku}", "200"),
    "poetry_factory": ("/api/orders/count", "/api/orders/count", "200"),
    "uv_lifespan": ("/notes", "/notes", "200"),
    "has_health": ("/invoices/4", "/invoices/{number}", "200"),
    "routers_pkg": ("/items/2", "/items/{item_id}", "200"),
}
_NOT_SOURCE = (".git", ".uts", "__pycache__", ".pytest_cache", ".ruff_cache")


def uts(*args: str | Path) -> None:
    from uts.__main__ import main

    code = main([str(arg) for arg in args])
    assert code == 0, f"uts {' '.join(map(str, args))} exited {code}"


def tree(root: Path) -> dict[str, bytes]:
    """The project's files, without git's, uts's and what installing and testing leave."""
    return {
        path: data
        for path, data in snapshot(root).items()
        if not path.endswith("/")
        and not any(p in _NOT_SOURCE or p.endswith(".egg-info") for p in path.split("/"))
    }


def git_project(name: str, target: Path) -> Path:
    """The foreign project *name* copied to *target*, committed to a new git repository."""
    project = Path(shutil.copytree(FOREIGN / name, target))
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "as the team has it"]):
        subprocess.run(["git", *command], cwd=project, env=env, check=True)
    return project


def ruff_findings(project: Path, files: list[str]) -> Counter[tuple[str, str, str]]:
    """ruff's findings in *files*, with the project's own configuration, by file and rule."""
    check = [sys.executable, "-m", "ruff", "check", "--no-cache", "--exit-zero"]
    proc = run([*check, "--output-format", "json", *files], cwd=project)
    found = json.loads(proc.stdout or "[]")
    return Counter(
        (Path(item["filename"]).relative_to(project).as_posix(), item["code"], item["message"])
        for item in found
    )


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Path]]:
    """One fresh environment per foreign project, made when a test first needs it."""
    made: dict[str, Path] = {}

    def venv(name: str) -> Path:
        if name not in made:
            made[name] = make_venv(tmp_path_factory.mktemp("venvs") / name)
        return made[name]

    yield venv


def install(venv: Path, project: Path, name: str) -> None:
    """Install *project* the way its packaging says, plus uvicorn to serve it."""
    _install(venv, project, name)
    if not (venv / "uvicorn").exists():  # routers_pkg declares no server of its own
        uv("pip", "install", "--quiet", "--python", str(venv / "python"), "uvicorn")


def own_tests(venv: Path, project: Path, paths: list[str]) -> int:
    """How many tests pytest collects from *paths* (the test modules monitoring added)."""
    proc = run(
        [venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co", *paths],
        cwd=project,
        env=clean_env(venv),
    )
    found = re.search(r"(\d+) tests? collected", proc.stdout)
    assert found, proc.stdout
    return int(found.group(1))


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_adopt_add_monitoring_run_and_remove(
    name: str, tmp_path: Path, venvs: Callable[[str], Path]
) -> None:
    project = git_project(name, tmp_path / name)
    original = tree(project)
    before = ruff_findings(project, sorted(p for p in original if p.endswith(".py")))

    uts("adopt", "-C", project)
    assert tree(project) == original
    uts("add", "monitoring", "-C", project)
    changed = sorted(p for p, data in tree(project).items() if original.get(p) != data)
    from uts.state import load_project

    host_files = set(load_project(project).files)
    assert set(changed) <= host_files | {
        p for p, e in load_project(project).files.items() if e["owner"] == "monitoring"
    }

    venv = venvs(name)
    install(venv, project, name)
    added_tests = [p for p in changed if Path(p).name.startswith("test_")]
    assert len(added_tests) == 2, changed
    expected = PROJECTS[name].tests + own_tests(venv, project, added_tests)
    proc = generated_pytest(venv, project, min_passed=expected)
    assert f"{expected} passed" in proc.stdout.splitlines()[-1]

    python = [p for p in changed if p.endswith(".py")]
    after = ruff_findings(project, python)
    new = after - Counter({k: v for k, v in before.items() if k[0] in python})
    assert not new, f"ruff finds new problems in the files uts touched: {sorted(new)}"

    path, route, status = ROUTES[name]
    host = load_host(project)
    with serving(venv, project, host.app) as server:
        assert request(f"{server.base}/health/ready")[0] == 200
        assert request(f"{server.base}{path}")[0] == int(status)
        code, text, headers = request(f"{server.base}/metrics", raw=True)
    content_type = {key.lower(): value for key, value in headers.items()}["content-type"]
    assert code == 200 and content_type.startswith("text/plain")
    assert f'http_requests_total{{method="GET",route="{route}",status="{status}"}} 1.0' in text
    assert 'route="/health/ready"' in text
    if route != path:
        assert f'route="{path}"' not in text

    uts("remove", "monitoring", "-C", project)
    assert tree(project) == original


def load_host(project: Path):  # type: ignore[no-untyped-def]
    from uts.adopted import host_from_record
    from uts.state import load_project

    return host_from_record(load_project(project).tool["adopt"])


def test_the_users_edits_between_adopt_add_and_remove_are_merged(
    tmp_path: Path, venvs: Callable[[str], Path]
) -> None:
    name = "poetry_factory"
    project = git_project(name, tmp_path / name)
    original = tree(project)
    uts("adopt", "-C", project)
    main = project / "orders" / "main.py"
    # Between adopt and add: the team adds a health-independent route of its own.
    mine = main.read_text().replace(
        "    # everything is wired",
        "    @application.get('/version')\n"
        "    def version() -> dict:\n"
        "        return {'version': '0.9.0'}\n\n"
        "    # everything is wired",
    )
    main.write_text(mine)
    uts("add", "monitoring", "-C", project)
    wired = main.read_text()
    assert "    metrics.install(application)\n" in wired and "'/version'" in wired
    venv = venvs(name)
    install(venv, project, name)
    generated_pytest(venv, project, min_passed=PROJECTS[name].tests + 1)
    with serving(venv, project, "orders.main:app") as server:
        assert request(f"{server.base}/version")[1] == {"version": "0.9.0"}
        text = request(f"{server.base}/metrics", raw=True)[1]
    assert 'route="/version"' in text

    # Between add and remove: the title changes.
    main.write_text(wired.replace('title="Orders"', 'title="Orders API"'))
    uts("remove", "monitoring", "-C", project)
    expected = dict(original)
    expected["orders/main.py"] = mine.replace('title="Orders"', 'title="Orders API"').encode()
    assert tree(project) == expected
    generated_pytest(venv, project, min_passed=PROJECTS[name].tests)
