"""One pass of LibCST over a project module: imports, apps, factories and what is there."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from uts.errors import UtsError

if TYPE_CHECKING:
    import libcst as cst

__all__ = ["Factory", "Finding", "ModuleScan", "scan_module"]

_ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route", "route"}
_ROUTE_CALLS = {"add_route", "add_api_route", "mount", "add_websocket_route"}
_PROMETHEUS = ("prometheus_fastapi_instrumentator", "starlette_exporter", "prometheus_client")


class Finding(NamedTuple):
    """Something the project already has that components must respect."""

    kind: str
    file: str
    line: int | None
    detail: str


@dataclass
class Factory:
    name: str
    line: int
    variable: str | None  # the name in its final ``return name``; None otherwise
    return_line: int


@dataclass
class ModuleScan:
    name: str  # dotted
    file: str  # project-relative
    imports: dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    referenced: set[str] = field(default_factory=set)  # dotted modules it imports
    apps: list[tuple[str, int]] = field(default_factory=list)  # attr = FastAPI(...)
    calls: list[tuple[str, str, int]] = field(default_factory=list)  # attr = callee(...)
    factories: dict[str, Factory] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def _dotted(node: cst.BaseExpression | None) -> str | None:
    import libcst

    if isinstance(node, libcst.Name):
        return node.value
    if isinstance(node, libcst.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr.value}" if base else None
    return None


def _string(node: cst.BaseExpression | None) -> str | None:
    import libcst

    if isinstance(node, libcst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class _Scanner:
    """One pass over a module: imports, app candidates, factories and findings."""

    def __init__(self, module: ModuleScan, tree: cst.Module, package: str) -> None:
        self.info = module
        self.tree = tree
        self.package = package
        self.prefixes: dict[str, str] = {}  # router variable -> APIRouter(prefix=...)

    def line(self, node: cst.CSTNode) -> int:
        return int(self.positions[node].start.line)

    def run(self) -> None:
        import libcst
        from libcst.metadata import MetadataWrapper, PositionProvider

        wrapper = MetadataWrapper(self.tree, unsafe_skip_copy=True)
        self.positions = wrapper.resolve(PositionProvider)
        for node in self.tree.body:
            if isinstance(node, libcst.SimpleStatementLine):
                for small in node.body:
                    if isinstance(small, libcst.Import | libcst.ImportFrom):
                        self.imported(small)
        for node in self.tree.body:
            self.top_level(node)
        scanner = self

        class Visitor(libcst.CSTVisitor):
            def visit_Call(self, node: libcst.Call) -> None:
                scanner.call(node)

            def visit_FunctionDef(self, node: libcst.FunctionDef) -> None:
                scanner.decorated(node)

            def visit_ClassDef(self, node: libcst.ClassDef) -> None:
                scanner.class_def(node)

        self.tree.visit(Visitor())

    def qualified(self, node: cst.BaseExpression | None) -> str | None:
        name = _dotted(node)
        if name is None:
            return None
        head, _, rest = name.partition(".")
        base = self.info.imports.get(head, head)
        return f"{base}.{rest}" if rest else base

    def is_fastapi(self, node: cst.BaseExpression | None) -> bool:
        import libcst

        if not isinstance(node, libcst.Call):
            return False
        name = self.qualified(node.func)
        return name is not None and (
            name == "fastapi.FastAPI" or name.endswith(".FastAPI") or name == "FastAPI"
        )

    def imported(self, node: cst.Import | cst.ImportFrom) -> None:
        import libcst

        if isinstance(node, libcst.Import):
            for alias in node.names:
                name = _dotted(alias.name) or ""
                local = alias.asname.name.value if alias.asname else name.split(".")[0]  # type: ignore[union-attr]
                self.info.imports[local] = name if alias.asname else local
                self.info.referenced.add(name)
                self.found_import(name, node)
            return
        base = _dotted(node.module) if node.module else ""
        if node.relative:
            parts = self.package.split(".") if self.package else []
            up = len(node.relative) - 1
            parts = parts[: len(parts) - up] if up else parts
            base = ".".join([*parts, base] if base else parts)
        base = base or ""
        self.info.referenced.add(base)
        self.found_import(base, node)
        if isinstance(node.names, libcst.ImportStar):
            return
        for alias in node.names:
            name = alias.evaluated_name
            local = alias.evaluated_alias or name
            self.info.imports[local] = f"{base}.{name}"
            self.info.referenced.add(f"{base}.{name}")

    def found_import(self, name: str, node: cst.CSTNode) -> None:
        if name.startswith(_PROMETHEUS):
            self.add("instrumentator", node, f"import {name}")
        elif name.startswith("opentelemetry"):
            self.add("opentelemetry", node, f"import {name}")

    def add(self, kind: str, node: cst.CSTNode, detail: str) -> None:
        self.info.findings.append(Finding(kind, self.info.file, self.line(node), detail))

    def top_level(self, node: cst.BaseStatement) -> None:
        import libcst

        if isinstance(node, libcst.FunctionDef):
            self.function(node)
            return
        if not isinstance(node, libcst.SimpleStatementLine) or len(node.body) != 1:
            return
        small = node.body[0]
        target: cst.BaseExpression | None = None
        if isinstance(small, libcst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif isinstance(small, libcst.AnnAssign) and small.value is not None:
            target, value = small.target, small.value
        if not isinstance(target, libcst.Name) or not isinstance(value, libcst.Call):
            return
        if self.is_fastapi(value):
            self.info.apps.append((target.value, self.line(node)))
        elif (self.qualified(value.func) or "").endswith("APIRouter"):
            prefix = next((_string(a.value) for a in value.args if _keyword(a) == "prefix"), None)
            if prefix:
                self.prefixes[target.value] = prefix
        else:
            callee = self.qualified(value.func)
            if callee:
                self.info.calls.append((target.value, callee, self.line(node)))

    def function(self, node: cst.FunctionDef) -> None:
        import libcst

        body = list(node.body.body) if isinstance(node.body, libcst.IndentedBlock) else []
        annotated = node.returns is not None and self.qualified(node.returns.annotation) in (
            "fastapi.FastAPI",
            "FastAPI",
        )
        if node.returns is not None and _string(node.returns.annotation) == "FastAPI":
            annotated = True
        built: set[str] = set()  # local names bound to FastAPI(...)
        local: set[str] = set()  # every local name bound at the function's top level
        direct = False
        for statement in body:
            if not isinstance(statement, libcst.SimpleStatementLine):
                continue
            for small in statement.body:
                names: set[str] = set()
                if isinstance(small, libcst.Assign):
                    names = {
                        t.target.value for t in small.targets if isinstance(t.target, libcst.Name)
                    }
                elif isinstance(small, libcst.AnnAssign) and isinstance(small.target, libcst.Name):
                    names = {small.target.value}
                elif isinstance(small, libcst.Return) and self.is_fastapi(small.value):
                    direct = True
                local |= names
                if isinstance(small, libcst.Assign | libcst.AnnAssign) and self.is_fastapi(
                    small.value
                ):
                    built |= names
        last = body[-1] if body else None
        returned = None
        if isinstance(last, libcst.SimpleStatementLine) and isinstance(last.body[0], libcst.Return):
            value = last.body[0].value
            returned = value.value if isinstance(value, libcst.Name) else None
        if annotated and returned is not None and returned not in local:
            return  # a getter of an app built elsewhere (def get_app() -> FastAPI: return app)
        if not (annotated or direct or (returned is not None and returned in built)):
            return
        return_line = self.line(last) if last is not None else self.line(node)
        self.info.factories[node.name.value] = Factory(
            node.name.value, self.line(node), returned, return_line
        )

    def call(self, node: cst.Call) -> None:
        import libcst

        if self.is_fastapi(node):
            for arg in node.args:
                if _keyword(arg) == "lifespan":
                    self.add("lifespan", arg, f"lifespan={self.tree.code_for_node(arg.value)}")
                elif _keyword(arg) in ("on_startup", "on_shutdown"):
                    self.add("event-handler", arg, f"FastAPI({_keyword(arg)}=...)")
            return
        qualified = self.qualified(node.func) or ""
        if qualified.split(".")[-1] in ("Instrumentator", "PrometheusMiddleware"):
            self.add("instrumentator", node, f"{qualified.split('.')[-1]}()")
        if qualified.endswith(("FastAPIInstrumentor.instrument_app", "FastAPIInstrumentor")):
            self.add("opentelemetry", node, qualified.split(".")[-1])
        if not isinstance(node.func, libcst.Attribute):
            return
        method = node.func.attr.value
        first = _string(node.args[0].value) if node.args and not _keyword(node.args[0]) else None
        if method == "add_event_handler":
            self.add("event-handler", node, f"add_event_handler({first!r})")
        elif method == "add_middleware" and node.args:
            self.add("middleware", node, self.tree.code_for_node(node.args[0].value))
        elif method in _ROUTE_CALLS and first is not None:
            detail = f"{method} {first}"
            served = node.args[1].value if len(node.args) > 1 else None
            if (
                method == "mount"
                and isinstance(served, libcst.Call)
                and not served.args
                and self.qualified(served.func) == "prometheus_client.make_asgi_app"
            ):  # the default registry's metrics: what uts's monitoring counts into too
                detail += " prometheus_client.make_asgi_app()"
            self.route(node, detail, first)
        elif method == "include_router":
            prefix = next((_string(a.value) for a in node.args if _keyword(a) == "prefix"), None)
            if prefix:
                self.route(node, f"include_router prefix {prefix}", prefix)

    def route(self, node: cst.CSTNode, detail: str, path: str) -> None:
        if path == "/health" or path.startswith(("/health/", "/healthz", "/health?")):
            self.add("health-route", node, detail)
        elif path == "/metrics" or path.startswith("/metrics/"):
            self.add("metrics-route", node, detail)

    def decorated(self, node: cst.FunctionDef) -> None:
        import libcst

        for decorator in node.decorators:
            call = decorator.decorator
            if not isinstance(call, libcst.Call) or not isinstance(call.func, libcst.Attribute):
                continue
            method = call.func.attr.value
            owner = _dotted(call.func.value) or ""
            first = (
                _string(call.args[0].value) if call.args and not _keyword(call.args[0]) else None
            )
            if method == "on_event":
                self.add("event-handler", decorator, f"on_event({first!r}) {node.name.value}")
            elif method == "middleware":
                self.add("middleware", decorator, f"@{owner}.middleware {node.name.value}")
            elif method in _ROUTE_METHODS and first is not None:
                path = self.prefixes.get(owner, "") + first
                verb = method.upper() if method not in ("api_route", "route") else method
                self.route(decorator, f"{verb} {path}", path)

    def class_def(self, node: cst.ClassDef) -> None:
        for base in node.bases:
            name = _dotted(base.value) or ""
            if name.split(".")[-1] == "BaseSettings":
                self.add("settings", node, f"{node.name.value}(BaseSettings)")


def _keyword(arg: cst.Arg) -> str | None:
    return arg.keyword.value if arg.keyword is not None else None


def scan_module(root: Path, rel: str, name: str) -> ModuleScan:
    from uts.cst import parse_module

    path = root / rel
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise UtsError(
            f"{rel}: cannot read it: {error}", hint="fix the file, then rerun"
        ) from error
    tree = parse_module(source, rel)
    module = ModuleScan(name, rel)
    package = name if rel.endswith("__init__.py") else name.rpartition(".")[0]
    _Scanner(module, tree, package).run()
    return module
