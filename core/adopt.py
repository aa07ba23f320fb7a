"""``uts adopt``: what an existing FastAPI project is, found without changing a line of it.

It reads only the packaging files, the listings of the top level, ``src/``, each package
and ``.github/workflows/``, the modules at the top of each package, and the project modules
the app's modules import: a project with thousands of other files costs the same.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from uts.appscan import Factory, Finding, ModuleScan, scan_module
from uts.errors import StateError, UsageError, UtsError
from uts.packaging import Packaging, detect_packaging, read_pyproject

__all__ = [
    "ADOPT_PATH",
    "FINDING_KINDS",
    "Adoption",
    "AppSite",
    "Finding",
    "Insertion",
    "Layout",
    "adopt_project",
    "detect",
]

ADOPT_PATH = ".uts/adopt.toml"
"""Where the first ``uts adopt`` kept its record; now the ``[adopt]`` table of
``.uts/project.toml`` holds it, and adopting again deletes this file."""
FORMAT = 1
# What adopt looks for, in the order it reports them.
FINDING_KINDS = (
    "settings",
    "lifespan",
    "event-handler",
    "middleware",
    "health-route",
    "metrics-route",
    "instrumentator",
    "opentelemetry",
    "tests",
    "alembic",
    "dockerfile",
    "compose",
    "ci",
)
_NOT_PACKAGES = {"tests", "test", "docs", "doc", "migrations", "alembic", "scripts", "examples"}
_NOT_APP_MODULES = {"setup", "conftest", "noxfile", "fabfile", "tasks"}
_MAX_MODULES = 300  # the import graph of one app; a guard, not a budget
# Fields written only when they have a value.
_OPTIONAL = {"backend", "lock", "factory", "factory_file", "function", "line"}


class Layout(NamedTuple):
    """How the code is laid out: ``module`` (main.py), ``package`` (app/) or ``src``."""

    kind: str
    name: str  # import name of the module or package
    path: str  # project-relative file or directory


class AppSite(NamedTuple):
    """Where the FastAPI application is made."""

    module: str  # dotted module holding *attr*
    file: str
    attr: str  # module-level app, or the factory function when there is no module-level app
    line: int
    factory: str | None = None  # the function that builds it
    factory_file: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.module}:{self.attr}"


class Insertion(NamedTuple):
    """Where components wire themselves in: after the module-level assignment of
    *variable*, or (with *function*) inside that factory just before ``return variable``."""

    file: str
    variable: str
    function: str | None
    line: int  # where it is now, for people; edits find the place by name


@dataclass(frozen=True)
class Adoption:
    """What ``uts adopt`` recorded about a project uts did not create."""

    packaging: Packaging
    layout: Layout
    app: AppSite
    insertion: Insertion | None
    findings: tuple[Finding, ...]
    notes: tuple[str, ...] = field(default=())
    sources: tuple[str, ...] = field(default=())
    """Top-level paths holding the app's code (``*.py`` for top-level modules)."""
    tests: str | None = None
    """The tests directory, ``""`` for test modules at the top level, None for no tests."""
    name: str | None = None
    """The project's distribution name, when its packaging declares one."""

    @property
    def missing(self) -> list[str]:
        found = {f.kind for f in self.findings}
        return [kind for kind in FINDING_KINDS if kind not in found]

    def to_dict(self) -> dict[str, Any]:
        def clean(data: dict[str, Any]) -> dict[str, Any]:
            return {k.replace("_", "-"): v for k, v in data.items() if v is not None}

        data: dict[str, Any] = {"format": FORMAT}
        packaging = clean(self.packaging._asdict())
        packaging["groups"] = list(self.packaging.groups)
        data["packaging"] = packaging
        data["layout"] = clean(self.layout._asdict())
        data["app"] = clean(self.app._asdict())
        if self.insertion is not None:
            data["insertion"] = clean(self.insertion._asdict())
        if self.notes:
            data["notes"] = list(self.notes)
        if self.sources:
            data["sources"] = list(self.sources)
        if self.tests is not None:
            data["tests"] = self.tests
        if self.name is not None:
            data["name"] = self.name
        data["findings"] = [clean(f._asdict()) for f in self.findings]
        return data

    def to_toml(self) -> str:
        """The record as TOML, deterministic (same project, same bytes)."""
        import tomlkit

        doc = tomlkit.document()
        doc.add(tomlkit.comment("Written by `uts adopt`: what uts found in this project."))
        for key, value in self.to_dict().items():
            if key == "findings":
                array = tomlkit.aot()
                for item in value:
                    array.append(tomlkit.item(item))
                doc[key] = array
            else:
                doc[key] = value
        return tomlkit.dumps(doc)

    @classmethod
    def from_toml(cls, text: str, source: str = ADOPT_PATH) -> Adoption:
        """Read back what :meth:`to_toml` wrote; a damaged record is a StateError."""
        import tomllib

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise StateError(
                f"{source} is not a valid uts adoption record: {error}",
                hint="run uts adopt again to rewrite it",
            ) from error
        return cls.from_dict(data, source)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "[adopt]") -> Adoption:
        """Read back what :meth:`to_dict` gave; a damaged record is a StateError."""
        try:
            if data.get("format") != FORMAT:
                raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")

            def load(kind: Any, table: dict[str, Any]) -> Any:
                values = {k.replace("-", "_"): v for k, v in table.items()}
                for key, value in values.items():
                    wanted = {"line": int, "groups": list}.get(key, str)
                    if not isinstance(value, wanted) or isinstance(value, bool):
                        raise ValueError(f"[{kind.__name__}] {key} must be a {wanted.__name__}")
                unknown = set(values) - set(kind._fields)
                missing = set(kind._fields) - set(values) - _OPTIONAL - set(kind._field_defaults)
                if unknown or missing:
                    raise ValueError(f"[{kind.__name__}] fields: {sorted(unknown | missing)}")
                return kind(**{f: values.get(f, kind._field_defaults.get(f)) for f in kind._fields})

            packaging = load(Packaging, data["packaging"])
            packaging = packaging._replace(groups=tuple(packaging.groups))
            insertion = data.get("insertion")
            tests = data.get("tests")
            name = data.get("name")
            if not (tests is None or isinstance(tests, str)) or not (
                name is None or isinstance(name, str)
            ):
                raise ValueError("tests and name must be strings")
            return cls(
                packaging=packaging,
                layout=load(Layout, data["layout"]),
                app=load(AppSite, data["app"]),
                insertion=load(Insertion, insertion) if insertion else None,
                findings=tuple(load(Finding, f) for f in data.get("findings", [])),
                notes=tuple(data.get("notes", ())),
                sources=tuple(str(p) for p in data.get("sources", ())),
                tests=tests,
                name=name,
            )
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise StateError(
                f"{source} is not a valid uts adoption record: {error}",
                hint="run uts adopt again to rewrite it",
            ) from error


