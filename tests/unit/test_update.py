"""uts outdated, check and update, migrations, and add/remove refusing silent upgrades.

A third-party component is "installed" into a site directory at version 1, then
replaced by version 2 (its own module and dist-info each time, as an installer does);
tests/e2e/test_update.py does the same with real wheels built and installed by uv.
"""

from __future__ import annotations

import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Result, snapshot
from uts import __version__
from uts.migrate import version_steps

Uts = Callable[..., Result]

V1 = """
from uts.plugin import Component, Option, impl

@impl
def uts_component():
    return Component(name="greet", version="1.0", summary="Greets.", requires=("project",),
                     options=(Option("name", default="world"),), history=("history/*",))

@impl
def uts_contribute(ctx, out):
    name = ctx.options("greet")["name"]
    out.file("GREETING.txt", f"Hello, {name}!\\nline 2\\nline 3\\nline 4\\nline 5\\n")
    out.file("history/0001.txt", "first revision\\n")
"""

V2 = """
from uts.plugin import Component, Option, impl

@impl
def uts_component():
    return Component(name="greet", version="2.0", summary="Greets.", requires=("project",),
                     options=(Option("who", default="world"),), history=("history/*",),
                     releases=("1.5",))

@impl
def uts_migrate(from_version, to_version, project):
    STEPS.append((from_version, to_version))
    if to_version == "1.5":
        project.move("GREETING.txt", "docs/greeting.txt")
    if from_version == "1.5":
        project.rename_option("name", "who")

@impl
def uts_contribute(ctx, out):
    who = ctx.options("greet")["who"]
    out.file("docs/greeting.txt", f"Hello, {who}!\\nline 2\\nline 3\\nline 4\\nline 5, now v2\\n")
    out.file("history/0001.txt", "first revision, rewritten by v2\\n")
    out.file("history/0002.txt", "the schema change of v2, as a new revision\\n")

STEPS = []
"""


class Site:
    """A directory on ``sys.path`` where distributions are installed, upgraded, removed."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.serial = 0
        self.modules: dict[str, str] = {}

    def install(
        self, source: str, dist: str = "uts-greet", version: str = "1.0", name: str = "greet"
    ) -> None:
        self.uninstall(dist)
        self.serial += 1  # a new module name each time: no stale bytecode or sys.modules
        module = self.modules[name] = f"uts_test_{name}{self.serial}"
        (self.root / f"{module}.py").write_text(source)
        info = self.root / f"{dist.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[uts.components]\n{name} = {module}\n")

    def uninstall(self, dist: str = "uts-greet") -> None:
        for info in self.root.glob(f"{dist.replace('-', '_')}-*.dist-info"):
            for item in info.iterdir():
                item.unlink()
            info.rmdir()

    def steps(self) -> list[tuple[str, str]]:
        return list(sys.modules[self.modules["greet"]].STEPS)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("UTS_NO_CACHE", "1")
    yield Site(root)
    for name in list(sys.modules):
        if name.startswith("uts_test_"):
            del sys.modules[name]


@pytest.fixture
def project(uts: Uts, site: Site, tmp_path: Path) -> Path:
    """An MVP project with greet 1.0 (name=Ann), the user's edits in, greet 2.0 installed."""
    site.install(V1)
    root = tmp_path / "demo"
    result = uts("new", "demo", "--with", "greet", "--set", "greet.name=Ann", "--dir", root)
    assert result.code == 0, result.err
    greeting = root / "GREETING.txt"
    greeting.write_text(greeting.read_text().replace("line 2\n", "line 2\nour own line\n"))
    site.install(V2, version="2.0")
    return root


def recorded(root: Path) -> dict[str, dict[str, Any]]:
    return {
        path.stem: tomllib.loads(path.read_text())
        for path in sorted((root / ".uts/components").glob("*.toml"))
    }


def test_the_providing_distribution_is_recorded(project: Path) -> None:
    components = recorded(project)
    assert components["greet"]["provider"] == "uts-greet 1.0"
    assert components["project"]["provider"] == f"uts {__version__}"  # built-ins come with uts


