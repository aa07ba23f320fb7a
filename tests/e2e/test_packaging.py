"""Packaging: every component is declared and shipped, and wheel and editable installs agree."""

from __future__ import annotations

import ast
import json
import stat
import tomllib
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from tests.conftest import snapshot
from tests.e2e.conftest import REPO, clean_env, copy_source, make_venv, run, uv
from uts import __version__

TOP_LEVEL = {"uts", "uts_plugins", "uts_recipes"}
SKIP_DIRS = {"__pycache__"}  # what the renderer skips too (core/render.py)
SKIP_SUFFIXES = {".pyc", ".pyo"}


def declared_packages() -> set[str]:
    """``[tool.setuptools] packages`` from pyproject.toml."""
    with (REPO / "pyproject.toml").open("rb") as file:
        packages: list[str] = tomllib.load(file)["tool"]["setuptools"]["packages"]
    return set(packages)


def builtins_tuple() -> tuple[str, ...]:
    """``BUILTINS`` from plugins/__init__.py, read without importing it."""
    tree = ast.parse((REPO / "plugins" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "BUILTINS" for target in node.targets
        ):
            value: tuple[str, ...] = tuple(ast.literal_eval(node.value))
            return value
    raise AssertionError("plugins/__init__.py defines no BUILTINS")


def component_folders() -> set[str]:
    return {path.parent.name for path in (REPO / "plugins").glob("*/__init__.py")}


def shipped_files(root: Path, folder: str, pattern: str) -> list[Path]:
    """Files under *root*/*folder* matching *pattern* that belong in the wheel."""
    return sorted(
        path
        for path in (root / folder).glob(pattern)
        if path.is_file()
        and path.suffix not in SKIP_SUFFIXES
        and not SKIP_DIRS & set(path.relative_to(root).parts)
    )


# (a) declarations: fast, no build -------------------------------------------------------------


def test_every_component_folder_is_a_declared_package_and_a_builtin() -> None:
    folders = component_folders()
    assert folders, "no component folders found under plugins/"
    packages = declared_packages()
    declared = {
        name.removeprefix("uts_plugins.") for name in packages if name.startswith("uts_plugins.")
    }
    assert folders - declared == set(), "add these to [tool.setuptools] packages in pyproject.toml"
    assert declared - folders == set(), "these packages have no folder under plugins/"
    builtins = builtins_tuple()
    assert len(builtins) == len(set(builtins)), "BUILTINS lists a component twice"
    assert folders == set(builtins), "plugins/__init__.py BUILTINS and the folders disagree"


def test_every_core_package_is_declared() -> None:
    packages = declared_packages()
    found = {
        ".".join(("uts", *path.parent.relative_to(REPO / "core").parts))
        for path in (REPO / "core").rglob("__init__.py")
        # plugin_template/ is package data: the files `uts plugin new` copies, not code.
        if "__pycache__" not in path.parts and "plugin_template" not in path.parts
    }
    assert found - packages == set(), "add these to [tool.setuptools] packages in pyproject.toml"


# (b) the wheel --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean copy of the working tree, so builds never touch (or reuse) the shared checkout."""
    target = tmp_path_factory.mktemp("packaging") / "uts-src"
    copy_source(target)
    return target


@pytest.fixture(scope="module")
def wheel(source: Path) -> Path:
    out = source.parent / "dist"
    uv("build", "--wheel", "--quiet", "--out-dir", str(out), str(source))
    [built] = out.glob("uts-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if not name.endswith("/")}


def test_wheel_top_level_names_are_exactly_the_import_packages(wheel_names: set[str]) -> None:
    top = {
        PurePosixPath(name).parts[0]
        for name in wheel_names
        if not PurePosixPath(name).parts[0].endswith((".dist-info", ".data"))
    }
    assert top == TOP_LEVEL


def test_wheel_declares_the_entry_point_and_version(wheel: Path) -> None:
    info = f"uts-{__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
        top_level = archive.read(f"{info}/top_level.txt").decode().split()
    assert "uts = uts.__main__:entry" in entry_points
    assert set(top_level) == TOP_LEVEL


@pytest.mark.parametrize(
    ("folder", "pattern", "package"),
    [
        ("core", "**/*.py", "uts"),
        ("plugins", "*.py", "uts_plugins"),
        ("plugins", "*/*.py", "uts_plugins"),
        ("plugins", "*/templates/**/*", "uts_plugins"),
        ("recipes", "*.toml", "uts_recipes"),
        ("core", "plugin_template/**/*", "uts"),
    ],
)
def test_wheel_ships_every_source_file(
    source: Path, wheel: Path, wheel_names: set[str], folder: str, pattern: str, package: str
) -> None:
    files = shipped_files(source, folder, pattern)
    assert files, f"nothing matches {folder}/{pattern}"
    expected = {f"{package}/{path.relative_to(source / folder).as_posix()}": path for path in files}
    assert sorted(set(expected) - wheel_names) == []
    with zipfile.ZipFile(wheel) as archive:
        changed = [
            name for name, path in expected.items() if archive.read(name) != path.read_bytes()
        ]
    assert changed == []


def test_wheel_ships_template_dotfiles(source: Path, wheel_names: set[str]) -> None:
    templates = shipped_files(source, "plugins", "*/templates/**/*")
    dotfiles = [path for path in templates if path.name.startswith(".")]
    assert {".gitignore", ".env.example.jinja"} <= {path.name for path in dotfiles}
    for path in dotfiles:
        assert f"uts_plugins/{path.relative_to(source / 'plugins').as_posix()}" in wheel_names


# (c) wheel and editable installs --------------------------------------------------------------


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path) -> Path:
    return make_venv(wheel.parent.parent / "venv-wheel", str(wheel))


@pytest.fixture(scope="module")
def editable_venv(source: Path) -> Path:
    return make_venv(source.parent / "venv-editable", "--editable", str(source))


@pytest.fixture(params=["wheel", "editable"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def venv_for(request: pytest.FixtureRequest, kind: str) -> Path:
    bindir: Path = request.getfixturevalue(f"{kind}_venv")
    return bindir


def test_installed_uts_version(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> None:
    bindir = venv_for(request, kind)
    result = run([bindir / "uts", "--version"], cwd=tmp_path, env=clean_env(bindir))
    assert result.stdout == f"uts {__version__}\n"


def test_installed_code_comes_from_the_right_place(
    request: pytest.FixtureRequest, kind: str, source: Path, tmp_path: Path
) -> None:
    bindir = venv_for(request, kind)
    # uts_recipes has no __init__.py: a namespace package, so look at __path__ (as
    # uts.recipe.builtin_recipe_dir does), not __file__.
    code = (
        "import json, uts, uts_plugins, uts_recipes\n"
        "print(json.dumps([next(iter(m.__path__)) for m in (uts, uts_plugins, uts_recipes)]))"
    )
    result = run([bindir / "python", "-c", code], cwd=tmp_path, env=clean_env(bindir))
    folders = [Path(folder) for folder in json.loads(result.stdout)]
    expected_root = bindir.parent if kind == "wheel" else source
    for folder in folders:
        assert folder.is_relative_to(expected_root), folder
        assert not folder.is_relative_to(REPO), folder


def new_project(bindir: Path, work: Path) -> Path:
    target = work / "D"
    env = clean_env(bindir, XDG_CACHE_HOME=str(work / "cache"))  # no compiled templates shared
    run([bindir / "uts", "new", "demo", "--dir", target], cwd=work, env=env)
    return target


def modes(root: Path) -> dict[str, bool]:
    return {
        path.relative_to(root).as_posix(): bool(path.stat().st_mode & stat.S_IXUSR)
        for path in root.rglob("*")
        if path.is_file()
    }


def test_wheel_and_editable_installs_generate_identical_projects(
    wheel_venv: Path, editable_venv: Path, tmp_path: Path
) -> None:
    (tmp_path / "wheel").mkdir()
    (tmp_path / "editable").mkdir()
    from_wheel = new_project(wheel_venv, tmp_path / "wheel")
    from_editable = new_project(editable_venv, tmp_path / "editable")
    files = snapshot(from_wheel)
    assert {
        ".gitignore",
        ".env.example",
        "pyproject.toml",
        "demo/__init__.py",
        ".uts/project.toml",
    } <= set(files)
    assert files == snapshot(from_editable)
    assert modes(from_wheel) == modes(from_editable)
