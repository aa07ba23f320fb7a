"""Composition: phases, fragments, clashes, plugin failures, pyproject and state."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import tomlkit

from tests.conftest import FakePlugin, make_registry, write_templates
from uts.engine import ProjectSpec, compose, package_name
from uts.errors import OptionError, PluginError, RenderError, UsageError
from uts.model import Component, Context, Contributions, Option
from uts.objects import blob_id
from uts.plugin.manager import registry_from
from uts.state import PROJECT_FILE, component_file, is_state_path

PYPROJECT = '[project]\nname = "{{ project_name }}"\n# keep me\ndependencies = []\n\n[project.optional-dependencies]\ndev = []\n'


def base(tmp_path: Path) -> FakePlugin:
    root = write_templates(
        tmp_path / "base",
        {
            "pyproject.toml.jinja": PYPROJECT,
            ".env.example.jinja": "{% for e in fragments['env'] %}{{ e.name }}={{ e.value }}\n{% endfor %}",
        },
    )
    return FakePlugin(Component(name="base", version="1.0", summary="base", templates=root))


def web(tmp_path: Path) -> FakePlugin:
    root = write_templates(
        tmp_path / "web",
        {
            "{{ package }}/main.py.jinja": "{% for r in fragments['routers'] %}import {{ r }}\n{% endfor %}",
        },
    )

    def contribute(ctx: Context, out: Contributions) -> None:
        out.dependency("fastapi>=0.115")
        out.dependency("pytest>=8", group="dev")
        out.fragment("env", {"name": "PORT", "value": ctx.options("web")["port"]}, key="PORT")

    return FakePlugin(
        Component(
            name="web",
            version="2.0",
            summary="web",
            requires=("base",),
            options=(Option("port", type=int, default=8000),),
            templates=root,
        ),
        contribute,
    )


def items() -> FakePlugin:
    def contribute(ctx: Context, out: Contributions) -> None:
        out.dependency("sqlmodel>=0.0.22")
        out.dependency("Anyio>=4")
        out.fragment("routers", f"{ctx.package}.items")
        out.file(f"{ctx.package}/items.py", "ROUTES = []\n")

    return FakePlugin(
        Component(name="items", version="0.3", summary="items", requires=("web",)), contribute
    )


def spec(*components: str, **options: dict[str, object]) -> ProjectSpec:
    return ProjectSpec(
        project_name="my-shop", recipe="test", components=list(components), options=options
    )


def test_compose_runs_all_phases_and_merges_fragments(tmp_path: Path) -> None:
    registry = make_registry(base(tmp_path), web(tmp_path), items())
    result = compose(registry, spec("items", web={"port": "9000"}))
    assert result.resolution.order == ["base", "web", "items"]
    files = result.files
    assert files["my_shop/main.py"].content == b"import my_shop.items\n"
    assert files["my_shop/main.py"].owner == "web"
    assert files["my_shop/items.py"].owner == "items"
    assert files[".env.example"].content == b"PORT=9000\n"

    doc = tomlkit.parse(files["pyproject.toml"].content.decode())
    assert list(doc["project"]["dependencies"]) == [
        "Anyio>=4",
        "fastapi>=0.115",
        "sqlmodel>=0.0.22",
    ]
    assert list(doc["project"]["optional-dependencies"]["dev"]) == ["pytest>=8"]
    assert "# keep me" in files["pyproject.toml"].content.decode()
    assert "tool" not in doc  # state lives in .uts/, never in the user's packaging file
    state = result.state
    assert state["recipe"] == "test"
    assert state["package"] == "my_shop"
    assert state["components"]["web"]["version"] == "2.0"
    assert state["components"]["web"]["options"]["port"] == 9000
    assert list(state["components"]) == ["base", "web", "items"]


def test_state_records_each_component_and_the_blob_id_of_each_of_its_files(
    tmp_path: Path,
) -> None:
    result = compose(make_registry(base(tmp_path), web(tmp_path), items()), spec("items"))
    project = tomllib.loads(result.files[PROJECT_FILE].content.decode())
    assert project == {
        "format": 2,
        "recipe": "test",
        "project-name": "my-shop",
        "package": "my_shop",
    }
    recorded: dict[str, str] = {}
    for order, name in enumerate(["base", "web", "items"]):
        data = tomllib.loads(result.files[component_file(name)].content.decode())
        assert data["order"] == order
        assert "provider" not in data  # a test registry: no distribution behind it
        for path, oid in data.get("files", {}).items():
            assert result.files[path].owner == name
            assert blob_id(result.files[path].content).startswith(oid) and len(oid) == 16
            recorded[path] = oid
    assert data["version"] == "0.3"
    assert set(recorded) == {path for path in result.files if not is_state_path(path)}
    # No copy of any file: the state is a few lines per component.
    assert all(
        b"ROUTES" not in item.content for p, item in result.files.items() if is_state_path(p)
    )


def test_compose_is_deterministic(tmp_path: Path) -> None:
    first = compose(make_registry(base(tmp_path), web(tmp_path), items()), spec("items"))
    second = compose(make_registry(items(), web(tmp_path), base(tmp_path)), spec("items"))
    assert {p: f.content for p, f in first.files.items()} == {
        p: f.content for p, f in second.files.items()
    }


def test_keyed_fragment_clash_names_both_components(tmp_path: Path) -> None:
    def other(ctx: Context, out: Contributions) -> None:
        out.fragment("env", {"name": "PORT", "value": 1}, key="PORT")

    clash = FakePlugin(Component(name="clash", version="1", summary="", requires=("web",)), other)
    with pytest.raises(RenderError) as info:
        compose(make_registry(base(tmp_path), web(tmp_path), clash), spec("clash"))
    assert "'web' and 'clash'" in info.value.message
    assert "PORT" in info.value.message


def test_dependency_clash_names_both(tmp_path: Path) -> None:
    def pin(ctx: Context, out: Contributions) -> None:
        out.dependency("fastapi==0.100")

    pinner = FakePlugin(Component(name="pinner", version="1", summary="", requires=("web",)), pin)
    with pytest.raises(RenderError, match=r"'web' and 'pinner' both set dependencies 'fastapi'"):
        compose(make_registry(base(tmp_path), web(tmp_path), pinner), spec("pinner"))


def test_two_components_writing_one_file_is_an_error(tmp_path: Path) -> None:
    root = write_templates(tmp_path / "thief", {"pyproject.toml": "[project]\n"})
    thief = FakePlugin(Component(name="thief", version="1", summary="", templates=root))
    with pytest.raises(RenderError, match=r"'base' and 'thief' both write pyproject.toml"):
        compose(make_registry(base(tmp_path), thief), spec("base", "thief"))


@pytest.mark.parametrize("phase", ["configure", "contribute", "finalize"])
def test_a_plugin_that_raises_is_named(tmp_path: Path, phase: str) -> None:
    def boom(*args: object) -> None:
        raise ZeroDivisionError("division by zero")

    broken = FakePlugin(Component(name="broken", version="1", summary=""), **{phase: boom})
    with pytest.raises(PluginError) as info:
        compose(make_registry(base(tmp_path), broken), spec("base", "broken"))
    assert "component 'broken' raised ZeroDivisionError" in info.value.message
    assert f"uts_{phase}" in info.value.message


def test_configure_may_refuse_with_a_clear_error(tmp_path: Path) -> None:
    def refuse(ctx: Context) -> None:
        if not ctx.has("web"):
            raise OptionError("needs 'web' to serve its pages")

    picky = FakePlugin(Component(name="picky", version="1", summary=""), configure=refuse)
    with pytest.raises(OptionError, match=r"component 'picky': needs 'web'"):
        compose(make_registry(base(tmp_path), picky), spec("base", "picky"))


def test_finalize_sees_every_file_and_may_add_its_own(tmp_path: Path) -> None:
    def index(ctx: Context, files: object, out: Contributions) -> None:
        out.file("FILES.txt", "\n".join(sorted(files)) + "\n")  # type: ignore[arg-type]

    indexer = FakePlugin(Component(name="indexer", version="1", summary=""), finalize=index)
    result = compose(make_registry(base(tmp_path), indexer), spec("base", "indexer"))
    assert result.files["FILES.txt"].content == b".env.example\npyproject.toml\n"


def test_finalize_cannot_replace_another_components_file(tmp_path: Path) -> None:
    def steal(ctx: Context, files: object, out: Contributions) -> None:
        out.file("pyproject.toml", "")

    thief = FakePlugin(Component(name="thief", version="1", summary=""), finalize=steal)
    with pytest.raises(PluginError, match=r"'thief' writes pyproject.toml in uts_finalize, but"):
        compose(make_registry(base(tmp_path), thief), spec("base", "thief"))


def test_dependencies_without_pyproject_is_an_error(tmp_path: Path) -> None:
    lone = FakePlugin(
        Component(name="lone", version="1", summary=""), lambda ctx, out: out.dependency("x>=1")
    )
    with pytest.raises(RenderError, match=r"none of them writes pyproject\.toml"):
        compose(make_registry(lone), spec("lone"))


def test_options_for_inactive_component_are_refused(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="'web', which is not part of this project"):
        compose(make_registry(base(tmp_path), web(tmp_path)), spec("base", web={"port": "1"}))


@pytest.mark.parametrize(("name", "package"), [("demo", "demo"), ("My-Shop.api", "my_shop_api")])
def test_package_name(name: str, package: str) -> None:
    assert package_name(name) == package


@pytest.mark.parametrize("name", ["1shop", "../evil", "class", "a b", ""])
def test_bad_project_names(name: str) -> None:
    with pytest.raises(UsageError):
        package_name(name)


def test_gitignore_blocks_come_from_the_gitignore_slot() -> None:
    from uts_plugins import project

    def contribute(ctx: Context, out: Contributions) -> None:
        out.fragment("gitignore", {"comment": "Tool X", "patterns": ["a/", "*.x"]})

    extra = FakePlugin(Component(name="extra", version="1", summary=""), contribute)
    plain = compose(registry_from({"project": project}), ProjectSpec("demo", "t", ["project"]))
    both = compose(
        registry_from({"project": project, "extra": extra}),
        ProjectSpec("demo", "t", ["project", "extra"]),
    )
    before = plain.files[".gitignore"].content.decode()
    assert before.endswith("htmlcov/\n")
    assert both.files[".gitignore"].content.decode() == before + "\n# Tool X\na/\n*.x\n"


def _writes_state(tmp_path: Path, how: str, path: str) -> FakePlugin:
    component = Component(name="evil", version="1", summary="")
    if how == "template":
        root = write_templates(tmp_path / "evil", {path + ".jinja": "{}\n"})
        return FakePlugin(Component(name="evil", version="1", summary="", templates=root))
    if how == "contribute":
        return FakePlugin(component, contribute=lambda ctx, out: out.file(path, "{}\n"))
    return FakePlugin(component, finalize=lambda ctx, files, out: out.file(path, "{}\n"))


@pytest.mark.parametrize("how", ["template", "contribute", "finalize"])
@pytest.mark.parametrize(
    "path",
    [
        ".uts/project.toml",
        ".uts/components/x.toml",
        ".uts/extra.json",
        "./.uts/x",
        ".UTS/manifest.json",
    ],
)
def test_a_component_cannot_write_into_the_state_directory(
    tmp_path: Path, how: str, path: str
) -> None:
    evil = _writes_state(tmp_path, how, path)
    with pytest.raises(RenderError) as info:
        compose(make_registry(base(tmp_path), evil), spec("base", "evil"))
    assert info.value.message.startswith("component 'evil'")
    assert "only uts writes there" in info.value.message