# ---- the project: layout, candidates, app ------------------------------------------------


class _Project:
    """The top level of a project, listed once, and the modules read so far."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.entries = _listing(root)
        self.src = _listing(root / "src") if "src" in self.entries else {}
        self.layouts: dict[str, Layout] = {}  # top-level import name -> its layout
        for name, is_dir in sorted(self.src.items()):
            if is_dir and (root / "src" / name / "__init__.py").is_file():
                self.layouts[name] = Layout("src", name, f"src/{name}")
        for name, is_dir in sorted(self.entries.items()):
            if name.startswith(".") or name in self.layouts:
                continue
            if is_dir and name not in _NOT_PACKAGES and (root / name / "__init__.py").is_file():
                self.layouts[name] = Layout("package", name, name)
            elif not is_dir and name.endswith(".py") and _app_module_name(name):
                self.layouts[name[:-3]] = Layout("module", name[:-3], name)
        self.modules: dict[str, ModuleScan] = {}
        self.broken: list[UtsError] = []  # modules that did not parse, when tolerated

    def file_of(self, dotted: str) -> str | None:
        """The project-relative file of the project module *dotted*, if there is one."""
        layout = self.layouts.get(dotted.split(".")[0])
        if layout is None:
            return None
        if layout.kind == "module":
            return layout.path if dotted == layout.name else None
        base = "src/" if layout.kind == "src" else ""
        parts = dotted.split(".")
        for rel in (f"{base}{'/'.join(parts)}.py", f"{base}{'/'.join(parts)}/__init__.py"):
            if (self.root / rel).is_file():
                return rel
        return None

    def module(self, dotted: str, tolerant: bool = False) -> ModuleScan | None:
        """The module *dotted* read and scanned; with *tolerant*, None when it does not parse
        (the error is kept in :attr:`broken`)."""
        if dotted not in self.modules:
            if tolerant and any(
                e.message.startswith(f"{self.file_of(dotted)}:") for e in self.broken
            ):
                return None
            rel = self.file_of(dotted)
            if rel is None:
                return None
            try:
                self.modules[dotted] = scan_module(self.root, rel, dotted)
            except UtsError as error:
                if not tolerant:
                    raise
                self.broken.append(error)
                return None
        return self.modules[dotted]

    def first_modules(self) -> list[str]:
        """The modules where apps usually are: single modules, and each package's top."""
        names: list[str] = []
        for name, layout in sorted(self.layouts.items()):
            if layout.kind == "module":
                names.append(name)
                continue
            names.append(name)
            for entry, is_dir in sorted(_listing(self.root / layout.path).items()):
                if not is_dir and entry.endswith(".py") and entry != "__init__.py":
                    names.append(f"{name}.{entry[:-3]}")
        return names

    def resolve_callable(self, qualified: str) -> tuple[ModuleScan, Factory] | None:
        """The project factory named by *qualified* (``pkg.mod.func``), if it is one."""
        module_name, _, func = qualified.rpartition(".")
        module = self.module(module_name, tolerant=True) if module_name else None
        if module is not None and func in module.factories:
            return module, module.factories[func]
        return None


