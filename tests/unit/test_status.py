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
    assert "crud 0.2.0" in result.out
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


SECRET = "root:x:0:0:secret outside the project\n"


def _record(project: Path, entry: str) -> None:
    """Record *entry* in crud's state as if uts had written it (with README's blob id)."""
    readme = next(
        line.split(" = ")[1]
        for line in (project / ".uts/components/project.toml").read_text().splitlines()
        if line.startswith('"README.md"')
    )
    crud = project / ".uts/components/crud.toml"
    crud.write_text(crud.read_text() + f"{json.dumps(entry)} = {readme}\n")


def _outside(project: Path) -> Path:
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "passwd").write_text(SECRET)
    return elsewhere


def _dotdot(project: Path) -> str:
    _outside(project)
    return "../elsewhere/passwd"


def _absolute(project: Path) -> str:
    return str(_outside(project) / "passwd")


def _linked_directory(project: Path) -> str:
    (project / "docs").symlink_to(_outside(project), target_is_directory=True)
    return "docs/passwd"


def _linked_file(project: Path) -> str:
    (project / "NOTES.md").symlink_to(_outside(project) / "passwd")
    return "NOTES.md"


@pytest.mark.parametrize("make", [_dotdot, _absolute, _linked_directory, _linked_file])
@pytest.mark.parametrize(
    "command", [["status"], ["diff"], ["remove", "crud"], ["add", "monitoring"]]
)
def test_a_tampered_record_is_never_read_outside_the_project(
    uts: Uts, project: Path, make: Callable[[Path], str], command: list[str]
) -> None:
    entry = make(project)
    _record(project, entry)
    before = sorted(p.name for p in project.rglob("*"))
    result = uts(*command, "--project", project)
    assert result.code == 9, result.out + result.err
    assert f"entry {entry!r}" in result.err
    assert "version control" in result.err
    assert "secret" not in result.out + result.err
    assert sorted(p.name for p in project.rglob("*")) == before


def test_the_state_itself_is_not_read_through_a_link(uts: Uts, project: Path) -> None:
    elsewhere = project.parent / "elsewhere"
    (project / ".uts").rename(elsewhere)
    (project / ".uts").symlink_to(elsewhere, target_is_directory=True)
    result = uts("status", "--project", project)
    assert result.code == 9, result.err
    assert "symbolic link '.uts'" in result.err


EVIL = "evil\x1b[31m\nname\u202e.txt"
SHOWN = "evil\\x1b[31m\\x0aname\\u202e.txt"


def _raw_controls(text: str) -> list[str]:
    return [c for c in text if (c < " " and c != "\n") or "\x7f" <= c <= "\x9f" or c == "\u202e"]


def test_names_from_the_state_reach_the_terminal_escaped(uts: Uts, project: Path) -> None:
    _record(project, EVIL)  # recorded, and gone from disk: "deleted"
    state = project / ".uts/project.toml"
    text = state.read_text(encoding="utf-8")
    state.write_text(text.replace('recipe = "mvp"', 'recipe = "mvp\\u001b[2J"'), encoding="utf-8")
    crud = project / ".uts/components/crud.toml"
    text = crud.read_text(encoding="utf-8")
    version = text.splitlines()[0]
    crud.write_text(text.replace(version, 'version = "1\\u009b"', 1), encoding="utf-8")
    for command in (["status"], ["diff"]):
        result = uts(*command, "--project", project)
        assert result.code == 0, result.err
        assert _raw_controls(result.out + result.err) == []
        assert SHOWN in result.out
    status = uts("status", "--project", project).out
    assert "crud 1\\x9b" in status
    assert "mvp\\x1b[2J" in status
    assert "deleted   " + SHOWN in status
    drift = json.loads(uts("status", "--json", "--project", project).out)["drift"]
    assert EVIL in [item["path"] for item in drift]


def test_notes_and_errors_escape_names(uts: Uts, project: Path) -> None:
    _record(project, EVIL.replace("\n", ""))
    (project / EVIL.replace("\n", "")).write_text("changed by the user\n")
    result = uts("remove", "crud", "--project", project)  # uts no longer writes it: kept
    assert result.code == 0, result.err
    assert "kept evil\\x1b[31mname\\u202e.txt: you modified it" in result.err
    assert _raw_controls(result.out + result.err) == []
    missing = uts("diff", "nope\x1b[31m.py", "--project", project)
    assert missing.code == 2
    assert "uts did not write nope\\x1b[31m.py" in missing.err
    assert _raw_controls(missing.err) == []
