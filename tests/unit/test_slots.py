"""Slots are contracts: the consumer declares each one, every fragment is checked as it
is contributed, and every consumer honours every field."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest

import uts_plugins
from tests.conftest import FakePlugin
from uts.engine import ProjectSpec, compose
from uts.errors import RenderError
from uts.model import (
    NO_DEFAULT,
    Component,
    Context,
    Contributions,
    Declaration,
    Field,
    FragmentStore,
    Slot,
    slot_declarations,
)
from uts.plugin.manager import Registry, load_registry, registry_from

# What the core itself consumes: out.dependency() writes pyproject.toml's dependencies.
CORE_SLOTS = re.compile(r"dependencies(:.+)?")


def builtins_with(*plugins: FakePlugin, names: tuple[str, ...] = ("project",)) -> Registry:
    """Built-in components *names* (and what they require) plus fake *plugins*."""
    modules: dict[str, object] = {}
    fakes = {plugin.component.name for plugin in plugins}
    pending = [*names, *(n for p in plugins for n in p.component.requires if n not in fakes)]
    while pending:
        name = pending.pop()
        if name not in modules:
            modules[name] = importlib.import_module(f"uts_plugins.{name}")
            pending += modules[name].uts_component().requires  # type: ignore[attr-defined]
    return registry_from({**modules, **{p.component.name: p for p in plugins}})


def giving(
    slot: str, value: Any, name: str = "giver", requires: tuple[str, ...] = ()
) -> FakePlugin:
    def contribute(ctx: Context, out: Contributions) -> None:
        out.fragment(slot, value)

    component = Component(name=name, version="1.0", summary="", requires=requires or ("project",))
    return FakePlugin(component, contribute)


def spec(*components: str) -> ProjectSpec:
    return ProjectSpec("shop", "test", list(components))


# -- a fragment that does not fit is refused when contributed ------------------------------


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"name": "PORT", "value": 8000}, "field 'value' must be str, got int 8000"),
        ({"name": "PORT"}, "required field 'value' is missing"),
        ({"name": "PORT", "value": "1", "commment": "x"}, "field 'commment' is not one of"),
        ({"name": "PORT", "value": "1", "secret": "yes"}, "field 'secret' must be bool"),
        ("PORT=8000", "a fragment must be dict, got str 'PORT=8000'"),
    ],
)
def test_a_fragment_that_does_not_fit_names_both_components_slot_and_field(
    value: Any, problem: str
) -> None:
    registry = builtins_with(giving("env", value))
    with pytest.raises(RenderError) as info:
        compose(registry, spec("giver"))
    message = info.value.message
    assert "component 'giver' gives slot 'env' of component 'project'" in message
    assert problem in message
    assert "giver" in (info.value.hint or "")


def test_the_refusal_happens_in_the_contributors_call() -> None:
    """The error surfaces from out.fragment itself: the plugin's own line is on the stack."""
    seen: list[str] = []

    def contribute(ctx: Context, out: Contributions) -> None:
        try:
            out.fragment("readme", {"title": "T"})
        except RenderError as error:
            seen.append(error.message)
            raise

    component = Component(name="giver", version="1.0", summary="", requires=("project",))
    with pytest.raises(RenderError):
        compose(builtins_with(FakePlugin(component, contribute)), spec("giver"))
    assert seen and "required field 'body' is missing" in seen[0]


def test_a_bool_is_no_int() -> None:
    step = {"text": "t", "command": "c", "order": True}
    with pytest.raises(RenderError, match="field 'order' must be int, got bool True"):
        compose(builtins_with(giving("next-steps", step)), spec("giver"))


def test_a_slot_no_active_component_declares_is_not_checked() -> None:
    """Nobody reads it in this project, so any shape goes (the consumer may come later)."""
    result = compose(builtins_with(giving("routers", "not a table")), spec("giver"))
    assert result.fragments["routers"] == ["not a table"]


def test_optional_fields_get_their_declared_defaults() -> None:
    registry = builtins_with(giving("next-steps", {"text": "Do it:", "command": "make"}))
    steps = compose(registry, spec("giver")).fragments["next-steps"]
    assert {"text": "Do it:", "command": "make", "order": 50, "readme": True} in steps


def test_a_third_party_consumer_is_checked_the_same_way() -> None:
    consumer = FakePlugin(
        Component(
            name="queue",
            version="1.0",
            summary="",
            slots=(Slot("jobs", "Jobs.", fields=(Field("name"), Field("every", int))),),
        )
    )
    good = giving("jobs", {"name": "tick", "every": 60}, requires=("queue",))
    assert compose(builtins_with(consumer, good), spec("giver")).fragments["jobs"]
    bad = giving("jobs", {"name": "tick", "every": "1m"}, requires=("queue",))
    with pytest.raises(
        RenderError, match=r"'giver' gives slot 'jobs' of component 'queue'.*'every'"
    ):
        compose(builtins_with(consumer, bad), spec("giver"))