def test_status_says_newer_versions_are_installed(uts: Uts, project: Path) -> None:
    result = uts("status", "--project", project)
    assert "  greet 1.0 (installed: 2.0) (from uts-greet 1.0)  name=Ann\n" in result.out
    assert "newer versions are installed: 'uts update' takes them in\n" in result.out
    assert '"installed": {\n    "greet": "2.0"\n  }' in uts("status", "--json", "-C", project).out
    assert uts("update", "--project", project).code == 0
    assert "installed" not in uts("status", "--project", project).out


def test_outdated_lists_component_provider_and_both_versions(uts: Uts, project: Path) -> None:
    result = uts("outdated", "--project", project)
    assert result.code == 0, result.err
    [row] = result.out.splitlines()[1:]
    assert row.split() == ["greet", "1.0", "2.0", "uts-greet"]
    result = uts("outdated", "--project", project, "--json")
    assert '"outdated"' in result.out
    import json

    assert json.loads(result.out)["outdated"] == [
        {"name": "greet", "provider": "uts-greet", "recorded": "1.0", "installed": "2.0"}
    ]


def test_check_fails_with_one_line_per_finding_then_passes_after_update(
    uts: Uts, project: Path
) -> None:
    result = uts("check", "--project", project)
    assert result.code == 11
    assert result.out == "outdated: greet 1.0 → 2.0 (uts-greet); run 'uts update'\n"
    assert "1 finding(s)" in result.err
    assert uts("update", "--project", project).code == 0
    result = uts("check", "--project", project)
    assert result.code == 0, result.out + result.err
    assert result.out.startswith("ok:")


def test_update_migrates_merges_the_users_edits_and_reports_versions(
    uts: Uts, project: Path, site: Site
) -> None:
    history = (project / "history/0001.txt").read_bytes()
    result = uts("update", "--project", project)
    assert result.code == 0, result.err
    # Each step, stopping at the declared release in between.
    assert site.steps() == [("1.0", "1.5"), ("1.5", "2.0")]
    assert not (project / "GREETING.txt").exists()
    assert (project / "docs/greeting.txt").read_text() == (
        "Hello, Ann!\nline 2\nour own line\nline 3\nline 4\nline 5, now v2\n"
    )
    assert (project / "history/0001.txt").read_bytes() == history  # written once, never again
    assert (project / "history/0002.txt").read_text().startswith("the schema change of v2")
    assert "history that 'greet' writes once" in result.err
    assert "moving GREETING.txt → docs/greeting.txt" in result.err
    assert result.out.startswith("update greet 1.0 → 2.0: ")
    assert "greet 1.0 → 2.0: 1 created, 1 moved (merged with your edits)\n" in result.out
    greet = recorded(project)["greet"]
    assert {key: greet[key] for key in ("version", "options", "provider")} == {
        "version": "2.0",
        "options": {"who": "Ann"},
        "provider": "uts-greet 2.0",
    }
    assert set(greet["files"]) == {"docs/greeting.txt", "history/0001.txt", "history/0002.txt"}
    assert uts("outdated", "--project", project).out.startswith("every component")
    # Nothing left to do, and the update is not repeated.
    again = uts("update", "--project", project)
    assert again.code == 0
    assert again.out.startswith("nothing to update")


def test_update_dry_run_writes_nothing(uts: Uts, project: Path) -> None:
    before = snapshot(project)
    result = uts("update", "--dry-run", "--project", project)
    assert result.code == 0, result.err
    assert "+++ b/docs/greeting.txt" in result.out
    assert "dry run: would update greet 1.0 → 2.0" in result.out
    assert snapshot(project) == before


def _conflicting_edit(project: Path) -> None:
    greeting = project / "GREETING.txt"
    greeting.write_text(greeting.read_text().replace("line 5\n", "line 5, ours\n"))


def test_update_conflict_stops_with_files_and_hunks_and_writes_nothing(
    uts: Uts, project: Path
) -> None:
    _conflicting_edit(project)
    before = snapshot(project)
    dry = uts("update", "--dry-run", "--project", project)
    assert dry.code == 8
    assert "conflict 1 of 1 in docs/greeting.txt" in dry.out
    assert "<<<<<<< yours\nline 5, ours\n=======\nline 5, now v2\n>>>>>>> uts\n" in dry.out
    result = uts("update", "--project", project)
    assert result.code == 8
    assert "docs/greeting.txt (1)" in result.err
    assert "conflict 1 of 1 in docs/greeting.txt" in result.err
    assert "<<<<<<< yours\nline 5, ours\n=======\nline 5, now v2\n>>>>>>> uts\n" in result.err
    assert snapshot(project) == before


