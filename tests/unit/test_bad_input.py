"""Bad input gets its documented exit code, one line naming the file, a hint; nothing changes."""

from __future__ import annotations

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
    assert "Traceback" not in result.err + result.out
    assert "internal error" not in result.err


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def cut(path: Path, at: str, before: str, after: str) -> None:
    """Keep the text of *path* up to *at*, between *before* and *after*."""
    path.write_text(before + path.read_text(encoding="utf-8").split(at)[0] + after, "utf-8")


# --- pyproject.toml of an existing project -------------------------------------------------

DEPS = 'dependencies = [\n    "fastapi'
DEV = 'dev = [\n    "httpx'
TOOL_UTS = '[tool.uts]\nversion = "0.1.0"'


def _state_damage() -> dict[str, tuple[Callable[[Path], object], list[str]]]:
    py = "pyproject.toml"

    def non_utf8(root: Path) -> None:
        (root / py).write_bytes((root / py).read_bytes().replace(b"# FastAPI", b"# \xff\xfe", 1))

    def directory(root: Path) -> None:
        (root / py).unlink()
        (root / py).mkdir()

    return {
        "non-UTF-8 pyproject": (non_utf8, [py, "UTF-8", ":"]),
        "directory pyproject": (directory, [py, "not a file"]),
        "tool = 5": (lambda r: cut(r / py, "[tool.", "tool = 5\n", ""), [py, "'tool'"]),
        "tool.uts = 5": (
            lambda r: cut(r / py, "[tool.uts]", "", "[tool]\nuts = 5\n"),
            [py, "[tool.uts]"],
        ),
        "component options = 5": (
            lambda r: replace(
                r / py,
                '[tool.uts.components.project]\nversion = "0.1.0"',
                '[tool.uts.components.project]\nversion = "0.1.0"\noptions = 5',
            ),
            [py, "project", "options"],
        ),
        "component auto = 'yes'": (
            lambda r: replace(
                r / py,
                '[tool.uts.components.project]\nversion = "0.1.0"',
                '[tool.uts.components.project]\nversion = "0.1.0"\nauto = "yes"',
            ),
            [py, "project", "auto"],
        ),
        "project-name = 5": (
            lambda r: replace(r / py, 'project-name = "demo"', "project-name = 5"),
            [py, "project-name"],
        ),
        "recipe = []": (lambda r: replace(r / py, 'recipe = "mvp"', "recipe = []"), [py, "recipe"]),
    }


STATE_DAMAGE = _state_damage()


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("damage", sorted(STATE_DAMAGE))
def test_damaged_pyproject_state_is_exit_9_for_every_command(
    uts: Uts, project: Path, damage: str, command: list[str]
) -> None:
    mutate, words = STATE_DAMAGE[damage]
    mutate(project)
    before = snapshot(project)
    result = uts(*command, "--project", project)
    assert_clear_error(result, 9, *words)
    assert snapshot(project) == before


def test_non_utf8_pyproject_names_the_line(uts: Uts, project: Path) -> None:
    data = (project / "pyproject.toml").read_bytes()
    (project / "pyproject.toml").write_bytes(data + b"# caf\xe9\n")
    line = data.count(b"\n") + 1
    assert_clear_error(uts("status", "--project", project), 9, f"pyproject.toml:{line}:")


def test_bad_project_name_in_state_is_a_state_error(uts: Uts, project: Path) -> None:
    replace(project / "pyproject.toml", 'project-name = "demo"', 'project-name = "1 2"')
    before = snapshot(project)
    assert_clear_error(uts("remove", "crud", "--project", project), 9, "pyproject.toml", "1 2")
    assert snapshot(project) == before


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
        lambda r: replace(r / "pyproject.toml", DEV, 'dev = "x"\nx = [\n    "httpx'),
        "dev",
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


# --- .uts/manifest.json -------------------------------------------------------------------

MANIFEST_DAMAGE = {
    "pristine = 5": (r'"pristine": \{"text": "[^"]*"\}', '"pristine": 5'),
    "pristine text = 5": (r'"pristine": \{"text": "[^"]*"\}', '"pristine": {"text": 5}'),
    "pristine {}": (r'"pristine": \{"text": "[^"]*"\}', '"pristine": {}'),
    "pristine bad base64": (r'"pristine": \{"text": "[^"]*"\}', '"pristine": {"base64": "!"}'),
    "owner = 5": (r'"owner": "project"', '"owner": 5'),
    "sha256 = null": (r'"sha256": "[0-9a-f]+"', '"sha256": null'),
    "executable = 'no'": (r'"owner": "project"', '"owner": "project", "executable": "no"'),
    "files = list": (r'"files": \{', '"files": [], "x": {'),
    "entry = list": (r'"\.gitignore": \{[^\n]*\}', '".gitignore": []'),
}


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("damage", sorted(MANIFEST_DAMAGE))
def test_manifest_of_the_wrong_shape_is_exit_9(
    uts: Uts, project: Path, damage: str, command: list[str]
) -> None:
    pattern, new = MANIFEST_DAMAGE[damage]
    manifest = project / ".uts" / "manifest.json"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(re.sub(pattern, new.replace("\\", "\\\\"), text, count=1), "utf-8")
    assert manifest.read_text(encoding="utf-8") != text
    before = snapshot(project)
    result = uts(*command, "--project", project)
    assert_clear_error(result, 9, "manifest.json")
    assert snapshot(project) == before


def test_deeply_nested_manifest_is_exit_9(uts: Uts, project: Path) -> None:
    (project / ".uts" / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
    assert_clear_error(uts("status", "--project", project), 9, "manifest.json")


def test_deeply_nested_pyproject_is_exit_9(uts: Uts, project: Path) -> None:
    path = project / "pyproject.toml"
    path.write_text(path.read_text() + "\n[x]\ny = " + "[" * 100_000 + "]" * 100_000 + "\n")
    assert_clear_error(uts("status", "--project", project), 9, "pyproject.toml")


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
