"""Resolution: order, requirements, conflicts, cycles, unknown names, options."""

from __future__ import annotations

import pytest

from uts.errors import OptionError, ResolutionError
from uts.model import REQUIRED, Component, Option
from uts.resolve import resolve, resolve_options


def comps(**spec: tuple[tuple[str, ...], tuple[str, ...]]) -> dict[str, Component]:
    return {
        name: Component(name=name, version="1", summary=name, requires=req, conflicts=con)
        for name, (req, con) in spec.items()
    }


def test_requirements_come_first_and_order_is_stable() -> None:
    c = comps(app=(("web", "db"), ()), web=(("base",), ()), db=(("base",), ()), base=((), ()))
    result = resolve(c, ["app"])
    assert result.order == ["base", "db", "web", "app"]
    assert result.added_for == {"db": "app", "web": "app", "base": "db"}
    # Same inputs, same order, whatever the dict order of the catalogue.
    reordered = dict(reversed(list(c.items())))
    assert resolve(reordered, ["app"]).order == result.order


def test_requested_order_is_kept_among_independent_components() -> None:
    c = comps(a=((), ()), b=((), ()), z=((), ()))
    assert resolve(c, ["z", "a", "b", "a"]).order == ["z", "a", "b"]


def test_unknown_component_suggests_closest_names() -> None:
    c = comps(monitoring=((), ()), migrations=((), ()))
    with pytest.raises(ResolutionError) as info:
        resolve(c, ["monitorin"])
    assert "unknown component 'monitorin'" in info.value.message
    assert "monitoring" in (info.value.hint or "")


def test_cycle_is_reported_with_its_path() -> None:
    c = comps(a=(("b",), ()), b=(("c",), ()), c=(("a",), ()))
    with pytest.raises(ResolutionError, match=r"cycle: a -> b -> c -> a"):
        resolve(c, ["a"])


def test_conflict_names_both_components() -> None:
    c = comps(celery=((), ("rq",)), rq=((), ()))
    with pytest.raises(ResolutionError) as info:
        resolve(c, ["rq", "celery"])
    assert "'celery' conflicts with 'rq'" in info.value.message


def test_missing_requirement_names_component_and_requirement() -> None:
    c = comps(app=(("ghost",), ()))
    with pytest.raises(ResolutionError, match=r"'app' requires 'ghost', which is not installed"):
        resolve(c, ["app"])


def test_without_drops_a_component_unless_something_needs_it() -> None:
    c = comps(app=(("base",), ()), base=((), ()), extra=((), ()))
    assert resolve(c, ["app", "extra"], without=["extra"]).order == ["base", "app"]
    with pytest.raises(ResolutionError, match=r"'app' requires 'base', which --without removes"):
        resolve(c, ["app"], without=["base"])


OPTS = Component(
    name="crud",
    version="1",
    summary="",
    options=(
        Option("resource", default="item", pattern=r"[a-z][a-z0-9_]*", help="Resource name."),
        Option("page_size", type=int, default=50),
        Option("soft_delete", type=bool, default=False),
        Option("style", default="plain", choices=("plain", "fancy")),
        Option("owner", default=REQUIRED, help="Team that owns it."),
    ),
)


def test_options_are_coerced_and_defaulted() -> None:
    values = resolve_options(OPTS, {"page_size": "20", "soft_delete": "yes", "owner": "ops"})
    assert values == {
        "resource": "item",
        "page_size": 20,
        "soft_delete": True,
        "style": "plain",
        "owner": "ops",
    }


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"page_size": "many"}, "crud.page_size expects int"),
        ({"page_size": True}, "crud.page_size expects int"),
        ({"soft_delete": "maybe"}, "crud.soft_delete expects bool"),
        ({"style": "baroque"}, "must be one of plain, fancy"),
        ({"resource": "Bad Name"}, "does not match"),
        ({"pagesize": "1"}, "has no option 'pagesize'"),
    ],
)
def test_bad_option_values_name_component_and_option(given: dict[str, str], message: str) -> None:
    with pytest.raises(OptionError) as info:
        resolve_options(OPTS, {"owner": "x", **given})
    assert message in info.value.message


def test_unknown_option_suggests_the_closest() -> None:
    with pytest.raises(OptionError) as info:
        resolve_options(OPTS, {"pagesize": "1", "owner": "x"})
    assert "page_size" in (info.value.hint or "")


def test_required_option_is_asked_for_or_reported() -> None:
    with pytest.raises(OptionError, match=r"crud.owner has no default"):
        resolve_options(OPTS, {})
    asked: list[str] = []

    def ask(component: Component, option: Option) -> str:
        asked.append(f"{component.name}.{option.name}")
        return "platform"

    assert resolve_options(OPTS, {}, ask)["owner"] == "platform"
    assert asked == ["crud.owner"]