def test_update_conflict_markers_on_request_still_exit_8(uts: Uts, project: Path) -> None:
    _conflicting_edit(project)
    result = uts("update", "--conflict", "markers", "--project", project)
    assert result.code == 8
    text = (project / "docs/greeting.txt").read_text()
    assert "<<<<<<< yours\nline 5, ours\n=======\nline 5, now v2\n>>>>>>> uts\n" in text
    assert "our own line" in text
    assert recorded(project)["greet"]["version"] == "2.0"


def test_add_and_remove_refuse_to_let_an_upgrade_ride_along(uts: Uts, project: Path) -> None:
    before = snapshot(project)
    result = uts("add", "monitoring", "--project", project)
    assert result.code == 11
    assert "greet 1.0 → 2.0" in result.err
    assert "uts update" in result.err
    assert snapshot(project) == before
    result = uts("remove", "crud", "--project", project)
    assert result.code == 11
    assert snapshot(project) == before


def test_add_with_update_does_both_and_says_so(uts: Uts, project: Path) -> None:
    result = uts("remove", "crud", "--update", "--project", project)
    assert result.code == 0, result.err
    assert result.out.startswith("update greet 1.0 → 2.0; remove crud: ")
    assert "greet 1.0 → 2.0: 1 created, 1 moved (merged with your edits)\n" in result.out
    assert "crud 0.2.0 → removed: " in result.out
    assert (project / "docs/greeting.txt").read_text().count("our own line") == 1
    result = uts("add", "crud", "--project", project)  # now current: add adds, nothing else
    assert result.code == 0, result.err
    assert result.out.startswith("add crud: ")
    assert "greet" not in result.out


MVP = ("project", "fastapi", "database", "errors", "testing", "crud")


def test_a_partial_update_that_needs_an_old_version_is_refused(
    uts: Uts, site: Site, tmp_path: Path
) -> None:
    wave = V1.replace('"greet"', '"wave"').replace("GREETING", "WAVE").replace("history/", "h/")
    site.install(V1)
    site.install(wave, dist="uts-wave", name="wave")
    root = tmp_path / "two"
    assert uts("new", "two", "--with", "greet", "--with", "wave", "--dir", root).code == 0
    site.install(V2, version="2.0")
    site.install(wave.replace('version="1.0"', 'version="1.1"'), dist="uts-wave", name="wave")
    before = snapshot(root)
    result = uts("update", "greet", "--project", root)
    assert result.code == 11
    assert "cannot update greet alone: outdated too: wave 1.0 → 1.1;" in result.err
    assert "uts update greet wave" in result.err
    assert snapshot(root) == before
    result = uts("update", "greet", "wave", "--project", root)
    assert result.code == 0, result.err
    assert "update greet 1.0 → 2.0, wave 1.0 → 1.1" in result.out
    versions = {name: data["version"] for name, data in recorded(root).items()}
    assert versions == {
        **{name: recorded(root)[name]["version"] for name in MVP},
        "greet": "2.0",
        "wave": "1.1",
    }
    result = uts("update", "nosuch", "--project", root)
    assert result.code == 3


def test_version_steps_stop_at_declared_releases_in_between() -> None:
    assert version_steps("1.0", "3.0", ("0.9", "1.5", "2.10", "2.9", "3.0", "4")) == [
        ("1.0", "1.5"),
        ("1.5", "2.9"),
        ("2.9", "2.10"),
        ("2.10", "3.0"),
    ]
    assert version_steps("2.0", "2.0", ()) == []
    assert version_steps("2.0", "1.0", ("1.5",)) == [("2.0", "1.0")]
    assert version_steps("2.0rc1", "2.0", ("2.0rc2",)) == [("2.0rc1", "2.0rc2"), ("2.0rc2", "2.0")]