def _app_module_name(filename: str) -> bool:
    stem = filename[:-3]
    return not (stem.startswith("test_") or stem.endswith("_test") or stem in _NOT_APP_MODULES)


def _listing(directory: Path) -> dict[str, bool]:
    """The names in *directory* (not recursive), each with whether it is a directory."""
    try:
        with os.scandir(directory) as entries:
            return {entry.name: entry.is_dir() for entry in entries}
    except (FileNotFoundError, NotADirectoryError):
        return {}


class _Candidate(NamedTuple):
    module: ModuleScan
    attr: str
    line: int
    factory: tuple[ModuleScan, Factory] | None


def _candidates(project: _Project, module: ModuleScan, only: str | None = None) -> list[_Candidate]:
    found = [_Candidate(module, attr, line, None) for attr, line in module.apps]
    for attr, callee, line in module.calls:
        qualified = callee if "." in callee else f"{module.name}.{callee}"
        factory = project.resolve_callable(qualified)
        if factory is not None or attr == only:
            found.append(_Candidate(module, attr, line, factory))
    for name, definition in module.factories.items():
        found.append(_Candidate(module, name, definition.line, (module, definition)))
    return [c for c in found if only is None or c.attr == only]


def _find_app(project: _Project, app: str | None) -> _Candidate:
    if app is not None:
        return _chosen(project, app)
    candidates: list[_Candidate] = []
    for name in project.first_modules():
        module = project.module(name, tolerant=True)
        if module is not None:
            candidates += _candidates(project, module)
    # A factory some module-level app is built with is that app, not a second one.
    used = {
        (c.factory[0].name, c.factory[1].name)
        for c in candidates
        if c.factory and c.attr != c.factory[1].name
    }
    candidates = [
        c
        for c in candidates
        if not (c.factory and c.attr == c.factory[1].name and (c.module.name, c.attr) in used)
    ]
    if not candidates and project.broken:
        raise project.broken[0]  # the app may well be in the module that does not parse
    if not candidates:
        scanned = ", ".join(m.file for m in project.modules.values()) or "no Python module"
        raise UtsError(
            f"{project.root}: no FastAPI application found (looked in {scanned})",
            hint="pass --app MODULE:ATTR, for example --app myservice.main:app",
        )
    if len(candidates) > 1:
        listing = ", ".join(
            f"{c.module.name}:{c.attr} ({c.module.file}:{c.line})" for c in candidates
        )
        raise UsageError(
            f"{len(candidates)} FastAPI applications found: {listing}",
            hint="choose one with --app MODULE:ATTR",
        )
    return candidates[0]


