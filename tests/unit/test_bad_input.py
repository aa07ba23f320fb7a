"""Bad input gets its documented exit code, one line naming the file, a hint; nothing changes."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import FakePlugin, Result, make_registry, snapshot, write_templates
from uts.__main__ import main
from uts.engine import ProjectSpec, compose, package_name
from uts.errors import OptionError, RecipeError, RenderError, UsageError
from uts.model import Component, Context, Contributions, Option
from uts.recipe import find_recipes, load_recipe
from uts_plugins.database import uts_component as database_component

Uts = Callable[..., Result]
COMMANDS = [["status"], ["diff"], ["add", "monitoring"], ["remove", "crud"]]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One mvp project per module; each test works on a copy."""
    root = tmp_path_factory.mktemp("made") / "demo"
    assert main(["new", "demo", "--dir", str(root), "--no-input"]) == 0
    return root


@pytest.fixture
def project(made: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(made, tmp_path / "demo"))


def assert_clear_error(result: Result, code: int, *words: str) -> None:
    """Exit *code*, an ``error:`` line saying *words*, a ``hint:`` line, no traceback."""
    assert result.code == code, (result.code, result.err)
    lines = result.err.splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, result.err
    for word in words:
        assert word in errors[0], (word, errors[0])
    assert any(line.startswith("hint: ") for line in lines), result.err
    assert "Traceback (most recent call last)" not in result.err + result.out
    assert "internal error" not in result.err


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def cut(path: Path, at: str, before: str, after: str) -> None:
    """Keep the text of *path* up to *at*, between *before* and *after*."""
    path.write_text(before + path.read_text(encoding="utf-8").split(at)[0] + after, "utf-8")


# --- uts's state: .uts/project.toml and .uts/components/<name>.toml ------------------------

PROJECT = ".uts/project.toml"
DATABASE = ".uts/components/database.toml"  # version, order, provider, [options], [files]
DATABASE_VERSION = f'version = "{database_component().version}"'


