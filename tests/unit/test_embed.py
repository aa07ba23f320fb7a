"""Hostile values in generated files: refused up front, or every file still parses.

Every ``str`` option of every built-in component (read from the registry, so a new option
is covered without touching this file), the project description and a third-party
component's free-text option are rendered into the FULL project, once per nasty value.
Each generated file of a known format is then read back with its own parser, and the
value is found again, exactly, where it is meant to land.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FakePlugin, Result
from tests.formats import (
    hcl_string,
    inline_text,
    kind,
    parse,
    read_dotenv,
    retyped,
    squeeze,
)
from uts.engine import Composition, ProjectSpec, compose
from uts.errors import OptionError, RenderError
from uts.escape import comment, py_str
from uts.model import Component, Context, Contributions, Option
from uts.plugin.manager import Registry, load_registry, registry_from
from uts.recipe import find_recipes, load_recipe

Uts = Callable[..., Result]

NASTY = [
    'say "hi"',
    "it's",
    "two\nlines",
    "# not a comment",
    "$HOME costs $5",
    "${X}",
    "back\\slash\\",
    "{{ not jinja }} {% x %}",
    "  spaced out  ",
]
# Free text beyond ASCII: JSON's surrogate pairs for the emoji are invalid in TOML.
UNICODE = ["caf\u00e9 \U0001f600\ttab"]
# Plain YAML would read these back as a number, a boolean or null; then digits that are
# not ASCII (which \\d would accept).
RETYPED = ["123", "0x1f", "yes", "null", "off", "3.12.\u0663", "\u0661.\u0662.\u0663"]

BUILTINS = load_registry(autoload=False)
STR_OPTIONS = [
    (name, option.name)
    for name in BUILTINS.names()
    for option in BUILTINS.metadata[name].options
    if option.type is str
]


def full_project(
    registry: Registry,
    extra: tuple[str, ...] = (),
    options: Mapping[str, Mapping[str, Any]] | None = None,
    description: str = "",
    name: str = "my-shop",
) -> Composition:
    """The FULL recipe plus *extra*, without what conflicts with them, composed in memory."""
    recipe = load_recipe("full", find_recipes(lambda: registry.recipe_files))
    components, without = _fit(registry, [*recipe.components, *extra], extra)
    merged = {k: dict(v) for k, v in recipe.options.items() if k not in without}
    for component, values in (options or {}).items():
        merged.setdefault(component, {}).update(values)
    spec = ProjectSpec(
        project_name=name,
        recipe="full",
        components=components,
        options=merged,
        without=without,
        description=description,
    )
    return compose(registry, spec)


def _fit(
    registry: Registry, names: list[str], keep: tuple[str, ...]
) -> tuple[list[str], list[str]]:
    """*names* without the components that conflict with *keep*, or need one that does."""
    metadata = registry.metadata
    dropped = {n for n in names if set(metadata[n].conflicts) & set(keep)}
    dropped |= {c for k in keep for c in metadata[k].conflicts if c in names}
    grew = True
    while grew:
        needing = {n for n in names if n not in dropped and set(metadata[n].requires) & dropped}
        grew = bool(needing)
        dropped |= needing
    return [n for n in names if n not in dropped], sorted(dropped)


def check_project(composition: Composition, value: str | None = None) -> dict[str, Any]:
    """Parse every file of a known format; check where the env settings land. By path.

    With *value*, no YAML file may hold it as anything but a string.
    """
    parsed = {path: parse(path, item.content) for path, item in composition.files.items()}
    if value is not None:
        for path, item in composition.files.items():
            if kind(path) == "yaml":
                assert not retyped(item.content.decode(), value), (path, value)
    env = {str(s["name"]): s for s in composition.fragments["env"]}
    # .env.example: exactly the settings, each value back as the component gave it.
    example = parsed[".env.example"]
    assert example == {name: str(setting["value"]) for name, setting in env.items()}
    # README: one table row per setting, showing name, value and comment as given.
    rows = [[*row[:2], *map(squeeze, row[2:])] for row in _table_rows(parsed["README.md"])]
    for name, setting in env.items():
        row = [name, comment(setting["value"]), squeeze(comment(setting.get("comment", "")))]
        assert row in rows, (row, rows)
    return parsed


def _table_rows(tokens: list[Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    row: list[str] | None = None
    for token in tokens:
        if token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            rows.append(row)
            row = None
        elif token.type == "inline" and row is not None:
            row.append(inline_text(token))
    return rows


@pytest.mark.parametrize(("component", "option"), STR_OPTIONS)
def test_builtin_patterns_are_ascii_and_anchored(component: str, option: str) -> None:
    """No class whose meaning depends on flags (``\\d`` takes Arabic digits without
    ``re.ASCII``) and no ``$``, which also matches before a final newline."""
    found = BUILTINS.metadata[component].option(option)
    assert found is not None
    if found.pattern is not None:
        assert not re.search(r"\\[dDwWsSbB]|\$", found.pattern), found.pattern


@pytest.mark.parametrize("value", NASTY + RETYPED)
@pytest.mark.parametrize(("component", "option"), STR_OPTIONS)
def test_builtin_option_refuses_or_survives_a_nasty_value(
    uts: Uts, tmp_path: Path, component: str, option: str, value: str
) -> None:
    try:
        composition = full_project(BUILTINS, (component,), {component: {option: value}})
    except OptionError:
        # Refused up front: on the command line, one error line and one hint.
        recipe = load_recipe("full", find_recipes(lambda: BUILTINS.recipe_files))
        components, without = _fit(BUILTINS, [*recipe.components, component], (component,))
        args = ["new", "my-shop", "--recipe", "full", "--dir", tmp_path / "p", "--dry-run"]
        args += [f"--with={name}" for name in components if name not in recipe.components]
        args += [f"--without={name}" for name in without]
        result = uts(*args, "--set", f"{component}.{option}={value}")
        assert result.code == 4, result.err
        error, hint = result.err.splitlines()
        assert error.startswith(f"error: option {component}.{option} "), result.err
        assert hint.startswith("hint: ")
        return
    parsed = check_project(composition, value)
    recorded = parsed[f".uts/components/{component}.toml"]["options"]
    assert recorded[option] == value


@pytest.mark.parametrize("value", NASTY + UNICODE)
def test_description_lands_intact_everywhere(value: str) -> None:
    composition = full_project(BUILTINS, description=value)
    parsed = check_project(composition)
    assert parsed["pyproject.toml"]["project"]["description"] == value
    module = parsed["my_shop/__init__.py"]
    assert isinstance(module, ast.Module)
    assert squeeze(ast.get_docstring(module, clean=False) or "") == squeeze(value)
    tokens = parsed["README.md"]
    shown = [inline_text(t) for t in tokens if t.type == "inline"]
    assert [squeeze(text) for text in shown[:2]] == ["my-shop", squeeze(value)]


@pytest.mark.parametrize("name", ["Yes", "Null", "ON", "n"])
def test_project_name_yaml_would_retype_stays_a_string(name: str) -> None:
    composition = full_project(BUILTINS, name=name)
    check_project(composition, name.lower())  # Kubernetes object names are lower case
    check_project(composition, name)


def notes_plugin() -> FakePlugin:
    """A third-party component whose free-text option reaches settings, .env and compose."""

    def contribute(ctx: Context, out: Contributions) -> None:
        motd = ctx.options("notes")["motd"]
        out.fragment("env", {"name": "NOTES_MOTD", "value": motd, "comment": motd}, key="N")
        out.fragment(
            "settings",
            {
                "name": "notes_motd",
                "type": "str",
                "default": py_str(motd),
                "doc": motd,
                "secret": False,
            },
            key="notes_motd",
        )
        service = {"image": "busybox:1.37", "environment": {"MOTD": motd}, "command": [motd]}
        out.fragment("compose-services", {"name": "notes", "service": service}, key="notes")

    return FakePlugin(
        Component(
            name="notes",
            version="1.0",
            summary="notes",
            requires=("config", "docker"),
            options=(Option("motd", default="hello"),),
        ),
        contribute,
    )


@pytest.fixture(scope="module")
def with_notes() -> Registry:
    import importlib

    plugins: dict[str, object] = {
        name: importlib.import_module(f"uts_plugins.{name}") for name in BUILTINS.names()
    }
    return registry_from({**plugins, "notes": notes_plugin()})


@pytest.mark.parametrize("value", NASTY + UNICODE)
def test_third_party_free_text_lands_intact_everywhere(with_notes: Registry, value: str) -> None:
    if "${" in value:  # python-dotenv would expand it in .env, whatever the quoting
        with pytest.raises(RenderError, match=r"\.env\.example\.jinja: .* expands") as raised:
            full_project(with_notes, ("notes",), {"notes": {"motd": value}})
        assert raised.value.exit_code == 7
        return
    composition = full_project(with_notes, ("notes",), {"notes": {"motd": value}})
    parsed = check_project(composition)
    assert read_dotenv(composition.files[".env.example"].content.decode())["NOTES_MOTD"] == value
    # The settings field: its default and its docstring.
    settings = parsed["my_shop/core/config/settings.py"]
    body = next(n for n in settings.body if isinstance(n, ast.ClassDef)).body
    index = next(
        i
        for i, n in enumerate(body)
        if isinstance(n, ast.AnnAssign) and n.target.id == "notes_motd"
    )
    assert ast.literal_eval(body[index].value) == value
    doc = body[index + 1].value.value
    assert squeeze(doc) == squeeze(value)
    # Kubernetes ConfigMap, Terraform variables, the compose service.
    configmaps = [d for d in parsed["deploy/k8s/configmap.yaml"] if d]
    assert configmaps[0]["data"]["NOTES_MOTD"] == value
    (variables,) = [
        v['"environment_variables"']
        for v in parsed["deploy/terraform/variables.tf"]["variable"]
        if '"environment_variables"' in v
    ]
    assert hcl_string(variables["default"]['"NOTES_MOTD"']) == value
    (compose,) = parsed["compose.yaml"]
    assert compose["services"]["notes"]["environment"] == {"MOTD": value}
    assert compose["services"]["notes"]["command"] == [value]
