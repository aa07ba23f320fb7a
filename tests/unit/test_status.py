"""``uts status`` and ``uts diff``: drift against the recorded state, and damaged state."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result

Uts = Callable[..., Result]


@pytest.fixture
def project(uts: Uts, tmp_path: Path) -> Path:
    root = tmp_path / "demo"
    assert uts("new", "demo", "--dir", root).code == 0
    return root


def test_status_of_an_untouched_project(uts: Uts, project: Path) -> None:
    result = uts("status", "--project", project)
    assert result.code == 0, result.err
    assert "recipe 'mvp'" in result.out
    assert "crud 0.1.0" in result.out
    assert "no changes" in result.out


def test_status_reports_modified_and_deleted_files_with_owner(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "demo" / "main.py").write_text("# mine\n", encoding="utf-8")
    (project / "tests" / "test_app.py").unlink()
    (project / "NOTES.md").write_text("user file, not uts's\n")
    monkeypatch.chdir(project / "demo")  # found from a subdirectory
    data = json.loads(uts("status", "--json").out)
    assert data["drift"] == [
        {"path": "demo/main.py", "owner": "fastapi", "status": "modified"},
        {"path": "tests/test_app.py", "owner": "fastapi", "status": "deleted"},
    ]
    assert data["recipe"] == "mvp"
    text = uts("status").out
    assert "modified  demo/main.py  (fastapi)" in text


def test_diff_shows_the_users_changes(uts: Uts, project: Path) -> None:
    main = project / "demo" / "main.py"
    main.write_text(main.read_text() + "# tuned by hand\n", encoding="utf-8")
    result = uts("diff", "--project", project)
    assert result.code == 0, result.err
    assert "--- a/demo/main.py\n+++ b/demo/main.py\n" in result.out
    assert "+# tuned by hand\n" in result.out
    assert uts("diff", "README.md", "--project", project).out == ""
    bad = uts("diff", "nope.py", "--project", project)
    assert bad.code == 2 and "uts did not write nope.py" in bad.err


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda p: (p / ".uts/project.toml").write_text("format = \n"), "is not valid TOML"),
        (
            lambda p: (p / ".uts/project.toml").write_text("format = 99\n"),
            "format 99 is not uts's state format 2",
        ),
        (
            lambda p: (p / ".uts/components/crud.toml").write_text("order = 1\n"),
            "crud.toml: version is missing",
        ),
        (
            lambda p: _append(p / ".uts/components/crud.toml", '"x.py" = "not-an-id"\n'),
            "the record of 'x.py' is not a git blob id",
        ),
        (
            lambda p: _append(p / ".uts/components/crud.toml", '"demo/main.py" = "abcdef12"\n'),
            "demo/main.py is recorded by two components",
        ),
        (
            lambda p: _append(
                p / ".uts/components/crud.toml", "<<<<<<< HEAD\n=======\n>>>>>>> other\n"
            ),
            "crud.toml has git conflict markers",
        ),
    ],
)
def test_damaged_state_is_a_clear_error(
    uts: Uts, project: Path, damage: Callable[[Path], object], message: str
) -> None:
    damage(project)
    result = uts("status", "--project", project)
    assert result.code == 9
    assert message in result.err
    assert "Traceback" not in result.err


def test_outside_a_project(uts: Uts, tmp_path: Path) -> None:
    result = uts("status", "--project", tmp_path)
    assert result.code == 9
    assert "no uts project" in result.err
