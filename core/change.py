"""Change an existing project (add or remove components), merging with the user's edits."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from uts.adopted import HOST, is_adopted, load_originals
from uts.engine import Ask, Composition, ProjectSpec, compose, package_name
from uts.errors import (
    ConflictError,
    ResolutionError,
    StateError,
    UsageError,
    UtsError,
    decode_utf8,
)
from uts.merge import Conflict, merge3_bytes
from uts.model import Component
from uts.plan import Action, Change, Confinement, Plan
from uts.plugin.manager import Registry
from uts.pyproject import update_pyproject
from uts.report import listing
from uts.state import (
    PROJECT_FILE,
    STATE_OWNER,
    ProjectState,
    Record,
    build_state,
    is_state_path,
    line_of,
    read_text,
    records_of,
)

__all__ = [
    "ChangeReport",
    "current_spec",
    "plan_change",
    "render_recorded",
    "spec_for_add",
    "spec_for_remove",
]

PYPROJECT = "pyproject.toml"


@dataclass
class ChangeReport:
    """The plan for an existing project, and what it had to decide about the user's edits."""

    plan: Plan
    composition: Composition
    merged: list[str] = field(default_factory=list)
    conflicts: dict[str, int] = field(default_factory=dict)
    hunks: dict[str, tuple[Conflict, ...]] = field(default_factory=dict)
    """The conflicting regions of each file in *conflicts*, for the user to see."""
    kept: list[str] = field(default_factory=list)
    left_deleted: list[str] = field(default_factory=list)
    held: dict[str, tuple[str, str]] = field(default_factory=dict)
    """History files the change would have rewritten: path to (owner, its hint)."""
    unknown_base: list[str] = field(default_factory=list)
    """Files both sides changed whose base no source has: conflicts, never guessed."""
    state: ProjectState | None = None
    """The project's state the change was planned from."""


_PROJECT_KEYS = ("format", "recipe", "project-name", "package", "components", "version")


def _project_name(state: ProjectState) -> str:
    name = str(state.tool.get("project-name", state.root.name))
    try:
        package_name(name)
    except UsageError as error:
        path = state.root / PROJECT_FILE
        line = line_of(read_text(path), "project-name") if path.is_file() else None
        raise StateError(
            f"{path}{f':{line}' if line else ''}: project-name: {error.message}",
            hint="restore it from version control",
        ) from None
    return name


def current_spec(state: ProjectState) -> ProjectSpec:
    """The spec the project records: rendering it gives what uts wrote last."""
    components = state.tool["components"]
    return ProjectSpec(
        project_name=_project_name(state),
        recipe=str(state.tool.get("recipe", "")),
        components=list(components),
        options={name: dict(data.get("options", {})) for name, data in components.items()},
        auto={name for name, data in components.items() if data.get("auto")},
        recorded={name: dict(data) for name, data in components.items()},
        extra={k: v for k, v in state.tool.items() if k not in _PROJECT_KEYS},
        originals=load_originals(state) if is_adopted(state.tool) else {},
    )


def _current_spec(state: ProjectState) -> tuple[ProjectSpec, dict[str, Any]]:
    return current_spec(state), state.tool["components"]


def render_recorded(registry: Registry, state: ProjectState) -> dict[str, bytes] | None:
    """The recorded spec rendered again, if every component has its recorded version.

    The last source of merge bases: with any other version installed the rendering
    would not be what uts wrote, so there is none (never a guess).
    """
    for name, data in state.tool["components"].items():
        if name not in registry.components or registry.metadata[name].version != data["version"]:
            return None
    try:
        composition = compose(registry, current_spec(state))
    except UtsError:
        return None
    return {path: item.content for path, item in composition.files.items()}


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
    keeper = _state_holder(state)
    if keeper in names:
        raise _keeps_state(keeper, names)
    metadata = {
        name: registry.get(name).component for name in components if name in registry.components
    }
    missing = [name for name in components if name not in metadata and name not in names]
    if missing:
        raise missing_component(state, missing[0])
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
        required = {
            req
            for other in components
            if other not in removed
            for req in _requires(metadata, other)
        }
        orphans = {n for n in spec.auto if n not in removed and n not in required and n != keeper}
        if not orphans:
            break
        removed |= orphans
    if keeper in removed:
        raise _keeps_state(keeper, names)
    spec.components = [n for n in spec.components if n not in removed]
    spec.options = {n: v for n, v in spec.options.items() if n not in removed}
    spec.auto -= removed
    return spec, [n for n in components if n in removed]


def _state_holder(state: ProjectState) -> str | None:
    """The component writing ``pyproject.toml``, the project's packaging: it stays.

    Removing it would take the project itself apart (its packaging, and with it every
    other component's dependencies), so it is never removed, not even as an orphan.
    """
    if is_adopted(state.tool):  # the host holds the user's own app and packaging
        return HOST
    entry = state.files.get(PYPROJECT)
    owner = entry.get("owner") if isinstance(entry, dict) else None
    return owner if isinstance(owner, str) else None


def _keeps_state(keeper: str, names: list[str]) -> ResolutionError:
    how = "" if keeper in names else f" (--cascade would take it with {', '.join(names)})"
    what = (
        "it holds this adopted project's own app and packaging"
        if keeper == HOST
        else f"it writes {PYPROJECT}, the packaging"
    )
    return ResolutionError(
        f"cannot remove {keeper!r}{how}: {what}, which every other component of this "
        "project builds on",
        hint="remove the other components by name; to stop using uts here, delete .uts/",
    )


