"""Hooks through pluggy: argument pruning, specs that grow, refused options, finalize's handle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy
import pytest

from tests.conftest import FakePlugin, make_registry, write_templates
from uts.engine import ProjectSpec, compose
from uts.errors import PluginError
from uts.model import Component, Context, Contributions, FragmentStore, OwnFiles
from uts.plugin import impl
from uts.plugin import spec as hookspecs
from uts.plugin.manager import registry_from

_spec = pluggy.HookspecMarker("uts")


def _component(name: str, **kwargs: Any) -> Component:
    return Component(name=name, version="1", summary="", **kwargs)


def _context(*names: str) -> Context:
    return Context(
        project_name="demo",
        package="demo",
        description="",
        recipe="test",
        components={name: {} for name in names},
        uts_version="0",
    )


class _Declares:
    """A plugin object declaring component *name*; subclasses add hook implementations."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        self.component = _component(name, **kwargs)
        self.seen: dict[str, Any] = {}

    @impl
    def uts_component(self) -> Component:
        return self.component


def test_each_implementation_gets_only_the_arguments_it_names() -> None:
    class OnlyOut(_Declares):
        @impl
        def uts_contribute(self, out: Contributions) -> None:
            out.file("only-out.txt", "x")

    class Nothing(_Declares):
        @impl
        def uts_contribute(self) -> None:
            self.seen["called"] = True

    class Reversed(_Declares):
        @impl
        def uts_contribute(self, out: Contributions, ctx: Context) -> None:
            out.file("reversed.txt", ctx.project_name)

    plugins = [OnlyOut("a"), Nothing("b"), Reversed("c")]
    registry = registry_from({p.component.name: p for p in plugins})
    store = FragmentStore()
    for plugin in plugins:
        name = plugin.component.name
        registry.contribute(name, _context("a", "b", "c"), Contributions(name, store))
    assert store.files["only-out.txt"].content == b"x"
    assert store.files["reversed.txt"].content == b"demo"
    assert plugins[1].seen == {"called": True}


def test_a_spec_grown_at_run_time_keeps_older_implementations_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A later uts adds `build` to uts_contribute; plugins written before keep working.
    @_spec
    def uts_contribute(ctx: Context, out: Contributions, build: str) -> None:
        """uts_contribute, with one more argument."""

    monkeypatch.setattr(hookspecs, "uts_contribute", uts_contribute)

    class Older(_Declares):
        @impl
        def uts_contribute(self, ctx: Context, out: Contributions) -> None:
            out.file("older.txt", ctx.project_name)

    class Newer(_Declares):
        @impl
        def uts_contribute(self, out: Contributions, build: str) -> None:
            out.file("newer.txt", build)

    class Hedging(_Declares):  # written for both: a default where an older uts passes nothing
        @impl
        def uts_contribute(self, out: Contributions, build: str = "unknown") -> None:
            out.file("hedging.txt", build)

    plugins = [Older("older"), Newer("newer"), Hedging("hedging")]
    registry = registry_from({p.component.name: p for p in plugins})
    assert registry.pm.hook.uts_contribute.spec.argnames == ("ctx", "out", "build")
    store = FragmentStore()
    ctx = _context("older", "newer", "hedging")
    for name in ("older", "newer", "hedging"):
        registry.call(name, "uts_contribute", ctx=ctx, out=Contributions(name, store), build="7")
    assert {path: item.content for path, item in store.files.items()} == {
        "older.txt": b"demo",
        "newer.txt": b"7",
        "hedging.txt": b"7",
    }


def test_a_parameter_with_a_default_keeps_it_while_uts_does_not_pass_that_argument() -> None:
    class Hedging(_Declares):
        @impl
        def uts_contribute(self, out: Contributions, build: str = "unknown") -> None:
            out.file("hedging.txt", build)

    registry = registry_from({"hedging": Hedging("hedging")})
    store = FragmentStore()
    registry.contribute("hedging", _context("hedging"), Contributions("hedging", store))
    assert store.files["hedging.txt"].content == b"unknown"


def test_hooks_are_called_through_pluggy_one_component_at_a_time(tmp_path: Path) -> None:
    root = write_templates(tmp_path / "t", {"a.txt": "a\n"})
    first = FakePlugin(_component("first", templates=root))
    second = FakePlugin(_component("second"), lambda ctx, out: out.file("b.txt", "b\n"))
    registry = make_registry(first, second)
    calls: list[tuple[str, list[str]]] = []

    def before(hook: str, impls: list[Any], kwargs: dict[str, Any]) -> None:
        calls.append((hook, [registry.pm.get_name(i.plugin) or "?" for i in impls]))

    registry.pm.add_hookcall_monitoring(before, lambda *args: None)
    compose(registry, ProjectSpec("demo", "test", ["first", "second"]))
    assert calls == [
        (hook, [name])
        for hook in ("uts_configure", "uts_contribute", "uts_finalize")
        for name in ("first", "second")
    ]


def test_a_hook_implemented_under_another_name_with_specname_is_called() -> None:
    class Named(_Declares):
        @impl(specname="uts_contribute")
        def add_files(self, out: Contributions) -> None:
            out.file("named.txt", "x")

    registry = registry_from({"named": Named("named")})
    store = FragmentStore()
    registry.contribute("named", _context("named"), Contributions("named", store))
    assert list(store.files) == ["named.txt"]


