"""State format 2: small, per component, found again by blob id, merged by git, repaired."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, snapshot
from uts.errors import ConflictError
from uts.objects import blob_id, cached_objects
from uts.plugin.manager import load_registry
from uts.repair import conflict_sides, state_findings
from uts.state import ProjectState, load_project, provider_of

Uts = Callable[..., Result]

FORMAT_1 = Path(__file__).parent.parent / "data" / "format1-mvp"


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        [
            "git",
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "-c",
            "init.defaultBranch=main",
            *args,
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    ).stdout


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty per-user cache, so that no base comes from another test's objects."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache / "uts" / "objects"


@pytest.fixture
def mvp(uts: Uts, tmp_path: Path, fresh_cache: Path) -> Path:
    root = tmp_path / "shop"
    assert uts("new", "shop", "--dir", root, "--no-input").code == 0
    return root


def test_state_is_under_five_percent_of_the_files_it_tracks(uts: Uts, tmp_path: Path) -> None:
    root = tmp_path / "core"
    assert uts("new", "core", "--recipe", "core", "--dir", root, "--no-input").code == 0
    state = load_project(root)
    tracked = sum(len((root / path).read_bytes()) for path in state.files)
    recorded = sum(len((root / path).read_bytes()) for path in state.state_paths)
    assert recorded <= 0.05 * tracked, (recorded, tracked)
    assert state.state_paths[0] == ".uts/project.toml" and len(state.state_paths) == 12
    assert not (root / ".uts/manifest.json").exists()
    assert "[tool.uts" not in (root / "pyproject.toml").read_text()


def test_each_component_records_its_provider_options_and_files(mvp: Path) -> None:
    crud = tomllib.loads((mvp / ".uts/components/crud.toml").read_text())
    from uts import __version__

    assert crud["provider"] == f"uts {__version__}"
    assert crud["options"]["resource"] == "item"
    content = (mvp / "shop/api.py").read_bytes()
    assert blob_id(content).startswith(crud["files"]["shop/api.py"])
    state = load_project(mvp)
    assert state.tool["components"]["crud"]["provider"] == {
        "distribution": "uts",
        "version": __version__,
    }
    assert list(state.tool["components"]) == [
        "project",
        "fastapi",
        "database",
        "errors",
        "testing",
        "crud",
    ]
    assert provider_of("uts-shout 1.2.0") == {"distribution": "uts-shout", "version": "1.2.0"}
    assert provider_of("test") is None


def test_uts_writes_every_file_to_the_object_cache_one_pack_per_command(
    uts: Uts, mvp: Path, fresh_cache: Path
) -> None:
    (pack,) = fresh_cache.iterdir()
    assert pack.suffix == ".pack"
    content = (mvp / "shop/main.py").read_bytes()
    oid = blob_id(content)
    assert cached_objects([oid[:16], "0123456789abcdef"]) == {oid[:16]: content}
    assert uts("remove", "crud", "--project", mvp).code == 0
    # One more pack, holding only what the project did not record already.
    (second,) = set(fresh_cache.iterdir()) - {pack}
    header = json.loads(second.read_bytes().split(b"\n")[1])
    assert blob_id((mvp / "shop/main.py").read_bytes()) in header
    assert len(header) == 3  # main.py, pyproject.toml, README.md: what crud changed
    assert not list(fresh_cache.rglob("*.tmp"))


def test_the_loader_ignores_files_that_are_not_state(uts: Uts, mvp: Path) -> None:
    (mvp / ".uts/journal").write_text("{}")
    (mvp / ".uts/lock").write_text("")
    (mvp / ".uts/components/notes.txt").write_text("not state")
    (mvp / ".uts/components/crud.toml.orig").write_text("left by a merge tool")
    result = uts("status", "--project", mvp)
    assert result.code == 0, result.err
    assert "no changes" in result.out
    assert state_findings(mvp) == []


def _bases_without_render(root: Path, path: str) -> bytes | None:
    state = load_project(root)
    assert state.render is None
    return state.base(path)


def test_a_base_comes_from_the_object_cache_then_git_then_a_rendering(
    uts: Uts, mvp: Path, fresh_cache: Path
) -> None:
    path = "shop/main.py"
    written = (mvp / path).read_bytes()
    (mvp / path).write_bytes(written + b"# mine\n")
    assert _bases_without_render(mvp, path) == written  # from the object cache

    shutil.rmtree(fresh_cache)
    assert _bases_without_render(mvp, path) is None  # nowhere: no git, no cache

    git(mvp, "init", "-q")
    (mvp / path).write_bytes(written)
    git(mvp, "add", "-A")
    git(mvp, "commit", "-qm", "generated")
    (mvp / path).write_bytes(written + b"# mine\n")
    assert _bases_without_render(mvp, path) == written  # from git's objects
    shutil.rmtree(mvp / ".git")

    state = load_project(mvp)
    from uts.change import render_recorded

    registry = load_registry(lazy=True)
    state.render = lambda: render_recorded(registry, state)
    assert state.base(path) == written  # rendered again: the recorded versions are installed
    # With another version installed, a rendering is not what uts wrote: no base.
    (mvp / ".uts/components/fastapi.toml").write_text(
        (mvp / ".uts/components/fastapi.toml").read_text().replace('version = "', 'version = "9', 1)
    )
    state = load_project(mvp)
    state.render = lambda: render_recorded(registry, state)
    assert state.base(path) is None
    with pytest.raises(ConflictError, match=r"uts cannot find what it wrote at shop/main\.py"):
        state.pristine(path)


def test_an_unknown_base_stops_the_change_listing_the_file(
    uts: Uts, tmp_path: Path, fresh_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "shop"
    assert uts("new", "shop", "--dir", root, "--without", "crud", "--no-input").code == 0
    main = root / "shop/main.py"
    main.write_text(main.read_text() + "# mine\n")
    shutil.rmtree(fresh_cache)  # no cache, no git, and (below) no rendering of the old versions
    from uts import change

    monkeypatch.setattr(change, "render_recorded", lambda registry, state: None)
    before = snapshot(root)
    result = uts("add", "crud", "--project", root)
    assert result.code == 8, result.err
    assert "shop/main.py" in result.err and "what uts wrote there is unknown" in result.err
    assert snapshot(root) == before
    # Where the user's file is already what uts now writes, nothing needs a base.
    other = tmp_path / "other"
    assert uts("new", "shop", "--dir", other, "--no-input").code == 0  # crud included
    main.write_bytes((other / "shop/main.py").read_bytes())
    result = uts("add", "crud", "--project", root)
    assert result.code == 0, result.err


def _resolve_readme(root: Path) -> None:
    """The user keeps both README sections, in the order uts writes them (by name: a
    tie in the composition order when two branches add a component each)."""
    text = (root / "README.md").read_text()
    start, end = text.index("<<<<<<<"), text.index(">>>>>>>")
    end = text.index("\n", end) + 1
    ours, theirs = conflict_sides(text[start:end])
    (root / "README.md").write_text(text[:start] + theirs + "\n" + ours + text[end:])


def test_two_branches_adding_a_component_each_merge_and_repair(uts: Uts, mvp: Path) -> None:
    git(mvp, "init", "-q")
    git(mvp, "add", "-A")
    git(mvp, "commit", "-qm", "generated")
    git(mvp, "checkout", "-qb", "monitoring")
    assert uts("add", "monitoring", "--project", mvp).code == 0
    git(mvp, "add", "-A")
    git(mvp, "commit", "-qm", "add monitoring")
    git(mvp, "checkout", "-q", "main")
    git(mvp, "checkout", "-qb", "docker")
    assert uts("add", "docker", "--project", mvp).code == 0
    git(mvp, "add", "-A")
    git(mvp, "commit", "-qm", "add docker")
    with_docker = snapshot(mvp)
    git(mvp, "checkout", "-q", "monitoring")
    with_monitoring = snapshot(mvp)
    git(mvp, "merge", "-q", "docker", "-m", "merge")

    # The components' own files merge cleanly; the shared files' records may not.
    assert (mvp / ".uts/components/docker.toml").is_file()
    assert (mvp / ".uts/components/monitoring.toml").is_file()
    findings = state_findings(mvp)
    assert findings and all("project.toml" in f or "recorded twice" in f for f in findings)
    assert any("git conflict markers" in f for f in findings)
    assert uts("status", "--project", mvp).code == 9
    _resolve_readme(mvp)

    before = snapshot(mvp)
    dry = uts("repair", "--project", mvp, "--dry-run")
    assert dry.code == 0, dry.err
    assert "-<<<<<<< HEAD" in dry.out and snapshot(mvp) == before
    result = uts("repair", "--project", mvp)
    assert result.code == 0, result.err
    assert "uts's state is consistent" in result.out
    assert state_findings(mvp, load_registry(lazy=True)) == []
    status = uts("status", "--project", mvp)
    assert status.code == 0 and "no changes: every file is as uts wrote it" in status.out
    assert uts("repair", "--project", mvp).out.startswith("nothing to repair")
    git(mvp, "add", "-A")
    git(mvp, "commit", "-qm", "merged")

    # Removing either component gives back the other branch, byte for byte.
    assert uts("remove", "docker", "--project", mvp).code == 0
    assert _tree(mvp) == _tree_of(with_monitoring)
    git(mvp, "checkout", "-qf", "HEAD")
    git(mvp, "clean", "-fdq")
    assert uts("remove", "monitoring", "--project", mvp).code == 0
    assert _tree(mvp) == _tree_of(with_docker)


def _tree_of(files: dict[str, bytes]) -> dict[str, bytes]:
    return {path: data for path, data in files.items() if not path.startswith(".git/")}


def _tree(root: Path) -> dict[str, bytes]:
    return _tree_of(snapshot(root))


def test_findings_name_what_repair_cannot_decide(uts: Uts, mvp: Path) -> None:
    crud = mvp / ".uts/components/crud.toml"
    text = crud.read_text()
    crud.write_text(
        text.replace(
            'version = "0.2.0"\n',
            '<<<<<<< a\nversion = "0.2.0"\n=======\nversion = "0.3.0"\n>>>>>>> b\n',
        )
    )
    findings = state_findings(mvp)
    assert (
        ".uts/components/crud.toml: git conflict markers (uts repair merges both sides)" in findings
    )
    assert any(
        "the two sides record different versions ('0.2.0' vs '0.3.0')" in f for f in findings
    )
    result = uts("repair", "--project", mvp)
    assert result.code == 9 and "uts repair cannot decide" in result.err

    crud.write_text(text)
    (mvp / ".uts/components/my notes.toml").write_text("")
    assert state_findings(mvp) == [
        ".uts/components/my notes.toml: 'my notes' is not a component name (move it away)"
    ]
    (mvp / ".uts/components/my notes.toml").unlink()
    (mvp / ".uts/components/database.toml").unlink()  # say, removed on another branch
    findings = state_findings(mvp, load_registry(lazy=True))
    assert any("'crud' requires 'database', which is not in the project" in f for f in findings)


def test_a_changed_file_without_a_base_is_a_finding(mvp: Path, fresh_cache: Path) -> None:
    (mvp / "shop/main.py").write_text("# rewritten\n")
    assert state_findings(mvp) == []  # the object cache has the base
    shutil.rmtree(fresh_cache)
    (finding,) = state_findings(mvp)
    assert finding.startswith("shop/main.py: changed since uts wrote it, and no source holds")
    assert state_findings(mvp, load_registry(lazy=True)) == []  # a rendering has it


def test_keys_uts_does_not_know_in_project_toml_are_kept(uts: Uts, mvp: Path) -> None:
    project = mvp / ".uts/project.toml"
    project.write_text(
        project.read_text() + '\n[adopted]\npackaging = "requirements.txt"\napp = "main:app"\n'
    )
    assert uts("remove", "crud", "--project", mvp).code == 0
    assert uts("add", "crud", "--project", mvp).code == 0
    data = tomllib.loads(project.read_text())
    assert data["adopted"] == {"packaging": "requirements.txt", "app": "main:app"}
    assert load_project(mvp).tool["adopted"]["app"] == "main:app"


# Format 1 ------------------------------------------------------------------------------


@pytest.fixture
def legacy(tmp_path: Path, fresh_cache: Path) -> Path:
    """A project written by uts 0.1.0 in state format 1 (tests/data/format1-mvp)."""
    root = tmp_path / "demo"
    shutil.copytree(FORMAT_1, root)
    return root


def test_format_1_is_upgraded_on_the_first_command_once(
    uts: Uts, legacy: Path, fresh_cache: Path
) -> None:
    pyproject = (legacy / "pyproject.toml").read_text()
    main = legacy / "demo/main.py"
    main.write_text(main.read_text() + "# ours\n")  # edited before the upgrade
    from uts.pyproject import strip_tool_uts

    result = uts("status", "--project", legacy)
    assert result.code == 0, result.err
    (line,) = result.err.splitlines()
    assert line.startswith("upgraded uts's state to format 2:")
    assert "modified  demo/main.py  (fastapi)" in result.out
    assert "fastapi 0.1.0 (installed: 0.2.0)" in result.out
    assert not (legacy / ".uts/manifest.json").exists()
    assert (legacy / ".uts/project.toml").is_file()
    # [tool.uts] is gone; every other byte of pyproject.toml is as it was.
    assert (legacy / "pyproject.toml").read_text() == strip_tool_uts(pyproject)
    assert "[tool.uts" not in strip_tool_uts(pyproject)
    assert pyproject.startswith(strip_tool_uts(pyproject).rstrip("\n"))
    again = uts("status", "--project", legacy)
    assert again.code == 0 and again.err == ""  # once
    # The old pristine copies are the bases now: the user's edit is seen as theirs.
    diff = uts("diff", "--project", legacy)
    assert diff.out.count("+++ b/") == 1 and "+# ours\n" in diff.out
    # ... kept in the object cache: no git, no rendering needed to find them.
    blob = load_project(legacy).files["demo/main.py"]["blob"]
    original = (FORMAT_1 / "demo/main.py").read_bytes()
    assert cached_objects([blob]) == {blob: original}


def test_a_format_1_project_keeps_working_after_its_upgrade(uts: Uts, legacy: Path) -> None:
    before = snapshot(legacy)
    dry = uts("add", "crud", "--project", legacy, "--dry-run")
    # project 0.1.0 wrote it; 0.3.0 (no version footer in the README) is installed
    assert dry.code == 11, dry.err
    assert "state here is format 1" in dry.err and "project 0.1.0 → 0.3.0" in dry.err
    assert snapshot(legacy) == before

    assert uts("status", "--project", legacy).code == 0  # upgrades
    result = uts("update", "--project", legacy)
    assert result.code == 0, result.err
    assert "Generated by uts" not in (legacy / "README.md").read_text()
    updated = snapshot(legacy)
    assert uts("add", "crud", "--project", legacy).code == 0
    assert (legacy / "demo/api.py").is_file()
    assert uts("remove", "crud", "--project", legacy).code == 0
    assert snapshot(legacy) == updated


def test_the_upgrade_records_what_uts_new_records_now(
    uts: Uts, legacy: Path, tmp_path: Path
) -> None:
    assert uts("status", "--project", legacy).code == 0
    assert uts("update", "--project", legacy).code == 0  # project 0.1.0 → 0.3.0
    fresh = tmp_path / "fresh"
    # What the MVP recipe was then: project, fastapi, database (and crud, removed).
    without = ["--without", "crud", "--without", "errors", "--without", "testing"]
    assert uts("new", "demo", *without, "--dir", fresh, "--no-input").code == 0

    def recorded(root: Path) -> dict[str, object]:
        state = {p.name: tomllib.loads(p.read_text()) for p in (root / ".uts").rglob("*.toml")}
        for data in state.values():
            data.pop("files", None)  # blob ids: they follow the templates of each version
        return state

    assert recorded(legacy) == recorded(fresh)
    assert sorted(load_project(legacy).files) == sorted(load_project(fresh).files)


def test_a_damaged_format_1_manifest_is_a_clear_error(uts: Uts, legacy: Path) -> None:
    (legacy / ".uts/manifest.json").write_text("{not json")
    result = uts("status", "--project", legacy)
    assert result.code == 9 and "is not valid JSON" in result.err
    assert (legacy / ".uts/manifest.json").read_text() == "{not json"


def test_state_never_lands_in_a_project_without_pyproject(tmp_path: Path) -> None:
    """What uts writes is all in .uts/: a project whose packaging is requirements.txt
    (an adopted one) needs no pyproject.toml for its state."""
    from uts.state import Record, build_state

    files = build_state(
        {"format": 2, "recipe": "", "components": {"monitoring": {"version": "1", "order": 0}}},
        {"app/metrics.py": Record("monitoring", blob_id(b"x"))},
    )
    assert sorted(files) == [".uts/components/monitoring.toml", ".uts/project.toml"]
    root = tmp_path / "p"
    for path, item in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(item.content)
    (root / "app").mkdir()
    (root / "app/metrics.py").write_bytes(b"x")
    state = load_project(root)
    assert isinstance(state, ProjectState) and state.drift() == []


def test_a_missing_provider_is_named_with_the_package_to_install(uts: Uts, mvp: Path) -> None:
    crud = mvp / ".uts/components/crud.toml"
    crud.write_text(crud.read_text().replace('provider = "uts ', 'provider = "uts-crud-plugin '))
    (mvp / ".uts/components/crud.toml").rename(mvp / ".uts/components/gone.toml")
    before = snapshot(mvp)
    for command in (["add", "docker"], ["remove", "database", "--cascade"]):
        result = uts(*command, "--project", mvp)
        assert result.code == 9, result.err
        assert "'gone' of this project" in result.err and "not installed" in result.err
        assert "pip install uts-crud-plugin" in result.err
        assert snapshot(mvp) == before


def test_repair_decides_a_file_two_components_record(uts: Uts, mvp: Path) -> None:
    crud = mvp / ".uts/components/crud.toml"
    crud.write_text(crud.read_text() + '"shop/main.py" = "0123456789abcdef"\n')
    (finding,) = state_findings(mvp)
    assert finding.startswith("shop/main.py: recorded twice (crud 0123456789abcdef, fastapi ")
    assert uts("status", "--project", mvp).code == 9
    result = uts("repair", "--project", mvp)
    assert result.code == 0, result.err
    assert "shop/main.py: recorded as the rendering has it" in result.err
    assert state_findings(mvp) == []
    assert "0123456789abcdef" not in crud.read_text()
    assert uts("status", "--project", mvp).out.endswith("every file is as uts wrote it\n")


def test_repair_keeps_a_key_one_branch_added_to_project_toml(uts: Uts, mvp: Path) -> None:
    project = mvp / ".uts/project.toml"
    head, _, names = project.read_text().partition('project-name = "shop"\n')
    project.write_text(
        f'{head}<<<<<<< HEAD\nproject-name = "shop"\nlayout = "flat"\n=======\n'
        f'project-name = "shop"\n>>>>>>> other\n{names}'
    )
    assert state_findings(mvp) == [
        ".uts/project.toml: git conflict markers (uts repair merges both sides)"
    ]
    result = uts("repair", "--project", mvp)
    assert result.code == 0, result.err
    assert tomllib.loads(project.read_text())["layout"] == "flat"
    assert state_findings(mvp) == []


def test_conflict_sides_reads_both_marker_styles() -> None:
    merge = "a = 1\n<<<<<<< HEAD\nb = 2\n=======\nb = 3\n>>>>>>> other\nc = 4\n"
    diff3 = (
        "a = 1\n<<<<<<< HEAD\nb = 2\n||||||| base\nb = 1\n=======\nb = 3\n>>>>>>> other\nc = 4\n"
    )
    for text in (merge, diff3):
        assert conflict_sides(text) == ["a = 1\nb = 2\nc = 4\n", "a = 1\nb = 3\nc = 4\n"]


def test_format_1_records_merged_into_a_format_2_project_are_findings(mvp: Path) -> None:
    (mvp / ".uts/manifest.json").write_text('{"format": 1, "files": {}}')
    pyproject = mvp / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.uts]\nrecipe = "mvp"\n')
    findings = state_findings(mvp)
    assert len(findings) == 2
    assert findings[0].startswith(".uts/manifest.json: format 1's manifest next to")
    assert findings[1].startswith("pyproject.toml: [tool.uts] is format 1's record")
