"""A plugin's new release, for real: built and installed at 1.0.0 next to a non-editable uts,
a project made and edited with it, then 2.0.0 installed over it; outdated, check, update."""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import snapshot
from tests.e2e.conftest import clean_env, copy_source, make_venv, run, uv
from tests.e2e.test_thirdparty import plugin_pyproject, write

DIST = "uts-greet"

V1 = '''\
"""Greets, version 1: GREETING.txt at the top, option ``name``."""

from pathlib import Path

from uts.plugin import Component, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name="greet",
        version="1.0.0",
        summary="Greets.",
        requires=("project",),
        options=(Option("name", default="world"),),
        templates=Path(__file__).parent / "templates",
        history=("history/*",),
    )
'''

V2 = '''\
"""Greets, version 2: the greeting moved to docs/, the option is now ``who``."""

from pathlib import Path

from uts.plugin import Component, Migration, Option, impl


@impl
def uts_component() -> Component:
    return Component(
        name="greet",
        version="2.0.0",
        summary="Greets.",
        requires=("project",),
        options=(Option("who", default="world"),),
        templates=Path(__file__).parent / "templates",
        history=("history/*",),
        releases=("1.5.0",),
    )


@impl
def uts_migrate(from_version: str, to_version: str, project: Migration) -> None:
    print(f"greet migration {from_version} -> {to_version}")
    if from_version == "1.0.0":
        project.move("GREETING.txt", "docs/greeting.txt")
    if to_version == "2.0.0":
        project.rename_option("name", "who")
'''

LINES = "line 2\nline 3\nline 4\n"
V1_TEMPLATES = {
    "GREETING.txt.jinja": "Hello, {{ options.name }}!\n" + LINES + "line 5\n",
    "history/0001.txt": "first revision\n",
}
V2_TEMPLATES = {
    "docs/greeting.txt.jinja": "Hello, {{ options.who }}!\n" + LINES + "line 5, now v2\n",
    "history/0001.txt": "first revision, as v2 would write it\n",
}


def write_release(root: Path, version: str, module: str, templates: dict[str, str]) -> Path:
    write(root / "pyproject.toml", plugin_pyproject(DIST, version, "greet", "uts_greet"))
    write(root / "uts_greet" / "__init__.py", module)
    for rel, text in templates.items():
        write(root / "uts_greet" / "templates" / rel, text)
    return root


@dataclass(frozen=True)
class Release:
    """A venv with uts (non-editable) and uts-greet, and a project made with greet 1.0.0."""

    bindir: Path
    work: Path
    v2: Path

    def uts(self, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        env = clean_env(self.bindir, XDG_CACHE_HOME=str(self.work / "cache"))
        return run([self.bindir / "uts", *args], cwd=cwd or self.work, env=env, check=False)

    def copy(self, name: str) -> Path:
        target = self.work / name
        shutil.copytree(self.work / "project", target)
        return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, path)
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    tmp = tmp_path_factory.mktemp("release")
    source = copy_source(tmp / "uts-src")
    v1 = write_release(tmp / "greet-1", "1.0.0", V1, V1_TEMPLATES)
    v2 = write_release(tmp / "greet-2", "2.0.0", V2, V2_TEMPLATES)
    bindir = make_venv(tmp / "venv", str(source), str(v1))
    work = tmp / "work"
    work.mkdir()
    made = Release(bindir, work, v2)
    result = made.uts(
        "new", "demo", "--with", "greet", "--set", "greet.name=Ann", "--dir", work / "project"
    )
    assert result.returncode == 0, result.stderr
    project = work / "project"
    edit(project / "GREETING.txt", "line 2\n", "line 2\nour own line\n")  # the team's edit
    edit(project / "README.md", "\n", "\nOur team's note.\n")
    # The new release, installed over the old one as a user upgrades.
    uv("pip", "install", "--quiet", "--python", str(bindir / "python"), str(v2))
    return made


def test_the_new_release_is_really_installed(release: Release) -> None:
    code = (
        "import importlib.metadata as m, uts_greet; "
        "print(m.version('uts-greet'), uts_greet.__file__)"
    )
    result = run([release.bindir / "python", "-c", code], env=clean_env(release.bindir))
    version, module = result.stdout.split()
    assert version == "2.0.0"
    assert Path(module).is_relative_to(release.bindir.parent)


def test_outdated_names_the_distribution_and_both_versions(release: Release) -> None:
    result = release.uts("outdated", "--project", release.work / "project")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1].split() == ["greet", "1.0.0", "2.0.0", DIST]
    result = release.uts("outdated", "--json", "--project", release.work / "project")
    assert json.loads(result.stdout)["outdated"] == [
        {"name": "greet", "provider": DIST, "recorded": "1.0.0", "installed": "2.0.0"}
    ]


def test_check_fails_with_one_line(release: Release) -> None:
    result = release.uts("check", cwd=release.work / "project")
    assert result.returncode == 11
    assert result.stdout == f"outdated: greet 1.0.0 → 2.0.0 ({DIST}); run 'uts update'\n"


