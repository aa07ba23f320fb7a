"""The host of an adopted project: its own app and packaging, which components edit in place.

``uts adopt`` makes this component hold the user's files uts may edit: the module the
app is built in and the dependency file. It stands in for ``project`` and ``fastapi``
(components requiring ``fastapi`` are satisfied by it) and is never removed. Each
composition starts from those files as adopt found them; here, once every component has
contributed, the ``app-setup`` and ``routers`` fragments become statements inserted with
LibCST at the place adopt recorded (after ``app = FastAPI(...)``, or inside the factory
before ``return app``), with the imports they need, and ``dependency()`` requirements go
into the project's own packaging format. A ``health`` fragment makes it serve
``/health/live`` and ``/health/ready`` from a module next to the app, unless the app
serves both already; ``lifespan`` steps run around the app's own lifespan, through a
small module next to the app (``lifespan_steps.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from uts.errors import ConflictError, RenderError, UsageError
from uts.model import Field, Fragment, Host, Slot
from uts.plugin import Component, Context, Contributions, impl

HEALTH_PATHS = ("/health/live", "/health/ready")


@impl
def uts_component() -> Component:
    return Component(
        name="host",
        version="0.1.0",
        summary="An adopted project's own app and packaging, which components edit in place.",
        provides=("project", "fastapi"),
        adoptable=True,
        slots=(
            Slot(
                "app-setup",
                "Called with the app right after it is made: module.function(app).",
                (Field("module"), Field("function")),
            ),
            Slot(
                "routers",
                "Included in the app: app.include_router(module.attr).",
                (Field("module"), Field("attr")),
            ),
            Slot(
                "lifespan",
                "Work run around the app's own lifespan: function() at start-up, shutdown() "
                "at shutdown (in reverse order), through lifespan_steps.py.",
                (
                    Field("module"),
                    Field("function", required=False),
                    Field("shutdown", required=False),
                ),
            ),
            Slot(
                "health",
                "Components that need the probes GET /health/live and /health/ready.",
                (Field("component", help="The component that needs them (its name)."),),
            ),
            Slot(
                "health-checks",
                "Checks readiness runs: module.function() raises when its service is down.",
                (Field("name"), Field("module"), Field("function")),
            ),
        ),
    )


@impl
def uts_configure(ctx: Context) -> None:
    if not ctx.host or not ctx.host.adopted:
        raise UsageError(
            "'host' stands for an adopted project's own app and packaging; "
            "projects uts creates have 'project' and 'fastapi' instead",
            hint="run 'uts adopt' in an existing FastAPI project to use it",
        )


@impl
def uts_finalize(ctx: Context, files: Mapping[str, bytes], out: Contributions) -> None:
    host = ctx.host
    assert host is not None
    _refuse(out.fragments())
    setup, routers = out.fragments("app-setup"), out.fragments("routers")
    health, lifespan = out.fragments("health"), out.fragments("lifespan")
    # Each statement, with {app} and the local names of the modules it uses ({m}, {steps}).
    wired: list[tuple[str, dict[str, str]]] = [
        (f"{{m}}.{f.value['function']}({{app}})", {"m": f.value["module"]}) for f in setup
    ]
    wired += [
        (f"{{app}}.include_router({{m}}.{f.value['attr']})", {"m": f.value["module"]})
        for f in routers
    ]
    if health and _needs_health_module(host):
        path, content = _render_module(host, "health", out.fragments("health-checks"))
        out.file(path, content)
        wired.append(("{app}.include_router({m}.router)", {"m": f"{host.module_prefix}health"}))
    if lifespan:
        path, content = _render_module(host, "lifespan", [])
        out.file(path, content)
        steps = f"{host.module_prefix}lifespan_steps"
        for fragment in lifespan:
            given = [
                f"{when}={{m}}.{fragment.value[key]}"
                for when, key in (("startup", "function"), ("shutdown", "shutdown"))
                if key in fragment.value
            ]
            statement = f"{{steps}}.add({{app}}, {', '.join(given)})"
            wired.append((statement, {"steps": steps, "m": fragment.value["module"]}))
    if wired:
        owners = [f.owner for f in (*setup, *routers, *health, *lifespan)]
        _wire(host, files, out, wired, owners)
    requirements = [f.value for f in out.fragments("dependencies")]
    if requirements:
        from uts.packaging import add_requirement

        path = host.dependency_file
        text = _text(files[path], path)
        for requirement in requirements:
            text = add_requirement(host.packaging, text, requirement)
        out.file(path, text)


def _refuse(fragments: list[Fragment]) -> None:
    """Fragments an adopted project cannot take: named, never dropped silently."""
    for fragment in fragments:
        if fragment.slot.startswith("dependencies:"):
            raise RenderError(
                f"component {fragment.owner!r} adds {fragment.value!r} to the "
                f"{fragment.slot.partition(':')[2]!r} dependency group; uts leaves an adopted "
                "project's development dependencies to it",
                hint="the component must add group dependencies only to projects uts created "
                "(this is a bug in the plugin)",
            )


def _route_path(detail: str) -> str | None:
    return next((word for word in detail.split() if word.startswith("/")), None)


def _needs_health_module(host: Host) -> bool:
    """False when the app serves both probes itself; refused when it serves one of them."""
    served = {
        path: finding
        for finding in host.found("health-route")
        if (path := _route_path(finding.detail)) in HEALTH_PATHS
    }
    if len(served) == len(HEALTH_PATHS):
        return False
    if served:
        path, finding = next(iter(served.items()))
        missing = next(p for p in HEALTH_PATHS if p not in served)
        raise ConflictError(
            f"{finding.file}:{finding.line} serves {path} already, but not {missing}; uts "
            f"would serve both from its own health module",
            hint=f"serve {missing} there too (uts then uses both), or take {path} out",
        )
    return True


def _render_module(host: Host, name: str, checks: list[Fragment]) -> tuple[str, bytes]:
    """The module the host adds next to the app: ``health`` or ``lifespan`` (its steps)."""
    from uts.render import render_templates

    directory = Path(__file__).parent / "templates" / name
    variables: dict[str, Any] = {
        "host": host,
        "fragments": {"health-checks": [check.value for check in checks]},
    }
    ((path, item),) = render_templates(directory, "host", variables).items()
    return path, item.content


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RenderError(
            f"{path} is not UTF-8 text (byte {error.start}); uts edits it as text",
            hint="save it as UTF-8, then run again",
        ) from None


def _bound_names(source: str, function: str | None) -> set[str]:
    """Names the module binds at its top level (and *function* in its body)."""
    import ast

    tree = ast.parse(source)
    bodies = [tree.body]
    bodies += [
        node.body
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == function
    ]
    names: set[str] = set()
    for body in bodies:
        for node in body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


def _wire(
    host: Host,
    files: Mapping[str, bytes],
    out: Contributions,
    wired: list[tuple[str, dict[str, str]]],
    owners: list[str],
) -> None:
    from uts.cst import add_imports, insert_wiring

    if host.insertion is None:
        raise RenderError(
            f"component {owners[0]!r} wires itself into the app, but uts adopt found no place "
            f"to do it in {host.app_module} (the factory does not end with 'return <name>')",
            hint="build the app into a name and end the factory with 'return <name>', then "
            "run 'uts adopt' again",
        )
    path, variable, function = host.insertion
    source = _text(files[path], path)
    taken = _bound_names(source, function)
    local: dict[str, str] = {}
    imports: dict[str, list[str]] = {}  # parent module ("" at the top) -> names it gives
    for _, modules in wired:
        for module in modules.values():
            if module in local:
                continue
            parent, _, name = module.rpartition(".")
            local[module] = name if name not in taken else f"uts_{name}"
            alias = "" if local[module] == name else f" as {local[module]}"
            imports.setdefault(parent, []).append(name + alias)
    lines = []  # as ruff's isort writes them: each "as" name on a line of its own
    for parent, names in imports.items():
        if not parent:
            lines += [f"import {name}" for name in sorted(names)]
            continue
        plain = sorted(name for name in names if " as " not in name)
        groups = [[name] for name in names if " as " in name] + ([plain] if plain else [])
        lines += [f"from {parent} import {', '.join(group)}" for group in groups]
    first_party = {module.split(".")[0] for module in local}  # and the project's packages:
    first_party |= {source for source in host.sources if source.isidentifier()}
    code = [
        statement.format(app=variable, **{key: local[m] for key, m in modules.items()})
        for statement, modules in wired
    ]
    source = add_imports(source, path, lines, first_party)
    out.file(path, insert_wiring(source, path, variable, function, code))