def missing_component(state: ProjectState, name: str) -> StateError:
    """The error for a component of the project that is not installed, naming its provider."""
    provider = state.tool["components"].get(name, {}).get("provider") or {}
    distribution, version = provider.get("distribution"), provider.get("version")
    if distribution:
        hint = (
            f"install the distribution {distribution} (version {version} provided {name!r} "
            f"here): pip install {distribution}"
        )
    else:
        hint = f"install the plugin providing {name!r} (uts list shows what is installed)"
    return StateError(f"component {name!r} of this project is not installed", hint=hint)


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
    moves: Mapping[str, str] | None = None,
) -> ChangeReport:
    """Compose *spec* and plan the move from the project as it is on disk.

    Files the user never touched follow uts; files the user edited are merged
    three-way with the pristine rendering as base; files uts no longer writes are
    deleted unless the user modified them (then kept, and reported). *moves* maps a
    new path to the recorded path a migration moved it from: the user's file and its
    base are read at the old path, merged, written at the new one, and the old removed.
    """
    for name in state.tool["components"]:
        if name in spec.components and name not in registry.components:
            raise missing_component(state, name)
    moves = moves or {}
    composition = compose(registry, spec, ask)
    root = state.root
    if state.render is None:
        state.render = partial(render_recorded, registry, state)
    confinement = Confinement(root)
    changes: list[Change] = []
    report = ChangeReport(Plan(root, changes), composition, state=state)
    occupied: list[str] = []
    records = records_of(composition.files)  # what the state records as written

    for path, item in composition.files.items():
        # What the state records is read through it: a tampered record is the state's fault.
        target = state.target(path) if path in state.files else confinement.target(path)
        if target.exists() and not target.is_file():
            raise ConflictError(f"{path} is a directory in the project; uts needs a file there")
        current = target.read_bytes() if target.is_file() else None
        source = moves.get(path, path)
        if source != path:  # moved by a migration: the user's content comes along
            if current is not None:
                occupied.append(path)
                continue
            moved = confinement.target(source)
            current = moved.read_bytes() if moved.is_file() else None
        new = item.content
        if is_state_path(path):
            pass  # uts's own record, rewritten as planned
        elif source in state.files:
            uts_changed = not state.unchanged(source, new)
            if current is None:
                if uts_changed:
                    report.left_deleted.append(path)
                continue
            owner = registry.metadata[item.owner]
            if uts_changed and owner.is_history(path):
                # Written once (an applied migration, say): what the change would add
                # there is not applied, and the record keeps what was written.
                report.held[path] = (item.owner, owner.history_hint)
                records[path] = Record(item.owner, state.files[source]["blob"], item.executable)
                new = current
            elif current != new and not state.unchanged(source, current):
                # The user changed the file: keep it, or merge what uts changes into it.
                merged = _merge(report, state, path, current, new, source) if uts_changed else None
                new = current if merged is None else merged
        elif current is not None and current != new:
            occupied.append(path)
            continue
        if source != path or current is None:
            changes.append(Change(path, "create", item.owner, None, new, item.executable))
        elif current == new:
            changes.append(Change(path, "keep", item.owner, current, new, item.executable))
        else:
            changes.append(Change(path, "update", item.owner, current, new, item.executable))

    if report.held:
        _record(changes, composition, records)
    if occupied:
        raise ConflictError(
            f"{len(occupied)} file(s) uts needs to create already exist: {listing(occupied)}",
            hint="move them away (uts never overwrites files it did not write), then run again",
        )

    # A moved file's content lives on at its new path; if that is gone too, keep the rules.
    moved_away = {old for new, old in moves.items() if new in composition.files}
    for path, entry in state.files.items():
        if path in composition.files:
            continue
        target = state.target(path)
        if not target.is_file():
            continue
        current = target.read_bytes()
        if path in moved_away or state.unchanged(path, current) or delete_modified:
            changes.append(Change(path, "delete", entry["owner"], current, None))
        else:
            report.kept.append(path)
    for path in state.state_paths:  # a removed component's record, format 1's manifest
        if path not in composition.files and confinement.target(path).is_file():
            old = confinement.target(path).read_bytes()
            changes.append(Change(path, "delete", STATE_OWNER, old, None))
    changes.sort(key=lambda change: change.path)
    return report


def _text(data: bytes, name: str) -> str:
    hint = "save it as UTF-8, or restore it from version control"
    return decode_utf8(data, f"{name}:{{line}}", StateError, hint)


def _merge(
    report: ChangeReport,
    state: ProjectState,
    path: str,
    current: bytes,
    new: bytes,
    source: str | None = None,
) -> bytes:
    """Both the user and uts changed *path*: merge three-way over what uts wrote before.

    *source* is where the state recorded the file, when a migration moved it.
    """
    base = state.base(source or path)
    if base is None:
        # No base: a two-sided conflict over the whole file, never a guess.
        merged = merge3_bytes(b"", current, new, path)
        report.unknown_base.append(path)
        report.merged.append(path)
        report.conflicts[path] = max(1, merged.conflicts)
        report.hunks[path] = merged.hunks
        return merged.content
    if path == PYPROJECT and not is_adopted(state.tool):
        return update_pyproject(
            _text(current, str(state.root / path)),
            _text(base, f"what uts wrote at {path}"),
            new.decode("utf-8"),
            str(state.root / path),
        ).encode("utf-8")
    merged = merge3_bytes(base, current, new, path)
    report.merged.append(path)
    if merged.conflicts:
        report.conflicts[path] = merged.conflicts
        report.hunks[path] = merged.hunks
    return merged.content


def _record(changes: list[Change], composition: Composition, records: Mapping[str, Record]) -> None:
    """Rewrite the planned state files so held history files keep their record."""
    state = build_state(composition.state, records)
    for index, change in enumerate(changes):
        if change.path in state:
            new = state[change.path].content
            action: Action = "create" if change.old is None else "update"
            action = "keep" if change.old == new else action
            changes[index] = change._replace(action=action, new=new)
