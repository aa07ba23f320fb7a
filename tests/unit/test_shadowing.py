"""`uts new` refuses a package name that shadows or collides with something.

A standard-library module, a dependency the composition declares, or a top-level path
a component writes: one line, exit 2, nothing written, with or without ``--dry-run``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FakePlugin, Result, make_registry, write_templates
from uts.engine import Composition, ProjectSpec, compose
from uts.errors import UsageError
from uts.model import Component, Contributions

Uts = Callable[..., Result]
PYPROJECT = '[project]\nname = "{{ project_name }}"\ndependencies = []\n'

# (project name, recipe, what the one line must say collides with what)
REFUSED = [
    ("tests", "mvp", "collides with the tests/ directory that components 'project', "),
    ("tests", "core", "collides with the tests/ directory that components 'project', "),
    ("scripts", "core", "collides with the scripts/ directory that component 'scripts' writes"),
    ("scripts", "full", "collides with the scripts/ directory that component 'scripts' writes"),
    ("alembic", "core", "collides with the alembic/ directory that component"),
    ("alembic", "full", "collides with the alembic/ directory that component"),
    ("fastapi", "mvp", "would shadow dependency 'fastapi' that component 'fastapi' declares"),
    ("sqlmodel", "core", "would shadow dependency 'sqlmodel' that component 'database' declares"),
    ("celery", "full", "would shadow dependency 'celery' that component 'celery' declares"),
    ("Pydantic.Settings", "core", "would shadow dependency 'pydantic-settings' that component"),
    ("logging", "mvp", "would shadow the standard-library module 'logging'"),
    ("json", "core", "would shadow the standard-library module 'json'"),
    ("email", "full", "would shadow the standard-library module 'email'"),
]


@pytest.mark.parametrize("dry_run", [False, True], ids=["write", "dry-run"])
@pytest.mark.parametrize(("name", "recipe", "collision"), REFUSED)
def test_new_refuses_a_package_that_collides(
    uts: Uts, tmp_path: Path, name: str, recipe: str, collision: str, dry_run: bool
) -> None:
    target = tmp_path / "out"
    args = ["new", name, "--recipe", recipe, "--dir", target, "--no-input"]
    result = uts(*args, *(["--dry-run"] if dry_run else []))
    assert result.code == 2, result.err
    lines = result.err.splitlines()
    assert len(lines) == 1, result.err
    package = re.sub(r"[^a-z0-9]+", "_", name.lower())
    assert lines[0].startswith(f"error: project name {name!r} gives package {package!r}, which ")
    assert collision in lines[0]
    assert lines[0].endswith(f"pick another name, e.g. '{name}-service'")
    assert result.out == ""
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "recipe"), [("tests", "core"), ("alembic", "full")])
def test_the_suggested_name_is_accepted(uts: Uts, tmp_path: Path, name: str, recipe: str) -> None:
    refused = uts("new", name, "--recipe", recipe, "--dir", tmp_path / "a", "--no-input")
    suggested = re.search(r"e\.g\. '([^']+)'$", refused.err.strip())
    assert suggested, refused.err
    made = uts("new", suggested.group(1), "--recipe", recipe, "--dir", tmp_path / "b", "--no-input")
    assert made.code == 0, made.err
    package = suggested.group(1).replace("-", "_")
    assert (tmp_path / "b" / package / "__init__.py").is_file()


@pytest.mark.parametrize("recipe", ["mvp", "core", "full"])
@pytest.mark.parametrize("name", ["shop", "my-shop.v2", "abacus"])
def test_ordinary_names_still_work(uts: Uts, tmp_path: Path, name: str, recipe: str) -> None:
    args = ["new", name, "--recipe", recipe, "--dir", tmp_path / "p", "--no-input"]
    planned = uts(*args, "--dry-run")
    assert planned.code == 0, planned.err
    made = uts(*args)
    assert made.code == 0, made.err
    package = re.sub(r"[^a-z0-9]+", "_", name)
    assert (tmp_path / "p" / package / "__init__.py").is_file()


def test_mvp_has_no_alembic_directory_so_the_name_is_free(uts: Uts, tmp_path: Path) -> None:
    # The check follows what the composition writes, not a list of names.
    made = uts("new", "alembic", "--recipe", "mvp", "--dir", tmp_path / "p", "--no-input")
    assert made.code == 0, made.err
    assert not (tmp_path / "p" / "alembic" / "env.py").exists()


# The core names no component: the same checks for a third-party plugin's paths and
# dependencies.


def _plugin(tmp_path: Path, dependency: str) -> FakePlugin:
    root = write_templates(
        tmp_path / "templates",
        {
            "{{ package }}/__init__.py.jinja": "",
            "deploy/chart.yaml.jinja": "name: {{ project_name }}\n",
            "Makefile": "all:\n",
            "pyproject.toml.jinja": PYPROJECT,
        },
    )

    def contribute(ctx: object, out: Contributions) -> None:
        out.dependency(dependency)

    return FakePlugin(Component(name="third", version="1", summary="", templates=root), contribute)


def _compose(
    tmp_path: Path, name: str, dependency: str = "Some.Thing_Lib>=1", new: bool = True
) -> Composition:
    registry = make_registry(_plugin(tmp_path, dependency))
    spec = ProjectSpec(project_name=name, recipe="custom", components=["third"])
    return compose(registry, spec, new=new)


@pytest.mark.parametrize(
    ("name", "dependency", "said"),
    [
        ("deploy", "x>=1", "collides with the deploy/ directory that component 'third' writes"),
        ("makefile", "x>=1", "collides with the Makefile file that component 'third' writes"),
        # The distribution name normalised to an identifier (PEP 503, then '-' to '_').
        (
            "some-thing.lib",
            "Some.Thing_Lib[extra]>=1 ; python_version >= '3.11'",
            "would shadow dependency 'Some.Thing_Lib' that component 'third' declares",
        ),
        # What an installed distribution provides (PyYAML is in the test environment).
        (
            "yaml",
            "PyYAML>=6",
            "would shadow dependency 'PyYAML' (which provides 'yaml') that component 'third'",
        ),
        ("asyncio", "x>=1", "would shadow the standard-library module 'asyncio'"),
    ],
)
def test_a_plugins_paths_and_dependencies_are_checked(
    tmp_path: Path, name: str, dependency: str, said: str
) -> None:
    with pytest.raises(UsageError) as caught:
        _compose(tmp_path, name, dependency)
    assert said in caught.value.message
    assert caught.value.hint is None  # one line


def test_other_names_and_other_commands_compose(tmp_path: Path) -> None:
    files = _compose(tmp_path, "deployer").files
    assert "deployer/__init__.py" in files and "deploy/chart.yaml" in files
    # Only `uts new` checks: a project that exists keeps its name in add/update/...
    assert "deploy/__init__.py" in _compose(tmp_path, "deploy", new=False).files


def test_the_suggestion_avoids_collisions_too(tmp_path: Path) -> None:
    # "deploy-service" would shadow the dependency deploy-service: the next candidate.
    with pytest.raises(UsageError) as caught:
        _compose(tmp_path, "deploy", "deploy-service>=1")
    assert caught.value.message.endswith("pick another name, e.g. 'deploy-app'")


def test_an_installed_distributions_record_gives_its_import_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A wheel without top_level.txt: the first segments of RECORD's paths.
    site = tmp_path / "site"
    info = site / "python_jose-3.5.0.dist-info"
    info.mkdir(parents=True)
    (info / "RECORD").write_text(
        "jose/__init__.py,sha256=x,10\njose/jwt.py,sha256=y,20\n"
        "python_jose-3.5.0.dist-info/RECORD,,\n../../bin/jose-cli,sha256=z,5\n"
    )
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(UsageError) as caught:
        _compose(tmp_path, "jose", "python-jose[cryptography]>=3")
    said = "would shadow dependency 'python-jose' (which provides 'jose') that component 'third'"
    assert said in caught.value.message
    # Not installed: the distribution name alone, as an identifier.
    assert "jose/__init__.py" in _compose(tmp_path, "jose", "python-jose-x>=3").files
