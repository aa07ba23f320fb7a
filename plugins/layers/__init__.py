"""The layered architecture of the CORE tier, inside the project's package.

``models/`` (tables), ``schemas/`` (what the API reads and returns), ``repositories/``
(data access, with a generic ``BaseRepository``), ``services/`` (business rules),
``api/deps.py`` (dependencies) and ``api/v1/`` (the versioned router and its endpoint
modules). Other components fill it through the slots it declares (:data:`SLOTS`):
``models`` (tables ``models/__init__.py`` imports), ``api-v1-routers`` (routers mounted
under ``/api/v1``) and ``api-deps`` (dependencies ``api/deps.py`` re-exports).

It conflicts with ``crud``, the flat MVP resource: both define ``<package>.models``.
"""

from __future__ import annotations

from pathlib import Path

from uts.plugin import Component, Context, Contributions, Field, Slot, impl

SLOTS = (
    Slot(
        "models",
        "Table models `models/__init__.py` imports, so that importing the models package "
        "registers every table (Alembic relies on it).",
        fields=(
            Field("module", help="The module that defines them (dotted)."),
            Field("names", list, help="The model classes' names (strings)."),
        ),
        keyed="a model name",
    ),
    Slot(
        "api-v1-routers",
        "A router `api/v1/router.py` mounts under `/api/v1`.",
        fields=(
            Field("module", help="The endpoint module (dotted)."),
            Field("attr", help="The router's name in that module."),
        ),
        keyed="the module",
    ),
    Slot(
        "api-deps",
        "Dependencies `api/deps.py` re-exports, so endpoints import all of them from there.",
        fields=(
            Field("module", help="The module that defines them (dotted)."),
            Field("names", list, help="The names to re-export (strings)."),
        ),
        keyed="the module",
    ),
)


@impl
def uts_component() -> Component:
    return Component(
        name="layers",
        version="0.2.0",
        summary="Layered package: models, schemas, repositories, services, api/v1.",
        requires=("fastapi", "database", "config"),
        conflicts=("crud",),
        options=(),
        templates=Path(__file__).parent / "templates",
        slots=SLOTS,
    )


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    package = ctx.package
    router = f"{package}.api.v1.router"
    out.dependency("pydantic>=2.11")
    out.fragment("routers", {"module": router, "attr": "api_router"}, key=router)
    out.fragment(
        "readme",
        {
            "title": "Architecture",
            "body": "\n".join(
                [
                    f"The `{package}` package is layered; each layer only calls the one below it:",
                    "",
                    "| Layer | Where | Does |",
                    "| --- | --- | --- |",
                    f"| API | `{package}/api/v1/endpoints/` | HTTP: parse, call a service, "
                    "answer; mounted under `/api/v1` by `api/v1/router.py` |",
                    f"| Dependencies | `{package}/api/deps.py` | what endpoints declare: "
                    "`SessionDep` and the others |",
                    f"| Services | `{package}/services/` | business rules; raise the "
                    "exceptions of `core/errors` |",
                    f"| Repositories | `{package}/repositories/` | queries; "
                    "`BaseRepository` gives get, page, count, add, update, delete |",
                    f"| Models | `{package}/models/` | tables (SQLModel) |",
                    f"| Schemas | `{package}/schemas/` | request and response bodies |",
                    f"| Core | `{package}/core/` | settings, database, security, errors, logging |",
                    "",
                    "To add a resource, add its model (and import it in "
                    "`models/__init__.py`), its schemas, a repository subclassing "
                    "`BaseRepository`, a service, and an endpoint module whose `router` "
                    "you include in `api/v1/router.py`; then generate its migration.",
                ]
            ),
        },
    )
