"""A CORE project lives in git: a team's ordinary edits, each committed, then uts changes it.

Every step merges without a conflict, every line the team wrote is still there, and
the project passes its own tests, ruff and mypy afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.e2e.conftest import clean_env, make_venv, run

pytestmark = pytest.mark.e2e

PACKAGE = "myshop"

STEPS: list[tuple[str, ...]] = [
    ("add", "monitoring"),
    ("add", "celery"),
    ("remove", "monitoring"),
    ("update",),
]
"""What uts does to the edited project, in order, each step committed like the edits.

Before ``update``, version 2 of the team's third-party ``runbook`` component replaces
version 1 (a distribution on ``PYTHONPATH``, swapped as an installer would).
"""

RUNBOOK = """from uts.plugin import Component, impl

VERSION = {version!r}
RESTART = {restart!r}
BODY = {body!r}


@impl
def uts_component():
    return Component(name="runbook", version=VERSION, summary="The on-call runbook.")


@impl
def uts_contribute(ctx, out):
    out.file(
        "docs/runbook.md",
        f"# Runbook\\n\\n## Restart\\n\\n{{RESTART}}\\n\\n## Escalation\\n\\nPage the owners.\\n",
    )
    out.fragment("readme", {{"title": "Runbook", "body": BODY}})
"""
RELEASES = {
    "1.0.0": RUNBOOK.format(
        version="1.0.0",
        restart="Restart the app with `uvicorn`.",
        body="What to do when the shop is down: `docs/runbook.md`.",
    ),
    "2.0.0": RUNBOOK.format(
        version="2.0.0",
        restart="Restart the app with `uvicorn`; migrations run first (`alembic upgrade head`).",
        body="What to do when the shop is down, step by step: `docs/runbook.md`.",
    ),
}


def install_runbook(site: Path, version: str) -> None:
    """Install *version* of the runbook plugin into *site*, replacing any other."""
    for old in site.glob("*"):
        if old.is_dir():
            for item in old.iterdir():
                item.unlink()
            old.rmdir()
        else:
            old.unlink()
    module = f"uts_runbook_{version.replace('.', '_')}"
    (site / f"{module}.py").write_text(RELEASES[version], encoding="utf-8")
    info = site / f"uts_runbook-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: uts-runbook\nVersion: {version}\n"
    )
    (info / "entry_points.txt").write_text(f"[uts.components]\nrunbook = {module}\n")


def git(root: Path, *args: str) -> str:
    return run(
        ["git", "-c", "user.name=Team", "-c", "user.email=team@example.com", *args], cwd=root
    ).stdout


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} is not once in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def main_py(root: Path) -> Path:
    return root / PACKAGE / "main.py"


REPORTS = f'''"""Reports the shop team asked for."""

from fastapi import APIRouter

from {PACKAGE}.core.config import get_settings

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/summary")
def summary() -> dict[str, str]:
    """Where payments go, for the ops dashboard."""
    return {{"payment_url": get_settings().payment_url}}
'''


def append_env(root: Path) -> None:
    append(root / ".env.example", "\n# Our payment gateway.\nPAYMENT_URL=https://pay.example.com\n")


def append_gitignore(root: Path) -> None:
    append(root / ".gitignore", "\n# Editors\n.idea/\n.vscode/\n")


def add_middleware(root: Path) -> None:
    # Right after uts's last setup line: where monitoring's setup lines go too.
    edit(
        main_py(root),
        "from fastapi import FastAPI\n",
        "from fastapi import FastAPI\nfrom fastapi.middleware.gzip import GZipMiddleware\n",
    )
    edit(
        main_py(root),
        "logger.setup_logging(app)\n",
        "logger.setup_logging(app)\napp.add_middleware(GZipMiddleware, minimum_size=1000)\n",
    )


def add_module(root: Path) -> None:
    (root / PACKAGE / "reports.py").write_text(REPORTS, encoding="utf-8")


def add_setting(root: Path) -> None:
    edit(
        root / PACKAGE / "core/config/settings.py",
        '    """Password of that admin (8 characters or more)."""\n',
        '    """Password of that admin (8 characters or more)."""\n\n'
        '    payment_url: str = "https://pay.example.com"\n'
        '    """Where the payment gateway listens."""\n',
    )


def include_router(root: Path) -> None:
    # ruff's isort folds "from myshop import reports" into the line uts writes its
    # imports on; the include goes next to uts's router line, where monitoring adds one.
    edit(
        main_py(root),
        f"from {PACKAGE} import __version__, health\n",
        f"from {PACKAGE} import __version__, health, reports\n",
    )
    edit(
        main_py(root),
        "app.include_router(router.api_router)\n",
        "app.include_router(router.api_router)\napp.include_router(reports.router)\n",
    )


def note_on_call(root: Path) -> None:
    append(root / "docs/runbook.md", "\n## On call\n\nThe shop team, weekdays 8-18.\n")


def edit_readme(root: Path) -> None:
    readme = root / "README.md"
    edit(readme, "run it at every deployment.", "run it at every deployment (ops runs it).")
    # A row at the end of the settings table, where components add theirs.
    row = "| `FIRST_SUPERUSER_PASSWORD` |  | Password of that admin (8 characters or more). |\n"
    edit(
        readme,
        row,
        row
        + "| `PAYMENT_URL` | `https://pay.example.com` | Where the payment gateway listens. |\n",
    )
    # At the end of the last section a component wrote: where new sections go.
    edit(
        readme,
        "\n\n## Layout\n",
        "\n\nThe nightly job runs `scripts/init_db.py` too; see the ops runbook.\n\n## Layout\n",
    )


def bump_dependency(root: Path) -> None:
    edit(root / "pyproject.toml", '"pyjwt>=2.15",', '"pyjwt>=2.15.1",')


def reformat_pyproject(root: Path) -> None:
    """Aligned keys, other quotes, two tables swapped: formatting uts must keep."""
    pyproject = root / "pyproject.toml"
    edit(
        pyproject,
        '[project]\nname = "myshop"\nversion = "0.1.0"\n',
        '[project]\nname            = "myshop"\nversion         = "0.1.0"\n',
    )
    edit(pyproject, 'requires-python = ">=3.11"\n', "requires-python = '>=3.11'\n")
    edit(pyproject, '    "alembic>=1.20",\n', "    'alembic>=1.20',\n")
    edit(pyproject, '    "uvicorn[standard]>=0.54",\n', "    'uvicorn[standard]>=0.54',  # ASGI\n")
    text = pyproject.read_text(encoding="utf-8")
    start = text.index("[tool.pytest.ini_options]\n")
    end = text.index("[tool.mypy]\n")
    if not text.endswith("\n\n"):  # [tool.mypy] is the last table: give it its blank line
        text += "\n"
    mypy_end = text.index("\n\n", end) + 2
    text = text[:start] + text[end:mypy_end] + text[start:end] + text[mypy_end:]
    pyproject.write_text(text.rstrip("\n") + "\n", encoding="utf-8")


def edit_test(root: Path) -> None:
    append(
        root / "tests/test_health.py",
        "\n\ndef test_reports_summary_names_the_gateway(client: TestClient) -> None:\n"
        '    response = client.get("/reports/summary")\n\n'
        "    assert response.status_code == 200\n"
        '    assert response.json() == {"payment_url": "https://pay.example.com"}\n',
    )


def rename_docstring(root: Path) -> None:
    edit(
        main_py(root),
        f'"""The {PACKAGE} web application."""',
        f'"""The {PACKAGE} web application: the shop\'s HTTP API."""',
    )