def sub(path: Path, pattern: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    changed = re.sub(pattern, new, text, count=1)
    assert changed != text, pattern
    path.write_text(changed, encoding="utf-8")


def append(path: Path, data: bytes) -> None:
    path.write_bytes(path.read_bytes() + data)


def directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


def _database(old: str, new: str) -> Callable[[Path], None]:
    return lambda root: replace(root / DATABASE, old, new)


def _after_order(line: str) -> Callable[[Path], None]:
    """*line* on line 3 of database.toml, right after ``order = 2``."""
    return _database("order = 2", f"order = 2\n{line}")


def _options_5(root: Path) -> None:
    replace(root / DATABASE, "[options]\necho = false\npostgresql = false\n", "")
    replace(root / DATABASE, "order = 2", "order = 2\noptions = 5")


def _files_list(root: Path) -> None:
    replace(root / DATABASE, "[files]", "[x]")
    replace(root / DATABASE, "order = 2", "order = 2\nfiles = []")


FILE_ID = r'"demo/database.py" = "[0-9a-f]+"'

# damage -> (what it does to the project, words the error line must hold)
STATE_DAMAGE: dict[str, tuple[Callable[[Path], object], list[str]]] = {
    "project.toml not UTF-8": (
        lambda r: append(r / PROJECT, b"# caf\xe9\n"),
        ["project.toml:6:", "UTF-8"],
    ),
    "project.toml a directory": (lambda r: directory(r / PROJECT), ["project.toml", "not a file"]),
    "project.toml not TOML": (
        lambda r: append(r / PROJECT, b"x = = 1\n"),
        ["project.toml", "TOML"],
    ),
    "format = '2'": (
        lambda r: replace(r / PROJECT, "format = 2", 'format = "2"'),
        ["project.toml:2:", "format"],
    ),
    "recipe = []": (
        lambda r: replace(r / PROJECT, 'recipe = "mvp"', "recipe = []"),
        ["project.toml:3:", "recipe"],
    ),
    "project-name = 5": (
        lambda r: replace(r / PROJECT, 'project-name = "demo"', "project-name = 5"),
        ["project.toml:4:", "project-name"],
    ),
    "package = 5": (
        lambda r: replace(r / PROJECT, 'package = "demo"', "package = 5"),
        ["project.toml:5:", "package"],
    ),
    "component not UTF-8": (
        lambda r: append(r / DATABASE, b"# caf\xe9\n"),
        ["database.toml:13:", "UTF-8"],
    ),
    "component a directory": (lambda r: directory(r / DATABASE), ["database.toml", "not a file"]),
    "component not TOML": (lambda r: append(r / DATABASE, b"[x\n"), ["database.toml", "TOML"]),
    "components a file": (
        lambda r: (shutil.rmtree(r / ".uts/components"), (r / ".uts/components").write_text("")),
        [".uts/components", "not a directory"],
    ),
    "version = 5": (
        lambda r: sub(r / DATABASE, r'^version = "[^"]*"', "version = 5"),
        ["database.toml:1:", "version"],
    ),
    "version missing": (
        lambda r: sub(r / DATABASE, r'^version = "[^"]*"\n', ""),
        ["database.toml", "version"],
    ),
    "order = '2'": (_database("order = 2", 'order = "2"'), ["database.toml:2:", "order"]),
    "order = true": (_database("order = 2", "order = true"), ["database.toml:2:", "order"]),
    "provider = 5": (
        _database('provider = "uts 0.1.0"', "provider = 5"),
        ["database.toml:3:", "provider"],
    ),
    "provider = ' '": (
        _database('provider = "uts 0.1.0"', 'provider = " "'),
        ["database.toml:3:", "provider"],
    ),
    "auto = 'yes'": (_after_order('auto = "yes"'), ["database.toml:3:", "auto"]),
    "options = 5": (_options_5, ["database.toml:3:", "options"]),
    "files = []": (_files_list, ["database.toml:3:", "files"]),
    "executable = 'x'": (
        _after_order('executable = "demo/database.py"'),
        ["database.toml:3:", "executable"],
    ),
    "executable = [5]": (_after_order("executable = [5]"), ["database.toml:3:", "executable"]),
    "file id = 5": (
        lambda r: sub(r / DATABASE, FILE_ID, '"demo/database.py" = 5'),
        ["database.toml:10:", "demo/database.py"],
    ),
    "file id not hex": (
        lambda r: sub(r / DATABASE, FILE_ID, '"demo/database.py" = "zzz"'),
        ["database.toml:10:", "demo/database.py"],
    ),
    "file name too long": (
        _database('"demo/database.py"', '"demo/' + "d" * 256 + '.py"'),
        ["database.toml:10:", "no file system holds"],
    ),
    "file path too long": (
        _database('"demo/database.py"', '"' + "d/" * 600 + 'database.py"'),
        ["database.toml:10:", "no file system holds"],
    ),
    "file outside the project": (
        _database('"demo/database.py"', '"../database.py"'),
        ["database.toml:10:", "outside the project"],
    ),
}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("damage", sorted(STATE_DAMAGE))
def test_damaged_state_is_exit_9_for_every_command(
    uts: Uts, project: Path, damage: str, command: list[str]
) -> None:
    mutate, words = STATE_DAMAGE[damage]
    mutate(project)
    before = snapshot(project)
    result = uts(*command, "--project", project)
    assert_clear_error(result, 9, *words)
    assert snapshot(project) == before


@pytest.mark.parametrize("command", [["update"], ["repair"], ["check"]], ids=" ".join)
@pytest.mark.parametrize("damage", sorted(STATE_DAMAGE))
def test_damaged_state_is_named_by_update_repair_and_check(
    uts: Uts, project: Path, damage: str, command: list[str]
) -> None:
    """update and repair stop (exit 9), check reports it as a finding (exit 11)."""
    mutate, words = STATE_DAMAGE[damage]
    mutate(project)
    before = snapshot(project)
    result = uts(*command, "--project", project)
    if command == ["check"]:
        assert result.code == 11, result.err
        assert all(line.startswith("state: ") for line in result.out.splitlines()), result.out
        assert all(word.rstrip(":").split(":")[0] in result.out for word in words), result.out
        # crud requires database: a damaged database.toml is named, never called missing
        assert "which is not in the project" not in result.out, result.out
    else:
        assert_clear_error(result, 9, words[0].split(":")[0])
    assert "Traceback (most recent call last)" not in result.err + result.out
    assert snapshot(project) == before


def test_bad_project_name_in_state_is_a_state_error(uts: Uts, project: Path) -> None:
    replace(project / PROJECT, 'project-name = "demo"', 'project-name = "1 2"')
    before = snapshot(project)
    for command in (["remove", "crud"], ["add", "monitoring"]):
        result = uts(*command, "--project", project)
        assert_clear_error(result, 9, "project.toml:4:", "project-name", "1 2")
    assert snapshot(project) == before


@pytest.mark.parametrize("rel", [PROJECT, DATABASE, "pyproject.toml"])
def test_deeply_nested_toml_is_exit_9(uts: Uts, project: Path, rel: str) -> None:
    append(project / rel, b"\n[deep]\ny = " + b"[" * 100_000 + b"]" * 100_000 + b"\n")
    before = snapshot(project)
    # status and diff do not read pyproject.toml: add and remove edit it
    for command in (["status"], ["add", "monitoring"], ["remove", "crud"]):
        if rel != "pyproject.toml" or command != ["status"]:
            assert_clear_error(uts(*command, "--project", project), 9, rel.rpartition("/")[2])
    assert snapshot(project) == before


def test_non_utf8_pyproject_names_the_line(uts: Uts, project: Path) -> None:
    data = (project / "pyproject.toml").read_bytes()
    (project / "pyproject.toml").write_bytes(data + b"# caf\xe9\n")
    line = data.count(b"\n") + 1
    result = uts("add", "monitoring", "--project", project)
    assert_clear_error(result, 9, f"pyproject.toml:{line}:", "UTF-8")


# --- pyproject.toml: the [project] tables uts edits -----------------------------------------

DEPS = 'dependencies = [\n    "fastapi'
DEV = 'dev = [\n    "coverage'


def project_is_one(root: Path) -> None:
    """``project = 1``, the [project] tables renamed out of its way."""
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8").replace("[project.", "[y.").replace("[project]", "[x]")
    path.write_text("project = 1\n" + text, encoding="utf-8")


# [project] tables uts must edit: add and remove refuse them; status and diff do not need them.
PROJECT_DAMAGE = {
    "project = 1": (project_is_one, "[project]"),
    "dependencies string": (
        lambda r: replace(
            r / "pyproject.toml", DEPS, 'dependencies = "fastapi"\nx = [\n    "fastapi'
        ),
        "dependencies",
    ),
    "dependencies table": (
        lambda r: replace(
            r / "pyproject.toml", DEPS, 'dependencies = {a = 1}\nx = [\n    "fastapi'
        ),
        "dependencies",
    ),
    "dependencies numbers": (
        lambda r: replace(r / "pyproject.toml", DEPS, 'dependencies = [\n    1, "fastapi'),
        "dependencies",
    ),
    "dependencies not a requirement": (
        lambda r: replace(r / "pyproject.toml", DEPS, 'dependencies = [\n    "!!!", "fastapi'),
        "'!!!'",
    ),
    "optional-dependencies.dev string": (
        lambda r: replace(r / "pyproject.toml", DEV, 'dev = "x"\nx = [\n    "coverage'),
        "dev",
    ),
    "a key written twice": (
        lambda r: replace(r / "pyproject.toml", "strict = true", 'strict = true\nfiles = ["x"]'),
        'Key "files" already exists',
    ),
    "optional-dependencies = 3": (
        lambda r: replace(
            r / "pyproject.toml",
            "[project.optional-dependencies]\ndev = [",
            "optional-dependencies = 3\n[x]\ndev = [",
        ),
        "optional-dependencies",
    ),
}


@pytest.mark.parametrize("command", [["add", "monitoring"], ["remove", "crud"]], ids=" ".join)
@pytest.mark.parametrize("damage", sorted(PROJECT_DAMAGE))
def test_project_table_uts_cannot_edit_is_exit_9(
    uts: Uts, project: Path, damage: str, command: list[str]
) -> None:
    mutate, word = PROJECT_DAMAGE[damage]
    mutate(project)
    before = snapshot(project)
    result = uts(*command, "--project", project)
    assert_clear_error(result, 9, "pyproject.toml", word)
    assert snapshot(project) == before
    assert uts("status", "--project", project).code == 0


@pytest.mark.parametrize("quote", ['"""', "'''", '"""\n'])
def test_multiline_string_dependencies_are_edited_and_restored(
    uts: Uts, project: Path, quote: str
) -> None:
    closing = quote.strip()
    path = project / "pyproject.toml"
    replace(path, '"fastapi>=0.165",', f"{quote}fastapi>=0.165{closing},")
    replace(path, '"sqlmodel>=0.0.50",', f'{quote}sqlmodel>=0.0.50{closing}, # "mine"')
    before = path.read_bytes()
    assert uts("add", "monitoring", "--project", project).code == 0
    added = path.read_text(encoding="utf-8")
    assert f"{quote}fastapi>=0.165{closing}," in added
    assert '"prometheus-client' in added
    result = uts("remove", "monitoring", "--project", project)
    assert result.code == 0, result.err
    assert path.read_bytes() == before


# --- state format 1: .uts/manifest.json and [tool.uts], read once to upgrade them ------------

FORMAT_1 = Path(__file__).parent.parent / "data" / "format1-mvp"
LEGACY_COMMANDS = [*COMMANDS[:3], ["remove", "database"], ["update"], ["repair"]]


@pytest.fixture
def legacy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of a project uts 0.1.0 made (state format 1), with an empty object cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return Path(shutil.copytree(FORMAT_1, tmp_path / "demo"))


def assert_not_upgraded(root: Path, before: dict[str, bytes]) -> None:
    """Nothing changed, and no old copy went to the object cache: the upgrade never began."""
    assert snapshot(root) == before
    assert not (root.parent / "cache" / "uts" / "objects").exists()


def _manifest(pattern: str, new: str) -> Callable[[Path], None]:
    return lambda root: sub(root / ".uts/manifest.json", pattern, new.replace("\\", "\\\\"))


def copy_of(root: Path, rel: str, text: str) -> None:
    """Make *text* format 1's copy of *rel*, with its sha256: a consistent manifest entry."""
    path = root / ".uts/manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    sha256 = hashlib.sha256(text.encode()).hexdigest()
    manifest["files"][rel].update(pristine={"text": text}, sha256=sha256)
    path.write_text(json.dumps(manifest), encoding="utf-8")


TEXT = r'"pristine": \{"text": "[^"]*"\}'
SHA = r'"sha256": "[0-9a-f]+"'

MANIFEST_DAMAGE: dict[str, Callable[[Path], object]] = {
    "pristine = 5": _manifest(TEXT, '"pristine": 5'),
    "pristine text = 5": _manifest(TEXT, '"pristine": {"text": 5}'),
    "pristine {}": _manifest(TEXT, '"pristine": {}'),
    "pristine bad base64": _manifest(TEXT, '"pristine": {"base64": "!"}'),
    "pristine base64 = []": _manifest(TEXT, '"pristine": {"base64": []}'),
    "pristine lone surrogate": _manifest(TEXT, '"pristine": {"text": "\\ud800"}'),
    "pristine pyproject.toml not TOML": lambda r: copy_of(r, "pyproject.toml", "x = = 1\n"),
    "owner = 5": _manifest(r'"owner": "project"', '"owner": 5'),
    "owner unknown": _manifest(r'"owner": "project"', '"owner": "nobody"'),
    "sha256 = null": _manifest(SHA, '"sha256": null'),
    "sha256 not the copy's": _manifest(SHA, '"sha256": "' + "0" * 64 + '"'),
    "executable = 'no'": _manifest(r'"owner": "project"', '"owner": "project", "executable": "no"'),
    "files = list": _manifest(r'"files": \{', '"files": [], "x": {'),
    "entry = list": _manifest(r'"\.gitignore": \{[^\n]*\}', '".gitignore": []'),
    "entry name too long": _manifest(r'"\.gitignore": \{', '"' + "g" * 256 + '": {'),
    "entry outside": _manifest(r'"\.gitignore": \{', '"../.gitignore": {'),
    "format = 2": _manifest(r'"format": 1', '"format": 2'),
    "a list": lambda r: (r / ".uts/manifest.json").write_text("[]"),
    "deeply nested": lambda r: (r / ".uts/manifest.json").write_text("[" * 100_000 + "]" * 100_000),
    "not UTF-8": lambda r: append(r / ".uts/manifest.json", b"\xff"),
    "not JSON": lambda r: append(r / ".uts/manifest.json", b"}"),
}


@pytest.mark.parametrize("command", LEGACY_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("damage", sorted(MANIFEST_DAMAGE))
def test_damaged_format_1_manifest_is_exit_9_and_no_upgrade(
    uts: Uts, legacy: Path, damage: str, command: list[str]
) -> None:
    manifest = legacy / ".uts/manifest.json"
    text = manifest.read_bytes()
    MANIFEST_DAMAGE[damage](legacy)
    assert manifest.read_bytes() != text
    before = snapshot(legacy)
    result = uts(*command, "--project", legacy)
    assert_clear_error(result, 9, "manifest.json")
    assert_not_upgraded(legacy, before)


def test_format_1_manifest_that_is_a_directory(uts: Uts, legacy: Path) -> None:
    directory(legacy / ".uts/manifest.json")
    before = snapshot(legacy)
    assert_clear_error(uts("status", "--project", legacy), 9, "manifest.json", "not a file")
    assert_not_upgraded(legacy, before)


PYPROJECT = "pyproject.toml"


def _component(line: str) -> Callable[[Path], None]:
    head = '[tool.uts.components.project]\nversion = "0.1.0"'
    return lambda root: replace(root / PYPROJECT, head, f"{head}\n{line}")


# damage to format 1's [tool.uts] -> words the error line must hold
TOOL_UTS_DAMAGE: dict[str, tuple[Callable[[Path], object], list[str]]] = {
    "non-UTF-8 pyproject": (lambda r: append(r / PYPROJECT, b"# caf\xe9\n"), [":76:", "UTF-8"]),
    "directory pyproject": (lambda r: directory(r / PYPROJECT), ["not a file"]),
    "deeply nested pyproject": (
        lambda r: append(r / PYPROJECT, b"[deep]\ny = " + b"[" * 100_000 + b"]" * 100_000),
        ["TOML"],
    ),
    "tool = 5": (lambda r: cut(r / PYPROJECT, "[tool.", "tool = 5\n", ""), ["[tool.uts]"]),
    "tool.uts = 5": (
        lambda r: cut(r / PYPROJECT, "[tool.uts]", "", "[tool]\nuts = 5\n"),
        ["[tool.uts]"],
    ),
    "components = 5": (
        lambda r: cut(r / PYPROJECT, "[tool.uts.", "", "components = 5\n"),
        ["[tool.uts]"],
    ),
    "component = 5": (
        lambda r: cut(r / PYPROJECT, "[tool.uts.", "", "[tool.uts.components]\nproject = 5\n"),
        ["[tool.uts]"],
    ),
    "component version = 5": (
        lambda r: replace(
            r / PYPROJECT,
            '[tool.uts.components.project]\nversion = "0.1.0"',
            "[tool.uts.components.project]\nversion = 5",
        ),
        [":68:", "project", "version"],
    ),
    "component options = 5": (_component("options = 5"), [":69:", "project", "options"]),
    "component auto = 'yes'": (_component('auto = "yes"'), [":69:", "project", "auto"]),
    "project-name = 5": (
        lambda r: replace(r / PYPROJECT, 'project-name = "demo"', "project-name = 5"),
        [":64:", "project-name"],
    ),
    "recipe = []": (
        lambda r: replace(r / PYPROJECT, 'recipe = "mvp"', "recipe = []"),
        [":63:", "recipe"],
    ),
    "package = 5": (
        lambda r: replace(r / PYPROJECT, 'package = "demo"', "package = 5"),
        [":65:", "package"],
    ),
}


@pytest.mark.parametrize("command", LEGACY_COMMANDS, ids=" ".join)
@pytest.mark.parametrize("damage", sorted(TOOL_UTS_DAMAGE))
def test_damaged_format_1_tool_uts_is_exit_9_and_no_upgrade(
    uts: Uts, legacy: Path, damage: str, command: list[str]
) -> None:
    mutate, words = TOOL_UTS_DAMAGE[damage]
    mutate(legacy)
    before = snapshot(legacy)
    result = uts(*command, "--project", legacy)
    assert_clear_error(result, 9, PYPROJECT, *words)
    assert_not_upgraded(legacy, before)


@pytest.mark.parametrize("damage", ["owner = 5", "not JSON"])
def test_check_names_a_damaged_format_1_manifest(uts: Uts, legacy: Path, damage: str) -> None:
    MANIFEST_DAMAGE[damage](legacy)
    before = snapshot(legacy)
    result = uts("check", "--project", legacy)
    assert result.code == 11, result.err
    assert "state: " in result.out and "manifest.json" in result.out, result.out
    assert "run 'uts status' once to upgrade it" not in result.out  # it would fail
    assert_not_upgraded(legacy, before)


# --- recipes --------------------------------------------------------------------------------


def test_non_utf8_recipe_names_file_and_line(uts: Uts, tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_bytes(b'name = "r"\ndescription = "caf\xe9"\ncomponents = ["project"]\n')
    result = uts("new", "x", "--recipe", recipe, "--dir", tmp_path / "x")
    assert_clear_error(result, 5, f"{recipe}:2", "UTF-8")
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "body",
    [
        "components = " + "[" * 50_000 + "]" * 50_000,
        "[options.crud]\nresource = " + "[" * 50_000 + "]" * 50_000,
        "x = " + "{a = " * 50_000 + "1" + "}" * 50_000,
    ],
    ids=["components", "option", "inline tables"],
)
def test_deeply_nested_recipe_is_exit_5(uts: Uts, tmp_path: Path, body: str) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text(body + "\n")
    result = uts("new", "x", "--recipe", recipe, "--dir", tmp_path / "x")
    assert_clear_error(result, 5, str(recipe))
    assert not (tmp_path / "x").exists()


def test_recipe_errors_at_the_loader(tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_bytes(b"name = 'r'\n\xff\n")
    with pytest.raises(RecipeError, match=r"r\.toml:2: .*UTF-8"):
        load_recipe(str(recipe), find_recipes())


# --- project names ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["demo\n", "demo\r\n", "x" * 300, "a" * 64])
def test_bad_project_name_is_a_usage_error(uts: Uts, tmp_path: Path, name: str) -> None:
    with pytest.raises(UsageError):
        package_name(name)
    result = uts("new", name, "--dir", tmp_path / "x")
    assert_clear_error(result, 2, "project name")
    assert not (tmp_path / "x").exists()


def test_long_project_name_says_the_limit(uts: Uts, tmp_path: Path) -> None:
    result = uts("new", "x" * 300, "--dir", tmp_path / "x")
    assert_clear_error(result, 2, "300 characters", "limit is 63")
    assert package_name("a" * 63) == "a" * 63


# --- option patterns ----------------------------------------------------------------------


def test_option_patterns_have_ascii_semantics() -> None:
    option = Option("v", pattern=r"\d+\.\d+\.\d+", default="1.2.3")
    assert option.coerce("1.2.3", "c") == "1.2.3"
    with pytest.raises(OptionError, match="does not match"):
        option.coerce("\u0661.\u0662.\u0663", "c")  # Arabic-Indic digits
    word = Option("w", pattern=r"\w+", default="a")
    with pytest.raises(OptionError):
        word.coerce("caf\u00e9", "c")


def test_non_ascii_digits_are_refused_by_the_cli(uts: Uts, tmp_path: Path) -> None:
    result = uts(
        "new",
        "x",
        "--with",
        "docker",
        "--set",
        "docker.uv_version=\u0661.\u0662.\u0663",
        "--dir",
        tmp_path / "x",
    )
    assert_clear_error(result, 4, "docker.uv_version")
    assert not (tmp_path / "x").exists()


def test_builtin_option_patterns_compile_ascii_and_accept_their_defaults() -> None:
    from uts.plugin.manager import load_registry

    registry = load_registry(autoload=False)
    checked = 0
    for name, loaded in registry.components.items():
        for option in loaded.component.options:
            if option.pattern is None:
                continue
            re.compile(option.pattern, re.ASCII)
            if isinstance(option.default, str):
                assert option.coerce(option.default, name) == option.default
            with pytest.raises(OptionError):
                option.coerce(str(option.default) + "\n", name)
            checked += 1
    assert checked >= 10


def test_component_names_refuse_a_trailing_newline() -> None:
    with pytest.raises(ValueError, match="lower-case"):
        Component(name="web\n", version="1", summary="x")


# --- templates and plugin output ----------------------------------------------------------


def _plugin(
    tmp_path: Path, templates: dict[str, str | bytes] | None = None, **kwargs: object
) -> FakePlugin:
    root = write_templates(tmp_path / "t", templates) if templates is not None else None
    component = Component(name="web", version="1", summary="web", templates=root)
    return FakePlugin(component, **kwargs)  # type: ignore[arg-type]


def _compose(plugin: FakePlugin) -> None:
    compose(make_registry(plugin), ProjectSpec("demo", "r", ["web"]))


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("a\n{{ 1 // 0 }}\n", ["app.py.jinja", "line 2", "ZeroDivisionError"]),
        ("{{ none_thing.x() }}", ["app.py.jinja"]),
        ("{% for x in 5 %}{% endfor %}", ["app.py.jinja", "TypeError"]),
        ("{{ '%d' % 'a' }}", ["app.py.jinja", "TypeError"]),
    ],
)
def test_template_runtime_errors_are_render_errors(
    tmp_path: Path, source: str, words: list[str]
) -> None:
    with pytest.raises(RenderError) as info:
        _compose(_plugin(tmp_path, {"app.py.jinja": source}))
    for word in words:
        assert word in info.value.message
    assert info.value.hint


def test_template_path_runtime_error_is_a_render_error(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="ZeroDivisionError"):
        _compose(_plugin(tmp_path, {"{{ 1 % 0 }}.py": "x"}))


def test_non_utf8_template_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as info:
        _compose(_plugin(tmp_path, {"ok.jinja": "x", "app.py.jinja": b"a = 1\nb = '\xff'\n"}))
    assert "app.py.jinja" in info.value.message and "UTF-8" in info.value.message
    assert "line 2" in info.value.message


def test_missing_templates_directory_is_a_render_error(tmp_path: Path) -> None:
    component = Component(name="web", version="1", summary="web", templates=tmp_path / "gone")
    with pytest.raises(RenderError, match=r"'web'.*templates directory .*gone"):
        _compose(FakePlugin(component))


def test_templates_directory_added_by_a_hook_that_is_missing(tmp_path: Path) -> None:
    def contribute(ctx: Context, out: Contributions) -> None:
        out.templates(tmp_path / "nowhere")

    with pytest.raises(RenderError, match="nowhere"):
        _compose(_plugin(tmp_path, contribute=contribute))


@pytest.mark.parametrize("phase", ["contribute", "finalize"])
@pytest.mark.parametrize("path", ["a\0b.py", "pkg/\0", "a/\x01.py"])
def test_control_characters_in_a_plugin_file_name(tmp_path: Path, phase: str, path: str) -> None:
    def contribute(ctx: Context, out: Contributions) -> None:
        out.file(path, "x")

    def finalize(ctx: Context, files: object, out: Contributions) -> None:
        out.file(path, "x")

    hooks = {"contribute": contribute} if phase == "contribute" else {"finalize": finalize}
    with pytest.raises(RenderError, match="control character"):
        _compose(_plugin(tmp_path, **hooks))


def test_control_character_from_a_templated_path(tmp_path: Path) -> None:
    with pytest.raises(RenderError, match="control character"):
        _compose(_plugin(tmp_path, {"{{ '\\0' }}x.py": "x"}))


def test_finalize_cannot_write_outside_the_project(tmp_path: Path) -> None:
    def finalize(ctx: Context, files: object, out: Contributions) -> None:
        out.file("../escape.py", "x")

    with pytest.raises(RenderError, match="leaves the project"):
        _compose(_plugin(tmp_path, finalize=finalize))


# --- paths on the command line ------------------------------------------------------------


def test_unusable_new_directory_is_a_write_error(uts: Uts, tmp_path: Path) -> None:
    result = uts("new", "demo", "--dir", tmp_path / ("d" * 300), "--no-input")
    assert_clear_error(result, 10, "cannot create", "too long")
    assert list(tmp_path.iterdir()) == []


def test_unusable_project_path_is_a_state_error(uts: Uts, tmp_path: Path) -> None:
    result = uts("status", "--project", tmp_path / ("d" * 300))
    assert_clear_error(result, 9, "cannot look for a uts project", "too long")


@pytest.mark.parametrize(
    "args",
    [["new", "demo", "--dir", "a\0b"], ["status", "--project", "a\0b"], ["info", "a\0"]],
)
def test_nul_in_an_argument_is_a_usage_error(uts: Uts, args: list[str]) -> None:
    assert_clear_error(uts(*args), 2, "NUL")


def test_bad_conflict_mode_has_a_hint(uts: Uts, project: Path) -> None:
    result = uts("add", "monitoring", "--conflict", "merge", "--project", project)
    assert_clear_error(result, 2, "--conflict")


def test_info_of_a_component_whose_templates_are_missing(tmp_path: Path) -> None:
    from uts.report import component_info

    component = Component(name="web", version="1", summary="web", templates=tmp_path / "gone")
    with pytest.raises(RenderError, match=r"'web'.*templates directory"):
        component_info(make_registry(FakePlugin(component)), "web")
