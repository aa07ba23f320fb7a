"""``uts plugin new``: the plugin distribution it writes, and the names it refuses."""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result, snapshot
from tests.e2e.validators import jsonschema, report, yamllint
from uts.scaffold import plugin_files
from uts.testing import Kit

Uts = Callable[..., Result]


def test_writes_a_whole_distribution(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "uts-redis-cache"
    result = uts("plugin", "new", "redis-cache", "--dir", target)
    assert result.code == 0, result.err
    assert result.out.startswith(f"created 9 files in {target}\n")
    written = {path for path, data in snapshot(target).items() if not path.endswith("/")}
    assert written == {
        ".github/workflows/ci.yml",
        ".gitignore",
        "README.md",
        "pyproject.toml",
        "tests/test_redis_cache.py",
        "uts_redis_cache/__init__.py",
        "uts_redis_cache/recipes/redis-cache.toml",
        "uts_redis_cache/templates/tests/test_redis_cache.py.jinja",
        "uts_redis_cache/templates/{{ host.package_dir }}/redis_cache.py.jinja",
    }
    for path in written:
        leftover = re.search(r"@[A-Za-z_]+@", (target / path).read_text())
        assert leftover is None, f"placeholder {leftover} left in {path}"


def test_the_pyproject_declares_the_entry_point_and_ships_the_templates(tmp_path: Path) -> None:
    data = tomllib.loads(plugin_files("redis-cache")["pyproject.toml"].decode())
    assert data["project"]["name"] == "uts-redis-cache"
    assert data["project"]["entry-points"]["uts.components"] == {"redis-cache": "uts_redis_cache"}
    assert "templates/**/*" in data["tool"]["setuptools"]["package-data"]["uts_redis_cache"]
    assert any(req.startswith("pytest") for req in data["project"]["optional-dependencies"]["test"])


def test_the_component_module_has_an_example_of_every_hook() -> None:
    from uts.plugin import spec

    hooks = {name for name in dir(spec) if name.startswith("uts_")}
    module = ast.parse(plugin_files("redis-cache")["uts_redis_cache/__init__.py"])
    defined = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
    assert hooks <= set(defined), hooks - set(defined)
    for name in hooks:
        assert ast.get_docstring(defined[name]), f"{name} has no docstring"


def test_python_files_compile_and_the_recipe_parses() -> None:
    files = plugin_files("redis-cache")
    for path, data in files.items():
        if path.endswith(".py"):
            compile(data, path, "exec")
    recipe = tomllib.loads(files["uts_redis_cache/recipes/redis-cache.toml"].decode())
    assert recipe["components"] == ["redis-cache"] and recipe["extends"] == "core"


def test_the_ci_workflow_is_a_valid_github_workflow(tmp_path: Path) -> None:
    workflow = tmp_path / "ci.yml"
    workflow.write_bytes(plugin_files("x")[".github/workflows/ci.yml"])
    for proc in (jsonschema("github-workflows", workflow), yamllint(workflow)):
        assert proc.returncode == 0, report(proc)
    assert "pytest --uts-slow" in workflow.read_text()


def test_output_is_deterministic() -> None:
    assert plugin_files("abc") == plugin_files("abc")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Bad_Name", "plugin name 'Bad_Name' is not a valid component name"),
        ("-x", "plugin name '-x' is not a valid component name"),
        ("a--b", "plugin name 'a--b' is not a valid component name"),
        ("x" * 25, "at most 24 characters"),
        ("../up", "is not a valid component name"),
        ("config", "plugin name 'config' is taken by a built-in component: pick another name"),
    ],
)
def test_a_bad_name_is_one_line_and_writes_nothing(
    uts: Uts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = uts("plugin", "new", "--", name)
    assert result.code == 2
    assert result.out == ""
    assert result.err.startswith("error: ") and message in result.err
    assert result.err.count("\n") == 1, result.err
    assert list(tmp_path.iterdir()) == []


def test_a_non_empty_target_is_refused_and_left_alone(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.mkdir()
    (target / "keep.txt").write_text("mine\n")
    result = uts("plugin", "new", "thing", "--dir", target)
    assert result.code == 2
    assert result.err == f"error: {target} already exists and is not empty: pick another --dir\n"
    assert snapshot(tmp_path) == {"mine/": b"", "mine/keep.txt": b"mine\n"}


def test_an_empty_target_directory_is_used(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    assert uts("plugin", "new", "thing", "--dir", target).code == 0
    assert (target / "uts_thing" / "__init__.py").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["empty"]  # no staging directory left


LONGEST = "abcdefghij-klmnopqrst-uv"


def write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def ruff(root: Path, *paths: str) -> None:
    for args in (["check"], ["format", "--check", "--diff"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args, "--no-cache", *paths],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["a", LONGEST])
def test_ruff_finds_nothing_in_the_plugin_whatever_the_name(tmp_path: Path, name: str) -> None:
    """The plugin's own lint config, on the plugin's own files."""
    ruff(write(tmp_path, plugin_files(name)), ".")


@pytest.mark.parametrize("name", ["a", LONGEST])
def test_what_it_generates_meets_the_projects_lint_rules(
    tmp_path: Path, uts_kit: Kit, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The component's files in a CORE project, under the project's own ruff config."""
    assert len(name) == len(LONGEST) or name == "a"
    write(tmp_path / "plugin", plugin_files(name))
    monkeypatch.syspath_prepend(tmp_path / "plugin")
    module = importlib.import_module(f"uts_{name.replace('-', '_')}")
    project = uts_kit.with_plugins({name: module}).compose("core", with_=[name])
    owned = project.owned_by(name)
    assert len(owned) == 2
    write(tmp_path / "project", project.files)
    ruff(tmp_path / "project", *owned)


def test_a_missing_parent_directory_is_one_line(uts: Uts, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "uts-thing"
    result = uts("plugin", "new", "thing", "--dir", target)
    assert result.code == 2
    assert result.err == (
        f"error: {target.parent} is not a directory: create it, or pick another --dir\n"
    )
    assert list(tmp_path.iterdir()) == []