def test_two_components_declaring_one_slot_differently_is_an_error_naming_both() -> None:
    slot = Slot("env", "mine too", fields=(Field("name"),))
    rival = FakePlugin(Component(name="rival", version="1.0", summary="", slots=(slot,)))
    with pytest.raises(
        RenderError, match="components 'project' and 'rival' declare slot 'env' with different"
    ):
        compose(builtins_with(rival), spec("project", "rival"))


def test_components_declaring_one_slot_alike_share_it_and_are_all_named() -> None:
    """Two consumers of one slot (docker and kubernetes both run the migrate command)."""
    slot = Slot("migrate", "The schema's upgrade command.", fields=(Field("command", list[str]),))
    readers = [
        FakePlugin(
            Component(name=name, version="1", summary="", requires=("project",), slots=(slot,))
        )
        for name in ("compose", "cluster")
    ]
    good = giving("migrate", {"command": ["alembic", "upgrade", "head"]}, requires=("compose",))
    result = compose(builtins_with(*readers, good), spec("giver", "cluster"))
    assert result.fragments["migrate"] == [{"command": ["alembic", "upgrade", "head"]}]
    bad = giving("migrate", {"command": ["alembic", 1]}, requires=("compose",))
    with pytest.raises(RenderError) as info:
        compose(builtins_with(*readers, bad), spec("giver", "cluster"))
    assert (
        "component 'giver' gives slot 'migrate' of components 'compose' and 'cluster' a fragment "
        "that does not fit: field 'command' must be list[str], got list ['alembic', 1]"
    ) in info.value.message


def test_a_component_cannot_declare_a_slot_or_a_field_twice() -> None:
    with pytest.raises(ValueError, match="declares a slot twice"):
        Component(name="x", version="1", summary="", slots=(Slot("a", ""), Slot("a", "")))
    with pytest.raises(ValueError, match="has a field twice"):
        Component(
            name="x", version="1", summary="", slots=(Slot("a", "", (Field("f"), Field("f"))),)
        )
    with pytest.raises(ValueError, match="required and cannot have a default"):
        Field("f", default=1)


def test_a_keyed_fragment_is_compared_after_its_defaults_are_filled_in() -> None:
    declared = slot_declarations([importlib.import_module("uts_plugins.project").uts_component()])
    store = FragmentStore(declared=declared)
    store.add("env", {"name": "A", "value": "1"}, "A", "one")
    store.add("env", {"name": "A", "value": "1", "comment": "", "secret": False}, "A", "two")
    assert len(store.items) == 1


# -- every slot a built-in contributes to is declared by a built-in ------------------------


def builtin_declarations() -> dict[str, Declaration]:
    registry = load_registry(autoload=False)
    return slot_declarations(registry.metadata[name] for name in uts_plugins.BUILTINS)


VARIANTS = [
    ["project"],
    ["project", "fastapi", "database", "crud", "monitoring", "docker", "kubernetes", "celery"],
    # crud conflicts with layers; host stands in for project and fastapi (adopted projects)
    [name for name in uts_plugins.BUILTINS if name not in ("crud", "host")],
    ["project", "fastapi", "database", "crud", "terraform", "ci"],
]


def contributed_slots() -> dict[str, set[str]]:
    """Every slot the built-ins contribute to, in a few compositions, with who does."""
    registry = load_registry(autoload=False)
    found: dict[str, set[str]] = {}
    for components in VARIANTS:
        for options in ({}, {"database": {"postgresql": True}, "celery": {"broker": "rabbitmq"}}):
            order = [name for name in options if name in components]
            store = _contribute(registry, components, {k: options[k] for k in order})
            for item in store.items:
                found.setdefault(item.slot, set()).add(item.owner)
    return found


def _contribute(
    registry: Registry, components: list[str], options: dict[str, dict[str, Any]]
) -> FragmentStore:
    from types import MappingProxyType

    from uts.resolve import resolve, resolve_options

    metadata = registry.metadata
    order = resolve(metadata, components).order
    values = {name: resolve_options(metadata[name], options.get(name, {})) for name in order}
    ctx = Context("shop", "shop", "", "test", MappingProxyType(values), "")
    store = FragmentStore(declared=slot_declarations(metadata[name] for name in order))
    for name in order:
        registry.contribute(name, ctx, Contributions(name, store))
    return store


def test_every_slot_a_builtin_contributes_to_is_declared_by_a_builtin() -> None:
    declared = builtin_declarations()
    undeclared = {
        slot: sorted(owners)
        for slot, owners in contributed_slots().items()
        if slot not in declared and not CORE_SLOTS.fullmatch(slot)
    }
    assert not undeclared, f"slots nobody declares: {undeclared}"


