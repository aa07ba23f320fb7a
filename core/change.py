"""Change an existing project (add or remove components), merging with the user's edits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from uts.engine import Ask, Composition, ProjectSpec, compose, package_name
from uts.errors import ConflictError, ResolutionError, StateError, UsageError
from uts.merge import merge3_bytes
from uts.model import Component, GeneratedFile
from uts.plan import Change, Confinement, Plan
from uts.plugin.manager import Registry
from uts.pyproject import update_pyproject
from uts.state import MANIFEST_PATH, ProjectState, build_manifest, line_of, read_text

__all__ = ["ChangeReport", "plan_change", "spec_for_add", "spec_for_remove"]

PYPROJECT = "pyproject.toml"


@dataclass
class ChangeReport:
    """The plan for an existing project, and what it had to decide about the user's edits."""

    plan: Plan
    composition: Composition
    merged: list[str] = field(default_factory=list)
    conflicts: dict[str, int] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    left_deleted: list[str] = field(default_factory=list)
    held: dict[str, tuple[str, str]] = field(default_factory=dict)
    """History files the change would have rewritten: path to (owner, its hint)."""


def _project_name(state: ProjectState) -> str:
    name = str(state.tool.get("project-name", state.root.name))
    try:
        package_name(name)
    except UsageError as error:
        path = state.root / PYPROJECT
        line = line_of(read_text(path), "tool", "uts", "project-name")
        raise StateError(
            f"{path}{f':{line}' if line else ''}: [tool.uts] project-name: {error.message}",
            hint="restore [tool.uts] from version control",
        ) from None
    return name


def _current_spec(state: ProjectState) -> tuple[ProjectSpec, dict[str, Any]]:
    components = state.tool["components"]
    spec = ProjectSpec(
        project_name=_project_name(state),
        recipe=str(state.tool.get("recipe", "")),
        components=list(components),
        options={name: dict(data.get("options", {})) for name, data in components.items()},
        auto={name for name, data in components.items() if data.get("auto")},
    )
    return spec, components


def spec_for_add(
    state: ProjectState, names: list[str], options: dict[str, dict[str, Any]]
) -> ProjectSpec:
    """The project's spec with *names* added (explicitly) and *options* set."""
    spec, _ = _current_spec(state)
    merged = {name: dict(values) for name, values in spec.options.items()}
    for name, values in options.items():
        merged.setdefault(name, {}).update(values)
    spec.components = [*spec.components, *(n for n in names if n not in spec.components)]
    spec.options = merged
    spec.auto -= set(names)
    return spec


def spec_for_remove(
    state: ProjectState, registry: Registry, names: list[str], cascade: bool = False
) -> tuple[ProjectSpec, list[str]]:
    """The project's spec without *names*; returns it and every component removed.

    A component still required by another is refused unless *cascade*, which removes
    the dependants too. Components that were only there for a removed one go with it.
    """
    spec, components = _current_spec(state)
    for name in names:
        if name not in components:
            raise ResolutionError(
                f"component {name!r} is not part of this project",
                hint="uts status lists the active components",
            )
    metadata = {
        name: registry.get(name).component for name in components if name in registry.components
    }
    removed = set(names)
    while True:
        dependants = {
            other
            for other in components
            if other not in removed and set(_requires(metadata, other)) & removed
        }
        if not dependants:
            break
        if not cascade:
            other = sorted(dependants)[0]
            needed = sorted(set(_requires(metadata, other)) & removed)[0]
            raise ResolutionError(
                f"component {other!r} requires {needed!r}; cannot remove {needed!r} alone",
                hint=f"remove both: uts remove {needed} --cascade (or uts remove {needed} {other})",
            )
        removed |= dependants
    while True:  # requirements nobody asked for and nobody needs any more
        needed = {
            req
            for other in components
            if other not in removed
            for req in _requires(metadata, other)
        }
        orphans = {n for n in spec.auto if n not in removed and n not in needed}
        if not orphans:
            break
        removed |= orphans
    spec.components = [n for n in spec.components if n not in removed]
    spec.options = {n: v for n, v in spec.options.items() if n not in removed}
    spec.auto -= removed
    return spec, [n for n in components if n in removed]


