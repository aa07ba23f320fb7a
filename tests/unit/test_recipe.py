"""Recipes: built-ins, user files, extends, and precise errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import Result
from uts.errors import RecipeError
from uts.recipe import find_recipes, load_recipe


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_builtin_mvp_recipe_loads() -> None:
    available = find_recipes()
    assert "mvp" in available
    recipe = load_recipe("mvp", available)
    assert recipe.name == "mvp"
    assert recipe.components and all(isinstance(c, str) for c in recipe.components)


def test_malformed_toml_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", 'name = "x"\ncomponents = ["a",\n  "b"\nbroken =\n')
    with pytest.raises(RecipeError) as info:
        load_recipe(str(path), {})
    assert str(path) in info.value.message
    assert ":4:" in info.value.message or ":5:" in info.value.message


def test_unknown_key_names_line_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path / "r.toml", 'name = "r"\n\ncomponent = ["a"]\n')
    with pytest.raises(RecipeError) as info:
        load_recipe(str(path), {})
    assert f"{path}:3: unknown key 'component'" in info.value.message
    assert "components" in (info.value.hint or "")


def test_wrong_type_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "r.toml", 'components = "a"\n')
    with pytest.raises(RecipeError, match=r"r.toml:1: 'components' must be a list"):
        load_recipe(str(path), {})


def test_extends_merges_components_and_options(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", 'components = ["a", "b", "c"]\n[options.a]\nx = 1\ny = 2\n')
    child = write(
        tmp_path / "child.toml",
        'name = "child"\nextends = "base.toml"\ncomponents = ["d", "a"]\nexclude = ["b"]\n'
        "[options.a]\ny = 3\n[options.d]\nz = true\n",
    )
    recipe = load_recipe(str(child), {})
    assert recipe.name == "child"
    assert recipe.components == ["a", "c", "d"]
    assert recipe.options == {"a": {"x": 1, "y": 3}, "d": {"z": True}}


def test_exclude_drops_the_options_of_what_it_excludes(tmp_path: Path) -> None:
    write(tmp_path / "base.toml", 'components = ["a", "b"]\n[options.b]\nx = 1\n')
    child = write(tmp_path / "child.toml", 'extends = "base.toml"\nexclude = ["b"]\n')
    assert load_recipe(str(child), {}).options == {}


def test_extends_a_builtin_by_name(tmp_path: Path) -> None:
    path = write(tmp_path / "mine.toml", 'extends = "mvp"\n')
    recipe = load_recipe(str(path), find_recipes())
    assert recipe.components == load_recipe("mvp", find_recipes()).components


def test_extends_cycle_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(RecipeError, match="extends itself"):
        load_recipe(str(tmp_path / "a.toml"), {})


def test_unknown_recipe_name_suggests() -> None:
    with pytest.raises(RecipeError) as info:
        load_recipe("mpv", find_recipes())
    assert "mvp" in (info.value.hint or "")


def test_missing_recipe_file() -> None:
    with pytest.raises(RecipeError, match="does not exist"):
        load_recipe("nowhere/recipe.toml", {})


def test_plugin_shipped_recipes_are_found(tmp_path: Path) -> None:
    shipped = write(tmp_path / "shop.toml", 'components = ["a"]\n')
    available = find_recipes([(shipped, "shopkit")])
    assert available["shop"] == (shipped, "plugin shopkit")
    # A plugin cannot shadow a built-in recipe.
    fake_mvp = write(tmp_path / "mvp.toml", "components = []\n")
    assert find_recipes([(fake_mvp, "evil")])["mvp"][1] == "built-in"


# Recipes are checked as strictly as the command line -----------------------------------


def _run(uts: Callable[..., Result], *args: str | Path) -> Result:
    return uts(*(str(arg) for arg in args))


def test_recipes_check_says_ok_in_one_line(uts: Callable[..., Result], tmp_path: Path) -> None:
    path = write(tmp_path / "lean.toml", 'extends = "core"\nexclude = ["scripts"]\n')
    result = _run(uts, "recipes", "--check", path)
    assert (result.code, result.err) == (0, "")
    assert result.out == f"ok: {path}: recipe 'lean' (10 components)\n"
    assert _run(uts, "recipes", "--check", "full").code == 0


def test_an_exclude_naming_no_component_is_an_error(
    uts: Callable[..., Result], tmp_path: Path
) -> None:
    path = write(tmp_path / "typo.toml", 'extends = "core"\n\nexclude = ["databse"]\n')
    for args in (("recipes", "--check", path), ("new", "demo", "--recipe", path, "--dry-run")):
        result = _run(uts, *args)
        assert result.code == 3, result.err
        assert result.err.splitlines() == [
            f"error: {path}:3: exclude names unknown component 'databse'",
            "hint: did you mean 'database'?",
        ]
    assert not (tmp_path / "demo").exists()


def test_an_unknown_component_in_a_recipe_names_its_file_and_line(
    uts: Callable[..., Result], tmp_path: Path
) -> None:
    path = write(tmp_path / "r.toml", 'components = [\n  "project",\n  "fastapi-x",\n]\n')
    result = _run(uts, "recipes", "--check", path)
    assert result.code == 3
    assert result.err.splitlines()[0] == f"error: {path}:3: unknown component 'fastapi-x'"


def test_excluding_a_component_the_others_require_is_an_error(
    uts: Callable[..., Result], tmp_path: Path
) -> None:
    path = write(tmp_path / "nodb.toml", 'extends = "core"\nexclude = [\n  "database",\n]\n')
    result = _run(uts, "new", "demo", "--recipe", path, "--dir", tmp_path / "demo")
    assert result.code == 3
    assert result.err.splitlines()[0] == (
        f"error: component 'layers' requires 'database', which the recipe's exclude removes "
        f"({path}:3)"
    )
    assert not (tmp_path / "demo").exists()
    assert _run(uts, "recipes", "--check", path).code == 3


def test_a_component_the_command_line_adds_back_is_no_longer_excluded(
    uts: Callable[..., Result], tmp_path: Path
) -> None:
    path = write(tmp_path / "nodb.toml", 'extends = "core"\nexclude = ["database"]\n')
    result = _run(uts, "new", "demo", "--recipe", path, "--with", "database", "--dry-run")
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("options", "line", "message"),
    [
        (
            '[options.crud]\nresource = "order"\nplural = 3\n',
            5,
            "option crud.plural expects str, got 3",
        ),
        ('[options.crud]\nresorce = "order"\n', 4, "component 'crud' has no option 'resorce'"),
        (
            '[options.crud]\nresource = "Bad Name"\n',
            4,
            "option crud.resource value 'Bad Name' does not match",
        ),
        (
            '[options.celery]\nbroker = "redis"\n',
            3,
            "options given for 'celery', which is not part of this project",
        ),
    ],
)
def test_option_errors_from_a_recipe_name_its_file_and_line(
    uts: Callable[..., Result], tmp_path: Path, options: str, line: int, message: str
) -> None:
    path = write(tmp_path / "shop.toml", f'extends = "mvp"\n\n{options}')
    for args in (("recipes", "--check", path), ("new", "demo", "--recipe", path, "--dry-run")):
        result = _run(uts, *args)
        assert result.code == 4, result.err
        assert result.err.startswith(f"error: {path}:{line}: {message}")
        assert "--set" not in result.err  # the value is the recipe's, so is the fix


def test_an_option_error_names_the_recipe_it_comes_from(
    uts: Callable[..., Result], tmp_path: Path
) -> None:
    base = write(tmp_path / "base.toml", 'extends = "mvp"\n[options.crud]\nplural = 3\n')
    child = write(tmp_path / "child.toml", 'extends = "base.toml"\n')
    result = _run(uts, "recipes", "--check", child)
    assert result.err.startswith(f"error: {base}:3: option crud.plural expects str")
    # A value given with --set replaces the recipe's: nothing left to refuse.
    assert (
        _run(uts, "new", "d", "--recipe", child, "--set", "crud.plural=items", "--dry-run").code
        == 0
    )
