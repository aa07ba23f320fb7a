"""An adopted project in uts's state: the ``[adopt]`` record, its host, its original files.

``uts adopt`` records what a project uts did not create is (see :mod:`uts.adopt`) in the
``[adopt]`` table of ``.uts/project.toml``, and makes the built-in component ``host``
(``plugins/host``) hold the user's files uts may edit: the module the app is wired in
and the dependency file. A composition of an adopted project starts from those files as
adopt found them (their *originals*, recorded by blob id and kept in the object cache or
found in git) and the host applies every component's edits to them; so ``uts remove``
gives the original bytes back, and the usual three-way merge keeps the user's later edits.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uts.errors import ConflictError, StateError
from uts.model import Host

if TYPE_CHECKING:
    from uts.engine import ProjectSpec
    from uts.state import ProjectState

__all__ = [
    "ADOPTED_RECIPE",
    "HOST",
    "RECORD_KEY",
    "adopted_spec",
    "host_from_record",
    "is_adopted",
    "load_originals",
]

HOST = "host"
"""The component that stands in for ``project`` and ``fastapi`` on an adopted project."""
RECORD_KEY = "adopt"
"""The table of ``.uts/project.toml`` that holds what adopt recorded."""
ADOPTED_RECIPE = "adopted"


def is_adopted(tool: Mapping[str, Any]) -> bool:
    """Whether *tool* (``ProjectState.tool``, ``ProjectSpec.extra``) is an adopted project's."""
    return isinstance(tool.get(RECORD_KEY), Mapping)


def host_from_record(record: Mapping[str, Any]) -> Host:
    """``ctx.host`` for an adopted project, from its ``[adopt]`` record."""
    from uts.adopt import Adoption
    from uts.state import PROJECT_FILE

    adoption = Adoption.from_dict(record, f"{PROJECT_FILE} [{RECORD_KEY}]")
    app, layout, packaging = adoption.app, adoption.layout, adoption.packaging
    package_dir = app.file.rpartition("/")[0]
    if app.file.endswith("/__init__.py") or app.file == "__init__.py":
        module = app.module
    else:
        module = app.module.rpartition(".")[0]
    requirements = [packaging.dependency_file] if packaging.kind == "requirements" else []
    requirements += [g for g in packaging.groups if g.endswith(".txt")]
    insertion = adoption.insertion
    return Host(
        adopted=True,
        package_dir=package_dir,
        module_prefix=f"{module}." if module else "",
        app_module=app.module,
        app_attr=app.attr,
        factory=app.factory is not None and app.factory == app.attr,
        packaging=packaging.kind,
        requirements=tuple(requirements),
        sources=adoption.sources or ((layout.path,) if layout.kind != "module" else ("*.py",)),
        tests=adoption.tests,
        findings=adoption.findings,
        insertion=((insertion.file, insertion.variable, insertion.function) if insertion else None),
        dependency_file=packaging.dependency_file,
    )


def adopted_spec(
    project_name: str,
    record: Mapping[str, Any],
    originals: Mapping[str, bytes],
    components: list[str] | None = None,
) -> ProjectSpec:
    """The spec of a just-adopted project: the host alone, over the user's files."""
    from uts.engine import ProjectSpec

    return ProjectSpec(
        project_name=project_name,
        recipe=ADOPTED_RECIPE,
        components=components or [HOST],
        extra={RECORD_KEY: dict(record)},
        originals=dict(originals),
    )


def load_originals(state: ProjectState) -> dict[str, bytes]:
    """The user's files as ``uts adopt`` found them, each checked against its blob id.

    From the working file while it is unchanged, then the per-user object cache, then
    the project's git objects; one missing is a :class:`ConflictError` (exit 8).
    """
    from uts.objects import cached_objects, git_objects, matches

    record = state.tool.get(RECORD_KEY, {})
    wanted = record.get("originals", {})
    if not isinstance(wanted, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in wanted.items()
    ):
        raise StateError(
            f"{state.root / '.uts/project.toml'}: [adopt.originals] must map paths to blob ids",
            hint="restore it from version control, or run 'uts adopt' again",
        )
    found: dict[str, bytes] = {}
    todo: dict[str, str] = {}
    for path, oid in wanted.items():
        if oid in state.known:
            found[path] = state.known[oid]
            continue
        current = state.read(path) if path in state.files else _read(state.root, path)
        if current is not None and matches(current, oid):
            found[path] = current
        else:
            todo[path] = oid
    for source in (cached_objects, lambda ids: git_objects(state.root, ids)):
        if not todo:
            break
        objects = source(list(todo.values()))
        for path, oid in list(todo.items()):
            if oid in objects:
                found[path] = objects[oid]
                del todo[path]
    if todo:
        path, oid = next(iter(todo.items()))
        raise ConflictError(
            f"uts cannot find {path} as 'uts adopt' found it (blob {oid[:16]}): not in the "
            "working file, the object cache nor git",
            hint="commit your project to git right after 'uts adopt' so uts can always find it",
        )
    for path, data in found.items():
        state.known[wanted[path]] = data
    return found


def _read(root: Path, rel: str) -> bytes | None:
    path = root.joinpath(*rel.split("/"))
    try:
        return path.read_bytes() if path.is_file() and not path.is_symlink() else None
    except OSError:
        return None
