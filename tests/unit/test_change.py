"""Changing existing projects: uts add / uts remove keep the user's work and are all or nothing."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, fail_nth_call, snapshot

Uts = Callable[..., Result]


@pytest.fixture
def project(uts: Uts, tmp_path: Path) -> Path:
    """An MVP project without the crud component, ready to have it added (and without
    errors and testing: project, fastapi and database only)."""
    root = tmp_path / "demo"
    without = ["--without", "crud", "--without", "errors", "--without", "testing"]
    result = uts("new", "demo", *without, "--dir", root)
    assert result.code == 0, result.err
    return root


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def user_edits(root: Path) -> None:
    """Edits a team makes over months, none of them on lines crud touches."""
    edit(
        root / "demo/main.py",
        '"""The demo web application."""',
        '"""Our demo service (hand-tuned)."""',
    )
    main = root / "demo/main.py"
    main.write_text(
        main.read_text() + '\n\n@app.get("/ping")\ndef ping() -> str:\n    return "pong"\n'
    )
    edit(
        root / "pyproject.toml",
        "dependencies = [\n",
        "dependencies = [\n    'orjson >= 3.10' ,   # ours, single-quoted on purpose\n",
    )
    pyproject = root / "pyproject.toml"
    pyproject.write_text("# Team notes: keep this header.\n" + pyproject.read_text())
    (root / "README.md").write_text(
        (root / "README.md").read_text() + "\n## Our runbook\n\nCall Bob.\n"
    )
    (root / "demo/extra.py").write_text('"""Our own module."""\n')


def test_add_then_remove_on_an_untouched_project_gives_back_the_same_bytes(
    uts: Uts, project: Path
) -> None:
    before = snapshot(project)
    result = uts("add", "crud", "--project", project)
    assert result.code == 0, result.err
    assert (project / "demo/api.py").is_file()
    assert "api.router" in (project / "demo/main.py").read_text()
    assert uts("status", "--project", project).out.endswith(
        "no changes: every file is as uts wrote it\n"
    )
    result = uts("remove", "crud", "--project", project)
    assert result.code == 0, result.err
    assert snapshot(project) == before


def test_adding_twice_changes_nothing_the_second_time(uts: Uts, project: Path) -> None:
    assert uts("add", "crud", "--project", project).code == 0
    after_first = snapshot(project)
    result = uts("add", "crud", "--project", project)
    assert result.code == 0
    assert "already part of this project" in result.err
    assert snapshot(project) == after_first


def test_user_edits_survive_add_and_remove(uts: Uts, project: Path) -> None:
    user_edits(project)
    edited = snapshot(project)
    result = uts("add", "crud", "--project", project)
    assert result.code == 0, result.err
    assert "merged with your edits" in result.out
    main = (project / "demo/main.py").read_text()
    assert "hand-tuned" in main and 'return "pong"' in main and "api.router" in main
    pyproject = (project / "pyproject.toml").read_text()
    assert pyproject.startswith("# Team notes: keep this header.\n")
    assert "    'orjson >= 3.10' ,   # ours, single-quoted on purpose\n" in pyproject
    assert "[tool.uts" not in pyproject  # uts's state lives in .uts/ only
    assert (project / ".uts/components/crud.toml").is_file()
    assert "## Our runbook" in (project / "README.md").read_text()
    result = uts("remove", "crud", "--project", project)
    assert result.code == 0, result.err
    assert snapshot(project) == edited


def test_overlapping_edits_stop_with_the_conflicts_listed(uts: Uts, project: Path) -> None:
    edit(
        project / "demo/main.py",
        "from demo import __version__, database",
        "from demo import __version__, database  # ours",
    )
    before = snapshot(project)
    result = uts("add", "crud", "--project", project)
    assert result.code == 8
    assert "demo/main.py (1)" in result.err and "nothing was changed" in result.err
    assert snapshot(project) == before


def test_conflict_markers_when_asked(uts: Uts, project: Path) -> None:
    edit(
        project / "demo/main.py",
        "from demo import __version__, database",
        "from demo import __version__, database  # ours",
    )
    result = uts("add", "crud", "--project", project, "--conflict", "markers")
    assert result.code == 8
    text = (project / "demo/main.py").read_text()
    assert "<<<<<<< yours\n" in text and "=======\n" in text and ">>>>>>> uts\n" in text
    assert (project / "demo/api.py").is_file()


def test_remove_refuses_what_another_component_requires(uts: Uts, project: Path) -> None:
    assert uts("add", "crud", "--project", project).code == 0
    before = snapshot(project)
    result = uts("remove", "database", "--project", project)
    assert result.code == 3
    assert "'crud' requires 'database'" in result.err and "--cascade" in result.err
    assert snapshot(project) == before
    result = uts("remove", "database", "--cascade", "--project", project)
    assert result.code == 0, result.err
    assert not (project / "demo/database.py").exists() and not (project / "demo/api.py").exists()
    assert "database" not in (project / "demo/main.py").read_text()


def test_remove_keeps_a_file_the_user_modified_unless_asked(uts: Uts, project: Path) -> None:
    assert uts("add", "crud", "--project", project).code == 0
    (project / "demo/services.py").write_text("# my rewrite\n")
    result = uts("remove", "crud", "--project", project)
    assert result.code == 0, result.err
    assert "kept demo/services.py" in result.err
    assert (project / "demo/services.py").read_text() == "# my rewrite\n"
    assert not (project / "demo/api.py").exists()
    assert not (project / ".uts/components/crud.toml").exists()
    state = "".join(p.read_text() for p in (project / ".uts").rglob("*.toml"))
    assert "demo/services.py" not in state

    assert uts("add", "crud", "--project", project).code == 8  # services.py is the user's now
    (project / "demo/services.py").unlink()
    assert uts("add", "crud", "--project", project).code == 0
    (project / "demo/services.py").write_text("# again\n")
    assert uts("remove", "crud", "--delete-modified", "--project", project).code == 0
    assert not (project / "demo/services.py").exists()


def test_a_user_file_where_the_component_writes_is_never_overwritten(
    uts: Uts, project: Path
) -> None:
    (project / "demo/api.py").write_text("# mine\n")
    before = snapshot(project)
    result = uts("add", "crud", "--project", project)
    assert result.code == 8
    assert "demo/api.py" in result.err
    assert snapshot(project) == before


def test_a_file_the_user_deleted_stays_deleted(uts: Uts, project: Path) -> None:
    (project / "README.md").unlink()
    result = uts("add", "crud", "--project", project)
    assert result.code == 0, result.err
    assert "README.md was deleted by you" in result.err
    assert not (project / "README.md").exists()


def test_dry_run_shows_the_diff_and_writes_nothing(uts: Uts, project: Path) -> None:
    before = snapshot(project)
    result = uts("add", "crud", "--dry-run", "--project", project)
    assert result.code == 0, result.err
    assert "+++ b/demo/api.py" in result.out and "nothing was written" in result.out
    assert snapshot(project) == before
    # uts's own records are one summary line, not a diff.
    assert "+++ b/.uts/" not in result.out
    assert "state: .uts/components/crud.toml created, .uts/components/fastapi" in result.out


def test_a_failed_write_leaves_the_project_unchanged(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_edits(project)
    before = snapshot(project)
    fail_nth_call(monkeypatch, "link", 6, OSError(errno.ENOSPC, "No space left on device"))
    result = uts("add", "crud", "--project", project)
    assert result.code == 10
    assert "left unchanged" in result.err
    assert snapshot(project) == before


def test_a_plugin_that_raises_leaves_the_project_unchanged(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uts_plugins.crud as crud
    from uts.plugin import impl

    def boom(ctx: object, out: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(crud, "uts_contribute", impl(boom))
    before = snapshot(project)
    result = uts("add", "crud", "--project", project)
    assert result.code == 6
    assert "component 'crud' raised RuntimeError" in result.err
    assert snapshot(project) == before


def test_unknown_component_and_damaged_state(uts: Uts, project: Path) -> None:
    result = uts("add", "crudd", "--project", project)
    assert result.code == 3 and "did you mean 'crud'" in result.err
    (project / ".uts/components/database.toml").write_text("[]")
    before = snapshot(project)
    result = uts("add", "crud", "--project", project)
    assert result.code == 9
    assert snapshot(project) == before


def test_works_in_a_git_repository_with_user_commits(uts: Uts, project: Path) -> None:
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
            cwd=project,
            capture_output=True,
            text=True,
            check=True,
        ).stdout

    git("init", "-q")
    git("add", "-A")
    git("commit", "-qm", "generated")
    user_edits(project)
    git("add", "-A")
    git("commit", "-qm", "months of work")
    head = git("rev-parse", "HEAD")
    assert uts("add", "crud", "--project", project).code == 0
    changed = sorted(line[3:] for line in git("status", "--porcelain").splitlines())
    assert changed == [
        ".uts/components/crud.toml",
        ".uts/components/fastapi.toml",
        ".uts/components/project.toml",
        "README.md",
        "demo/api.py",
        "demo/main.py",
        "demo/models.py",
        "demo/services.py",
        "pyproject.toml",
        "tests/test_crud_api.py",
        "tests/test_crud_services.py",
    ]
    assert git("rev-parse", "HEAD") == head  # uts never commits or touches .git
    assert uts("remove", "crud", "--project", project).code == 0
    assert git("status", "--porcelain") == ""


def test_removing_what_is_not_there_is_a_clear_error(uts: Uts, project: Path) -> None:
    before = snapshot(project)
    result = uts("remove", "crud", "--project", project)
    assert result.code == 3
    assert "component 'crud' is not part of this project" in result.err
    assert snapshot(project) == before


def test_history_files_are_written_once_and_never_rewritten(uts: Uts, tmp_path: Path) -> None:
    """Adding auth to a CORE project without it would put its table in the initial
    revision, which a database may already have run: uts leaves that revision alone."""
    root = tmp_path / "shop"
    args = ["--recipe", "core", "--without", "auth", "--without", "scripts", "--dir", root]
    assert uts("new", "shop", *args, "--no-input").code == 0
    before = snapshot(root)
    initial = "alembic/versions/0001_initial.py"
    assert "create_table" not in before[initial].decode()

    result = uts("add", "auth", "--project", root)
    assert result.code == 0, result.err
    assert f"note: {initial} is history that 'migrations' writes once" in result.err
    assert "alembic revision --autogenerate" in result.err
    after = snapshot(root)
    assert after[initial] == before[initial]
    assert "shop/models/user.py" in after and "shop/models/user.py" not in before
    # The record keeps what was written: nothing shows as changed by the user.
    assert uts("status", "--project", root).out.endswith(
        "no changes: every file is as uts wrote it\n"
    )
    again = uts("add", "auth", "--project", root)  # idempotent, and says so again
    assert again.code == 0 and "nothing to change" in again.out
    assert uts("remove", "auth", "--project", root).code == 0
    assert snapshot(root) == before


def test_files_outside_the_history_are_rewritten_as_usual(uts: Uts, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    args = ["--recipe", "core", "--without", "auth", "--without", "scripts", "--dir", root]
    assert uts("new", "shop", *args, "--no-input").code == 0
    settings = (root / "shop/core/config/settings.py").read_bytes()
    result = uts("add", "auth", "--project", root)
    assert result.code == 0, result.err
    assert (root / "shop/core/config/settings.py").read_bytes() != settings  # auth's settings
    assert result.err.count("note:") == 1  # the initial revision only


def assert_coherent(uts: Uts, root: Path, components: set[str]) -> None:
    """The state and the disk agree: *components* are active, all files as written."""
    data = json.loads(uts("status", "--json", "--project", root).out)
    assert set(data["components"]) == components
    assert data["drift"] == []
    recorded = {path.stem for path in (root / ".uts/components").glob("*.toml")}
    assert recorded == components


@pytest.mark.parametrize(
    ("names", "left", "also"),
    [
        (["database"], {"project", "fastapi", "errors", "testing"}, "crud"),
        (["fastapi"], {"project", "database", "testing"}, "errors, crud"),
        (["fastapi", "database"], {"project", "testing"}, "errors, crud"),
    ],
)
def test_cascade_removal_leaves_state_and_disk_in_agreement(
    uts: Uts, tmp_path: Path, names: list[str], left: set[str], also: str
) -> None:
    root = tmp_path / "demo"
    # mvp: crud needs fastapi and database, errors needs fastapi
    assert uts("new", "demo", "--dir", root).code == 0
    result = uts("remove", *names, "--cascade", "--project", root)
    assert result.code == 0, result.err
    assert f"also removing: {also}\n" in result.err
    assert_coherent(uts, root, left)
    assert not (root / "demo/api.py").exists()


@pytest.mark.parametrize("cascade", [[], ["--cascade"]])
def test_the_component_holding_the_state_is_never_removed(
    uts: Uts, tmp_path: Path, cascade: list[str]
) -> None:
    root = tmp_path / "demo"
    assert uts("new", "demo", "--dir", root).code == 0
    before = snapshot(root)
    result = uts("remove", "project", *cascade, "--project", root)
    assert result.code == 3
    assert "cannot remove 'project': it writes pyproject.toml" in result.err
    assert "to stop using uts here, delete .uts/" in result.err
    assert snapshot(root) == before


def test_the_component_holding_the_state_stays_when_nothing_needs_it_any_more(
    uts: Uts, tmp_path: Path
) -> None:
    recipe = tmp_path / "web.toml"
    recipe.write_text('components = ["fastapi"]\n')
    root = tmp_path / "demo"
    assert uts("new", "demo", "--recipe", recipe, "--dir", root).code == 0
    # project came for fastapi
    assert "auto = true" in (root / ".uts/components/project.toml").read_text()
    result = uts("remove", "fastapi", "--project", root)
    assert result.code == 0, result.err
    assert_coherent(uts, root, {"project"})
    assert "dependencies = []\n" in (root / "pyproject.toml").read_text()


def test_dry_run_shows_the_conflicts_it_would_stop_on(uts: Uts, project: Path) -> None:
    edit(
        project / "demo/main.py",
        "from demo import __version__, database, health\n",
        "from demo import __version__, database, health  # ours\n",
    )
    line = (
        (project / "demo/main.py")
        .read_text()
        .splitlines()
        .index("from demo import __version__, database, health  # ours")
    )
    before = snapshot(project)
    result = uts("add", "crud", "--dry-run", "--project", project)
    assert result.code == 8, result.err
    assert (
        f"conflict 1 of 1 in demo/main.py, at line {line + 1} of your file:\n"
        "<<<<<<< yours\n"
        "from demo import __version__, database, health  # ours\n"
        "=======\n"
        "from demo import __version__, api, database, health\n"
        ">>>>>>> uts\n"
    ) in result.out
    assert "+++ b/demo/api.py" in result.out  # what would change besides
    assert "b/demo/main.py" not in result.out  # no diff full of markers for a run that stops
    assert "would stop" in result.err and "nothing was written" in result.err
    assert snapshot(project) == before
    # and the real run stops the same way, hunks included
    result = uts("add", "crud", "--project", project)
    assert result.code == 8
    assert "<<<<<<< yours\nfrom demo import __version__, database, health  # ours\n" in result.err
    assert snapshot(project) == before


def test_dry_run_keeps_uts_state_out_of_the_diff(uts: Uts, project: Path) -> None:
    result = uts("add", "crud", "--dry-run", "--project", project)
    assert result.code == 0, result.err
    diffed = [line for line in result.out.splitlines() if line.startswith(("--- ", "+++ "))]
    assert diffed and not [line for line in diffed if "/.uts/" in line]
    state = [line for line in result.out.splitlines() if line.startswith("state: ")]
    assert len(state) == 1 and state[0].startswith("state: .uts/")
    assert state[0].endswith(" files recorded)")


def test_team_edits_next_to_what_uts_adds_and_removes_never_conflict(
    uts: Uts, project: Path
) -> None:
    """Lines appended to .env.example and .gitignore, a middleware and a router next
    to uts's wiring: add monitoring merges them all, remove gives every byte back."""
    (project / ".env.example").write_text(
        (project / ".env.example").read_text() + "\n# Our gateway.\nPAYMENT_URL=https://pay\n"
    )
    (project / ".gitignore").write_text((project / ".gitignore").read_text() + ".idea/\n")
    edit(
        project / "demo/main.py",
        "from fastapi import FastAPI\n",
        "from fastapi import FastAPI\nfrom fastapi.middleware.gzip import GZipMiddleware\n",
    )
    edit(
        project / "demo/main.py",
        "# The probes",
        "app.add_middleware(GZipMiddleware)\napp.include_router(ours.router)\n# The probes",
    )
    edited = snapshot(project)
    result = uts("add", "monitoring", "--project", project)
    assert result.code == 0, result.err
    main = (project / "demo/main.py").read_text()
    assert (  # the user's lines first, then uts's
        "app.add_middleware(GZipMiddleware)\napp.include_router(ours.router)\n"
        "metrics.install(app)\ntracing.configure_tracing(app)\n"
        "app.include_router(metrics.router)\n# The probes"
    ) in main
    assert "PAYMENT_URL=https://pay\n" in (project / ".env.example").read_text()
    assert "TRACING_ENABLED=" in (project / ".env.example").read_text()
    result = uts("remove", "monitoring", "--project", project)
    assert result.code == 0, result.err
    assert snapshot(project) == edited


