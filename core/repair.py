"""Check a project's state, and repair what a git merge leaves in it.

Two branches that add different components touch different state files, but a file
shared by components (``pyproject.toml``, ``main.py``) has one record that both
branches changed: git leaves conflict markers on that line. :func:`plan_repair`
takes every record from both sides, and where two records disagree on a file it
renders the merged spec with the installed components (their versions must be the
recorded ones) and records what that rendering writes there. No record is dropped
without a rendering to decide it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uts.errors import ConflictError, StateError
from uts.objects import blob_id, matches
from uts.plan import Action, Change, Plan
from uts.state import (
    COMPONENT_NAME,
    COMPONENTS_DIR,
    ID_LENGTH,
    MANIFEST_PATH,
    PROJECT_FILE,
    STATE_OWNER,
    ProjectState,
    Record,
    build_state,
    check_components_dir,
    component_file,
    has_conflict_markers,
    parse_component,
    parse_project,
    read_text,
)

if TYPE_CHECKING:
    from uts.plugin.manager import Registry

__all__ = ["RepairReport", "Scan", "plan_repair", "scan_state", "state_findings"]


def conflict_sides(text: str) -> list[str]:
    """The two sides of a text with git conflict markers (a diff3 base is dropped)."""
    ours: list[str] = []
    theirs: list[str] = []
    where = "both"
    for line in text.splitlines(keepends=True):
        if line.startswith("<<<<<<<"):
            where = "ours"
        elif line.startswith("|||||||") and where == "ours":
            where = "base"
        elif line.rstrip("\r\n") == "=======" and where in ("ours", "base"):
            where = "theirs"
        elif line.startswith(">>>>>>>") and where == "theirs":
            where = "both"
        else:
            if where in ("both", "ours"):
                ours.append(line)
            if where in ("both", "theirs"):
                theirs.append(line)
    return ["".join(ours), "".join(theirs)]


@dataclass
class Scan:
    """Every record the state files hold, both sides of any git conflict included."""

    root: Path
    project: dict[str, Any] = field(default_factory=dict)
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    candidates: dict[str, set[Record]] = field(default_factory=dict)
    conflicted: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """What uts cannot repair by itself: unreadable files, values both sides changed."""

    @property
    def ambiguous(self) -> dict[str, set[Record]]:
        return {path: found for path, found in self.candidates.items() if len(found) > 1}

    def tool(self) -> dict[str, Any]:
        last = 10**6
        ordered = sorted(
            self.components.items(), key=lambda item: (item[1].get("order", last), item[0])
        )
        return {**self.project, "components": dict(ordered)}


def _problem(scan: Scan, error: StateError) -> None:
    """*error*'s message, paths under the project shown relative to it."""
    scan.problems.append(error.message.replace(f"{scan.root}{os.sep}", ""))


def _sides(scan: Scan, rel: str) -> list[tuple[dict[str, Any], str]]:
    """Each side of the state file *rel* (one without conflict markers): data and text."""
    try:
        text = read_text(scan.root / rel)
    except StateError as error:
        _problem(scan, error)
        return []
    texts = [text]
    if has_conflict_markers(text):
        scan.conflicted.append(rel)
        texts = conflict_sides(text)
    sides = []
    for side in texts:
        try:
            sides.append((tomllib.loads(side), side))
        except tomllib.TOMLDecodeError as error:
            scan.problems.append(f"{rel}: not valid TOML: {error}")
            return []
        except RecursionError:
            scan.problems.append(f"{rel}: not valid TOML: nested too deeply")
            return []
    return sides


def _agree(scan: Scan, rel: str, key: str, values: list[Any]) -> Any:
    if any(value != values[0] for value in values[1:]):
        shown = " vs ".join(repr(value) for value in values)
        scan.problems.append(f"{rel}: the two sides record different {key} ({shown})")
    return values[0]


