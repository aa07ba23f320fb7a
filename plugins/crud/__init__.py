"""A CRUD resource: SQLModel models, a service layer and a REST router, with tests."""

from __future__ import annotations

import builtins
import keyword
import re
from pathlib import Path

from uts.errors import OptionError
from uts.plugin import Component, Context, Contributions, Field, Option, Slot, impl

_IDENTIFIER = r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*"
# Longer names would push generated lines past the line length the templates are laid
# out for; these bounds keep every rendering of them ruff-format clean.
_RESOURCE = rf"(?=[a-z0-9_]{{1,16}}\Z){_IDENTIFIER}"
_PLURAL = rf"(?:(?=[a-z0-9_]{{1,20}}\Z){_IDENTIFIER})?"

# Names the generated modules and tests already use (imports, locals, fixtures): a
# resource spelled like one of them would shadow it.
_TAKEN = frozenset(
    {
        "api",
        "before",
        "body",
        "changes",
        "client",
        "col",
        "count",
        "create",
        "created",
        "data",
        "database",
        "error",
        "first",
        "func",
        "ids",
        "last",
        "limit",
        "listed",
        "main",
        "models",
        "now",
        "number",
        "offset",
        "page",
        "params",
        "payload",
        "raised",
        "response",
        "router",
        "row",
        "select",
        "services",
        "session",
        "statement",
        "status",
        "stored",
        "text",
        "updated",
        "url",
        "utc_now",
    }
)
_TAKEN_CLASSES = frozenset(
    {
        "Annotated",
        "Any",
        "APIRouter",
        "Decimal",
        "Depends",
        "Field",
        "HTTPException",
        "Query",
        "Self",
        "Session",
        "SessionDep",
        "SQLModel",
        "TestClient",
        "UTC",
    }
)


SLOTS = (
    Slot(
        "resources",
        "A REST resource's spellings (`resource_names()` of `uts_plugins.crud` computes "
        "them): crud's templates render theirs, and monitoring counts its creations.",
        fields=(
            Field("component", help="The component that provides it; templates pick theirs by it."),
            Field("name", help="Singular snake_case name (`order_line`)."),
            Field("plural", help="Plural snake_case name (`order_lines`)."),
            Field("model", help="The model class (`OrderLine`)."),
            Field("models", help="The plural in CamelCase (`OrderLines`)."),
            Field("label", help="Singular words (`order line`)."),
            Field("a_label", help="With its article (`an order line`)."),
            Field("labels", help="Plural words (`order lines`)."),
            Field("path", help="Its URL path (`/order-lines`)."),
        ),
        keyed="the name",
    ),
)


@impl
def uts_component() -> Component:
    return Component(
        name="crud",
        version="0.2.0",
        summary="A REST resource (create, list, read, update, delete) backed by SQLModel.",
        requires=("fastapi", "database"),
        conflicts=(),
        options=(
            Option(
                name="resource",
                type=str,
                default="item",
                pattern=_RESOURCE,
                help="Singular snake_case name of the resource (at most 16 characters).",
            ),
            Option(
                name="plural",
                type=str,
                default="",
                pattern=_PLURAL,
                help="Plural of the resource (at most 20 characters); empty to derive it.",
            ),
        ),
        templates=Path(__file__).parent / "templates",
        slots=SLOTS,
    )


def pluralize(word: str) -> str:
    """English plural of a snake_case *word* (only its last part changes)."""
    if re.search(r"[^aeiou]y$", word):
        return word[:-1] + "ies"
    if re.search(r"(?:s|x|z|ch|sh)$", word):
        return word + "es"
    return word + "s"


def resource_names(resource: str, plural: str = "") -> dict[str, str]:
    """Every spelling of the resource the templates need."""
    plural = plural or pluralize(resource)
    return {
        "component": "crud",
        "name": resource,
        "plural": plural,
        "model": "".join(part.capitalize() for part in resource.split("_")),
        "models": "".join(part.capitalize() for part in plural.split("_")),
        "label": resource.replace("_", " "),
        "a_label": ("an " if resource[0] in "aeiou" else "a ") + resource.replace("_", " "),
        "labels": plural.replace("_", " "),
        "path": "/" + plural.replace("_", "-"),
    }


@impl
def uts_configure(ctx: Context) -> None:
    names = resource_names(ctx.options("crud")["resource"], ctx.options("crud")["plural"])
    for option in ("name", "plural"):
        word = names[option]
        if (
            keyword.iskeyword(word)
            or keyword.issoftkeyword(word)
            or hasattr(builtins, word)
            or word in _TAKEN
        ):
            raise OptionError(
                f"crud resource {option} {word!r} clashes with a name the generated code uses",
                hint="pick another resource name, e.g. 'product' or 'order_line'",
            )
    if names["plural"] == names["name"]:
        raise OptionError(
            f"crud plural {names['plural']!r} is the same as the resource name",
            hint="give a plural that differs from the singular, e.g. 'sheep_list'",
        )
    if names["model"] in _TAKEN_CLASSES:
        raise OptionError(
            f"crud resource class {names['model']!r} clashes with an imported class",
            hint="pick another resource name",
        )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    options = ctx.options("crud")
    names = resource_names(options["resource"], options["plural"])
    out.dependency("pydantic>=2.11")
    out.fragment("resources", names, key=names["name"])
    out.fragment("routers", {"module": f"{ctx.package}.api", "attr": "router"})
    path = names["path"]
    out.fragment(
        "readme",
        {
            "title": names["labels"].capitalize(),
            "body": "\n".join(
                [
                    f"`{ctx.package}/models.py` defines the {names['label']} table and its "
                    f"schemas, `{ctx.package}/services.py` the business logic and "
                    f"`{ctx.package}/api.py` the routes:",
                    "",
                    "| Method | Path | Does | Success |",
                    "| --- | --- | --- | --- |",
                    f"| `POST` | `{path}` | create | `201` |",
                    f"| `GET` | `{path}?offset=0&limit=100` | list a page, with the total "
                    "count | `200` |",
                    f"| `GET` | `{path}/{{id}}` | read | `200` |",
                    f"| `PATCH` | `{path}/{{id}}` | change the fields sent | `200` |",
                    f"| `DELETE` | `{path}/{{id}}` | delete | `204` |",
                    "",
                    "An unknown id answers `404`; an invalid body or query answers `422`.",
                ]
            ),
        },
    )