def _chosen(project: _Project, app: str) -> _Candidate:
    module_name, sep, attr = app.partition(":")
    if not sep or not module_name or not attr.isidentifier():
        raise UsageError(
            f"--app {app!r} is not MODULE:ATTR", hint="for example --app myservice.main:app"
        )
    module = project.module(module_name)
    if module is None:
        raise UsageError(
            f"--app {app!r}: no module {module_name} in {project.root}",
            hint="give the import path of the module, as uvicorn takes it",
        )
    found = _candidates(project, module, only=attr)
    if not found:
        raise UsageError(
            f"--app {app!r}: {module.file} has no FastAPI app or app factory named {attr!r}",
            hint="name a module-level 'app = FastAPI(...)', or a function returning FastAPI",
        )
    return found[0]


def _insertion(candidate: _Candidate, notes: list[str]) -> Insertion | None:
    factory = candidate.factory
    if factory is not None:
        module, function = factory
        if function.variable is not None:
            return Insertion(module.file, function.variable, function.name, function.return_line)
        notes.append(
            f"{module.file}:{function.line}: {function.name}() does not end with "
            "'return <name>'; uts cannot wire components inside it"
        )
        if candidate.attr == function.name:
            return None
    return Insertion(candidate.module.file, candidate.attr, None, candidate.line)


def _follow(project: _Project, start: list[str]) -> list[ModuleScan]:
    """The project modules reachable by imports from *start* (the app's modules)."""
    seen: dict[str, ModuleScan] = {}
    queue = deque(start)
    while queue and len(seen) < _MAX_MODULES:
        name = queue.popleft()
        if name in seen:
            continue
        module = project.module(name, tolerant=True)
        if module is None:
            continue
        seen[name] = module
        queue.extend(sorted(module.referenced))
    return list(seen.values())


def _file_findings(project: _Project) -> list[Finding]:
    entries, found = project.entries, []
    for name in ("tests", "test"):
        if entries.get(name):
            found.append(Finding("tests", f"{name}/", None, "test directory"))
    tops = sorted(
        n for n, d in entries.items() if not d and n.startswith("test_") and n.endswith(".py")
    )
    found += [Finding("tests", name, None, "test module") for name in tops]
    if "alembic.ini" in entries:
        found.append(Finding("alembic", "alembic.ini", None, "Alembic configuration"))
    for name in sorted(entries):
        if name == "Dockerfile" or name.startswith("Dockerfile.") or name.endswith(".Dockerfile"):
            found.append(Finding("dockerfile", name, None, "Dockerfile"))
        elif name in ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"):
            found.append(Finding("compose", name, None, "Compose file"))
    if entries.get(".github") and (project.root / ".github" / "workflows").is_dir():
        for name in sorted(_listing(project.root / ".github" / "workflows")):
            if name.endswith((".yml", ".yaml")):
                found.append(Finding("ci", f".github/workflows/{name}", None, "GitHub Actions"))
    if ".gitlab-ci.yml" in entries:
        found.append(Finding("ci", ".gitlab-ci.yml", None, "GitLab CI"))
    return found