class TeamEdit(NamedTuple):
    message: str
    apply: Callable[[Path], None]
    gone: tuple[tuple[str, str], ...] = ()
    """(path, text) the edit replaced, which must not come back."""


EDITS = [
    TeamEdit("Runbook: who is on call", note_on_call),
    TeamEdit("Document the payment gateway in .env.example", append_env),
    TeamEdit("Ignore editor files", append_gitignore),
    TeamEdit("Compress responses", add_middleware),
    TeamEdit("Reports module", add_module),
    TeamEdit("Payment gateway setting", add_setting),
    TeamEdit("Serve the reports", include_router),
    TeamEdit(
        "README: who runs init_db",
        edit_readme,
        (("README.md", "run it at every deployment. "),),
    ),
    TeamEdit("Require PyJWT 2.15.1", bump_dependency, (("pyproject.toml", '"pyjwt>=2.15"'),)),
    TeamEdit("Reformat pyproject.toml", reformat_pyproject),
    TeamEdit("Test the reports summary", edit_test),
    TeamEdit(
        "Say what the app is",
        rename_docstring,
        ((f"{PACKAGE}/main.py", f'"""The {PACKAGE} web application."""'),),
    ),
]


class Step(NamedTuple):
    args: tuple[str, ...]
    dry: subprocess.CompletedProcess[str]
    """The same command with ``--dry-run`` first."""
    untouched: bool
    """Whether the dry run left the working tree as committed."""
    result: subprocess.CompletedProcess[str]


