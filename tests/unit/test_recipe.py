"""Recipes: built-ins, user files, extends, and precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

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
