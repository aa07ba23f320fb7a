"""The FastAPI application: app module, lifespan, health endpoints and test client."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from uts.plugin import Component, Context, Contributions, Field, Slot, TemplateHelpers, impl

SLOTS = (
    Slot(
        "routers",
        "A router the app module mounts with `app.include_router`.",
        fields=(
            Field("module", help="The module that defines it (dotted)."),
            Field("attr", help="The router's name in that module."),
        ),
        keyed="the module",
    ),
    Slot(
        "lifespan",
        "Work the app's lifespan runs: startup functions in component order, shutdown "
        "functions in reverse order.",
        fields=(
            Field("module", help="The module that defines the functions (dotted)."),
            Field(
                "function",
                required=False,
                help="Called with no argument before the first request.",
            ),
            Field(
                "shutdown",
                required=False,
                help="Called with no argument at shutdown, even when startup failed later on.",
            ),
        ),
        keyed="`module.function`",
    ),
    Slot(
        "app-setup",
        "A function called with the app once it exists: middleware, exception handlers, "
        "instrumentation. Called in component order.",
        fields=(
            Field("module", help="The module that defines it (dotted)."),
            Field("function", help="Its name; called as `function(app)`."),
        ),
        keyed="the module",
    ),
    Slot(
        "health-checks",
        "A check `GET /health/ready` (and `GET /health`) runs; the generated tests check "
        "that every one is registered.",
        fields=(
            Field("name", help="The name the health report gives it."),
            Field("module", help="The module that defines the check (dotted)."),
            Field("function", help="Called with no argument; raises when its service is down."),
        ),
        keyed="the name",
    ),
    Slot(
        "test-client-overrides",
        "A pytest fixture the `client` fixture depends on, returning a dict of FastAPI "
        "`dependency_overrides` (dependency to its test double).",
        fields=(Field("fixture", help="The fixture's name (registered through pytest-plugins)."),),
        keyed="the fixture",
    ),
)


@impl
def uts_component() -> Component:
    return Component(
        name="fastapi",
        version="0.2.0",
        summary="FastAPI app with lifespan, liveness and readiness probes, and a TestClient.",
        requires=("project",),
        conflicts=(),
        options=(),
        templates=Path(__file__).parent / "templates",
        slots=SLOTS,
    )


def python_imports(paths: Iterable[str], line_length: int = 88) -> str:
    """``from module import name`` lines for dotted *paths*, as ruff's isort rules want them.

    ``shop.api.router`` imports ``router`` from ``shop.api``. The lines are grouped by
    module, modules sorted case-insensitively, names CONSTANTS first, then Classes,
    then the rest (``order-by-type``); a line longer than *line_length* lists one name
    per line with a trailing comma, as ruff formats it. The template global
    ``python_imports``: ``{{ python_imports(fragments["routers"] | map(attribute="module")) }}``.
    """
    groups: dict[str, list[str]] = {}
    for path in paths:
        module, _, name = str(path).rpartition(".")
        if not module or not name:
            raise ValueError(f"{path!r} is not a dotted path to a name in a module")
        names = groups.setdefault(module, [])
        if name not in names:
            names.append(name)
    lines: list[str] = []
    for module in sorted(groups, key=lambda module: (module.lower(), module)):
        names = sorted(groups[module], key=_member_order)
        line = f"from {module} import {', '.join(names)}"
        if len(line) <= line_length:
            lines.append(line)
        else:
            lines += [f"from {module} import (", *(f"    {name}," for name in names), ")"]
    return "\n".join(lines)


def _member_order(name: str) -> tuple[int, str, str]:
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), name


@impl
def uts_template_helpers() -> TemplateHelpers:
    return TemplateHelpers(globals={"python_imports": python_imports})


@impl
def uts_contribute(ctx: Context, out: Contributions) -> None:
    out.dependency("fastapi>=0.165")
    out.dependency("uvicorn[standard]>=0.54")
    # Starlette's TestClient warns when it runs on httpx; httpx2 is what it expects.
    out.dependency("httpx2>=2.16", group="dev")
    out.fragment("pytest-plugins", {"module": "tests.fixtures.client"}, key="tests.fixtures.client")
    out.fragment(
        "next-steps",
        {
            "text": (
                "Serve the API on http://127.0.0.1:8000, with interactive docs at "
                "http://127.0.0.1:8000/docs (add `--env-file .env` to load settings "
                "from a `.env` file):"
            ),
            "command": f"uvicorn {ctx.package}.main:app --reload",
            "order": 90,
        },
    )
    out.fragment(
        "readme",
        {
            "title": "API",
            "body": (
                f"`{ctx.package}/main.py` builds the FastAPI application: it runs each "
                "component's startup and shutdown work in its lifespan and mounts their "
                f"routers. `{ctx.package}/health.py` serves the probes: `GET /health/live` "
                "answers `200` while the process runs and checks nothing else (a "
                "liveness probe); `GET /health/ready` runs every registered check and "
                "answers `200`, or `503` with the failing checks named in `failing` "
                "(a readiness probe); `GET /health` gives the same report as readiness. "
                "Add a check with `health.register(name, function)`, the function raising "
                "when its service is down. The OpenAPI schema is served at `/openapi.json`."
            ),
        },
    )