def test_a_missing_provider_is_named_with_the_package_to_install(
    uts: Uts, project: Path, site: Site
) -> None:
    site.uninstall()
    result = uts("check", "--project", project)
    assert result.code == 11
    assert "missing: greet is not installed; install the distribution 'uts-greet'" in result.out
    before = snapshot(project)
    result = uts("add", "monitoring", "--project", project)
    assert result.code == 9
    assert "'greet'" in result.err and "pip install uts-greet" in result.err
    assert snapshot(project) == before
    result = uts("update", "--project", project)
    assert result.code == 9 and "pip install uts-greet" in result.err
    assert "not installed: greet (provided by uts-greet)" in uts("outdated", "-C", project).err


# pre-commit's manifest schema (pre_commit/clientlib.py): required keys and their types.
HOOK_KEYS = {
    "id": str,
    "name": str,
    "entry": str,
    "language": str,
    "description": str,
    "pass_filenames": bool,
    "always_run": bool,
}
PRE_COMMIT_LANGUAGES = {"python", "system", "script", "docker", "node", "rust", "golang"}


def test_the_pre_commit_hook_is_valid_and_runs_uts_check(
    uts: Uts, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shlex

    import yaml

    repo = Path(__file__).resolve().parents[2]
    hooks = yaml.safe_load((repo / ".pre-commit-hooks.yaml").read_text())
    [hook] = [h for h in hooks if h["id"] == "uts-check"]
    assert {"id", "name", "entry", "language"} <= set(hook) <= set(HOOK_KEYS)
    assert all(isinstance(value, HOOK_KEYS[key]) for key, value in hook.items())
    assert hook["language"] in PRE_COMMIT_LANGUAGES
    # pre-commit appends staged file names unless told not to; uts check takes none.
    command = shlex.split(hook["entry"]) + ([] if hook["pass_filenames"] is False else ["x.py"])
    # The console script pre-commit installs from this repository with pip.
    scripts = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["scripts"]
    assert command[0] in scripts
    monkeypatch.chdir(project)
    result = uts(*command[1:])
    assert result.code == 11 and "outdated: greet 1.0 → 2.0" in result.out
    assert uts("update").code == 0
    assert uts(*command[1:]).code == 0


@pytest.mark.parametrize(
    ("migrate", "code", "message"),
    [
        ('project.move("NOPE.txt", "x.txt")', 6, "moves NOPE.txt, which it did not write"),
        ('project.move("GREETING.txt", "../out.txt")', 6, "not a project-relative path"),
        ("raise RuntimeError('boom')", 6, "component 'greet' raised RuntimeError in uts_migrate"),
        # A migration that forgets to rename the option: the new version refuses it.
        (
            'if to_version == "1.5": project.move("GREETING.txt", "docs/greeting.txt")',
            4,
            "component 'greet' has no option 'name'",
        ),
    ],
)
def test_a_failing_migration_is_named_and_changes_nothing(
    uts: Uts, project: Path, site: Site, migrate: str, code: int, message: str
) -> None:
    body = V2[V2.index("@impl\ndef uts_migrate") : V2.index("@impl\ndef uts_contribute")]
    broken = V2.replace(body, f"@impl\ndef uts_migrate(to_version, project):\n    {migrate}\n\n")
    site.install(broken, version="2.0")
    before = snapshot(project)
    result = uts("update", "--project", project)
    assert result.code == code, result.err
    assert message in result.err
    assert "Traceback" not in result.err
    assert snapshot(project) == before


def test_check_reports_a_git_conflict_in_the_state(uts: Uts, project: Path) -> None:
    assert uts("update", "--project", project).code == 0
    greet = project / ".uts/components/greet.toml"
    text = greet.read_text()
    greet.write_text(f"<<<<<<< HEAD\n{text}=======\n{text}>>>>>>> other\n")
    result = uts("check", "--project", project)
    assert result.code == 11, result.err
    assert "state: .uts/components/greet.toml: git conflict markers" in result.out


def test_check_reports_a_missing_requirement(uts: Uts, project: Path) -> None:
    assert uts("update", "--project", project).code == 0
    (project / ".uts/components/fastapi.toml").unlink()
    result = uts("check", "--project", project)
    assert result.code == 11
    assert "'crud' requires 'fastapi', which is not in the project" in result.out