def test_every_declared_builtin_slot_is_read_by_its_consumer() -> None:
    """A declaration without a reader would be a contract nobody keeps."""
    root = Path(uts_plugins.__file__).parent
    for slot, (consumers, _) in builtin_declarations().items():
        for consumer in consumers:
            folder = root / consumer
            sources = [
                path.read_text()
                for path in folder.rglob("*")
                if path.is_file() and "__pycache__" not in path.parts  # bytecode, once imported
            ]
            assert any(f'"{slot}"' in text or f"'{slot}'" in text for text in sources), (
                f"{consumer} declares {slot!r} but nothing of it reads the slot"
            )


def test_every_declared_field_has_a_meaning_and_optional_ones_say_so() -> None:
    for slot, (consumer, declaration) in builtin_declarations().items():
        assert declaration.help, f"{consumer}'s slot {slot!r} has no help"
        for field in declaration.fields:
            assert field.help, f"{consumer}'s slot {slot!r}: field {field.name!r} has no help"
            assert field.required or field.default is NO_DEFAULT or field.accepts(field.default)


# -- every consumer honours every field ------------------------------------------------------


def readme_commands(readme: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", readme, re.DOTALL)]


def test_readme_and_uts_new_list_the_next_steps_in_the_same_order(uts: Any, tmp_path: Path) -> None:
    """The README sorted nothing: the CORE and FULL READMEs said serve before migrate."""
    target = tmp_path / "shop"
    result = uts("new", "shop", "--recipe", "full", "--dir", target, "--no-input")
    assert result.code == 0, result.err
    printed = [
        line.strip()
        for line in result.out.split("Next steps:\n", 1)[1].splitlines()
        if line.strip() and not line.strip().startswith(("#", "cd "))
    ]
    shown = readme_commands((target / "README.md").read_text())
    # The README's own quick start (install, test) comes first; install and test steps
    # say readme=False; the rest is in the order uts new printed.
    steps = [command for command in shown if command in printed]
    assert steps == [command for command in printed if command in steps]
    assert steps.index("alembic upgrade head") < steps.index("uvicorn shop.main:app --reload")
    assert len(steps) == len(printed) - 2  # all but install and test


def test_next_steps_order_and_readme_fields_reach_the_readme() -> None:
    late = {"text": "Last:", "command": "echo last", "order": 99}
    early = {"text": "First:", "command": "echo first", "order": 1}
    hidden = {"text": "Hidden:", "command": "echo hidden", "readme": False}
    plugin = FakePlugin(
        Component(name="giver", version="1.0", summary="", requires=("fastapi",)),
        lambda ctx, out: [out.fragment("next-steps", step) for step in (late, early, hidden)],
    )
    readme = compose(builtins_with(plugin), spec("giver")).files["README.md"].content.decode()
    commands = readme_commands(readme)
    assert "echo hidden" not in commands
    assert commands.index("echo first") < commands.index("uvicorn shop.main:app --reload")
    assert commands.index("uvicorn shop.main:app --reload") < commands.index("echo last")


def test_lifespan_function_and_shutdown_are_each_optional() -> None:
    def contribute(ctx: Context, out: Contributions) -> None:
        out.fragment("lifespan", {"module": "shop.warm", "function": "fill_cache"})
        out.fragment("lifespan", {"module": "shop.pool", "shutdown": "close_pool"})

    plugin = FakePlugin(
        Component(name="giver", version="1.0", summary="", requires=("fastapi",)), contribute
    )
    main = compose(builtins_with(plugin), spec("giver")).files["shop/main.py"].content.decode()
    assert "from shop import __version__, health, pool, warm" in main
    startup, _, shutdown = main.partition("yield")
    assert "warm.fill_cache()" in startup and "pool" not in startup.split("lifespan(")[1]
    assert "pool.close_pool()" in shutdown and "warm." not in shutdown
    assert ".None" not in main


def test_env_comment_and_secret_are_optional() -> None:
    plugin = giving("env", {"name": "PLAIN", "value": "1"})
    files = compose(builtins_with(plugin), spec("giver")).files
    example = files[".env.example"].content.decode()
    assert "\n\nPLAIN=1" in example  # no comment line above it
    assert "| `PLAIN` | `1` |  |" in files["README.md"].content.decode()


def test_a_setting_is_not_secret_unless_it_says_so() -> None:
    setting = {"name": "color", "type": "str", "default": '"red"', "doc": "A color."}
    files = compose(
        builtins_with(giving("settings", setting, requires=("config",))), spec("giver")
    ).files
    source = files["shop/core/config/settings.py"].content.decode()
    assert 'color: str = "red"' in source
    assert '"color"' not in source.split("SECRETS", 1)[1].split("\n", 1)[0]


def test_gitignore_blocks_keep_their_comment_and_patterns() -> None:
    block = {"comment": "Tool X", "patterns": ["a/", "*.x"]}
    files = compose(builtins_with(giving("gitignore", block)), spec("giver")).files
    assert "\n# Tool X\na/\n*.x\n" in files[".gitignore"].content.decode()