def detect(root: Path, app: str | None = None) -> Adoption:
    """What the project at *root* is; *app* (``MODULE:ATTR``) picks among several apps."""
    if not root.is_dir():
        raise UsageError(f"{root} is not a directory", hint="pass --project PATH")
    pyproject = read_pyproject(root)
    packaging = detect_packaging(root, pyproject)
    project = _Project(root)
    candidate = _find_app(project, app)
    notes: list[str] = []
    insertion = _insertion(candidate, notes)
    start = [candidate.module.name]
    if candidate.factory is not None:
        start.append(candidate.factory[0].name)
    modules = _follow(project, start)
    notes += [f"{error.message}; not searched" for error in project.broken]
    findings = sorted(
        {f for module in modules for f in module.findings}, key=_finding_order
    ) + _file_findings(project)
    factory = candidate.factory
    site = AppSite(
        module=candidate.module.name,
        file=candidate.module.file,
        attr=candidate.attr,
        line=candidate.line,
        factory=factory[1].name if factory else None,
        factory_file=factory[0].file if factory else None,
    )
    layout = project.layouts[candidate.module.name.split(".")[0]]
    return Adoption(
        packaging,
        layout,
        site,
        insertion,
        tuple(findings),
        tuple(notes),
        sources=_sources(project, modules),
        tests=_tests(project),
        name=_declared_name(pyproject),
    )


def _sources(project: _Project, modules: list[ModuleScan]) -> tuple[str, ...]:
    """The top-level paths holding the app's modules (``*.py``: top-level modules, as the
    modules components add to such a project sit next to them)."""
    paths = set()
    for module in modules:
        layout = project.layouts.get(module.name.split(".")[0])
        if layout is not None:
            paths.add("*.py" if layout.kind == "module" else layout.path.split("/")[0])
    return tuple(sorted(paths))


def _tests(project: _Project) -> str | None:
    for name in ("tests", "test"):
        if project.entries.get(name):
            return name
    tops = (n for n, d in project.entries.items() if not d and n.startswith("test_"))
    return "" if any(n.endswith(".py") for n in tops) else None


def _declared_name(pyproject: dict[str, Any] | None) -> str | None:
    data = pyproject or {}
    for table in (data.get("project"), data.get("tool", {}).get("poetry")):
        if isinstance(table, dict) and isinstance(table.get("name"), str):
            return str(table["name"])
    return None


def _finding_order(finding: Finding) -> tuple[int, str, int, str]:
    return (FINDING_KINDS.index(finding.kind), finding.file, finding.line or 0, finding.detail)


# ---- reporting ---------------------------------------------------------------------------

_PACKAGING = {
    "pep621": "PEP 621 [project] in pyproject.toml",
    "poetry": "Poetry [tool.poetry.dependencies] in pyproject.toml",
    "requirements": "requirements file",
}


def describe(adoption: Adoption) -> list[str]:
    """What was found and what was not, one line each, for people."""
    packaging, layout, site = adoption.packaging, adoption.layout, adoption.app
    backend = f", built with {packaging.backend}" if packaging.backend else ", no build backend"
    lines = [
        f"packaging: {_PACKAGING[packaging.kind]}{backend}; "
        f"dependencies go to {packaging.dependency_file}",
    ]
    if packaging.groups:
        lines.append(f"  other dependency lists: {', '.join(packaging.groups)}")
    if packaging.lock:
        lines.append(f"  lock file: {packaging.lock} (regenerate it after dependency changes)")
    lines.append(f"layout: {layout.kind} {layout.name!r} ({layout.path})")
    made = f" built by {site.factory}() in {site.factory_file}" if site.factory else ""
    lines.append(f"app: {site.ref} ({site.file}:{site.line}){made}")
    insertion = adoption.insertion
    if insertion is None:
        lines.append("wiring: no place to wire components in (see note)")
    elif insertion.function:
        lines.append(
            f"wiring: inside {insertion.function}() before 'return {insertion.variable}' "
            f"({insertion.file}:{insertion.line})"
        )
    else:
        lines.append(
            f"wiring: after '{insertion.variable} = ...' ({insertion.file}:{insertion.line})"
        )
    lines.extend(f"note: {note}" for note in adoption.notes)
    lines.append("found:" if adoption.findings else "found: nothing of what uts looks for")
    for finding in adoption.findings:
        where = finding.file + (f":{finding.line}" if finding.line else "")
        lines.append(f"  {finding.kind:<15} {where}  {finding.detail}")
    if adoption.missing:
        lines.append(f"not found: {', '.join(adoption.missing)}")
    return lines