def _requires(metadata: dict[str, Component], name: str) -> tuple[str, ...]:
    if name not in metadata:
        raise StateError(
            f"component {name!r} of this project is not installed",
            hint=f"install the plugin providing {name!r} (uts list shows what is installed)",
        )
    return metadata[name].requires


def plan_change(
    registry: Registry,
    state: ProjectState,
    spec: ProjectSpec,
    ask: Ask | None = None,
    delete_modified: bool = False,
) -> ChangeReport:
    """Compose *spec* and plan the move from the project as it is on disk.

    Files the user never touched follow uts; files the user edited are merged
    three-way with the pristine rendering as base; files uts no longer writes are
    deleted unless the user modified them (then kept, and reported).
    """
    composition = compose(registry, spec, ask)
    root = state.root
    confinement = Confinement(root)
    changes: list[Change] = []
    report = ChangeReport(Plan(root, changes), composition)
    occupied: list[str] = []
    written = dict(composition.files)  # what the manifest records as written

    for path, item in composition.files.items():
        target = confinement.target(path)
        if target.exists() and not target.is_file():
            raise ConflictError(f"{path} is a directory in the project; uts needs a file there")
        current = target.read_bytes() if target.is_file() else None
        new = item.content
        if path == PYPROJECT and current is not None and path in state.files:
            text = update_pyproject(
                _text(current, str(target)),
                _text(state.pristine(path), f"uts's record of {path} in {MANIFEST_PATH}"),
                new.decode("utf-8"),
                str(target),
            )
            new = text.encode("utf-8")
        elif path in state.files and path != MANIFEST_PATH:
            base = state.pristine(path)
            if current is None:
                if new != base:
                    report.left_deleted.append(path)
                continue
            owner = registry.metadata[item.owner]
            if new != base and owner.is_history(path):
                # Written once (an applied migration, say): what the change would add
                # there is not applied, and the record keeps what was written.
                report.held[path] = (item.owner, owner.history_hint)
                written[path] = GeneratedFile(base, item.owner, item.executable)
                new = current
            elif current not in (base, new):
                if new == base:
                    new = current
                else:
                    merged = merge3_bytes(base, current, new)
                    new = merged.content
                    report.merged.append(path)
                    if merged.conflicts:
                        report.conflicts[path] = merged.conflicts
        elif current is not None and current != new and path != MANIFEST_PATH:
            occupied.append(path)
            continue
        if current is None:
            changes.append(Change(path, "create", item.owner, None, new, item.executable))
        elif current == new:
            changes.append(Change(path, "keep", item.owner, current, new, item.executable))
        else:
            changes.append(Change(path, "update", item.owner, current, new, item.executable))

    if report.held:
        _record(changes, state, written)
    if occupied:
        raise ConflictError(
            f"{len(occupied)} file(s) uts needs to create already exist: {', '.join(occupied[:5])}",
            hint="move them away (uts never overwrites files it did not write), then run again",
        )

    for path, entry in state.files.items():
        if path in composition.files:
            continue
        target = confinement.target(path)
        if not target.is_file():
            continue
        current = target.read_bytes()
        if current == state.pristine(path) or delete_modified:
            changes.append(Change(path, "delete", entry["owner"], current, None))
        else:
            report.kept.append(path)
    changes.sort(key=lambda change: change.path)
    return report


def _text(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise StateError(
            f"{name}:{line}: not UTF-8 text ({error.reason})",
            hint="save it as UTF-8, or restore it from version control",
        ) from None


def _record(changes: list[Change], state: ProjectState, written: dict[str, GeneratedFile]) -> None:
    """Rewrite the manifest's planned content so held history files keep their record."""
    from uts import __version__

    files = {path: item for path, item in written.items() if path != MANIFEST_PATH}
    manifest = build_manifest(files, __version__)
    for index, change in enumerate(changes):
        if change.path == MANIFEST_PATH:
            action = "create" if change.old is None else "update"
            action = "keep" if change.old == manifest else action
            changes[index] = change._replace(action=action, new=manifest)