def test_add_refuses_to_let_the_upgrade_ride_along(release: Release) -> None:
    project = release.copy("add")
    before = snapshot(project)
    result = release.uts("add", "monitoring", "--project", project)
    assert result.returncode == 11
    assert "greet 1.0.0 → 2.0.0" in result.stderr and "uts update" in result.stderr
    assert snapshot(project) == before
    result = release.uts("add", "monitoring", "--update", "--project", project)
    assert result.returncode == 0, result.stderr
    assert "\nupdate greet 1.0.0 → 2.0.0; add monitoring: " in result.stdout  # after migrations
    assert "our own line" in (project / "docs/greeting.txt").read_text()


def test_update_migrates_and_keeps_the_users_edits(release: Release) -> None:
    project = release.copy("update")
    history = (project / "history/0001.txt").read_bytes()
    before = snapshot(project)
    dry = release.uts("update", "--dry-run", "--project", project)
    assert dry.returncode == 0, dry.stderr
    assert snapshot(project) == before
    result = release.uts("update", "--project", project)
    assert result.returncode == 0, result.stderr
    assert "greet migration 1.0.0 -> 1.5.0\ngreet migration 1.5.0 -> 2.0.0\n" in result.stdout
    assert "update greet 1.0.0 → 2.0.0: " in result.stdout
    assert "greet 1.0.0 → 2.0.0: 1 moved (merged with your edits)" in result.stdout
    assert not (project / "GREETING.txt").exists()
    assert (project / "docs/greeting.txt").read_text() == (
        "Hello, Ann!\nline 2\nour own line\nline 3\nline 4\nline 5, now v2\n"
    )
    assert "Our team's note." in (project / "README.md").read_text()
    assert (project / "history/0001.txt").read_bytes() == history
    greet = tomllib.loads((project / ".uts/components/greet.toml").read_text())
    assert {key: greet[key] for key in ("version", "options", "provider")} == {
        "version": "2.0.0",
        "options": {"who": "Ann"},
        "provider": f"{DIST} 2.0.0",
    }
    assert release.uts("check", "--project", project).returncode == 0
    assert release.uts("update", "--project", project).stdout.startswith("nothing to update")


def test_update_stops_on_a_real_conflict_and_writes_nothing(release: Release) -> None:
    project = release.copy("conflict")
    edit(project / "GREETING.txt", "line 5\n", "line 5, ours\n")
    before = snapshot(project)
    result = release.uts("update", "--project", project)
    assert result.returncode == 8
    assert "docs/greeting.txt (1)" in result.stderr
    assert "<<<<<<< yours\nline 5, ours\n=======\nline 5, now v2\n>>>>>>> uts\n" in result.stderr
    assert snapshot(project) == before

    result = release.uts("update", "--conflict", "markers", "--project", project)
    assert result.returncode == 8
    text = (project / "docs/greeting.txt").read_text()
    assert "<<<<<<< yours\nline 5, ours\n=======\nline 5, now v2\n>>>>>>> uts\n" in text
    assert "our own line" in text


def test_a_missing_provider_is_named(release: Release) -> None:
    project = release.copy("missing")
    python = str(release.bindir / "python")
    uv("pip", "uninstall", "--quiet", "--python", python, DIST)
    try:
        result = release.uts("check", "--project", project)
        assert result.returncode == 11
        assert f"missing: greet is not installed; install the distribution '{DIST}'" in (
            result.stdout
        )
        result = release.uts("add", "monitoring", "--project", project)
        assert result.returncode == 9
        assert f"pip install {DIST}" in result.stderr
    finally:
        uv("pip", "install", "--quiet", "--python", python, str(release.v2))


def test_the_pre_commit_hook_runs_uts_check(release: Release, tmp_path: Path) -> None:
    """pre-commit installs uts from this repository (and the plugin, as the team pins it)."""
    hook_repo = copy_source(tmp_path / "uts-repo")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "uts"]):
        run([*git, *args], cwd=hook_repo)
    rev = run(["git", "rev-parse", "HEAD"], cwd=hook_repo).stdout.strip()
    bindir = make_venv(tmp_path / "venv", "pre-commit")
    project = release.copy("pre-commit")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hook_repo}\n  rev: {rev}\n  hooks:\n  - id: uts-check\n"
        f"    additional_dependencies: ['{release.v2}']\n"
    )
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "project"]):
        run([*git, *args], cwd=project)
    env = clean_env(bindir, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"))
    command = [bindir / "pre-commit", "run", "uts-check", "--all-files"]
    outdated = run(command, cwd=project, env=env, check=False)
    assert outdated.returncode == 1, outdated.stdout + outdated.stderr
    assert "uts check" in outdated.stdout and "Failed" in outdated.stdout
    assert f"outdated: greet 1.0.0 → 2.0.0 ({DIST}); run 'uts update'" in outdated.stdout
    assert release.uts("update", "--project", project).returncode == 0
    current = run(command, cwd=project, env=env, check=False)
    assert current.returncode == 0, current.stdout + current.stderr
    assert "Passed" in current.stdout