def _merge_component(scan: Scan, rel: str, sides: list[tuple[dict[str, Any], str]]) -> None:
    name = rel.rpartition("/")[2].removesuffix(".toml")
    parsed = []
    for side, text in sides:
        try:
            parsed.append(parse_component(scan.root / rel, side, text))
        except StateError as error:
            _problem(scan, error)
            return
    datas = [data for data, _ in parsed]
    merged = {
        "version": _agree(scan, rel, "versions", [d["version"] for d in datas]),
        "options": _agree(scan, rel, "options", [d["options"] for d in datas]),
        # Explicitly added on either side wins over "only there for another one".
        "auto": all(d["auto"] for d in datas),
    }
    orders = [d["order"] for d in datas if "order" in d]
    if orders:
        merged["order"] = min(orders)
    providers = [d["provider"] for d in datas if d.get("provider")]
    if providers:
        merged["provider"] = providers[0]
    scan.components[name] = merged
    for _, records in parsed:
        for path, record in records.items():
            scan.candidates.setdefault(path, set()).add(record)


def scan_state(root: Path) -> Scan:
    """Read every state file of *root*, taking both sides of any conflict."""
    scan = Scan(root)
    if not os.path.lexists(root / PROJECT_FILE):
        if os.path.lexists(root / MANIFEST_PATH):
            _format_1(scan)
        else:
            scan.problems.append(f"{PROJECT_FILE} is missing (restore it from version control)")
        return scan
    projects = []
    for side, text in _sides(scan, PROJECT_FILE):
        try:
            projects.append(parse_project(root / PROJECT_FILE, side, text))
        except StateError as error:
            _problem(scan, error)
    if projects:
        keys = sorted({key for project in projects for key in project})
        # A key only one side has (added on one branch) is kept; both sides' values must agree.
        scan.project = {
            key: _agree(scan, PROJECT_FILE, key, [p[key] for p in projects if key in p])
            for key in keys
        }
    try:
        check_components_dir(root)
    except StateError as error:
        _problem(scan, error)
    for path in sorted((root / COMPONENTS_DIR).glob("*.toml")):
        rel = f"{COMPONENTS_DIR}/{path.name}"
        if not COMPONENT_NAME.match(path.stem):
            scan.problems.append(f"{rel}: {path.stem!r} is not a component name (move it away)")
        else:
            sides = _sides(scan, rel)
            if sides:
                _merge_component(scan, rel, sides)
    return scan


def _format_1(scan: Scan) -> None:
    """The one finding of a format-1 project: it upgrades, or why it cannot."""
    from uts.upgrade import load_legacy

    try:
        load_legacy(scan.root)  # reads only: the upgrade itself is the next command's
    except StateError as error:
        _problem(scan, error)
    else:
        scan.problems.append(
            f"{MANIFEST_PATH}: state format 1 (run 'uts status' once to upgrade it)"
        )


def _describe(records: set[Record]) -> str:
    return ", ".join(f"{r.owner} {r.blob}" for r in sorted(records))


def state_findings(root: Path, registry: Registry | None = None) -> list[str]:
    """One line per inconsistency in the state of the project at *root* (none: clean).

    Conflict markers, unreadable or contradictory records, a file recorded twice, a
    component whose requirement is not in the project (with *registry*), and a file
    the user changed whose base no source holds (a later change to it would stop).
    """
    scan = scan_state(root)
    found = [
        f"{rel}: git conflict markers (uts repair merges both sides)" for rel in scan.conflicted
    ]
    found += scan.problems
    found += _leftovers(root) if scan.project else []
    for path, records in sorted(scan.ambiguous.items()):
        found.append(
            f"{path}: recorded twice ({_describe(records)}); uts repair decides from a rendering"
        )
    if registry is not None:
        # What a component stands in for (an adopted project's host: project and fastapi).
        provided = {
            other
            for name in scan.components
            if name in registry.components
            for other in registry.metadata[name].provides
        }
        for name in scan.components:
            if name not in registry.components:
                continue  # a missing provider is reported by uts check itself
            for required in registry.metadata[name].requires:
                # A requirement whose state file is damaged is reported as such above.
                if (
                    required not in scan.components
                    and required not in provided
                    and not (root / component_file(required)).exists()
                ):
                    found.append(
                        f"{component_file(name)}: {name!r} requires {required!r}, which is not "
                        f"in the project (uts add {required})"
                    )
    if found:
        return found
    state = _state(scan)
    if registry is not None:

        def render() -> dict[str, bytes] | None:
            # Imported only when a base must be rendered: it brings the renderer (Jinja2).
            from uts.change import render_recorded

            return render_recorded(registry, state)

        state.render = render
    changed = [item.path for item in state.drift() if item.status == "modified"]
    for path, data in state.bases(changed).items():
        if data is None:
            found.append(
                f"{path}: changed since uts wrote it, and no source holds what uts wrote "
                "(git, the object cache, a rendering of the recorded versions)"
            )
    return found