def adopt_project(
    root: Path, app: str | None, dry_run: bool, as_json: bool, echo: Callable[[str], Any]
) -> None:
    """``uts adopt``: detect, report, and (unless *dry_run*) record the project in uts's state.

    Writes ``.uts/project.toml`` (the ``[adopt]`` record) and the host's state file; the
    project's own files are never touched, and their bytes go to the object cache (the
    bases of later merges, which git finds too once they are committed).
    """
    from uts import journal
    from uts.adopted import HOST, adopted_spec, is_adopted
    from uts.commit import commit
    from uts.engine import compose
    from uts.objects import blob_id, store_objects
    from uts.plan import Change, Plan
    from uts.plugin.manager import load_registry
    from uts.state import (
        MANIFEST_PATH,
        PROJECT_FILE,
        component_file,
        is_state_path,
        load_project,
    )

    root = root.absolute()
    previous = None
    if (root / PROJECT_FILE).is_file() or (root / MANIFEST_PATH).is_file():
        previous = load_project(root)
        if not is_adopted(previous.tool):
            made = PROJECT_FILE if (root / PROJECT_FILE).is_file() else MANIFEST_PATH
            raise UsageError(
                f"{root} is a project uts created ({made} exists); it needs no adopting",
                hint="uts add and uts remove work on it as it is",
            )
        others = [name for name in previous.tool["components"] if name != HOST]
        if others:
            raise UsageError(
                f"{root} is adopted already and has components ({', '.join(others)}); "
                "adopting it again would forget what they changed",
                hint="uts remove them first, or keep the record as it is",
            )
    adoption = detect(root, app)
    if as_json:
        import json

        echo(json.dumps(adoption.to_dict(), indent=2))
    else:
        echo(f"{root}: FastAPI project {adoption.app.ref}")
        for line in describe(adoption):
            echo(line)
    edited = [adoption.packaging.dependency_file]
    if adoption.insertion is not None:
        edited.insert(0, adoption.insertion.file)
    originals: dict[str, bytes] = {}
    for path in edited:
        try:
            originals[path] = (root / path).read_bytes()
        except OSError as error:
            raise UtsError(
                f"{root / path}: cannot read it: {error.strerror or error}",
                hint="uts adopt records this file, which components edit: make it readable",
            ) from error
    record = adoption.to_dict()
    record["originals"] = {path: blob_id(data) for path, data in originals.items()}
    composition = compose(
        load_registry(lazy=True), adopted_spec(_project_name(root, adoption), record, originals)
    )
    changes: list[Change] = []
    for path, item in composition.files.items():
        target = root / path
        old = target.read_bytes() if target.is_file() else None
        if not is_state_path(path):
            if old != item.content:  # a bug: adopt changes no file of the user's
                raise UtsError(f"internal error: adopt would change {path}")
            continue
        action = "keep" if old == item.content else ("update" if old is not None else "create")
        changes.append(Change(path, action, "uts", old, item.content))  # type: ignore[arg-type]
    for path in (ADOPT_PATH,):  # what the first adopt wrote: the record is in project.toml now
        if (root / path).is_file():
            changes.append(Change(path, "delete", "uts", (root / path).read_bytes(), None))
    plan = Plan(root, sorted(changes, key=lambda change: change.path))
    written = [change.path for change in plan.effective]
    names = f"{PROJECT_FILE} and {component_file(HOST)}"
    if dry_run:
        if not as_json:
            action = "update" if previous is not None else "create"
            echo(f"dry run: would write {names} ({action}); nothing was written")
        return
    store_objects(originals.values())
    if written:
        with journal.locked(root):
            journal.recover(root)
            commit(plan)
    if not as_json:
        verb = "wrote" if written else "kept"
        echo(f"{verb} {names}; no file of yours changed (uts add now works here)")


def _project_name(root: Path, adoption: Adoption) -> str:
    """A valid project name: the distribution's, else the directory's, else the package's."""
    from uts.engine import package_name

    for name in (adoption.name, root.name, adoption.layout.name):
        if name:
            try:
                package_name(name)
            except UsageError:
                continue
            return name
    return "service"