def test_compose_services_of_the_user_stay_next_to_the_components(uts: Uts, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    assert uts("new", "demo", "--with", "docker", "--dir", root).code == 0
    compose = root / "compose.yaml"
    edit(
        compose,
        "DATABASE_URL: sqlite:////app/data/demo.db\n",
        'DATABASE_URL: sqlite:////app/data/demo.db\n      SMTP_HOST: "mailpit"\n',
    )
    edit(
        compose,
        "\nvolumes:\n",
        '\n  mailpit:\n    image: axllent/mailpit:v1.21\n    ports:\n      - "127.0.0.1:8025:8025"\n'
        "\nvolumes:\n",
    )
    edited = snapshot(root)
    result = uts("add", "celery", "--project", root)
    assert result.code == 0, result.err
    text = compose.read_text()
    assert '      SMTP_HOST: "mailpit"\n' in text and "  mailpit:\n" in text
    assert "  worker:\n" in text and "  redis:\n" in text
    result = uts("remove", "celery", "--project", root)
    assert result.code == 0, result.err
    assert snapshot(root) == edited


def test_a_dry_run_with_markers_shows_them_and_writes_nothing(uts: Uts, project: Path) -> None:
    edit(
        project / "demo/main.py",
        "from demo import __version__, database, health\n",
        "from demo import __version__, database, health  # ours\n",
    )
    before = snapshot(project)
    result = uts("add", "crud", "--dry-run", "--conflict", "markers", "--project", project)
    assert result.code == 8
    assert "+<<<<<<< yours\n" in result.out and "conflict 1 of 1 in demo/main.py" in result.out
    assert "dry run: would add crud" in result.out
    assert snapshot(project) == before