def _leftovers(root: Path) -> list[str]:
    """Format 1's records next to format 2's: a branch written by an older uts was merged."""
    import tomllib

    found = []
    if (root / MANIFEST_PATH).is_file():
        found.append(
            f"{MANIFEST_PATH}: format 1's manifest next to {PROJECT_FILE} (merged from a branch "
            "an older uts wrote?); what it adds is not recorded: delete it, or redo that change"
        )
    try:
        tool = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8")).get("tool")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return found
    if isinstance(tool, dict) and "uts" in tool:
        found.append(
            "pyproject.toml: [tool.uts] is format 1's record, unused next to .uts/project.toml; "
            "delete the table"
        )
    return found


def _state(scan: Scan) -> ProjectState:
    files = {
        path: {"owner": r.owner, "blob": r.blob, "executable": r.executable}
        for path, records in scan.candidates.items()
        for r in records
    }
    return ProjectState(scan.root, scan.tool(), files)


@dataclass
class RepairReport:
    """The plan rewriting the state files, and how each disputed record was decided."""

    plan: Plan
    decided: dict[str, str] = field(default_factory=dict)
    """Disputed path to how it was decided ("rendering" or "working file")."""
    rendered: list[bytes] = field(default_factory=list)
    """Contents recorded from the rendering: kept in the object cache as bases."""


def plan_repair(root: Path, registry: Registry) -> RepairReport:
    """Plan state files that hold every record, disputed ones decided by a rendering."""
    scan = scan_state(root)
    if scan.problems:
        more = f" (and {len(scan.problems) - 1} more)" if len(scan.problems) > 1 else ""
        raise StateError(
            f"uts repair cannot decide: {scan.problems[0]}{more}",
            hint="keep one side of that record by hand, then run 'uts repair' again",
        )
    tool = scan.tool()
    records = {path: next(iter(found)) for path, found in scan.candidates.items()}
    report = RepairReport(Plan(root, []))
    disputed = scan.ambiguous
    if disputed:
        rendered = _render(registry, scan)
        undecided = []
        for path, found in sorted(disputed.items()):
            current = _read(root, path)
            if rendered is not None and path in rendered.files:
                item = rendered.files[path]
                records[path] = Record(
                    item.owner, blob_id(item.content)[:ID_LENGTH], item.executable
                )
                report.rendered.append(item.content)
                report.decided[path] = "rendering"
                continue
            same = [r for r in sorted(found) if current is not None and matches(current, r.blob)]
            if same:
                records[path] = same[0]
                report.decided[path] = "working file"
            else:
                undecided.append(path)
        if undecided:
            raise ConflictError(
                f"uts repair cannot decide what uts wrote at {', '.join(undecided)}: "
                "the components installed are not the recorded versions",
                hint="install the recorded versions (uts status lists them), then run "
                "'uts repair' again",
            )
    files = build_state(tool, records)
    for path, item in sorted(files.items()):
        old = _read(root, path)
        action: Action = "create" if old is None else ("keep" if old == item.content else "update")
        report.plan.changes.append(Change(path, action, STATE_OWNER, old, item.content))
    return report


def _read(root: Path, rel: str) -> bytes | None:
    target = root.joinpath(*rel.split("/"))
    try:
        return target.read_bytes() if target.is_file() and not target.is_symlink() else None
    except OSError:
        return None


def _render(registry: Registry, scan: Scan) -> Any:
    """The merged spec rendered with the installed components, if they are the recorded ones."""
    from uts.change import current_spec
    from uts.engine import compose

    for name, data in scan.components.items():
        if name not in registry.components or registry.metadata[name].version != data["version"]:
            return None
    return compose(registry, current_spec(_state(scan)))