def test_an_optional_hook_uts_does_not_have_is_ignored_not_refused() -> None:
    class Ahead(_Declares):
        @impl(optionalhook=True)
        def uts_from_the_future(self, ctx: Context) -> None:
            raise AssertionError("never called")

    registry = registry_from({"ahead": Ahead("ahead")})
    assert registry.components["ahead"].component.name == "ahead"


@pytest.mark.parametrize("option", ["tryfirst", "trylast", "wrapper", "hookwrapper"])
def test_hook_options_uts_does_not_support_are_refused_at_load(option: str) -> None:
    class Ordered(_Declares):
        @impl(**{option: True})
        def uts_contribute(self, out: Contributions) -> Any:
            yield

    with pytest.raises(PluginError) as info:
        registry_from({"ordered": Ordered("ordered")})
    message = info.value.message
    assert message.startswith("plugin 'ordered' (test) failed to load: ")
    assert f"uts_contribute uses the hook option {option}=True" in message
    assert "\n" not in message
    # Not strict: the failure is recorded by name and the other plugins load.
    registry = registry_from(
        {"ordered": Ordered("ordered"), "fine": _Declares("fine")}, strict=False
    )
    assert list(registry.components) == ["fine"]
    assert [(e.name, option in e.message) for e in registry.errors] == [("ordered", True)]


def test_a_wrapper_that_is_no_generator_is_refused_for_the_option_not_pluggys_reason() -> None:
    class Wrapping(_Declares):
        @impl(wrapper=True)
        def uts_contribute(self, out: Contributions) -> None:
            pass

    with pytest.raises(PluginError) as info:
        registry_from({"wrapping": Wrapping("wrapping")})
    assert "uts_contribute uses the hook option wrapper=True" in info.value.message


def test_an_implementation_asking_for_an_argument_the_hook_lacks_is_refused_in_one_line() -> None:
    class Greedy(_Declares):
        @impl
        def uts_contribute(self, ctx: Context, out: Contributions, secrets: Any) -> None:
            pass

    with pytest.raises(PluginError) as info:
        registry_from({"greedy": Greedy("greedy")})
    assert info.value.message == (
        "plugin 'greedy' (test) failed to load: its uts_contribute asks for 'secrets', "
        "which the hook does not pass (it passes ctx, out)"
    )


def test_a_hook_implemented_twice_by_one_plugin_is_refused() -> None:
    class Twice(_Declares):
        @impl
        def uts_contribute(self, out: Contributions) -> None:
            pass

        @impl(specname="uts_contribute")
        def more(self, out: Contributions) -> None:
            pass

    with pytest.raises(PluginError, match="it implements uts_contribute twice"):
        registry_from({"twice": Twice("twice")})


# uts_finalize's handle ---------------------------------------------------------------


def _finalizing(tmp_path: Path, finalize: Any) -> Any:
    root = write_templates(tmp_path / "own", {"own.txt": "mine\n"})
    owner = FakePlugin(_component("owner", templates=root))
    other = FakePlugin(_component("late"))
    other._finalize = finalize
    return compose(make_registry(owner, other), ProjectSpec("demo", "test", ["owner", "late"]))


def test_finalize_replaces_its_own_files_and_adds_new_ones(tmp_path: Path) -> None:
    root = write_templates(tmp_path / "late", {"late.txt": "draft\n"})
    late = FakePlugin(_component("late", templates=root))

    def finish(ctx: Context, files: Any, out: OwnFiles) -> None:
        out.file("late.txt", "final\n")
        out.file("index.txt", "\n".join(sorted(files)) + "\n")

    late._finalize = finish
    result = compose(make_registry(late), ProjectSpec("demo", "test", ["late"]))
    assert result.files["late.txt"].content == b"final\n"
    assert result.files["index.txt"] == (b"late.txt\n", "late", False)


def test_finalize_writing_another_components_file_is_a_plugin_error(tmp_path: Path) -> None:
    def steal(ctx: Context, files: Any, out: OwnFiles) -> None:
        out.file("own.txt", "stolen\n")

    with pytest.raises(PluginError) as info:
        _finalizing(tmp_path, steal)
    assert info.value.message == (
        "component 'late' writes own.txt in uts_finalize, but that file belongs to "
        "component 'owner'"
    )


@pytest.mark.parametrize(
    ("method", "args"),
    [("dependency", ("httpx>=0.27",)), ("fragment", ("env", {"name": "X"})), ("templates", ("t",))],
)
def test_finalize_adding_what_would_be_lost_is_a_plugin_error(
    tmp_path: Path, method: str, args: tuple[Any, ...]
) -> None:
    def late(ctx: Context, files: Any, out: OwnFiles) -> None:
        getattr(out, method)(*args)

    with pytest.raises(PluginError) as info:
        _finalizing(tmp_path, late)
    assert info.value.message.startswith(
        f"component 'late' calls out.{method}() in uts_finalize, after every template has rendered"
    )
    assert f"call out.{method}() in uts_contribute" in (info.value.hint or "")