class History(NamedTuple):
    root: Path
    commits: list[str]
    """The commit of each team edit, in order."""
    steps: list[Step]
    env: dict[str, str]
    """The environment uts runs in (the runbook plugin on its path)."""


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    root = tmp_path_factory.mktemp("team") / PACKAGE
    site = tmp_path_factory.mktemp("site")
    install_runbook(site, "1.0.0")
    env = {**os.environ, "PYTHONPATH": str(site)}
    uts = [sys.executable, "-m", "uts"]
    new = ["new", PACKAGE, "--recipe", "core", "--with", "runbook", "--dir", root, "--no-input"]
    run([*uts, *new], env=env)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Generated by uts")
    commits = []
    for team_edit in EDITS:
        team_edit.apply(root)
        git(root, "add", "-A")
        git(root, "commit", "-qm", team_edit.message)
        commits.append(git(root, "rev-parse", "HEAD").strip())
    steps = []
    for args in STEPS:
        if args == ("update",):
            install_runbook(site, "2.0.0")
        dry = run([*uts, *args, "--dry-run"], cwd=root, env=env, check=False)
        untouched = git(root, "status", "--porcelain") == ""
        result = run([*uts, *args], cwd=root, env=env, check=False)
        steps.append(Step(args, dry, untouched, result))
        if result.returncode != 0:
            break
        git(root, "add", "-A")
        git(root, "commit", "-qm", f"uts {' '.join(args)}")
    return History(root, commits, steps, env)


def test_every_step_runs_without_a_conflict(history: History) -> None:
    for step in history.steps:
        output = step.result.stdout + step.result.stderr
        assert step.result.returncode == 0, f"uts {' '.join(step.args)}:\n{output}"
        assert "conflict" not in output, output
    assert len(history.steps) == len(STEPS)
    markers = run(
        ["git", "grep", "-n", "-e", "^<<<<<<< ", "-e", "^>>>>>>> "], cwd=history.root, check=False
    )
    assert markers.stdout == ""


def test_dry_runs_show_the_change_without_uts_state_and_write_nothing(history: History) -> None:
    for step in history.steps:
        output = step.dry.stdout + step.dry.stderr
        assert step.dry.returncode == 0, output
        assert step.untouched, f"uts {' '.join(step.args)} --dry-run wrote files"
        assert "conflict" not in output
        lines = step.dry.stdout.splitlines()
        assert not [line for line in lines if line.startswith(("--- a/.uts/", "+++ b/.uts/"))]
        if any(line.startswith("+++ ") for line in lines):  # a change: its state in one line
            assert len([line for line in lines if line.startswith("state: .uts/")]) == 1
        assert "nothing was written" in lines[-1]


def test_every_line_the_team_wrote_is_still_there(history: History) -> None:
    for commit, team_edit in zip(history.commits, EDITS, strict=True):
        added = git(history.root, "diff", "--unified=0", f"{commit}^", commit)
        path = None
        for line in added.splitlines():
            if line.startswith("+++ "):
                path = line[6:]
            elif line.startswith("+") and path is not None:
                final = (history.root / path).read_text(encoding="utf-8").splitlines()
                assert line[1:] in final, f"{team_edit.message}: {line[1:]!r} lost from {path}"
        for path, text in team_edit.gone:
            assert text not in (history.root / path).read_text(encoding="utf-8"), team_edit.message


def test_the_components_are_as_asked(history: History) -> None:
    root = history.root
    assert not (root / PACKAGE / "metrics.py").exists()
    assert (root / PACKAGE / "workers/celery_app.py").is_file()
    main = main_py(root).read_text(encoding="utf-8")
    assert "metrics" not in main and "tracing" not in main
    assert "OTEL_" not in (root / ".env.example").read_text(encoding="utf-8")
    assert "CELERY_BROKER_URL=" in (root / ".env.example").read_text(encoding="utf-8")
    assert "celerybeat-schedule*" in (root / ".gitignore").read_text(encoding="utf-8")
    status = run([sys.executable, "-m", "uts", "status"], cwd=root, env=history.env).stdout
    assert "celery" in status and "monitoring" not in status
    assert "runbook 2.0.0" in status and "installed:" not in status
    runbook = (root / "docs/runbook.md").read_text(encoding="utf-8")
    assert "migrations run first" in runbook  # version 2's change ...
    assert "The shop team, weekdays 8-18." in runbook  # ... around the team's lines
    assert "step by step: `docs/runbook.md`" in (root / "README.md").read_text(encoding="utf-8")
    update = history.steps[-1].result
    assert "runbook 1.0.0 → 2.0.0" in update.stdout


def test_the_project_passes_its_tests_lint_and_types(
    history: History, tmp_path_factory: pytest.TempPathFactory
) -> None:
    root = history.root
    venv = make_venv(tmp_path_factory.mktemp("venv") / ".venv", "-e", f"{root}[dev]")
    env = clean_env(venv, PYTHONDONTWRITEBYTECODE="1")
    proc = run([venv / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=root, env=env)
    assert "skipped" not in proc.stdout.splitlines()[-1]
    run([venv / "ruff", "check", "--no-cache", "."], cwd=root, env=env)
    run([venv / "ruff", "format", "--no-cache", "--check", "."], cwd=root, env=env)
    run([venv / "mypy", "--cache-dir", os.devnull], cwd=root, env=env)
